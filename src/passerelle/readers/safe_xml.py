"""Parsing hostile XML: no DTD, no entity, no network, and streaming with bounded memory.

Every XML source passerelle reads goes through here. A document whose prolog declares a
DOCTYPE or an entity (the vehicle of XXE and of the "billion laughs") is refused with
``UnsafeXmlError`` before the parser sees a byte of it: the prolog is sniffed first, in the
document's own encoding (BOM, UTF-16/32 without BOM, else any ASCII-compatible encoding).
The lxml parser is then configured so that, even if a declaration slipped through, nothing
would be loaded or expanded: ``resolve_entities=False, no_network=True, load_dtd=False``
(``huge_tree=True`` lets a page of several megabytes of text through; without a DTD there is
no entity to blow up).

``iterparse`` streams a document element by element; a syntax error (truncated or malformed
input) becomes ``XmlBreak`` with its line, column and the byte offset the parser had reached,
so a reader keeps everything before the break and says where it broke. ``release`` and
``detach`` free what was parsed so memory does not grow with the document.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Collection, Iterator
from typing import IO, TYPE_CHECKING

from lxml import etree

from passerelle.errors import BadInputError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "PROLOG_LIMIT",
    "UnsafeXmlError",
    "XmlBreak",
    "check_prolog",
    "detach",
    "guarded",
    "iterparse",
    "localname",
    "parse_bytes",
    "release",
    "safe_parser",
    "sniff_encoding",
]

#: How far into a document its prolog may reach (XML declaration, comments, processing
#: instructions) before the root element starts; a longer prolog is refused.
PROLOG_LIMIT = 1 << 20

_SAFE_OPTIONS: dict[str, bool] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": True,
}


class UnsafeXmlError(BadInputError):
    """The document declares a DOCTYPE or entities, or its prolog never ends: refused unparsed."""


class XmlBreak(Exception):
    """The document stops being well-formed XML (truncated, malformed, undecodable) at a known place."""

    def __init__(self, name: str, line: int, column: int, offset: int, message: str) -> None:
        super().__init__(f"{name}: line {line}, column {column} (byte ~{offset}): {message}")
        self.name = name
        self.line = line
        self.column = column
        self.offset = offset  # bytes the parser had been given when it stopped (chunk-precise)
        self.message = message


# -- the prolog ------------------------------------------------------------------------------

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_NO_BOM: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)


def sniff_encoding(head: bytes) -> tuple[str, int]:
    """The encoding the prolog is written in and the length of its BOM (XML 1.0 appendix F).

    For an ASCII-compatible document the declared encoding does not matter to the prolog's
    markup, which is ASCII: ``latin-1`` is returned then, which decodes any byte.
    """
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding, len(bom)
    for start, encoding in _NO_BOM:
        if head.startswith(start):
            return encoding, 0
    return "latin-1", 0


# After the XML declaration, a prolog holds whitespace, comments, processing instructions and
# at most one DOCTYPE; the first "<" followed by a name character starts the root element.
_SPACE = re.compile(r"\s+")
_DECLARATION = re.compile(r"<!\s*(doctype|entity)", re.IGNORECASE)


def check_prolog(head: bytes, name: str, *, complete: bool) -> bool:
    """Whether the prolog in ``head`` is safe and ends there; ``UnsafeXmlError`` when it is not.

    Returns False when ``head`` ends inside the prolog and more bytes are needed (unless
    ``complete``: the document is all there, and a document with no root is left to the
    parser to reject).
    """
    encoding, bom = sniff_encoding(head)
    text = head[bom:].decode(encoding, "replace")
    at = 0
    while True:
        space = _SPACE.match(text, at)
        if space is not None:
            at = space.end()
        if at >= len(text):
            return complete
        if text.startswith("<?", at) or text.startswith("<!--", at):
            close = text.find("?>" if text[at + 1] == "?" else "-->", at + 2)
            if close < 0:
                return complete  # the comment or PI goes on past the head: read more
            at = close + (2 if text[at + 1] == "?" else 3)
            continue
        if len(text) - at < 9 and not complete:
            return False  # too little to tell "<!DOCTYPE" from a root element: read more
        declaration = _DECLARATION.match(text, at)
        if declaration is not None:
            what = declaration.group(1).upper()
            raise UnsafeXmlError(
                f"{name}: the XML declares {'a' if what == 'DOCTYPE' else 'an'} {what} (character "
                f"{at}); documents with a DTD or entity declarations are refused (XXE, entity expansion)"
            )
        # The root element, or text that is not well-formed: the parser will judge the rest.
        return True


class _Replay(io.RawIOBase):
    """The bytes already read for the prolog, then the rest of the stream; counts what it gave."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._rest = rest
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
        else:
            data = self._rest.read(len(view))
            n = len(data)
            view[:n] = data
        self.position += n
        return n

    def close(self) -> None:
        try:
            self._rest.close()
        finally:
            super().close()


def guarded(stream: IO[bytes], name: str, *, prolog_limit: int = PROLOG_LIMIT) -> _Replay:
    """The same bytes as ``stream``, once its prolog has been checked (``UnsafeXmlError`` if unsafe).

    The returned stream's ``position`` tells how many bytes have been handed on.
    """
    head = b""
    while True:
        chunk = stream.read(4096 if len(head) < 4096 else len(head))
        complete = not chunk
        head += chunk
        if check_prolog(head, name, complete=complete):
            break
        if complete:
            break
        if len(head) > prolog_limit:
            raise UnsafeXmlError(
                f"{name}: no root element in the first {prolog_limit} bytes; the document is refused"
            )
    return _Replay(head, stream)


# -- parsing ---------------------------------------------------------------------------------


def safe_parser(**options: bool) -> etree.XMLParser:
    """An lxml parser that loads no DTD, resolves no entity and touches no network."""
    return etree.XMLParser(**{**_SAFE_OPTIONS, **options})  # type: ignore[arg-type]


def parse_bytes(data: bytes, name: str) -> etree._Element:
    """A whole (small) document: prolog checked, then parsed safely; ``XmlBreak`` if malformed."""
    check_prolog(data, name, complete=True)
    try:
        return etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise XmlBreak(name, line, column, len(data), str(exc.msg)) from None


def iterparse(
    stream: IO[bytes],
    name: str,
    *,
    events: Collection[str] = ("end",),
    tag: str | Collection[str] | None = None,
) -> Iterator[tuple[str, etree._Element]]:
    """Stream ``(event, element)`` pairs from a document, safely.

    The prolog is checked before parsing (``UnsafeXmlError``); a syntax error while parsing
    ends the iteration with ``XmlBreak`` (everything yielded before it stays valid). The
    caller frees elements it is done with (``release`` / ``detach``). ``tag`` takes lxml's
    filters, e.g. ``"{*}page"`` for ``page`` in any namespace.
    """
    source = guarded(stream, name)
    parser = etree.iterparse(
        source,
        events=tuple(events),
        tag=tag,
        **_SAFE_OPTIONS,
    )
    try:
        yield from parser
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise XmlBreak(name, line, column, source.position, str(exc.msg)) from None


def release(elem: etree._Element) -> None:
    """Free an element that ended and every sibling before it (the classic iterparse pattern)."""
    elem.clear()
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def detach(elem: etree._Element) -> None:
    """Free an element that ended and remove it from its parent, leaving its siblings in place."""
    elem.clear()
    parent = elem.getparent()
    if parent is not None:
        parent.remove(elem)


def localname(elem: etree._Element) -> str:
    """The element's name without its namespace (``{uri}page`` → ``page``)."""
    tag: object = elem.tag
    if not isinstance(tag, str):
        return ""  # comments and processing instructions
    return tag.rpartition("}")[2]
