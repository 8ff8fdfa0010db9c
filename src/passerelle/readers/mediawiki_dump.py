"""Streaming parse of a MediaWiki XML dump (export schemas 0.3 to 0.11) into plain records.

This is the parser alone: it knows the dump format, not the archive. ``parse_dump`` yields,
in document order, a ``SiteInfo``, then for every page its ``Revision``s and ``Upload``s as
each one ends, then a ``PageEnd``, and ``LogItem``s; unknown top-level elements come as
``Unknown``. A dump that stops being well-formed ends with a ``Broken`` record naming where
it broke and the page being read; everything yielded before it stays valid.

lxml's ``iterparse`` reports the end of those five elements only (its tag filter runs in C);
each record is read from the element's children, handed to the caller, then freed (a
revision is removed from its page, a page from the document), so memory holds at most one
revision's text and one page's header whatever the size of the dump or of a page's history.
A record's ``raw()`` is its element serialised back to XML, a complete document: it must
be called before the next record is asked for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from lxml import etree

from passerelle.readers.safe_xml import XmlBreak, iterparse

RECORD_TAGS = ("{*}siteinfo", "{*}page", "{*}revision", "{*}upload", "{*}logitem")

# Elements of each record the parser reads; any other is reported (once per name) and stays in raw.
PAGE_FIELDS = frozenset({"title", "ns", "id", "redirect", "restrictions", "discussionthreadinginfo"})
REVISION_FIELDS = frozenset(
    {"id", "parentid", "timestamp", "contributor", "minor", "comment", "origin", "model", "format"}
    | {"text", "content", "sha1"}
)
UPLOAD_FIELDS = frozenset(
    {"timestamp", "contributor", "comment", "filename", "archivename", "src", "size", "sha1base36", "rel"}
    | {"contents"}
)
LOGITEM_FIELDS = frozenset(
    {"id", "timestamp", "contributor", "comment", "type", "action", "text", "logtitle", "params"}
)
SITEINFO_FIELDS = frozenset({"sitename", "dbname", "base", "generator", "case", "namespaces"})

_local_names: dict[str, str] = {}


def local(tag: object) -> str:
    """``{uri}name`` → ``name`` (cached: a dump uses a dozen names, millions of times)."""
    if not isinstance(tag, str):
        return ""  # a comment or processing instruction
    name = _local_names.get(tag)
    if name is None:
        name = _local_names[tag] = tag.rpartition("}")[2]
    return name


def sha1_base36(data: bytes) -> str:
    """MediaWiki's sha1: SHA-1 in base 36, zero-padded to 31 characters."""
    return base36(hashlib.sha1(data).digest())


def base36(digest: bytes) -> str:
    """A digest in base 36, zero-padded to 31 characters (MediaWiki's notation of a SHA-1)."""
    number = int.from_bytes(digest, "big")
    digits = []
    while number:
        number, rest = divmod(number, 36)
        digits.append(_DIGITS[rest])
    return "".join(reversed(digits)).rjust(31, "0")


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def fold_sha1(slot_sha1s: dict[str, str]) -> str:
    """A revision's sha1 from its slots' (MediaWiki's RevisionSlots::computeSha1): the only
    slot's, or over the slots sorted by role, ``sha1_base36(accumulated + next)``."""
    roles = sorted(slot_sha1s)
    accumulated = slot_sha1s[roles[0]]
    for role in roles[1:]:
        accumulated = sha1_base36((accumulated + slot_sha1s[role]).encode("ascii"))
    return accumulated


@dataclass(slots=True)
class Contributor:
    kind: str  # "user", "ip", "hidden" (deleted="deleted"), "none" (no contributor element)
    username: str | None = None
    id: str | None = None
    ip: str | None = None
    elem: etree._Element | None = None  # valid until the next record is asked for

    def raw(self) -> bytes | None:
        return None if self.elem is None else etree.tostring(self.elem, encoding="utf-8", with_tail=False)


NO_CONTRIBUTOR = Contributor("none")


@dataclass(slots=True)
class Namespace:
    key: int
    name: str
    case: str | None = None
    raw: bytes | None = None  # the <namespace> element, None for a built-in default
    line: int = 0


@dataclass(slots=True)
class SiteInfo:
    sitename: str | None
    dbname: str | None
    base: str | None
    generator: str | None
    case: str | None
    namespaces: list[Namespace] | None  # None: no <namespaces> element
    line: int
    elem: etree._Element
    unknown: list[str] = field(default_factory=list)

    def raw(self) -> bytes:
        return etree.tostring(self.elem, encoding="utf-8")


@dataclass(slots=True)
class PageHeader:
    title: str | None
    ns: str | None  # <ns> as written (0.6+)
    id: str | None
    redirect: str | None  # the target (0.6+), "" for the 0.4/0.5 flag, None: not a redirect
    line: int
    number: int  # the page's position in the dump, from 1
    unknown: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Slot:
    role: str | None
    origin: str | None
    model: str | None
    format: str | None
    text: str | None
    text_deleted: bool
    bytes: str | None
    sha1: str | None


@dataclass(slots=True)
class Revision:
    page: PageHeader
    number: int  # position in its page, from 1
    id: str | None
    parentid: str | None
    timestamp: str | None
    contributor: Contributor
    minor: bool
    comment: str | None
    comment_deleted: bool
    origin: str | None
    model: str | None
    format: str | None
    text: str | None  # None: absent, deleted or a stub
    text_deleted: bool
    text_bytes: str | None  # the <text bytes> attribute
    text_sha1: str | None  # the <text sha1> attribute (0.11)
    text_location: str | None  # a stub's location
    sha1: str | None  # <sha1> (None: absent; "": empty)
    slots: list[Slot]
    line: int
    elem: etree._Element
    unknown: list[str] = field(default_factory=list)

    def raw(self) -> bytes:
        return etree.tostring(self.elem, encoding="utf-8")


@dataclass(slots=True)
class Upload:
    page: PageHeader
    number: int  # position among its page's uploads, from 1
    timestamp: str | None
    contributor: Contributor
    comment: str | None
    comment_deleted: bool
    filename: str | None
    archivename: str | None
    src: str | None
    size: str | None
    sha1base36: str | None
    rel: str | None
    contents: str | None  # the <contents> text (base64 as a rule)
    contents_encoding: str | None
    line: int
    elem: etree._Element
    unknown: list[str] = field(default_factory=list)

    def raw(self) -> bytes:
        """The ``<upload>`` element without its ``<contents>`` (the bytes go to the blob store)."""
        contents = None
        for child in self.elem:
            if local(child.tag) == "contents":
                contents = child
        if contents is not None:
            # The element is freed once the caller moves on: no need to put its text back.
            contents.text = None
            contents.set("omitted", "the bytes are in the blob store")
        return etree.tostring(self.elem, encoding="utf-8")


@dataclass(slots=True)
class PageEnd:
    page: PageHeader
    revisions: int
    uploads: int
    elem: etree._Element

    def raw(self) -> bytes:
        """The ``<page>`` element without its revisions and uploads (already removed)."""
        return etree.tostring(self.elem, encoding="utf-8")


@dataclass(slots=True)
class LogItem:
    number: int
    id: str | None
    timestamp: str | None
    contributor: Contributor
    comment: str | None
    comment_deleted: bool
    type: str | None
    action: str | None
    text_deleted: bool
    logtitle: str | None
    params: str | None
    line: int
    elem: etree._Element
    unknown: list[str] = field(default_factory=list)

    def raw(self) -> bytes:
        return etree.tostring(self.elem, encoding="utf-8")


@dataclass(slots=True)
class Unknown:
    """A top-level element that is not siteinfo, page or logitem."""

    name: str
    line: int
    raw: bytes


@dataclass(slots=True)
class Broken:
    """The dump stops being well-formed XML here; ``page`` was being read (its complete
    revisions were yielded), ``partial`` is what had been parsed of the unfinished record."""

    error: XmlBreak
    page: PageHeader | None
    partial: bytes | None


Record = SiteInfo | Revision | Upload | PageEnd | LogItem | Unknown | Broken

_DELETED = "deleted"


def _contributor(elem: etree._Element) -> Contributor:
    if elem.get(_DELETED) is not None:
        return Contributor("hidden", elem=elem)
    username = user = address = None
    for child in elem:
        name = local(child.tag)
        if name == "username":
            username = child.text or ""
        elif name == "id":
            user = child.text
        elif name == "ip":
            address = child.text or ""
    if address is not None:
        return Contributor("ip", ip=address, elem=elem)
    return Contributor("user", username=username, id=user, elem=elem)


def _header(page: etree._Element, number: int) -> PageHeader:
    header = PageHeader(None, None, None, None, _line(page), number)
    for child in page:
        name = local(child.tag)
        if name == "title":
            header.title = child.text or ""
        elif name == "ns":
            header.ns = child.text
        elif name == "id":
            header.id = child.text
        elif name == "redirect":
            header.redirect = child.get("title", "")
        elif name in ("revision", "upload") or not name:
            continue
        elif name not in PAGE_FIELDS:
            header.unknown.append(name)
    return header


def _revision(elem: etree._Element, page: PageHeader, number: int) -> Revision:
    rev = Revision(
        page, number, None, None, None, NO_CONTRIBUTOR, False, None, False, None, None, None, None, False,
        None, None, None, None, [], _line(elem), elem,
    )  # fmt: skip
    for child in elem:
        name = local(child.tag)
        if name == "text":
            attrib = child.attrib
            if attrib.get(_DELETED) is not None:
                rev.text_deleted = True
            else:
                rev.text_location = attrib.get("location")
                if rev.text_location is None:
                    rev.text = child.text or ""
            rev.text_bytes = attrib.get("bytes")
            rev.text_sha1 = attrib.get("sha1")
        elif name == "id":
            rev.id = child.text
        elif name == "timestamp":
            rev.timestamp = child.text
        elif name == "contributor":
            rev.contributor = _contributor(child)
        elif name == "comment":
            if child.get(_DELETED) is not None:
                rev.comment_deleted = True
            else:
                rev.comment = child.text or ""
        elif name == "sha1":
            rev.sha1 = child.text or ""
        elif name == "model":
            rev.model = child.text
        elif name == "format":
            rev.format = child.text
        elif name == "parentid":
            rev.parentid = child.text
        elif name == "minor":
            rev.minor = True
        elif name == "origin":
            rev.origin = child.text
        elif name == "content":
            rev.slots.append(_slot(child))
        elif name:
            rev.unknown.append(name)
    return rev


def _slot(elem: etree._Element) -> Slot:
    slot = Slot(None, None, None, None, None, False, None, None)
    for child in elem:
        name = local(child.tag)
        if name == "role":
            slot.role = child.text
        elif name == "origin":
            slot.origin = child.text
        elif name == "model":
            slot.model = child.text
        elif name == "format":
            slot.format = child.text
        elif name == "text":
            if child.get(_DELETED) is not None:
                slot.text_deleted = True
            elif child.get("location") is None:
                slot.text = child.text or ""
            slot.bytes = child.get("bytes")
            slot.sha1 = child.get("sha1")
    return slot


def _upload(elem: etree._Element, page: PageHeader, number: int) -> Upload:
    up = Upload(
        page, number, None, NO_CONTRIBUTOR, None, False, None, None, None, None, None, None, None, None,
        _line(elem), elem,
    )  # fmt: skip
    for child in elem:
        name = local(child.tag)
        text = child.text
        if name == "timestamp":
            up.timestamp = text
        elif name == "contributor":
            up.contributor = _contributor(child)
        elif name == "comment":
            if child.get(_DELETED) is not None:
                up.comment_deleted = True
            else:
                up.comment = text or ""
        elif name == "filename":
            up.filename = text or ""
        elif name == "archivename":
            up.archivename = text or ""
        elif name == "src":
            up.src = text
        elif name == "size":
            up.size = text
        elif name == "sha1base36":
            up.sha1base36 = text
        elif name == "rel":
            up.rel = text
        elif name == "contents":
            up.contents = text or ""
            up.contents_encoding = child.get("encoding")
        elif name:
            up.unknown.append(name)
    return up


def _logitem(elem: etree._Element, number: int) -> LogItem:
    item = LogItem(
        number,
        None,
        None,
        NO_CONTRIBUTOR,
        None,
        False,
        None,
        None,
        False,
        None,
        None,
        _line(elem),
        elem,
    )
    for child in elem:
        name = local(child.tag)
        text = child.text
        if name == "id":
            item.id = text
        elif name == "timestamp":
            item.timestamp = text
        elif name == "contributor":
            item.contributor = _contributor(child)
        elif name == "comment":
            if child.get(_DELETED) is not None:
                item.comment_deleted = True
            else:
                item.comment = text or ""
        elif name == "type":
            item.type = text
        elif name == "action":
            item.action = text
        elif name == "text":
            item.text_deleted = child.get(_DELETED) is not None
        elif name == "logtitle":
            item.logtitle = text or ""
        elif name == "params":
            item.params = text or ""
        elif name:
            item.unknown.append(name)
    return item


def _siteinfo(elem: etree._Element) -> SiteInfo:
    info = SiteInfo(None, None, None, None, None, None, _line(elem), elem)
    for child in elem:
        name = local(child.tag)
        text = child.text
        if name == "sitename":
            info.sitename = text
        elif name == "dbname":
            info.dbname = text
        elif name == "base":
            info.base = text
        elif name == "generator":
            info.generator = text
        elif name == "case":
            info.case = text
        elif name == "namespaces":
            info.namespaces = []
            for ns in child:
                if local(ns.tag) != "namespace":
                    continue
                try:
                    key = int(ns.get("key", ""))
                except ValueError:
                    continue
                info.namespaces.append(
                    Namespace(
                        key,
                        ns.text or "",
                        ns.get("case"),
                        etree.tostring(ns, encoding="utf-8", with_tail=False),
                        _line(ns),
                    )
                )
        elif name:
            info.unknown.append(name)
    return info


def _free(elem: etree._Element) -> None:
    elem.clear()
    parent = elem.getparent()
    if parent is not None:
        parent.remove(elem)


def parse_dump(stream: IO[bytes], name: str) -> Iterator[Record]:
    """Every record of the dump in document order (see the module's documentation).

    ``UnsafeXmlError`` (a DOCTYPE or entity) is raised before anything is parsed; a syntax
    error later ends the records with a ``Broken``.
    """
    root: etree._Element | None = None
    page_number = 0
    log_number = 0
    header: PageHeader | None = None  # the page being read
    revisions = uploads = 0
    events = iterparse(stream, name, tag=RECORD_TAGS)
    try:
        for _, elem in events:
            kind = local(elem.tag)
            if root is None:
                root = elem.getroottree().getroot()
            if kind == "revision" or kind == "upload":
                page = elem.getparent()
                if header is None:
                    page_number += 1
                    header = (
                        _header(page, page_number)
                        if page is not None
                        else PageHeader(None, None, None, None, 0, page_number)
                    )
                if kind == "revision":
                    revisions += 1
                    yield _revision(elem, header, revisions)
                else:
                    uploads += 1
                    yield _upload(elem, header, uploads)
                _free(elem)
                continue
            parent = elem.getparent()
            if parent is not None and parent is root:
                # Anything between two records at the top level is an element we do not read
                # (comments and processing instructions are not records: they just go).
                while (previous := elem.getprevious()) is not None:
                    if isinstance(previous.tag, str):
                        yield Unknown(local(previous.tag), _line(previous), _raw(previous))
                    parent.remove(previous)
            if kind == "page":
                if header is None:
                    page_number += 1
                    header = _header(elem, page_number)
                yield PageEnd(header, revisions, uploads, elem)
                header = None
                revisions = uploads = 0
            elif kind == "logitem":
                log_number += 1
                yield _logitem(elem, log_number)
            elif kind == "siteinfo":
                yield _siteinfo(elem)
            else:
                continue  # a <page> nested where it should not be: left to its parent's raw
            if parent is root:
                _free(elem)
    except XmlBreak as exc:
        partial = None
        if root is not None and len(root):
            last = root[-1]
            if local(last.tag) == "page" and header is None:
                page_number += 1
                header = _header(last, page_number)
            partial = _raw(last)
        yield Broken(exc, header, partial)
        return
    if root is not None:
        for rest in list(root):
            if isinstance(rest.tag, str):
                yield Unknown(local(rest.tag), _line(rest), _raw(rest))


def _line(elem: etree._Element) -> int:
    line: int | None = getattr(elem, "sourceline", None)  # None for an element built, not parsed
    return line or 0


def _raw(elem: etree._Element) -> bytes:
    return etree.tostring(elem, encoding="utf-8", with_tail=False)
