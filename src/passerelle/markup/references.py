"""The references a wiki body holds (page links, files, external URLs), in order of
appearance: a fast pure-Python pass, no pandoc, for readers at ingest time.

``target`` is the page or file name as the source writes it (without ``#anchor``);
``target_id`` is left None (the link check resolves names over the whole archive).
Nothing inside comments, ``<nowiki>``, ``<pre>``, code blocks or verbatim regions is a
reference, as the wikis render none there.
"""

from __future__ import annotations

import bisect
import re
from html.parser import HTMLParser

from passerelle.markup._scan import (
    find_bare_urls,
    is_url,
    mask,
    pairs,
    split_top,
    sub_delimited,
    tag_spans,
    trim_url,
)
from passerelle.model.entities import Reference, RefKind

# Canonical and common localised names of MediaWiki's File and Media namespaces.
_MW_FILE_NS = frozenset(
    {"file", "image", "datei", "bild", "fichier", "archivo", "imagen", "ficheiro", "bestand", "plik", "файл"}
)
_MW_MEDIA_NS = frozenset({"media", "medium", "média", "medio"})
_MW_IMAGE_OPTIONS = re.compile(
    r"^\s*(?:thumb|thumbnail|frame|framed|frameless|border|left|right|center|centre|none|baseline|sub|super|"
    r"top|text-top|middle|bottom|text-bottom|upright(?:\s*=?\s*[\d.]+)?|\d*x?\d+\s*px|"
    r"(?:link|alt|page|class|lang|upright|thumb|thumbnail)\s*=.*)\s*$",
    re.IGNORECASE | re.DOTALL,
)
# Interwiki prefixes every MediaWiki knows (the Wikimedia map) and language codes: a link
# with one of them points out of the wiki, kept as a link with its target as written.
# ("Wikipedia:" is not among them: it is the project namespace of the Wikipedias.)
_INTERWIKI = frozenset(
    {
        "w",
        "wikt",
        "wiktionary",
        "commons",
        "meta",
        "m",
        "mw",
        "mediawikiwiki",
        "b",
        "wikibooks",
        "q",
        "wikiquote",
        "s",
        "wikisource",
        "n",
        "wikinews",
        "v",
        "wikiversity",
        "voy",
        "wikivoyage",
        "species",
        "wikispecies",
        "d",
        "wikidata",
        "phab",
        "foundation",
        "wmf",
        "outreach",
        "incubator",
        "google",
        "imdb",
        "doi",
        "arxiv",
        "rfc",
    }
)
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[a-z]{2,8})*$")
_MW_MASKED = ("nowiki", "pre", "syntaxhighlight", "source", "math", "score", "chem", "ce", "templatedata")
_MW_GALLERY = re.compile(r"<gallery\b[^<>]{0,2000}>(.*?)</gallery\s*>", re.IGNORECASE | re.DOTALL)
# [url label] with a scheme; "[[" is an internal link.
_MW_EXTERNAL = re.compile(
    r"(?<!\[)\[((?:https?|ftps?|sftp|ircs?|nntp|gopher|git|svn|ssh|telnet)://|//|mailto:|news:)"
    r"([^\s\[\]<>\"]*)(?:[ \t]+([^\[\]\n]*))?\]",
    re.IGNORECASE,
)
_MAX_INNER = 20_000  # a link longer than this is split by its first "|" only


def references(fmt: str, text: str) -> tuple[Reference, ...]:
    """Every page link, file and external URL of ``text`` written in ``fmt`` (a format name
    of ``Body.format``), in order of appearance; ``()`` for a format it does not know."""
    try:
        if fmt == "mediawiki":
            found = _mediawiki(text)
        elif fmt == "dokuwiki":
            found = _dokuwiki(text)
        elif fmt.startswith("xwiki/2") or fmt == "xwiki":
            found = _xwiki(text)
        elif fmt == "xwiki/1.0":
            found = _xwiki10(text)
        elif fmt in ("markdown", "commonmark", "gfm", "markdown/commonmark"):
            found = _markdown(text)
        elif fmt in ("html", "xhtml"):
            found = _html(text)
        else:
            return ()
    except RecursionError:  # pragma: no cover - nothing here recurses; a guard for the promise
        return ()
    found.sort(key=lambda pair: pair[0])
    return tuple(ref for _, ref in found)


def _ref(kind: RefKind, target: str, label: str | None = None) -> Reference:
    label = label.strip() if label is not None else None
    return Reference(kind=kind, target=target, label=label or None)


def _page_target(target: str) -> str:
    """The page name of a link target: without its ``#anchor``, surrounding spaces."""
    hash_ = target.find("#")
    if hash_ >= 0:
        target = target[:hash_]
    return target.strip()


def _bare_urls(masked: str, taken: list[tuple[int, int]], found: list[tuple[int, Reference]]) -> None:
    """The bare URLs of ``masked`` that lie outside the spans already taken."""
    taken.sort()
    starts = [s for s, _ in taken]
    for start, end in find_bare_urls(masked):
        i = bisect.bisect_right(starts, start) - 1
        if i >= 0 and taken[i][0] <= start < taken[i][1]:
            continue
        url = trim_url(masked[start:end])
        if url:
            found.append((start, _ref(RefKind.LINK, url)))


# ---------------------------------------------------------------- MediaWiki


def _mediawiki(text: str) -> list[tuple[int, Reference]]:
    masked = mask(text, tag_spans(text, _MW_MASKED))
    found: list[tuple[int, Reference]] = []
    taken: list[tuple[int, int]] = []
    gallery_spans: list[tuple[int, int]] = []
    for g in _MW_GALLERY.finditer(masked):
        gallery_spans.append(g.span())
        offset = g.start(1)
        for line in g.group(1).splitlines(keepends=True):
            entry = line.strip()
            if entry:
                name = split_top(entry)[0].strip() if len(entry) < _MAX_INNER else entry.split("|", 1)[0]
                caption = entry[len(name) :].lstrip("|") if "|" in entry else None
                ns, colon, _ = name.partition(":")
                if not colon or ns.strip().lower() not in _MW_FILE_NS:
                    name = "File:" + name
                found.append((offset, _ref(RefKind.FILE, name, caption)))
            offset += len(line)
    if gallery_spans:
        masked = mask(masked, gallery_spans)
    for start, end in sorted(pairs(masked, "[[", "]]").items()):
        inner = masked[start + 2 : end - 2]
        taken.append((start, end))
        ref = _mediawiki_link(inner)
        if ref is not None:
            found.append((start, ref))
    for m in _MW_EXTERNAL.finditer(masked):
        url = m.group(1) + m.group(2)
        taken.append(m.span())
        found.append((m.start(), _ref(RefKind.LINK, url, m.group(3))))
    _bare_urls(masked, taken, found)
    return found


def _mediawiki_link(inner: str) -> Reference | None:
    parts = split_top(inner) if len(inner) < _MAX_INNER else inner.split("|", 1)
    raw_target = parts[0]
    if "\n" in raw_target or "[" in raw_target or "{" in raw_target or "<" in raw_target:
        return None  # not a link: MediaWiki renders it as text
    target = raw_target.strip()
    leading_colon = target.startswith(":")
    if leading_colon:
        target = target[1:].strip()
    if is_url(target):
        return None  # "[[http://…]]" is "[" + an external link + "]": found by the external pass
    label = "|".join(parts[1:]) if len(parts) > 1 else None
    prefix, colon, _rest = target.partition(":")
    ns = prefix.strip().lower() if colon else ""
    if not leading_colon and ns in _MW_FILE_NS:
        caption = None
        for option in parts[1:]:
            if not _MW_IMAGE_OPTIONS.match(option):
                caption = option
        return _ref(RefKind.FILE, _page_target(target), caption)
    if ns in _MW_MEDIA_NS:
        return _ref(RefKind.FILE, _page_target(target), label)
    if colon and (ns in _INTERWIKI or _LANGUAGE.match(ns)) and ns not in _MW_FILE_NS:
        return _ref(RefKind.LINK, target, label)
    page = _page_target(target)
    if not page:
        return None  # [[#anchor]]: a link within the page
    return _ref(RefKind.PAGE, page, label)


# ---------------------------------------------------------------- DokuWiki

_DW_MASKED = ("nowiki", "code", "file", "html", "php", "HTML", "PHP")
_DW_PERCENT = re.compile(r"%%.*?%%", re.DOTALL)
_DW_INTERWIKI = re.compile(r"^[\w.+-]+>")
_DW_EMAIL = re.compile(r"<([\w.+-]+@[\w-]+(?:\.[\w-]+)+)>")
_DW_WWW = re.compile(r"(?<![\w/.@-])www\.[\w-]+(?:\.[\w-]+)+[^\s\[\]<>\"{}|]*", re.IGNORECASE)


def _dokuwiki(text: str) -> list[tuple[int, Reference]]:
    spans = tag_spans(text, _DW_MASKED, comments=False)
    masked = mask(text, spans)
    masked = mask(masked, [m.span() for m in _DW_PERCENT.finditer(masked)])
    # Indented code blocks: a line starting with two spaces that is not a list item.
    found: list[tuple[int, Reference]] = []
    taken: list[tuple[int, int]] = []
    for start, end in sorted(pairs(masked, "[[", "]]").items()):
        inner = masked[start + 2 : end - 2]
        taken.append((start, end))
        target, _, label = inner.partition("|")
        if "\n" in target:
            continue
        target = target.strip()
        if not target:
            continue
        if is_url(target) or target.startswith("\\\\") or _DW_INTERWIKI.match(target) or "@" in target:
            found.append((start, _ref(RefKind.LINK, target, label or None)))
        else:
            page = _page_target(target)
            if page:
                found.append((start, _ref(RefKind.PAGE, page, label or None)))
    for start, end in sorted(pairs(masked, "{{", "}}").items()):
        inner = masked[start + 2 : end - 2]
        taken.append((start, end))
        target, _, title = inner.partition("|")
        if "\n" in target or ">" in target:
            continue  # plugin syntax ({{tag>…}}, {{page>…}}, {{indexmenu>…}})
        target = target.strip()
        name = target.split("?", 1)[0].strip()
        if not name:
            continue
        kind = RefKind.LINK if is_url(name) else RefKind.FILE
        found.append((start, _ref(kind, name, title or None)))
    for m in _DW_EMAIL.finditer(masked):
        taken.append(m.span())
        found.append((m.start(), _ref(RefKind.LINK, "mailto:" + m.group(1))))
    for m in _DW_WWW.finditer(masked):
        taken.append(m.span())
        found.append((m.start(), _ref(RefKind.LINK, trim_url(m.group(0)))))
    _bare_urls(masked, taken, found)
    return found


# ---------------------------------------------------------------- XWiki 2.x

_XW_CODE = re.compile(
    r"\{\{(code|html|velocity|groovy|python|script|ruby|php|raw)\b[^}]*?(?:/\}\}|\}\}.*?\{\{/\1\s*\}\})",
    re.DOTALL,
)
_XW_VERBATIM = re.compile(r"\{\{\{.*?\}\}\}", re.DOTALL)
_XW_ESCAPED = re.compile(r"~.")
_XW_FREE_IMAGE = re.compile(r"(?<![\w\[>:~])image:([^\s\[\]|{}]+\.[A-Za-z0-9]+)")
_XW_TYPED = re.compile(r"^(\w+):(.*)$", re.DOTALL)
_XW_PAGE_TYPES = frozenset({"doc", "page", "space", "user"})
_XW_FILE_TYPES = frozenset({"attach", "pageattach", "image", "icon"})
_XW_LINK_TYPES = frozenset({"url", "mailto", "unc", "interwiki", "path", "data"})


def _xwiki_spans(text: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in _XW_ESCAPED.finditer(text)]
    spans += [m.span() for m in _XW_VERBATIM.finditer(text)]
    spans += [m.span() for m in _XW_CODE.finditer(text)]
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def _xwiki(text: str) -> list[tuple[int, Reference]]:
    if "{{{" in text and "}}}" not in text:
        masked = mask(text, _xwiki_spans(text.replace("{{{", "   ")))
    else:
        masked = mask(text, _xwiki_spans(text))
    found: list[tuple[int, Reference]] = []
    taken: list[tuple[int, int]] = []
    for start, end in sorted(pairs(masked, "[[", "]]").items()):
        inner = masked[start + 2 : end - 2]
        taken.append((start, end))
        ref = _xwiki_link(inner)
        if ref is not None:
            found.append((start, ref))
    for m in _XW_FREE_IMAGE.finditer(masked):
        taken.append(m.span())
        found.append((m.start(), _ref(RefKind.FILE, m.group(1))))
    _bare_urls(masked, taken, found)
    return found


def _xwiki_link(inner: str) -> Reference | None:
    label: str | None = None
    # [[label>>reference||parameters]]: the last ">>" outside nested links separates them.
    body = split_top(inner, "||")[0] if len(inner) < _MAX_INNER else inner.split("||", 1)[0]
    pieces = split_top(body, ">>") if len(body) < _MAX_INNER else body.rsplit(">>", 1)
    if len(pieces) > 1:
        label = ">>".join(pieces[:-1])
        reference = pieces[-1]
    else:
        reference = pieces[0]
    reference = reference.strip()
    if not reference or "\n" in reference:
        return None
    typed = _XW_TYPED.match(reference)
    if typed:
        kind_name = typed.group(1).lower()
        value = typed.group(2).strip()
        if kind_name in _XW_FILE_TYPES:
            return _ref(RefKind.FILE, value, label)
        if kind_name in _XW_PAGE_TYPES:
            page = _page_target(value)
            return _ref(RefKind.PAGE, page, label) if page else None
        if kind_name == "url":
            return _ref(RefKind.LINK, value, label)
        if kind_name == "mailto":
            return _ref(RefKind.LINK, reference, label)
        if kind_name in _XW_LINK_TYPES:
            return _ref(RefKind.LINK, reference, label)
    if is_url(reference) or reference.startswith("www."):
        return _ref(RefKind.LINK, reference, label)
    if reference.startswith("#"):
        return None
    page = _page_target(reference)
    return _ref(RefKind.PAGE, page, label) if page else None


# ---------------------------------------------------------------- XWiki 1.0

_XW1_LINK = re.compile(r"(?<!\\)\[(?:([^\[\]>|\n]*)[>|])?([^\[\]>|\n]+)(?:[>|][^\[\]\n]*)?\]")
_XW1_IMAGE = re.compile(r"\{image:([^|}\n]+)[^}\n]*\}")


_XW10_CODE = re.compile(r"\{(code|pre)(?::[^}\n]*)?\}")


def _xwiki10(text: str) -> list[tuple[int, Reference]]:
    spans: list[tuple[int, int]] = []

    def note(m: re.Match[str], body: str | None) -> str:
        spans.append((m.start(), m.end() + len(body or "") + len(m.group(1)) + 2))
        return ""

    sub_delimited(text, _XW10_CODE, lambda m: "{" + m.group(1) + "}", note)
    masked = mask(text, spans)
    found: list[tuple[int, Reference]] = []
    taken: list[tuple[int, int]] = []
    for m in _XW1_IMAGE.finditer(masked):
        taken.append(m.span())
        found.append((m.start(), _ref(RefKind.FILE, m.group(1).strip())))
    for m in _XW1_LINK.finditer(masked):
        taken.append(m.span())
        target = m.group(2).strip()
        if is_url(target):
            found.append((m.start(), _ref(RefKind.LINK, target, m.group(1))))
        elif _page_target(target):
            found.append((m.start(), _ref(RefKind.PAGE, _page_target(target), m.group(1))))
    _bare_urls(masked, taken, found)
    return found


# ---------------------------------------------------------------- Markdown

_MD_FENCE_LINE = re.compile(r" {0,3}(`{3,}|~{3,})")
_BACKTICKS = re.compile(r"`+")
_MD_LINK = re.compile(
    r"(!?)\[((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]\(\s*(<[^<>\n]*>|[^\s()<>]+(?:\([^\s()<>]*\)[^\s()<>]*)*)"
    r"(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?\s*\)"
)
_MD_AUTOLINK = re.compile(r"<((?:https?|ftps?|mailto):[^\s<>]+)>", re.IGNORECASE)
_MD_WIKILINK = re.compile(r"\[\[([^\[\]|\n]+)(?:\|([^\[\]\n]*))?\]\]")


def fence_spans(text: str) -> list[tuple[int, int]]:
    """The spans of Markdown's fenced code blocks (an unclosed fence runs to the end)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    open_at = -1
    fence = ""
    for line in text.splitlines(keepends=True):
        m = _MD_FENCE_LINE.match(line)
        if open_at < 0:
            if m and not (m.group(1)[0] == "`" and "`" in line[m.end() :]):
                open_at, fence = pos, m.group(1)
        elif (
            m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line[m.end() :].strip()
        ):
            spans.append((open_at, pos + len(line)))
            open_at = -1
        pos += len(line)
    if open_at >= 0:
        spans.append((open_at, len(text)))
    return spans


def code_span_spans(text: str) -> list[tuple[int, int]]:
    """The spans of Markdown code spans: a run of backticks closed by the next run of the
    same length (linear: the next run of each length is known from a right-to-left pass)."""
    runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(text)]
    following: list[int] = [-1] * len(runs)
    last: dict[int, int] = {}
    for i in range(len(runs) - 1, -1, -1):
        length = runs[i][1] - runs[i][0]
        following[i] = last.get(length, -1)
        last[length] = i
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(runs):
        j = following[i]
        if j < 0:
            i += 1
            continue
        spans.append((runs[i][0], runs[j][1]))
        i = j + 1
    return spans


_LONE_LT = re.compile(r"<(?![A-Za-z/!?])|<(?=[^<>]*(?:<|$))")


def _markdown(text: str) -> list[tuple[int, Reference]]:
    masked = mask(text, fence_spans(text))
    masked = mask(masked, code_span_spans(masked))
    found: list[tuple[int, Reference]] = []
    taken: list[tuple[int, int]] = []
    for m in _MD_LINK.finditer(masked):
        taken.append(m.span())
        image, label, target = m.group(1), m.group(2), m.group(3).strip("<>").strip()
        if is_url(target):
            found.append((m.start(), _ref(RefKind.LINK, target, label)))
        elif image:
            found.append((m.start(), _ref(RefKind.FILE, target, label)))
        elif target.startswith("#") or not _page_target(target):
            continue
        else:
            found.append((m.start(), _ref(RefKind.PAGE, _page_target(target), label)))
        # an image inside a link's label
        inner = _MD_LINK.search(masked, m.start(2), m.end(2))
        if inner and inner.group(1):
            t = inner.group(3).strip("<>").strip()
            kind = RefKind.LINK if is_url(t) else RefKind.FILE
            found.append((inner.start(), _ref(kind, t, inner.group(2))))
    for m in _MD_WIKILINK.finditer(masked):
        if any(s <= m.start() < e for s, e in taken[-4:]):
            continue
        taken.append(m.span())
        page = _page_target(m.group(1))
        if page:
            found.append((m.start(), _ref(RefKind.PAGE, page, m.group(2))))
    for m in _MD_AUTOLINK.finditer(masked):
        taken.append(m.span())
        found.append((m.start(), _ref(RefKind.LINK, m.group(1))))
    _bare_urls(masked, taken, found)
    return found


# ---------------------------------------------------------------- HTML


class _HtmlRefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, Reference]] = []
        self._n = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self._n += 1
        if tag == "a" and values.get("href"):
            href = (values["href"] or "").strip()
            if is_url(href):
                self.found.append((self._n, _ref(RefKind.LINK, href, values.get("title"))))
            elif not href.startswith("#") and _page_target(href):
                self.found.append((self._n, _ref(RefKind.PAGE, _page_target(href), values.get("title"))))
        elif tag == "img" and values.get("src"):
            src = (values["src"] or "").strip()
            if src.startswith("data:"):
                return
            kind = RefKind.LINK if is_url(src) else RefKind.FILE
            self.found.append((self._n, _ref(kind, src, values.get("alt"))))


def _html(text: str) -> list[tuple[int, Reference]]:
    parser = _HtmlRefs()
    try:
        parser.feed(_LONE_LT.sub("&lt;", text))
        parser.close()
    except Exception:  # html.parser is lenient; a guard for the never-raise promise
        pass
    return parser.found
