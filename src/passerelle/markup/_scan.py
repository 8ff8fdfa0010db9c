"""Linear-time scanning helpers shared by the markup modules.

Every helper here is linear in the text (hostile input: a megabyte of ``[[`` or of
unterminated ``<nowiki>`` must not make a pass quadratic), never raises, and keeps
positions: a masked region is replaced by spaces of the same length.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

# A URL scheme a wiki turns into a link; MediaWiki's default $wgUrlProtocols, in short.
SCHEMES = (
    "https://",
    "http://",
    "ftp://",
    "ftps://",
    "sftp://",
    "irc://",
    "ircs://",
    "news:",
    "nntp://",
    "mailto:",
    "gopher://",
    "git://",
    "svn://",
    "ssh://",
    "telnet://",
    "file://",
)
_SCHEME_RE = "|".join(re.escape(s) for s in SCHEMES)
IS_URL = re.compile(rf"^\s*(?:{_SCHEME_RE}|//)", re.IGNORECASE)
# A bare URL: a scheme with "//" (``news:`` and ``mailto:`` are only links in brackets).
BARE_URL = re.compile(
    r"(?<![\w/:.@-])(?:https?|ftps?|sftp|ircs?|nntp|gopher|git|svn|ssh|telnet)://[^\s\[\]<>\"{}|\x00-\x1f\x7f]+",
    re.IGNORECASE,
)
_URL_TRAILING = ".,:;!?'\"*"


_URL_SCHEME_BEFORE = re.compile(
    r"(?<![\w/:.@-])(?:https?|ftps?|sftp|ircs?|nntp|gopher|git|svn|ssh|telnet)\Z", re.IGNORECASE
)
_URL_REST = re.compile(r"[^\s\[\]<>\"{}|\x00-\x1f\x7f]+")


def find_bare_urls(text: str) -> Iterator[tuple[int, int]]:
    """The spans of the bare URLs of ``text`` (what ``BARE_URL`` finds), found from each
    ``://`` rather than by trying the schemes at every character: several times faster."""
    pos = text.find("://")
    while pos >= 0:
        head = _URL_SCHEME_BEFORE.search(text, max(0, pos - 8), pos)
        end = pos + 3
        if head is not None:
            rest = _URL_REST.match(text, pos + 3)
            if rest is not None:
                end = rest.end()
                yield head.start(), end
        pos = text.find("://", end)


def trim_url(url: str) -> str:
    """A bare URL without the punctuation that ends its sentence, nor an unbalanced ')'."""
    while url:
        unbalanced = url[-1] == ")" and url.count(")") > url.count("(")
        if url[-1] not in _URL_TRAILING and not unbalanced:
            break
        url = url[:-1]
    return url


def is_url(target: str) -> bool:
    return bool(IS_URL.match(target))


def mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """The text with each span (sorted, not overlapping) blanked out, same length."""
    parts: list[str] = []
    pos = 0
    for start, end in spans:
        if start < pos:
            start = pos
        if end <= start:
            continue
        parts += [text[pos:start], " " * (end - start)]
        pos = end
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


def tag_spans(text: str, names: Iterable[str], *, comments: bool = True) -> list[tuple[int, int]]:
    """The spans of ``<name …>…</name>`` (and ``<name/>``) elements, and of ``<!-- … -->``
    comments, in order and without overlap. An element that never closes is text (as
    MediaWiki and DokuWiki read it); a comment that never closes runs to the end."""
    if "<" not in text:
        return []
    lower = ""
    names = [n.lower() for n in names]
    if not names and not comments:
        return []
    alternatives = [re.escape(n) for n in names]
    opener = re.compile(
        r"<!--" + ("|<(" + "|".join(alternatives) + r")(?=[\s/>])[^<>]{0,2000}?(/?)>" if names else ""),
        re.IGNORECASE,
    )
    exhausted: set[str] = set()
    spans: list[tuple[int, int]] = []
    pos = 0
    while True:
        m = opener.search(text, pos)
        if m is None:
            break
        start = m.start()
        if not lower:
            lower = text.lower()
        if m.group(0) == "<!--":
            if not comments:
                pos = m.end()
                continue
            end = lower.find("-->", m.end())
            if end < 0:
                spans.append((start, len(text)))
                break
            spans.append((start, end + 3))
            pos = end + 3
            continue
        name = (m.group(1) or "").lower()
        if m.group(2):  # <nowiki/>
            spans.append((start, m.end()))
            pos = m.end()
            continue
        if name in exhausted:
            pos = m.end()
            continue
        close = lower.find("</" + name, m.end())
        if close < 0:
            exhausted.add(name)
            pos = m.end()
            continue
        gt = lower.find(">", close)
        end = len(text) if gt < 0 else gt + 1
        spans.append((start, end))
        pos = end
    return spans


def pairs(text: str, open_: str, close: str) -> dict[int, int]:
    """Start of each ``open_`` that closes → end of its matching ``close`` (nested pairs
    matched innermost first, in one pass)."""
    token = re.compile(re.escape(open_) + "|" + re.escape(close))
    stack: list[int] = []
    found: dict[int, int] = {}
    for m in token.finditer(text):
        if m.group(0) == open_:
            stack.append(m.start())
        elif stack:
            found[stack.pop()] = m.end()
    return found


def split_top(inner: str, sep: str = "|") -> list[str]:
    """``inner`` split on ``sep`` outside nested ``[[…]]`` and ``{{…}}``."""
    if sep not in inner:
        return [inner]
    if "[[" not in inner and "{{" not in inner:
        return inner.split(sep)
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    n = len(inner)
    step = len(sep)
    while i < n:
        two = inner[i : i + 2]
        if two in ("[[", "{{"):
            depth += 1
            i += 2
            continue
        if two in ("]]", "}}") and depth:
            depth -= 1
            i += 2
            continue
        if depth == 0 and inner.startswith(sep, i):
            parts.append(inner[start:i])
            i += step
            start = i
            continue
        i += 1
    parts.append(inner[start:])
    return parts


def sub_delimited(
    text: str,
    opener: re.Pattern[str],
    closer: Callable[[re.Match[str]], str],
    repl: Callable[[re.Match[str], str | None], str],
    *,
    ignore_case: bool = False,
) -> str:
    """``text`` with each delimited region replaced by ``repl(opening match, content)``, in
    linear time: an opener whose closer (``closer(match)``, a literal) never comes is left
    as text, and the search for that closer is not repeated. An opener whose group
    ``self`` matched something (``<ref/>``) has no content (``None``)."""
    haystack = ""
    exhausted: set[str] = set()
    out: list[str] = []
    pos = 0
    search_from = 0
    while True:
        m = opener.search(text, search_from)
        if m is None:
            break
        groups = m.groupdict()
        if groups.get("self"):
            out += [text[pos : m.start()], repl(m, None)]
            pos = search_from = m.end()
            continue
        close = closer(m)
        key = close.lower() if ignore_case else close
        if not haystack:
            haystack = text.lower() if ignore_case else text
        if key in exhausted:
            search_from = m.end() if m.end() > m.start() else m.start() + 1
            continue
        end = haystack.find(key, m.end())
        if end < 0:
            exhausted.add(key)
            search_from = m.end() if m.end() > m.start() else m.start() + 1
            continue
        out += [text[pos : m.start()], repl(m, text[m.end() : end])]
        pos = search_from = end + len(close)
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)
