"""A fast, pure-Python CommonMark rendering of a wiki body, for search and for chat targets.

Readable rather than exact: headings, emphasis, lists, links, images, code, quotes,
footnotes and tables (as pipe tables) are carried; templates, macros, magic words and
comments are left out (the original markup is always kept in ``Body.source``; the
conversion with losses said is :func:`passerelle.markup.convert`). It never raises and
stays linear in the size of the text: a megabyte of hostile markup is read in well under
a second.

Internal links are written ``[label](<Target name>)`` with the page name as the source
writes it, images ``![caption](<file name>)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

from passerelle.markup._scan import BARE_URL, pairs, split_top, sub_delimited, tag_spans, trim_url
from passerelle.markup.references import _LONE_LT, fence_spans

_OPEN, _CLOSE = "\ue000", "\ue001"
_STASHED = re.compile(_OPEN + r"(\d+)" + _CLOSE)


class _Stash:
    """Finished Markdown fragments, kept out of the way of the next passes."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def put(self, fragment: str) -> str:
        self.parts.append(fragment)
        return f"{_OPEN}{len(self.parts) - 1}{_CLOSE}"

    def restore(self, text: str) -> str:
        for _ in range(8):  # fragments may hold fragments
            if _OPEN not in text:
                break
            text = _STASHED.sub(self._one, text)
        return text

    def _one(self, m: re.Match[str]) -> str:
        i = int(m.group(1))
        return self.parts[i] if i < len(self.parts) else ""


def normalise(fmt: str, text: str) -> str:
    """``text`` written in ``fmt`` rendered as CommonMark (GFM tables and footnotes); the
    text unchanged for Markdown and for a format it does not know."""
    try:
        convert = _CONVERTERS.get(fmt)
        if convert is None and fmt.startswith("xwiki/2"):
            convert = _xwiki
        if convert is None:
            return text
        text = text.replace(_OPEN, "\ufffd").replace(_CLOSE, "\ufffd")
        return _tidy(convert(text)).strip("\n") + ("\n" if text.endswith("\n") else "")
    except Exception:  # the promise: readable, never failing
        return text


_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def _tidy(text: str) -> str:
    """At most one blank line in a row, and no trailing spaces, outside code blocks."""
    out: list[str] = []
    pos = 0
    for start, end in [*fence_spans(text), (len(text), len(text))]:
        if end > start and text[end - 1] == "\n":
            end -= 1
        out += [_BLANKS.sub("\n\n", text[pos:start]), text[start:end]]
        pos = end
    return "".join(out)


def _code_block(code: str, lang: str = "") -> str:
    code = code.strip("\n")
    longest = max((len(m.group(0)) for m in re.finditer(r"`{3,}", code)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{code}\n{fence}"


def _code_span(code: str) -> str:
    code = code.replace("\n", " ")
    if not code.strip():
        return code
    longest = max((len(m.group(0)) for m in re.finditer(r"`+", code)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if code.startswith("`") or code.endswith("`") else ""
    return f"{ticks}{pad}{code}{pad}{ticks}"


def _link(label: str, target: str) -> str:
    target = target.strip().replace("<", "%3C").replace(">", "%3E").replace("\n", " ")
    label = label.replace("\n", " ").strip() or target
    return f"[{label}](<{target}>)"


def _image(alt: str, target: str) -> str:
    return "!" + _link(alt, target) if alt.strip() else "![](<" + target.strip().replace(">", "%3E") + ">)"


def _drop_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """The text without the spans (sorted, possibly nested: only outermost count)."""
    out: list[str] = []
    pos = 0
    for start, end in spans:
        if start < pos:
            continue
        out.append(text[pos:start])
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _outermost(found: dict[int, int]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for start, end in sorted(found.items()):
        if spans and start < spans[-1][1]:
            continue
        spans.append((start, end))
    return spans


class _Table:
    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self.header = False

    def cell(self, text: str, header: bool = False) -> None:
        if not self.rows:
            self.rows.append([])
        if header and len(self.rows) == 1:
            self.header = True
        self.rows[-1].append(text.strip())

    def more(self, text: str) -> None:
        if self.rows and self.rows[-1]:
            self.rows[-1][-1] += " " + text.strip()

    def row(self) -> None:
        if not self.rows or self.rows[-1]:
            self.rows.append([])

    def render(self, inline: Callable[[str], str]) -> str:
        rows = [r for r in self.rows if r]
        if not rows:
            return ""
        width = max(len(r) for r in rows)
        lines: list[str] = []
        for i, row in enumerate(rows):
            cells = [inline(c).replace("|", "\\|").replace("\n", " ").strip() for c in row]
            cells += [""] * (width - len(cells))
            lines.append("| " + " | ".join(cells) + " |")
            if i == 0:
                lines.append("|" + "---|" * width)
        return "\n" + "\n".join(lines) + "\n"


class _Lists:
    """Markdown list prefixes for nested list levels given as marker kinds."""

    @staticmethod
    def prefix(kinds: str) -> str:
        indent = ""
        for kind in kinds[:-1]:
            indent += "   " if kind == "#" else "  "
        last = kinds[-1]
        return indent + ("1. " if last == "#" else "- ")


# ---------------------------------------------------------------- MediaWiki

_MW_BLOCK_CODE = re.compile(
    r"<(syntaxhighlight|source|pre)\b(?P<attrs>[^<>]{0,2000}?)(?P<self>/)?>", re.IGNORECASE
)
_MW_LANG = re.compile(r"""lang\s*=\s*["']?([\w+#.-]+)""", re.IGNORECASE)
_MW_NOWIKI = re.compile(r"<nowiki\b[^<>]{0,2000}?(?P<self>/)?>", re.IGNORECASE)
_MW_CODE = re.compile(r"<(code|tt|kbd|samp|math|chem)\b[^<>]{0,2000}?(?P<self>/)?>", re.IGNORECASE)
_MW_REF = re.compile(r"<ref\b(?P<attrs>[^<>]{0,2000}?)(?P<self>/)?>", re.IGNORECASE)
_MW_REF_NAME = re.compile(r"""name\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s/>]+))""", re.IGNORECASE)
_MW_REFERENCES = re.compile(r"<references\b[^<>]{0,2000}?(?P<self>/)?>", re.IGNORECASE)
_MW_GALLERY = re.compile(r"<gallery\b[^<>]{0,2000}?(?P<self>/)?>", re.IGNORECASE)
_MW_MAGIC = re.compile(r"__[A-Z]+__")
_MW_LINK = re.compile(r"\[\[([^\[\]]*)\]\]")
_MW_EXTERNAL = re.compile(
    r"\[((?:https?|ftps?|sftp|ircs?|nntp|gopher|git|svn|ssh|telnet)://[^\s\[\]<>\"]+|mailto:[^\s\[\]<>\"]+)"
    r"(?:[ \t]+([^\[\]\n]*))?\]",
    re.IGNORECASE,
)
_MW_FILE_NS = re.compile(
    r"^\s*:?\s*(?:file|image|datei|bild|fichier|archivo|imagen|media)\s*:", re.IGNORECASE
)
_MW_CATEGORY = re.compile(r"^\s*(?:category|kategorie|catégorie|categoría)\s*:", re.IGNORECASE)
_MW_OPTION = re.compile(
    r"^\s*(?:thumb|thumbnail|frame|framed|frameless|border|left|right|center|centre|none|baseline|sub|super|"
    r"top|text-top|middle|bottom|text-bottom|upright(?:\s*=?\s*[\d.]+)?|\d*x?\d+\s*px|"
    r"(?:link|alt|page|class|lang|upright)\s*=.*)\s*$",
    re.IGNORECASE | re.DOTALL,
)
_MW_BOLD_ITALIC = re.compile(r"'''''(.+?)'''''")
_MW_BOLD = re.compile(r"'''(.+?)'''")
_MW_ITALIC = re.compile(r"''(.+?)''")
_MW_HEADING = re.compile(r"^(={1,6})\s*(.*?)\s*\1\s*$")
_MW_TAG = re.compile(r"<(/?)([A-Za-z]+)\b[^<>]{0,2000}?>")
_MW_TAG_MARKS = {
    "b": "**",
    "strong": "**",
    "i": "*",
    "em": "*",
    "s": "~~",
    "del": "~~",
    "strike": "~~",
    "br": " ",
}
_MW_TAG_DROPPED = frozenset(
    [
        "span",
        "div",
        "font",
        "small",
        "big",
        "center",
        "sup",
        "sub",
        "u",
        "ins",
        "abbr",
        "cite",
        "p",
        "blockquote",
        "poem",
        "onlyinclude",
        "includeonly",
        "noinclude",
        "mark",
        "bdi",
        "q",
        "var",
        "dfn",
        "ruby",
        "rb",
        "rt",
        "rp",
        "time",
        "data",
        "hr",
        "section",
        "indicator",
    ]
)


def _mw_tag(m: re.Match[str]) -> str:
    name = m.group(2).lower()
    mark = _MW_TAG_MARKS.get(name)
    if mark is not None:
        return mark
    return "" if name in _MW_TAG_DROPPED else m.group(0)


def _mediawiki(text: str) -> str:
    stash = _Stash()
    text = _drop_spans(text, tag_spans(text, (), comments=True))
    text = sub_delimited(
        text,
        _MW_BLOCK_CODE,
        lambda m: f"</{m.group(1)}>",
        lambda m, body: (
            "\n"
            + stash.put(_code_block(body or "", (_MW_LANG.search(m.group("attrs")) or _EMPTY).group(1) or ""))
            + "\n"
        ),
        ignore_case=True,
    )
    text = sub_delimited(
        text, _MW_NOWIKI, lambda m: "</nowiki>", lambda m, body: stash.put(body or ""), ignore_case=True
    )
    text = sub_delimited(
        text,
        _MW_CODE,
        lambda m: f"</{m.group(1)}>",
        lambda m, body: stash.put(_code_span(body or "")),
        ignore_case=True,
    )
    notes: list[str] = []
    named: dict[str, int] = {}

    def ref(m: re.Match[str], content: str | None) -> str:
        attrs = m.group("attrs") or ""
        name_m = _MW_REF_NAME.search(attrs)
        name = next((g for g in name_m.groups() if g is not None), "") if name_m else ""
        if name and name in named:
            number = named[name]
            if content and not notes[number - 1]:
                notes[number - 1] = content
        else:
            notes.append(content or "")
            number = len(notes)
            if name:
                named[name] = number
        return stash.put(f"[^{number}]")

    text = sub_delimited(text, _MW_REF, lambda m: "</ref>", ref, ignore_case=True)
    text = sub_delimited(text, _MW_REFERENCES, lambda m: "</references>", lambda m, b: "", ignore_case=True)
    text = sub_delimited(
        text,
        _MW_GALLERY,
        lambda m: "</gallery>",
        lambda m, body: "\n" + _mw_gallery(body or "", stash) + "\n",
        ignore_case=True,
    )
    text = _drop_spans(text, _outermost(pairs(text, "{{", "}}")))
    text = _MW_MAGIC.sub("", text)
    for _ in range(4):  # innermost links first: a file's caption may hold links
        text, n = _MW_LINK.subn(lambda m: stash.put(_mw_link(m.group(1), stash)), text)
        if not n:
            break
    text = _MW_EXTERNAL.sub(
        lambda m: stash.put(
            _link(m.group(2), m.group(1)) if m.group(2) and m.group(2).strip() else f"<{m.group(1)}>"
        ),
        text,
    )
    if "<" in text:
        text = _MW_TAG.sub(_mw_tag, text)
    out = _mw_blocks(text, stash)
    if notes:
        rendered = [f"[^{i}]: {_mediawiki(stash.restore(n)).strip()}" for i, n in enumerate(notes, 1)]
        out += "\n\n" + "\n".join(r.replace("\n", " ") for r in rendered)
    return stash.restore(out)


class _Empty:
    def group(self, _: int) -> str:
        return ""


_EMPTY = _Empty()


def _mw_link(inner: str, stash: _Stash) -> str:
    parts = split_top(inner) if len(inner) < 20_000 else inner.split("|", 1)
    target = parts[0].strip()
    if _MW_FILE_NS.match(target) and not target.startswith(":"):
        caption = ""
        for option in parts[1:]:
            if not _MW_OPTION.match(option):
                caption = option
        name = target.split(":", 1)[1].strip()
        return _image(stash.restore(caption), name)
    if _MW_CATEGORY.match(target):
        return ""  # categories are page metadata, not text
    target = target.lstrip(":").strip()
    label = "|".join(parts[1:]).strip() if len(parts) > 1 else ""
    if not label:
        label = target.split("#", 1)[0] if len(parts) > 1 else target
    return _link(stash.restore(label), target)


def _mw_gallery(body: str, stash: _Stash) -> str:
    lines = []
    for line in body.splitlines():
        entry = line.strip()
        if entry:
            name, _, caption = entry.partition("|")
            name = name.split(":", 1)[1] if _MW_FILE_NS.match(name) else name
            lines.append(stash.put(_image(caption, name.strip())))
    return "\n\n".join(lines)


def _mw_inline(line: str, stash: _Stash) -> str:
    if "''" in line:
        line = _MW_BOLD_ITALIC.sub(r"***\1***", line)
        line = _MW_BOLD.sub(r"**\1**", line)
        line = _MW_ITALIC.sub(r"*\1*", line)
    return line


def _mw_blocks(text: str, stash: _Stash) -> str:
    out: list[str] = []
    pre: list[str] = []
    table: _Table | None = None
    depth = 0

    def inline(s: str) -> str:
        return _mw_inline(s, stash)

    def flush_pre() -> None:
        if pre:
            out.append("\n" + _code_block("\n".join(pre)) + "\n")
            pre.clear()

    for line in text.split("\n"):
        stripped = line.strip()
        if table is not None:
            if stripped.startswith("{|"):
                depth += 1
                continue
            if stripped.startswith("|}"):
                if depth:
                    depth -= 1
                    continue
                out.append(table.render(inline))
                table = None
                continue
            if stripped.startswith("|-"):
                table.row()
            elif stripped.startswith("|+"):
                out.append(inline(stripped[2:].strip()))
            elif stripped.startswith(("|", "!")):
                header = stripped.startswith("!")
                body = stripped[1:]
                cells = body.split("!!" if header else "||") if header else body.split("||")
                if header and len(cells) == 1:
                    cells = body.split("||")
                for cell in cells:
                    bits = split_top(cell) if len(cell) < 20_000 else [cell]
                    if len(bits) > 1 and ("=" in bits[0] or not bits[0].strip()):
                        cell = "|".join(bits[1:])
                    table.cell(cell, header)
            elif stripped:
                table.more(stripped)
            continue
        if stripped.startswith("{|"):
            flush_pre()
            table = _Table()
            depth = 0
            continue
        if line.startswith(" ") and stripped:
            pre.append(line[1:])
            continue
        flush_pre()
        heading = _MW_HEADING.match(stripped)
        if heading:
            out.append("\n" + "#" * len(heading.group(1)) + " " + inline(heading.group(2)) + "\n")
            continue
        if stripped.startswith("----") and not stripped.strip("-"):
            out.append("\n***\n")
            continue
        if line[:1] in "*#:;" and line:
            marks = re.match(r"[*#:;]+", line)
            kinds = marks.group(0) if marks else ""
            content = inline(line[len(kinds) :].strip())
            if kinds.endswith(";"):
                term, colon, definition = content.partition(" : ")
                content = f"**{term.strip()}**" + (f": {definition.strip()}" if colon else "")
                kinds = kinds[:-1] + ":"
            if set(kinds) <= {":"}:
                out.append("> " * len(kinds) + content)
            else:
                list_kinds = kinds.replace(":", "*").replace(";", "*")
                out.append(_Lists.prefix(list_kinds) + content)
            continue
        out.append(inline(line))
    flush_pre()
    if table is not None:
        out.append(table.render(inline))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out))


# ---------------------------------------------------------------- DokuWiki

_DW_CODE = re.compile(r"<(code|file)\b(?P<attrs>[^<>\n]{0,2000}?)(?P<self>/)?>")
_DW_NOWIKI = re.compile(r"<nowiki>|%%")
_DW_HTML = re.compile(r"<(html|HTML|php|PHP)>")
_DW_MONO = re.compile(r"''(.+?)''")
_DW_HEADING = re.compile(r"^\s*(={2,6})\s*(.*?)\s*=+\s*$")
_DW_LIST = re.compile(r"^( {2,}|\t+)([*-])\s?(.*)$")
_DW_LINK = re.compile(r"\[\[([^\[\]|]*)(?:\|((?:[^\[\]]|\{\{[^{}]*\}\})*))?\]\]")
_DW_MEDIA = re.compile(r"\{\{([^{}|]*)(?:\|([^{}]*))?\}\}")
_DW_FOOTNOTE = re.compile(r"\(\(")
_DW_BOLD = re.compile(r"\*\*(.+?)\*\*")
_DW_ITALIC = re.compile(r"(?<!:)//(.+?)(?<!:)//")
_DW_UNDERLINE = re.compile(r"__(.+?)__")
_DW_DEL = re.compile(r"<del>(.*?)</del>", re.DOTALL)
_DW_TAGS = re.compile(r"</?(?:sup|sub|WRAP|wrap|color|fs|font)\b[^<>]{0,200}>")
_DW_MACRO = re.compile(r"~~[A-Z]+(?::[^~]*)?~~")


def _dokuwiki(text: str) -> str:
    stash = _Stash()
    text = sub_delimited(
        text,
        _DW_CODE,
        lambda m: f"</{m.group(1)}>",
        lambda m, body: (
            "\n" + stash.put(_code_block(body or "", (m.group("attrs").split() or [""])[0].strip("-"))) + "\n"
        ),
    )
    text = sub_delimited(
        text,
        _DW_NOWIKI,
        lambda m: "%%" if m.group(0) == "%%" else "</nowiki>",
        lambda m, body: stash.put(body or ""),
    )
    text = sub_delimited(text, _DW_HTML, lambda m: f"</{m.group(1)}>", lambda m, body: stash.put(body or ""))
    text = _DW_MONO.sub(lambda m: stash.put(_code_span(m.group(1))), text)
    text = _DW_MACRO.sub("", text)
    notes: list[str] = []

    def media(m: re.Match[str]) -> str:
        target = m.group(1).strip()
        if ">" in target:
            return ""  # a plugin
        return stash.put(_image(m.group(2) or "", target.split("?", 1)[0]))

    def link(m: re.Match[str]) -> str:
        target, label = m.group(1).strip(), m.group(2)
        return stash.put(_link(stash.restore(label) if label else target, target))

    def footnote(m: re.Match[str], body: str | None) -> str:
        notes.append(body or "")
        return stash.put(f"[^{len(notes)}]")

    text = _DW_MEDIA.sub(media, text)
    text = _DW_LINK.sub(link, text)
    text = BARE_URL.sub(
        lambda m: stash.put(trim_url(m.group(0))) + m.group(0)[len(trim_url(m.group(0))) :], text
    )
    text = sub_delimited(text, _DW_FOOTNOTE, lambda m: "))", footnote)
    text = _dw_inline(text)
    out: list[str] = []
    pre: list[str] = []
    table: _Table | None = None
    for line in text.split("\n"):
        if table is not None and not line.startswith(("|", "^")):
            out.append(table.render(lambda s: s))
            table = None
        if line.startswith(("|", "^")):
            if table is None:
                table = _Table()
            table.row()
            for header, cell in _dw_cells(line):
                table.cell(cell, header)
            continue
        listed = _DW_LIST.match(line)
        if listed:
            if pre:
                out.append("\n" + _code_block("\n".join(pre)) + "\n")
                pre.clear()
            depth = max(1, len(listed.group(1).replace("\t", "  ")) // 2)
            kinds = ("#" if listed.group(2) == "-" else "*") * depth
            out.append(_Lists.prefix(kinds) + listed.group(3).strip())
            continue
        if line.startswith(("  ", "\t")) and line.strip():
            pre.append(line[2:] if line.startswith("  ") else line[1:])
            continue
        if pre:
            out.append("\n" + _code_block("\n".join(pre)) + "\n")
            pre.clear()
        heading = _DW_HEADING.match(line)
        if heading:
            level = max(1, 7 - len(heading.group(1)))
            out.append("\n" + "#" * level + " " + heading.group(2) + "\n")
            continue
        if line.strip().startswith("----") and not line.strip().strip("-"):
            out.append("\n***\n")
            continue
        out.append(
            line.replace("\\\\ ", " ").rstrip("\\") if line.endswith("\\\\") else line.replace("\\\\ ", " ")
        )
    if table is not None:
        out.append(table.render(lambda s: s))
    if pre:
        out.append("\n" + _code_block("\n".join(pre)) + "\n")
    result = re.sub(r"\n{3,}", "\n\n", "\n".join(out))
    if notes:
        result += "\n\n" + "\n".join(f"[^{i}]: {_dw_inline(n).strip()}" for i, n in enumerate(notes, 1))
    return stash.restore(result)


def _dw_inline(text: str) -> str:
    text = _DW_BOLD.sub(r"**\1**", text)
    text = _DW_ITALIC.sub(r"*\1*", text)
    text = _DW_UNDERLINE.sub(r"\1", text)
    text = _DW_DEL.sub(r"~~\1~~", text)
    return _DW_TAGS.sub("", text)


def _dw_cells(line: str) -> list[tuple[bool, str]]:
    cells: list[tuple[bool, str]] = []
    current: list[str] = []
    header = line[0] == "^"
    for ch in line[1:]:
        if ch in "|^":
            cells.append((header, "".join(current)))
            current = []
            header = ch == "^"
        else:
            current.append(ch)
    if "".join(current).strip():
        cells.append((header, "".join(current)))
    return cells


# ---------------------------------------------------------------- XWiki 2.x

_XW_CODE = re.compile(
    r"\{\{(code|velocity|groovy|python|script|ruby|php|html|raw)\b(?P<attrs>[^{}]{0,2000}?)(?P<self>/)?\}\}"
)
_XW_VERBATIM = re.compile(r"\{\{\{")
_XW_LANGUAGE = re.compile(r"""language\s*=\s*["']?([\w+#.-]+)""")
_XW_MACRO = re.compile(r"\{\{/?[\w.:-]+(?:\s[^{}]*?)?/?\}\}")
_XW_PARAMS = re.compile(r"\(%")
_XW_GROUP = re.compile(r"\(\(\(|\)\)\)")
_XW_CELL = re.compile(r"(\|=|!=|\|)")
_XW_ESCAPE = re.compile(r"~(.)")
_XW_LINK = re.compile(r"\[\[((?:[^\[\]]|\[(?!\[)|\](?!\]))*)\]\]")
_XW_HEADING = re.compile(r"^\s*(={1,6})\s*(.*?)\s*=*\s*$")
_XW_LIST = re.compile(r"^\s*(\*+|1+\.|\*+\.|;|:+)\s+(.*)$")
_XW_BOLD = re.compile(r"\*\*(.+?)\*\*")
_XW_ITALIC = re.compile(r"(?<!:)//(.+?)(?<!:)//")
_XW_UNDERLINE = re.compile(r"__(.+?)__")
_XW_STRIKE = re.compile(r"--(\S(?:.*?\S)?)--")
_XW_MONO = re.compile(r"##(.+?)##")
_XW_SUPSUB = re.compile(r"\^\^(.+?)\^\^|,,(.+?),,")


def _xwiki(text: str) -> str:
    stash = _Stash()
    text = _XW_ESCAPE.sub(lambda m: stash.put(m.group(1)), text)
    text = sub_delimited(
        text, _XW_VERBATIM, lambda m: "}}}", lambda m, body: stash.put(_code_span(body or ""))
    )
    text = sub_delimited(
        text,
        _XW_CODE,
        lambda m: "{{/" + m.group(1) + "}}",
        lambda m, body: (
            "\n"
            + stash.put(
                _code_block(
                    body or "",
                    ((_XW_LANGUAGE.search(m.group("attrs")) or _EMPTY).group(1) or "")
                    if m.group(1) == "code"
                    else m.group(1),
                )
            )
            + "\n"
        ),
    )
    text = _XW_MACRO.sub("", text)
    text = sub_delimited(text, _XW_PARAMS, lambda m: "%)", lambda m, body: "")
    text = _XW_GROUP.sub("", text)
    for _ in range(3):
        text, n = _XW_LINK.subn(lambda m: stash.put(_xw_link(m.group(1), stash)), text)
        if not n:
            break
    text = BARE_URL.sub(lambda m: stash.put(m.group(0)), text)
    text = _XW_MONO.sub(lambda m: stash.put(_code_span(m.group(1))), text)
    out: list[str] = []
    table: _Table | None = None
    for line in text.split("\n"):
        if table is not None and not line.lstrip().startswith(("|", "!=")):
            out.append(table.render(_xw_inline))
            table = None
        stripped = line.strip()
        if stripped.startswith(("|", "!=")):
            if table is None:
                table = _Table()
            table.row()
            bits = _XW_CELL.split(stripped)
            for marker, cell in zip(bits[1::2], bits[2::2], strict=False):
                table.cell(cell, marker != "|")
            continue
        heading = _XW_HEADING.match(line) if stripped.startswith("=") else None
        if heading and heading.group(2):
            out.append("\n" + "#" * len(heading.group(1)) + " " + _xw_inline(heading.group(2)) + "\n")
            continue
        if stripped.startswith("----") and not stripped.strip("-"):
            out.append("\n***\n")
            continue
        listed = _XW_LIST.match(line)
        if listed:
            marker, content = listed.group(1), _xw_inline(listed.group(2))
            if marker.startswith(":"):
                out.append("> " * len(marker) + content)
            elif marker == ";":
                out.append(f"**{content}**")
            else:
                depth = len(marker.rstrip("."))
                kind = "#" if marker[0] == "1" else "*"
                out.append(_Lists.prefix(kind * depth) + content)
            continue
        out.append(_xw_inline(line.replace("\\\\", " ")))
    if table is not None:
        out.append(table.render(_xw_inline))
    return stash.restore(re.sub(r"\n{3,}", "\n\n", "\n".join(out)))


def _xw_inline(text: str) -> str:
    if "**" in text:
        text = _XW_BOLD.sub(r"**\1**", text)
    if "//" in text:
        text = _XW_ITALIC.sub(r"*\1*", text)
    if "__" in text:
        text = _XW_UNDERLINE.sub(r"\1", text)
    if "--" in text:
        text = _XW_STRIKE.sub(r"~~\1~~", text)
    if "^^" in text or ",," in text:
        text = _XW_SUPSUB.sub(lambda m: m.group(1) or m.group(2) or "", text)
    return text


def _xw_link(inner: str, stash: _Stash) -> str:
    body = inner.split("||", 1)[0]
    label, sep, reference = body.rpartition(">>")
    if not sep:
        label, reference = "", body
    reference = reference.strip()
    kind, colon, value = reference.partition(":")
    if colon and kind.lower() in ("image", "icon"):
        return _image(stash.restore(label), value)
    if colon and kind.lower() in ("doc", "page", "space", "url", "user"):
        reference = value
    shown = value if colon and kind.lower() in ("attach", "pageattach") else reference
    return _link(_xw_inline(stash.restore(label)) if label else shown, reference)


# ---------------------------------------------------------------- XWiki 1.0 and HTML


_XW10_CODE = re.compile(r"\{code(?::[^}\n]*)?\}")


def _xwiki10(text: str) -> str:
    text = re.sub(
        r"^\s*1(\.1)*\s+(.*)$",
        lambda m: "#" * (m.group(0).strip().split()[0].count(".") + 1) + " " + m.group(2),
        text,
        flags=re.MULTILINE,
    )
    stash = _Stash()
    text = sub_delimited(
        text, _XW10_CODE, lambda m: "{code}", lambda m, body: "\n" + stash.put(_code_block(body or "")) + "\n"
    )
    text = re.sub(r"\{image:([^|}\n]+)[^}\n]*\}", lambda m: _image("", m.group(1)), text)
    text = re.sub(r"\[([^\[\]>|\n]*)[>|]([^\[\]\n]+)\]", lambda m: _link(m.group(1), m.group(2)), text)
    return stash.restore(text)


class _HtmlText(HTMLParser):
    _BLOCK = frozenset({"p", "div", "section", "article", "table", "ul", "ol", "blockquote", "br", "hr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.href: list[str | None] = []
        self.lists: list[str] = []
        self.pre = 0
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in ("strong", "b"):
            self.out.append("**")
        elif tag in ("em", "i"):
            self.out.append("*")
        elif tag == "code" and not self.pre:
            self.out.append("`")
        elif tag == "pre":
            self.pre += 1
            self.out.append("\n\n```\n")
        elif tag in ("ul", "ol"):
            self.lists.append(tag)
        elif tag == "li":
            kind = "#" if self.lists and self.lists[-1] == "ol" else "*"
            self.out.append("\n" + _Lists.prefix(kind * max(1, len(self.lists))))
        elif tag == "a":
            self.href.append(values.get("href"))
            self.out.append("[")
        elif tag == "img":
            self.out.append(_image(values.get("alt") or "", values.get("src") or ""))
        elif tag == "tr":
            self.out.append("\n|")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag in self._BLOCK:
            self.out.append("\n\n" if tag != "hr" else "\n\n***\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in ("strong", "b"):
            self.out.append("**")
        elif tag in ("em", "i"):
            self.out.append("*")
        elif tag == "code" and not self.pre:
            self.out.append("`")
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
            self.out.append("\n```\n\n")
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            self.out.append("\n\n")
        elif tag == "a":
            href = self.href.pop() if self.href else None
            self.out.append(f"](<{href}>)" if href else "]")
        elif tag in ("td", "th"):
            self.out.append(" |")
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6", "p", "div", "table"):
            self.out.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(data if self.pre else re.sub(r"\s+", " ", data))


def _html(text: str) -> str:
    parser = _HtmlText()
    parser.feed(_LONE_LT.sub("&lt;", text))
    parser.close()
    return re.sub(r"\n{3,}", "\n\n", "".join(parser.out)).strip()


def _markdown(text: str) -> str:
    return text


_CONVERTERS: dict[str, Callable[[str], str]] = {
    "mediawiki": _mediawiki,
    "dokuwiki": _dokuwiki,
    "xwiki": _xwiki,
    "xwiki/1.0": _xwiki10,
    "html": _html,
    "xhtml": _html,
    "markdown": _markdown,
}
