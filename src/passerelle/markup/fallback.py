"""The fallback conversion: pure Python, for the pages pandoc fails on (or when it is not
installed). The page is first rendered to CommonMark by :func:`normalise` (which always
succeeds), then that Markdown, whose shape this package controls, is written in the
target's syntax: headings, emphasis, code, lists, quotes, rules, pipe tables, links,
images and footnotes. If even that fails, the original markup goes into the target's
preformatted block, so the page stays readable.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from passerelle.markup._scan import is_url
from passerelle.markup.normalise import normalise
from passerelle.markup.references import fence_spans

Rename = Callable[[str], str]

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST = re.compile(r"^(\s*)(-|\d+\.)\s+(.*)$")
_QUOTE = re.compile(r"^((?:>\s?)+)(.*)$")
_TABLE_SEP = re.compile(r"^\|(?:\s*:?-+:?\s*\|)+\s*$")
_LINK = re.compile(
    r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(<([^<>\n]*)>\)|(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(([^()\s]+)\)"
)
_CODE = re.compile(r"(`+)(.+?)\1")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])")
_STRIKE = re.compile(r"~~(.+?)~~")
_NOTE_REF = re.compile(r"\[\^(\d+)\]")
_NOTE_DEF = re.compile(r"^\[\^(\d+)\]:\s?(.*)$")
_AUTOLINK = re.compile(r"<((?:https?|ftps?|mailto):[^\s<>]+)>")


def preformatted(text: str, target: str) -> str:
    """The original markup as a preformatted block of the target, escaped so that it ends
    where it should."""
    if target == "mediawiki":
        return "<pre>" + text.replace("&", "&amp;").replace("<", "&lt;") + "</pre>\n"
    if target == "dokuwiki":
        return "<code>\n" + text.replace("</code>", "</code >") + "\n</code>\n"
    if target.startswith("xwiki"):
        return "{{code}}\n" + text.replace("{{/code}}", "~{~{/code}}") + "\n{{/code}}\n"
    longest = max((len(m) for m in re.findall(r"`{3,}|~{3,}", text)), default=2)
    return "`" * (longest + 1) + "\n" + text + "\n" + "`" * (longest + 1) + "\n"


def fallback(text: str, source: str, target: str, link: Rename, file: Rename) -> str:
    """``text`` (written in ``source``) in ``target``'s syntax, without pandoc."""
    try:
        markdown = text if source in ("markdown", "gfm", "commonmark") else normalise(source, text)
        return _Writer(target, link, file).write(markdown)
    except Exception:  # the promise: readable, never failing
        return preformatted(text, target)


class _Writer:
    def __init__(self, target: str, link: Rename, file: Rename) -> None:
        self.target = "xwiki" if target.startswith("xwiki") else target
        self.link = link
        self.file = file
        self.notes: dict[str, str] = {}

    # ---- inline

    def inline(self, text: str) -> str:
        stash: list[str] = []

        def keep(s: str) -> str:
            stash.append(s)
            return f"\ue000{len(stash) - 1}\ue001"

        text = _CODE.sub(lambda m: keep(self.code(m.group(2))), text)
        text = _LINK.sub(lambda m: keep(self.link_or_image(m)), text)
        text = _AUTOLINK.sub(lambda m: keep(self.url(m.group(1))), text)
        t = self.target
        text = _BOLD.sub("\ue002\\1\ue002", text)
        if t == "mediawiki":
            text = _ITALIC.sub(r"''\1''", text)
            text = _STRIKE.sub(r"<s>\1</s>", text)
        elif t in ("dokuwiki", "xwiki"):
            text = _ITALIC.sub(r"//\1//", text)
            text = _STRIKE.sub(r"<del>\1</del>" if t == "dokuwiki" else r"--\1--", text)
        text = text.replace("\ue002", "'''" if t == "mediawiki" else "**")
        if t in ("mediawiki", "dokuwiki", "xwiki"):
            text = _NOTE_REF.sub(lambda m: keep(self.note_ref(m.group(1))), text)
        for _ in range(4):
            if "\ue000" not in text:
                break
            text = re.sub(
                "\ue000(\\d+)\ue001",
                lambda m: stash[int(m.group(1))] if int(m.group(1)) < len(stash) else "",
                text,
            )
        return text

    def code(self, code: str) -> str:
        if self.target == "mediawiki":
            return "<code><nowiki>" + code.replace("</nowiki>", "") + "</nowiki></code>"
        if self.target == "dokuwiki":
            return "''%%" + code.replace("%%", "") + "%%''"
        if self.target == "xwiki":
            return "##{{{" + code.replace("}}}", "} } }") + "}}}##"
        return f"`{code}`"

    def url(self, url: str) -> str:
        return (
            f"[{url}]"
            if self.target == "mediawiki"
            else f"[[{url}]]"
            if self.target != "markdown"
            else f"<{url}>"
        )

    def link_or_image(self, m: re.Match[str]) -> str:
        image = m.group(1) if m.group(1) is not None else m.group(4)
        label = m.group(2) if m.group(2) is not None else m.group(5) or ""
        target = m.group(3) if m.group(3) is not None else m.group(6) or ""
        label = self.inline(label) if label else ""
        t = self.target
        if image:
            name = target if is_url(target) else self.file(target)
            if t == "mediawiki":
                return f"[[File:{name}|{label}]]" if label else f"[[File:{name}]]"
            if t == "dokuwiki":
                return "{{" + name + (f"|{label}" if label else "") + "}}"
            if t == "xwiki":
                return f"[[image:{name}]]"
            return f"![{label}](<{name}>)"
        if is_url(target):
            if t == "mediawiki":
                return f"[{target} {label}]" if label and label != target else f"[{target}]"
            if t == "dokuwiki":
                return f"[[{target}|{label}]]" if label and label != target else f"[[{target}]]"
            if t == "xwiki":
                return f"[[{label}>>{target}]]" if label and label != target else f"[[{target}]]"
            return f"[{label}](<{target}>)"
        if target.startswith("attach:"):
            name = self.file(target[len("attach:") :])
            if t == "mediawiki":
                return f"[[Media:{name}|{label}]]" if label else f"[[Media:{name}]]"
            if t == "dokuwiki":
                return "{{" + name + (f"|{label}" if label else "") + "}}"
            if t == "xwiki":
                return f"[[{label}>>attach:{name}]]" if label else f"[[attach:{name}]]"
            return f"[{label or name}](<{name}>)"
        page, hash_, anchor = target.partition("#")
        name = self.link(page) if page else ""
        full = name + hash_ + anchor
        if t == "mediawiki":
            return f"[[{full}|{label}]]" if label and label != full else f"[[{full}]]"
        if t == "dokuwiki":
            return f"[[{full}|{label}]]" if label and label != full else f"[[{full}]]"
        if t == "xwiki":
            ref = name + (f'||anchor="{anchor}"' if anchor else "")
            return f"[[{label}>>{ref}]]" if label else f"[[{ref}]]"
        return f"[{label or full}](<{full}>)"

    def note_ref(self, number: str) -> str:
        note = self.notes.get(number, "")
        if self.target == "mediawiki":
            return f"<ref>{note}</ref>"
        if self.target == "dokuwiki":
            return f"(({note}))"
        return "{{footnote}}" + note + "{{/footnote}}"

    # ---- blocks

    def write(self, markdown: str) -> str:
        lines = markdown.split("\n")
        # footnote definitions: taken out, put back where they are referred to
        self.notes = {}
        if self.target != "markdown":
            kept = []
            for line in lines:
                d = _NOTE_DEF.match(line)
                if d:
                    self.notes[d.group(1)] = self.inline(d.group(2))
                else:
                    kept.append(line)
            lines = kept
            markdown = "\n".join(lines)
        out: list[str] = []
        fences = fence_spans(markdown)
        pos = 0
        for start, end in [*fences, (len(markdown), len(markdown))]:
            out.append(self.blocks(markdown[pos:start]))
            if end > start:
                out.append(self.fenced(markdown[start:end]))
            pos = end
        return re.sub(r"\n{3,}", "\n\n", "".join(out)).strip("\n") + "\n"

    def fenced(self, block: str) -> str:
        first, _, rest = block.partition("\n")
        lang = first.strip().lstrip("`~").strip()
        body = rest.rstrip("\n")
        body = body[: body.rfind("\n")] if "\n" in body else ""
        t = self.target
        if t == "mediawiki":
            return (
                (f'<syntaxhighlight lang="{lang}">\n' + body + "\n</syntaxhighlight>\n")
                if lang
                else preformatted(body, t)
            )
        if t == "dokuwiki":
            return (
                f"<code{' ' + lang if lang else ''}>\n" + body.replace("</code>", "</code >") + "\n</code>\n"
            )
        if t == "xwiki":
            return (
                (f'{{{{code language="{lang}"}}}}\n' if lang else "{{code}}\n")
                + body.replace("{{/code}}", "~{~{/code}}")
                + "\n{{/code}}\n"
            )
        return block

    def blocks(self, text: str) -> str:
        out: list[str] = []
        table: list[list[str]] = []

        def flush_table() -> None:
            if table:
                out.append(self.table(table))
                table.clear()

        for line in text.split("\n"):
            if line.startswith("|"):
                if not _TABLE_SEP.match(line):
                    cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
                    table.append([c.strip().replace("\\|", "|") for c in cells])
                continue
            flush_table()
            out.append(self.block_line(line))
        flush_table()
        return "\n".join(out)

    def block_line(self, line: str) -> str:
        t = self.target
        if t == "markdown":
            return line
        h = _HEADING.match(line)
        if h:
            level = len(h.group(1))
            title = self.inline(h.group(2))
            if t == "mediawiki":
                return "=" * level + " " + title + " " + "=" * level
            if t == "dokuwiki":
                marks = "=" * max(2, 7 - level)
                return f"{marks} {title} {marks}"
            return "=" * level + " " + title + " " + "=" * level
        if line.strip() == "***":
            return "----"
        q = _QUOTE.match(line)
        if q:
            depth = q.group(1).count(">")
            content = self.inline(q.group(2))
            if t == "mediawiki":
                return ":" * depth + content
            return ">" * depth + " " + content
        li = _LIST.match(line)
        if li:
            indent = len(li.group(1).replace("\t", "    "))
            depth = 1 + indent // 2 if not li.group(2)[0].isdigit() else 1 + indent // 3
            ordered = li.group(2)[0].isdigit()
            content = self.inline(li.group(3))
            if t == "mediawiki":
                return ("#" if ordered else "*") * depth + " " + content
            if t == "dokuwiki":
                return "  " * depth + ("- " if ordered else "* ") + content
            return ("1" * depth + ". " if ordered else "*" * depth + " ") + content
        return self.inline(line)

    def table(self, rows: list[list[str]]) -> str:
        t = self.target
        if t == "markdown":
            width = max(len(r) for r in rows)
            lines = ["| " + " | ".join(r + [""] * (width - len(r))) + " |" for r in rows]
            return "\n".join([lines[0], "|" + "---|" * width, *lines[1:]]) + "\n"
        cells = [[self.inline(c) for c in r] for r in rows]
        if t == "mediawiki":
            out = ['{| class="wikitable"']
            for i, r in enumerate(cells):
                if i:
                    out.append("|-")
                out.append(("! " + " !! ".join(r)) if i == 0 else ("| " + " || ".join(r)))
            out.append("|}")
            return "\n".join(out) + "\n"
        if t == "dokuwiki":
            return (
                "\n".join(
                    ("^ " + " ^ ".join(r) + " ^") if i == 0 else ("| " + " | ".join(r) + " |")
                    for i, r in enumerate(cells)
                )
                + "\n"
            )
        return (
            "\n".join(("|=" + "|=".join(r)) if i == 0 else ("|" + "|".join(r)) for i, r in enumerate(cells))
            + "\n"
        )
