"""XWiki's page history: the JRCS (RCS ``,v``) archive a XAR carries in ``<versions>``.

XWiki keeps a document's history as an RCS archive (the JRCS library's format): an admin
header (``head 1.3;`` …), one delta header per version (``date``, ``author``, ``state``,
``next``), ``desc``, then one delta text per version, newest first: a ``log`` (the version's
comment) and a ``text``. Strings are ``@``-quoted with ``@@`` for a literal ``@``. The
head's text is the whole document; an older version's text is either whole (XWiki's state
``full``: the text starts with ``<``) or a reverse delta against the next newer version:
``dL N`` deletes N lines from line L, ``aL N`` adds the N lines that follow after line L
(line numbers are those of the newer text). In XWiki each version's text is the document's
own XML at that version (an ``<xwikidoc>`` without its history), so every version carries
its author, date in milliseconds, comment and content; the delta header's date is to the
second, its author URL-encoded with ``%`` written ``_`` (``XWiki_2EAdmin``).

``versions(text)`` yields the versions one by one, newest first, holding one version's lines
at a time; ``write_archive`` makes the archive of a list of versions (the xar writer). This
module shares nothing with any other: both the reader and the writer use it, the verifier
has its own reading.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote_plus

__all__ = [
    "JrcsError",
    "Node",
    "Version",
    "archive_parts",
    "decode_author",
    "encode_author",
    "headers",
    "node_date",
    "versions",
    "write_archive",
]


class JrcsError(ValueError):
    """The archive text is not a readable RCS archive (or a delta does not apply)."""


@dataclass(frozen=True)
class Node:
    """One version's delta header."""

    version: str
    date: str  # as written: 2009.03.11.18.02.54
    author: str  # as written (encoded)
    state: str
    next: str | None
    log: str = ""


@dataclass(frozen=True)
class Version:
    """One version, reconstructed."""

    version: str
    date: int | None  # microseconds since the epoch (UTC), from the header (to the second)
    date_native: str
    author: str  # decoded
    log: str
    text: str


_TOKEN = re.compile(r"\s*(?:(@)|([;:])|([^\s;:@]+))")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def peek(self) -> str | None:
        match = _TOKEN.match(self.text, self.at)
        if match is None:
            return None
        if match.group(1):
            return "@"
        return match.group(2) or match.group(3)

    def token(self) -> str:
        match = _TOKEN.match(self.text, self.at)
        if match is None:
            raise JrcsError(f"unexpected end of the archive at character {self.at}")
        if match.group(1):
            return self._string(match.end())
        self.at = match.end()
        return match.group(2) or match.group(3)

    def _string(self, start: int) -> str:
        parts: list[str] = []
        at = start
        text = self.text
        while True:
            end = text.find("@", at)
            if end < 0:
                raise JrcsError(f"a string opened at character {start - 1} never closes")
            parts.append(text[at:end])
            if text.startswith("@@", end):
                parts.append("@")
                at = end + 2
                continue
            self.at = end + 1
            return "".join(parts)

    def expect(self, value: str) -> None:
        got = self.token()
        if got != value:
            raise JrcsError(f"expected {value!r}, found {got[:40]!r} (character {self.at})")

    def phrase(self) -> list[str]:
        """Tokens up to the next ';' (which is consumed)."""
        values: list[str] = []
        while True:
            token = self.token()
            if token == ";":
                return values
            values.append(token)


_NUM = re.compile(r"^\d+(?:\.\d+)*$")


def _admin_and_nodes(scanner: _Scanner) -> tuple[str | None, dict[str, Node]]:
    head: str | None = None
    if scanner.token() != "head":
        raise JrcsError("the archive does not start with 'head'")
    values = scanner.phrase()
    head = values[0] if values else None
    # admin phrases up to the first delta (a revision number)
    while True:
        token = scanner.peek()
        if token is None:
            raise JrcsError("the archive ends in its header")
        if _NUM.match(token) or token == "desc":
            break
        scanner.token()
        scanner.phrase()  # access, symbols, locks, strict, comment, expand…
    nodes: dict[str, Node] = {}
    while scanner.peek() not in (None, "desc"):
        number = scanner.token()
        if not _NUM.match(number):
            raise JrcsError(f"expected a revision number, found {number[:40]!r}")
        fields: dict[str, list[str]] = {}
        while True:
            token = scanner.peek()
            if token is None or token == "desc" or (token is not None and _NUM.match(token)):
                break
            name = scanner.token()
            fields[name] = scanner.phrase()
        date = (fields.get("date") or [""])[0]
        author = (fields.get("author") or [""])[0]
        state = (fields.get("state") or [""])[0]
        following = fields.get("next") or []
        nxt = following[0] if following else None
        nodes[number] = Node(number, date, author, state, nxt)
    if scanner.token() != "desc":
        raise JrcsError("the archive has no 'desc'")
    scanner.token()  # the description string
    return head, nodes


def _rcs_date(value: str) -> int | None:
    parts = value.split(".")
    if len(parts) != 6 or not all(p.isdigit() for p in parts):
        return None
    year, month, day, hour, minute, second = (int(p) for p in parts)
    if year < 100:
        year += 1900
    try:
        when = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    return int(when.timestamp()) * 1_000_000


def decode_author(value: str) -> str:
    """The author as XWiki wrote it: URL-encoded, ``%`` as ``_``; ``_`` alone is no author."""
    if value == "_":
        return ""
    try:
        return unquote_plus(value.replace("_", "%"), errors="strict")
    except UnicodeDecodeError:
        return value


_SAFE = "-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def encode_author(value: str) -> str:
    """The author as XWiki writes it in a delta header (its URLCodec: letters and '-' kept,
    a space as '+', any other byte as %XX, then every '%' written '_')."""
    if not value:
        return "_"
    out = []
    for byte in value.encode("utf-8"):
        ch = chr(byte)
        if ch in _SAFE:
            out.append(ch)
        elif ch == " ":
            out.append("+")
        else:
            out.append(f"_{byte:02X}")
    return "".join(out)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


_COMMAND = re.compile(r"^([ad])(\d+) (\d+)\s*$")


def _apply(newer: list[str], delta: str, version: str) -> list[str]:
    """The older text: a reverse delta applied to the newer one's lines."""
    commands = _lines(delta)
    out: list[str] = []
    at = 0  # lines of ``newer`` already copied or deleted
    i = 0
    while i < len(commands):
        match = _COMMAND.match(commands[i])
        if match is None:
            raise JrcsError(f"version {version}: not a delta command: {commands[i][:40]!r}")
        kind, line, count = match.group(1), int(match.group(2)), int(match.group(3))
        i += 1
        if kind == "d":
            start = line - 1
            if start < at or start + count > len(newer):
                raise JrcsError(f"version {version}: 'd{line} {count}' is out of the text's lines")
            out.extend(newer[at:start])
            at = start + count
        else:
            if line < at or line > len(newer) or i + count > len(commands):
                raise JrcsError(f"version {version}: 'a{line} {count}' is out of the text's lines")
            out.extend(newer[at:line])
            at = line
            out.extend(commands[i : i + count])
            i += count
    out.extend(newer[at:])
    return out


def versions(text: str) -> Iterator[Version]:
    """Every version of the archive, newest first, each reconstructed (``JrcsError`` where
    the archive stops being readable: the versions yielded before stay valid)."""
    scanner = _Scanner(text)
    head, nodes = _admin_and_nodes(scanner)
    if head is None:
        return
    current: list[str] | None = None
    expected = head
    seen: set[str] = set()
    while True:
        token = scanner.peek()
        if token is None:
            break
        number = scanner.token()
        if number not in nodes:
            raise JrcsError(f"a delta text for version {number!r}, which the header does not list")
        if number != expected:
            raise JrcsError(f"version {number} comes where {expected} was expected")
        scanner.expect("log")
        log = scanner.token()
        while (name := scanner.token()) != "text":
            if name == "@" or name in ";:":
                raise JrcsError(f"version {number}: no 'text' after its log")
            scanner.phrase()  # a newphrase of a later RCS: words up to ';'
        text_value = scanner.token()
        node = nodes[number]
        if current is None or text_value.startswith("<"):
            current = _lines(text_value)
        else:
            current = _apply(current, text_value, number)
        seen.add(number)
        yield Version(
            version=number,
            date=_rcs_date(node.date),
            date_native=node.date,
            author=decode_author(node.author),
            log=log,
            text="".join(current),
        )
        if node.next is None:
            break
        expected = node.next
    missing = [n for n in nodes if n not in seen]
    if missing:
        raise JrcsError(f"versions {', '.join(missing[:5])} have no delta text")


def headers(text: str) -> list[Node]:
    """The delta headers the archive lists, in its order (newest first as RCS writes them),
    without reading a version's text (``JrcsError`` when the header cannot be read)."""
    _, nodes = _admin_and_nodes(_Scanner(text))
    return list(nodes.values())


def node_date(node: Node) -> int | None:
    """A delta header's date in microseconds (to the second), None when unreadable."""
    return _rcs_date(node.date)


# -- writing ---------------------------------------------------------------------------------


def _quote(value: str) -> str:
    return "@" + value.replace("@", "@@") + "@"


def _rcs_date_text(micros: int | None) -> str:
    when = datetime.fromtimestamp((micros or 0) // 1_000_000, tz=UTC)
    return when.strftime("%Y.%m.%d.%H.%M.%S")


@dataclass(frozen=True)
class NewVersion:
    version: str
    date: int | None  # microseconds
    author: str
    log: str
    text: str


def _delta(newer: list[str], older: list[str]) -> str:
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, newer, older, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            out.append(f"d{i1 + 1} {i2 - i1}\n")
        if tag in ("insert", "replace"):
            out.append(f"a{i2} {j2 - j1}\n")
            out.extend(older[j1:j2])
    return "".join(out)


def write_archive(history: Sequence[NewVersion]) -> str:
    """The JRCS archive of these versions (oldest first, as a page's history reads): the
    newest whole, each older one a reverse delta against the next newer (XWiki's ``diff``
    state), exactly what ``versions`` reads back."""
    newest_first = list(reversed(history))
    return "".join(
        archive_parts(
            [(v.version, v.date, v.author) for v in newest_first], ((v.log, v.text) for v in newest_first)
        )
    )


def archive_parts(
    heads: Sequence[tuple[str, int | None, str]], texts: Iterable[tuple[str, str]]
) -> Iterator[str]:
    """The archive in pieces: ``heads`` (version, time in microseconds, author) newest first,
    then ``texts`` (log, whole text) in the same order, taken one at a time (only the newer
    version's lines are held to make the next delta)."""
    if not heads:
        raise ValueError("an archive needs at least one version")
    yield f"head\t{heads[0][0]};\naccess;\nsymbols;\nlocks; strict;\ncomment\t@# @;\n\n"
    for n, (version, date, author) in enumerate(heads):
        nxt = heads[n + 1][0] if n + 1 < len(heads) else ""
        state = "full" if n == 0 else "diff"
        yield (
            f"\n{version}\ndate\t{_rcs_date_text(date)};\tauthor {encode_author(author)};"
            f"\tstate {state};\nbranches;\nnext\t{nxt};\n"
        )
    yield "\n\ndesc\n@@\n"
    previous: list[str] | None = None
    for (version, _, _), (log, text) in zip(heads, texts, strict=True):
        if text and not text.endswith("\n"):
            text += "\n"
        lines = _lines(text)
        body = text if previous is None else _delta(previous, lines)
        yield f"\n\n{version}\nlog\n{_quote(log)}\ntext\n{_quote(body)}\n"
        previous = lines
