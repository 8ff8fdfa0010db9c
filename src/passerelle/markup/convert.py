"""Converting a page's markup to another wiki's syntax: pandoc where it serves, a fallback
that keeps the page readable, and every construct that does not survive said (``Loss``).

Sources: ``mediawiki``, ``dokuwiki``, ``xwiki/2.0``, ``xwiki/2.1``, ``xwiki/1.0``,
``markdown``, ``html``. Targets: ``mediawiki``, ``dokuwiki``, ``xwiki/2.1``, ``markdown``.

- Same source and target: ``identity``, the text unchanged but for the link and file
  targets a ``link``/``file`` function renames.
- pandoc reads the page (pandoc has no XWiki reader: an XWiki page goes through
  :func:`normalise`'s Markdown first), its JSON AST has every ``Link`` and ``Image`` target
  renamed by ``link``/``file`` (by default the name written in the target's naming,
  :func:`page_name`), raw markup the target cannot hold is taken out and said, and pandoc
  writes the target.
- pandoc failing on a page (the real "Pear" table, a time limit, its memory cap) or absent:
  the ``fallback`` (pure Python), with a ``markup.pandoc_failed`` loss.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from passerelle.markup import losses as scan
from passerelle.markup._scan import is_url
from passerelle.markup.fallback import fallback, preformatted
from passerelle.markup.losses import Loss, losses_of
from passerelle.markup.naming import file_name, link_keys, page_name
from passerelle.markup.normalise import normalise
from passerelle.markup.pandoc import Answer, run_jobs

Method = Literal["identity", "pandoc", "fallback"]
Rename = Callable[[str], str | None]

SOURCES = frozenset({"mediawiki", "dokuwiki", "xwiki/2.0", "xwiki/2.1", "xwiki/1.0", "markdown", "html"})
TARGETS = frozenset({"mediawiki", "dokuwiki", "xwiki/2.1", "markdown"})
_PANDOC_READER = {"mediawiki": "mediawiki", "dokuwiki": "dokuwiki", "markdown": "markdown", "html": "html"}
_PANDOC_WRITER = {"mediawiki": "mediawiki", "dokuwiki": "dokuwiki", "xwiki/2.1": "xwiki", "markdown": "gfm"}
# Raw markup a target keeps as it is (pandoc writes RawInline/RawBlock of these formats).
_RAW_KEPT = {
    "mediawiki": {"mediawiki", "html"},
    "dokuwiki": {"dokuwiki"},
    "xwiki/2.1": {"xwiki"},
    "markdown": {"html", "markdown", "gfm"},
}


@dataclass(frozen=True)
class Conversion:
    text: str
    method: Method
    losses: tuple[Loss, ...] = ()


@dataclass(frozen=True)
class Page:
    """One page to convert: its markup, the format it is written in, and its name (for the
    losses: each names its page)."""

    text: str
    source: str
    page: str


def _family(fmt: str) -> str:
    return "xwiki" if fmt.startswith("xwiki/2") else fmt


def convert(
    text: str,
    source: str,
    target: str,
    *,
    page: str,
    link: Rename | None = None,
    file: Rename | None = None,
) -> Conversion:
    """``text`` written in ``source`` converted to ``target`` (see the module's text)."""
    return next(convert_many([Page(text, source, page)], target, link=link, file=file))


@dataclass
class _Job:
    page: Page
    losses: Counter[tuple[str, str]] = field(default_factory=Counter)
    ready: str = ""
    reader: str = ""
    result: Conversion | None = None
    ast: str | None = None
    error: str | None = None
    page_to: Callable[[str], str] = str
    file_to: Callable[[str], str] = str


def convert_many(
    pages: Iterable[Page],
    target: str,
    *,
    link: Rename | None = None,
    file: Rename | None = None,
    batch: int = 256,
) -> Iterator[Conversion]:
    """Each page converted to ``target``, in order: ``batch`` pages at a time, given to
    pandoc in batches of ``pandoc.BATCH_PAGES`` pages per process, several processes at
    once (each page isolated: one that pandoc fails on falls back alone). Memory holds one
    ``batch`` of pages and their conversions."""
    if target not in TARGETS:
        raise ValueError(f"no conversion to {target!r}; targets: {', '.join(sorted(TARGETS))}")
    chunk: list[Page] = []
    for p in pages:
        chunk.append(p)
        if len(chunk) >= batch:
            yield from _convert_chunk(chunk, target, link, file)
            chunk = []
    if chunk:
        yield from _convert_chunk(chunk, target, link, file)


def _renamers(
    source: str, target: str, link: Rename | None, file: Rename | None
) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """Functions giving a link's page and a file their names in the target: the caller's
    (``link``, ``file``), else the naming rules (:func:`page_name`, :func:`file_name`);
    a name a function leaves (None) stays as the source wrote it."""

    def page_to(name: str) -> str:
        new = link(name) if link is not None else page_name(target, name, source)
        return name if new is None else new

    def file_to(name: str) -> str:
        new = file(name) if file is not None else file_name(target, name)
        return name if new is None else new

    return page_to, file_to


def _convert_chunk(
    chunk: list[Page], target: str, link: Rename | None, file: Rename | None
) -> Iterator[Conversion]:
    jobs = [_Job(p) for p in chunk]
    to_pandoc: list[_Job] = []
    for job in jobs:
        p = job.page
        source = p.source
        if source not in SOURCES:
            job.result = Conversion(
                preformatted(p.text, target) if source != target else p.text,
                "fallback" if source != target else "identity",
                (
                    Loss(
                        "markup.unknown_format",
                        source,
                        f"page {p.page!r}: markup {source!r} is not converted; kept as preformatted text",
                    ),
                )
                if source != target
                else (),
            )
            continue
        if _family(source) == _family(target):
            job.result = Conversion(_rename_identity(p.text, source, link, file), "identity")
            continue
        try:
            if source == "mediawiki":
                job.ready, job.losses = scan.mediawiki(p.text, p.page, target)
            elif source == "dokuwiki":
                job.ready, job.losses = scan.dokuwiki(p.text, p.page, target)
            elif source.startswith("xwiki"):
                job.losses = scan.xwiki(p.text, p.page, target)
                job.ready = normalise(source, p.text)
            else:
                job.ready = p.text
        except Exception:  # pragma: no cover - the scans are pure Python; a guard for "never raises"
            job.ready = p.text
        job.reader = _PANDOC_READER.get(source, "markdown")
        job.page_to, job.file_to = _renamers(source, target, link, file)
        to_pandoc.append(job)
    if to_pandoc:
        _pandoc(to_pandoc, target)
    for job in jobs:
        assert job.result is not None
        yield job.result


def _pandoc(jobs: list[_Job], target: str) -> None:
    # pandoc's command line ends its input with a newline (a last list line needs it); so do we
    read = run_jobs([{"op": "read", "text": _newline(j.ready), "from": j.reader, "to": "json"} for j in jobs])
    writes: list[_Job] = []
    asts: list[str] = []
    for job, answer in zip(jobs, read, strict=True):
        if not answer.ok:
            job.error = answer.text
            continue
        try:
            ast = json.loads(answer.text)
            _rewrite(ast, job, target)
            asts.append(json.dumps(ast))
            writes.append(job)
        except (ValueError, RecursionError, TypeError, KeyError, IndexError) as exc:
            job.error = f"pandoc's AST could not be read: {exc}"
    written: list[Answer] = (
        run_jobs([{"op": "write", "text": a, "from": "json", "to": _PANDOC_WRITER[target]} for a in asts])
        if asts
        else []
    )
    for job, answer in zip(writes, written, strict=True):
        if answer.ok:
            job.result = Conversion(
                answer.text, "pandoc", tuple(losses_of(job.page.page, target, job.losses))
            )
        else:
            job.error = answer.text
    for job in jobs:
        if job.result is None:
            p = job.page
            failed = Loss(
                "markup.pandoc_failed",
                "pandoc",
                f"page {p.page!r}: pandoc could not convert it ({_first_lines(job.error)}); "
                "converted by the fallback",
            )
            text = fallback(p.text, p.source, target, job.page_to, job.file_to)
            job.result = Conversion(text, "fallback", (failed, *losses_of(p.page, target, job.losses)))


def _newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _first_lines(error: str | None) -> str:
    if not error:
        return "no answer"
    return " ".join(line.strip() for line in error.splitlines()[:2])[:300]


def _source_name(url: str, source: str, page: str) -> tuple[str, bool]:
    """The name a pandoc link or image target had in the source, and whether it is a
    file: pandoc writes MediaWiki's spaces as ``_`` and DokuWiki's ``ns:page`` as
    ``/ns/page`` (relative links resolved here against the page, as DokuWiki does);
    MediaWiki's ``Media:`` links and XWiki's ``attach:`` references are files."""
    if source == "mediawiki":
        name = url.replace("_", " ")
        prefix, colon, rest = name.partition(":")
        if colon and prefix.strip().lower() == "media":
            return rest.strip(), True
        return name, False
    if source == "dokuwiki":
        page_part, hash_, anchor = url.partition("#")
        absolute = page_part.startswith("/")
        page_part = page_part.strip("/").replace("/", ":")
        if page_part and not absolute:
            page_part = link_keys("dokuwiki", page_part, page)[0] if ":" not in page_part else page_part
        return page_part + hash_ + anchor, False
    if source.startswith("xwiki"):
        for prefix in ("attach:", "pageAttach:"):
            if url.startswith(prefix):
                return url[len(prefix) :], True
        for prefix in ("doc:", "page:", "space:"):
            if url.startswith(prefix):
                return url[len(prefix) :], False
    return url, False


def _rewrite(ast: Any, job: _Job, target: str) -> None:
    """Rename every Link and Image target, and take out the raw markup the target cannot
    hold (saying so), walking the AST without recursion."""
    kept = _RAW_KEPT[target]
    source = job.page.source
    stack: list[Any] = [ast.get("blocks", [])]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            if any(isinstance(x, dict) and x.get("t") in ("RawInline", "RawBlock") for x in node):
                node[:] = [x for x in node if not _dropped_raw(x, kept, job)]
            stack.extend(x for x in node if isinstance(x, (list, dict)))
            continue
        if not isinstance(node, dict):
            continue
        kind = node.get("t")
        content = node.get("c")
        if kind == "Str" and isinstance(content, str):
            escaped = _escape(content, target)
            if escaped is not None:
                node["t"], node["c"] = "RawInline", escaped
            continue
        if kind == "Code" and target == "mediawiki" and isinstance(content, list) and len(content) == 2:
            code = content[1]
            if isinstance(code, str) and _SPECIAL["mediawiki"].search(code):
                # pandoc writes <code>…</code>, whose content MediaWiki still reads as wikitext
                shown = code.replace("&", "&amp;").replace("<", "&lt;")
                node["t"], node["c"] = "RawInline", ["mediawiki", f"<code><nowiki>{shown}</nowiki></code>"]
            continue
        if kind == "Header" and isinstance(content, list) and len(content) == 3:
            content[1][0] = ""  # pandoc's generated identifier: {{id}} macros, <span id> otherwise
        if kind in ("Link", "Image") and isinstance(content, list) and len(content) == 3:
            attr, _, (url, title) = content
            if kind == "Link" and isinstance(attr, list) and len(attr) == 3 and "wikilink" in attr[1]:
                attr[1] = [c for c in attr[1] if c != "wikilink"]
                title = ""
            if kind == "Image" and target == "markdown":
                content[0] = ["", [], []]
                title = ""
            file_link = False
            if not is_url(url) and not url.startswith("#"):
                name, file_link = _source_name(url, source, job.page.page)
                if kind == "Image" or file_link:
                    url = job.file_to(name)
                else:
                    page, hash_, anchor = name.partition("#")
                    url = (job.page_to(page) if page else "") + hash_ + anchor
            if target == "markdown":
                url = url.replace(" ", "%20")
            content[2] = [url, title]
            label = content[1]
            if file_link and kind == "Link" and target != "markdown":
                text = _plain(label)
                node["t"] = "RawInline"
                if target == "dokuwiki":
                    node["c"] = ["dokuwiki", "{{" + url + (f"|{text}" if text else "") + "}}"]
                elif target == "mediawiki":
                    node["c"] = ["mediawiki", f"[[Media:{url}|{text}]]" if text else f"[[Media:{url}]]"]
                else:
                    node["c"] = ["xwiki", f"[[{text}>>attach:{url}]]" if text else f"[[attach:{url}]]"]
                continue
            if (
                kind == "Link"
                and target == "dokuwiki"
                and not is_url(url)
                and len(label) == 1
                and label[0].get("t") == "Str"
                and label[0].get("c") == url
            ):
                # pandoc's DokuWiki writer writes such a link as its bare text: no link at all
                node["t"], node["c"] = "RawInline", ["dokuwiki", f"[[{url}]]"]
                continue
        if isinstance(content, list):
            stack.append(content)


# Text pandoc's wiki writers leave as it is although the target would read it as markup
# ("[[not a link]]" from a <nowiki> is a link again in MediaWiki, DokuWiki and XWiki).
_SPECIAL = {
    "mediawiki": re.compile(r"\[\[|\]\]|\{\{|\}\}|''|__|~~~|<|\[(?:https?|ftp)://"),
    "dokuwiki": re.compile(r"\[\[|\]\]|\{\{|\}\}|\*\*|//|__|''|\(\(|\)\)|%%|<|~~"),
    "xwiki/2.1": re.compile(r"\[\[|\]\]|\{\{|\}\}|\*\*|//|__|--|##|~|\(%|\(\(|\^\^|,,"),
}


def _escape(text: str, target: str) -> list[str] | None:
    """A Str the target would read as markup, as raw markup that shows it as text."""
    special = _SPECIAL.get(target)
    if special is None or not special.search(text):
        return None
    if target == "mediawiki":
        return ["mediawiki", "<nowiki>" + text.replace("<", "&lt;") + "</nowiki>"]
    if target == "dokuwiki":
        return None if "%%" in text else ["dokuwiki", "%%" + text + "%%"]
    return ["xwiki", "".join("~" + c if c in "[]{}*/_-#~(%^," else c for c in text)]


def _plain(inlines: Any) -> str:
    """The text of simple inlines (Str and spaces), for a label written raw."""
    out = []
    for x in inlines if isinstance(inlines, list) else []:
        if isinstance(x, dict):
            if x.get("t") == "Str":
                out.append(str(x.get("c", "")))
            elif x.get("t") in ("Space", "SoftBreak", "LineBreak"):
                out.append(" ")
    return "".join(out).strip()


def _dropped_raw(node: Any, kept: set[str], job: _Job) -> bool:
    if not isinstance(node, dict) or node.get("t") not in ("RawInline", "RawBlock"):
        return False
    fmt, text = node["c"]
    if fmt in kept:
        return False
    construct = text.strip()
    if construct.startswith("<"):
        construct = (
            "<" + construct[1:].split(">", 1)[0].split()[0].strip("/") + ">"
            if len(construct) > 1
            else construct
        )
    job.losses["markup.raw_dropped", construct[:80]] += 1
    return True


# ---------------------------------------------------------------- identity with renaming


_MW_LINK = re.compile(r"\[\[(\s*:?)([^\[\]|#\n]*)([^\[\]|\n]*)((?:\|[^\[\]]*)?)\]\]")


def _rename_identity(text: str, fmt: str, link: Rename | None, file: Rename | None) -> str:
    """The text with its internal link (and file) targets renamed where ``link``/``file``
    give another name; untouched without them."""
    if link is None and file is None:
        return text
    if fmt == "mediawiki":
        return _MW_LINK.sub(lambda m: _mw_renamed(m, link, file), text)
    if fmt == "dokuwiki":
        return _DW_LINK.sub(lambda m: _dw_renamed(m, link), text)
    if fmt.startswith("xwiki"):
        return _XW_LINK.sub(lambda m: _xw_renamed(m, link, file), text)
    return text


def _mw_renamed(m: re.Match[str], link: Rename | None, file: Rename | None) -> str:
    colon, name, anchor, rest = m.group(1), m.group(2), m.group(3), m.group(4)
    prefix, sep, filename = name.partition(":")
    if sep and not colon.strip() and prefix.strip().lower() in ("file", "image", "media"):
        new = file(filename.strip()) if file else None
        return (
            f"[[{prefix}:{new}{anchor}{rest}]]" if new is not None and new != filename.strip() else m.group(0)
        )
    if is_url(name.strip()):
        return m.group(0)
    new = link(name.strip()) if link else None
    return f"[[{colon}{new}{anchor}{rest}]]" if new is not None and new != name.strip() else m.group(0)


_DW_LINK = re.compile(r"\[\[([^\[\]|#\n]*)([^\[\]|\n]*)((?:\|[^\[\]]*)?)\]\]")


def _dw_renamed(m: re.Match[str], link: Rename | None) -> str:
    name, anchor, rest = m.group(1), m.group(2), m.group(3)
    if not name.strip() or is_url(name.strip()) or ">" in name:
        return m.group(0)
    new = link(name.strip()) if link else None
    return f"[[{new}{anchor}{rest}]]" if new is not None and new != name.strip() else m.group(0)


_XW_LINK = re.compile(
    r"\[\[((?:[^\[\]>]|>(?!>))*>>)?((?:doc:|page:|attach:|image:)?)([^\[\]|\n]*?)((?:\|\|[^\[\]]*)?)\]\]"
)


def _xw_renamed(m: re.Match[str], link: Rename | None, file: Rename | None) -> str:
    label, kind, ref, params = m.group(1) or "", m.group(2), m.group(3), m.group(4)
    if is_url(ref.strip()) or ref.strip().startswith(("url:", "mailto:")):
        return m.group(0)
    if kind in ("attach:", "image:"):
        new = file(ref.strip()) if file else None
    else:
        new = link(ref.strip()) if link else None
    return f"[[{label}{kind}{new}{params}]]" if new is not None and new != ref.strip() else m.group(0)
