"""The MediaWiki XML dump reader: every page with its whole history, uploads and log entries.

A source is a dump (``.xml``, ``.xml.bz2``, ``.xml.gz``, decompressed as a stream), or a
folder or zip holding one or more dumps and, optionally, the uploaded files (MediaWiki's
hashed ``images/a/ab/Name.png`` layout or a flat folder). ``mediawiki_dump`` parses; this
module maps (docs/model.md § MediaWiki):

- siteinfo → the wiki's workspace space (native id: dbname, else sitename, else the file's
  stem); each namespace used → a ``wiki_space`` ``ns:<key>`` under it; log entries → the
  ``(log)`` wiki space;
- page → an ``Item`` of kind ``page`` (native id: ``<id>``, else the title), body = its last
  revision's, created by its first revision, edited by its last; redirects are subtype
  ``redirect``; every ``<revision>`` → a ``Revision`` (native id: ``<id>``, else ``@<n>``
  its position in the page), sha1 and bytes checked against the text;
- contributors → persons (user id, else ``name:<username>``; ``ip:<address>`` for IP
  editors, guests); hidden ones leave the revision without an author, and say so;
- ``<upload>`` → a ``File`` linked to its page (bytes from ``<contents>`` decoded as a
  stream, else the files folder, checked against ``sha1base36`` and ``size``);
- ``<logitem>`` → an ``Item`` of kind ``event``, subtype ``<type>/<action>``.

Work is committed in units of ``UNIT`` top-level records (pages and log entries) per dump;
a resumed run parses the finished units again, writing nothing, so the persons, spaces and
once-per-dump diagnostics it would have said are known exactly as in a clean run.
"""

from __future__ import annotations

import binascii
import hashlib
import io
import json
import mimetypes
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, ClassVar, cast

import msgspec

from passerelle.archive.writer import ArchiveWriter
from passerelle.markup import normalise, references
from passerelle.markup.naming import page_key
from passerelle.model.entities import (
    Body,
    Diagnostic,
    File,
    Item,
    ItemFile,
    ItemKind,
    Person,
    Reference,
    RefKind,
    Revision,
    Space,
    SpaceKind,
    Visibility,
)
from passerelle.model.ids import file_id, item_id, person_id, revision_id, space_id
from passerelle.progress import Display
from passerelle.readers.base import FormatInfo, Sink
from passerelle.readers.mediawiki_dump import (
    Broken,
    Contributor,
    LogItem,
    Namespace,
    PageEnd,
    PageHeader,
    SiteInfo,
    Unknown,
    Upload,
    base36,
    fold_sha1,
    parse_dump,
    sha1_base36,
)
from passerelle.readers.mediawiki_dump import Revision as DumpRevision
from passerelle.readers.mediawiki_source import DUMP_SUFFIXES, Files, dumps_in, entry_chunks, open_dump
from passerelle.readers.mediawiki_streams import (
    Counting,
    Hashing,
    Utf8Repair,
    base64_chunks,
    decompressing,
)
from passerelle.readers.safe_xml import guarded
from passerelle.readers.source_tree import EntryError, SourceTree  # registers passerelle.cp1252

if TYPE_CHECKING:
    pass

PLATFORM = "mediawiki"
UNIT = 1000  # top-level records (pages, log entries) per unit of work
# Revisions of a page are held until the page ends (its item must be written before them)
# up to this many bytes of text; past it the page's item is written first and then updated.
PAGE_BUFFER_BYTES = 8 << 20
PAGE_BUFFER_REVISIONS = 2000
# The archive writer batches rows by count; revisions of wiki pages are large, so the reader
# hands over a batch every this many bytes of text and raw (memory stays flat).
FLUSH_BYTES = 16 << 20

# MediaWiki's canonical (English) namespaces, for dumps that do not list theirs.
DEFAULT_NAMESPACES: dict[int, str] = {
    -2: "Media",
    -1: "Special",
    0: "",
    1: "Talk",
    2: "User",
    3: "User talk",
    4: "Project",
    5: "Project talk",
    6: "File",
    7: "File talk",
    8: "MediaWiki",
    9: "MediaWiki talk",
    10: "Template",
    11: "Template talk",
    12: "Help",
    13: "Help talk",
    14: "Category",
    15: "Category talk",
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(text: str | None) -> int | None:
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (at - _EPOCH) // _MICROSECOND


_MICROSECOND = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


def _body(fmt: str, text: str) -> Body:
    return Body(format=fmt, source=text, normalised=normalise(fmt, text), references=references(fmt, text))


def _format_of(model: str | None) -> str:
    return "mediawiki" if model is None or model == "wikitext" else model


class _Null:
    """The sink of a finished unit on a resumed run: what is made is known, nothing is written."""

    def add(self, entity: msgspec.Struct) -> None:
        pass

    def diagnose(
        self,
        code: str,
        where: str,
        message: str,
        *,
        dropped: str | None = None,
        entity_id: str | None = None,
        raw: bytes | None = None,
    ) -> Diagnostic | None:
        return None

    def put_blob(self, stream: IO[bytes], *, size: int | None = None) -> tuple[str, int]:
        digest, n = hashlib.sha256(), 0
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            n += len(chunk)
        return digest.hexdigest(), n


class _PageState:
    __slots__ = (
        "buffered",
        "buffered_bytes",
        "created_at",
        "created_native",
        "edited_at",
        "edited_by",
        "edited_native",
        "first_author",
        "header",
        "id",
        "item_written",
        "last_body",
        "links",
        "native",
        "revision_ids",
        "revisions",
        "space",
        "uploads",
    )

    def __init__(self, header: PageHeader, native: str, ident: str, space: str) -> None:
        self.header = header
        self.native = native
        self.id = ident
        self.space = space
        self.revisions = 0
        self.uploads = 0
        self.first_author: str | None = None
        self.created_at: int | None = None
        self.created_native: str | None = None
        self.edited_by: str | None = None
        self.edited_at: int | None = None
        self.edited_native: str | None = None
        self.last_body: Body | None = None
        self.buffered: list[msgspec.Struct] = []
        self.buffered_bytes = 0
        self.item_written = False
        self.links: list[ItemFile] = []
        self.revision_ids: set[str] = set()


class MediaWikiReader:
    info: ClassVar[FormatInfo] = FormatInfo(
        name="mediawiki",
        platform=PLATFORM,
        description="MediaWiki XML dump (export schemas 0.3 to 0.11; .xml, .xml.bz2, .xml.gz, or a folder"
        " or zip of dumps with the uploaded files)",
        keeps=(
            "siteinfo as the wiki's workspace; every namespace used as a wiki space",
            "every page with its whole history: each revision with id, parent id, time, contributor,"
            " edit summary, text, model and format (minor flag, sha1, origin, slots in raw)",
            "sha1 and bytes of every revision checked against its text",
            "redirects (subtype redirect, the target a page reference), restrictions in raw",
            "contributors: users (id and name), IP editors as guests; hidden ones said",
            "uploads with their bytes (base64 in the dump, or a hashed or flat images folder) checked"
            " against sha1base36 and size; older versions of a file as files of their own",
            "log entries as events (type/action, title, comment; params in raw)",
        ),
        cannot_carry=(
            "non-main slots of 0.11 revisions (kept in the revision's raw)",
            "text not in the dump: suppressed revisions and stub dumps (said per revision)",
            "a page repeated in several dumps is one page: its revisions merge",
        ),
    )
    version: ClassVar[str] = "1"

    @classmethod
    def detect(cls, tree: SourceTree) -> bool:
        return bool(dumps_in(tree, detecting=True))

    @classmethod
    def check(cls, tree: SourceTree) -> None:
        """Refuse, before the archive is touched, a dump that declares a DOCTYPE or entities."""
        for name in dumps_in(tree) or [n for n in tree.names() if n.lower().endswith(DUMP_SUFFIXES)]:
            try:
                with open_dump(tree, name) as stream:
                    guarded(stream, name).close()
            except (EntryError, OSError, EOFError):
                continue  # unreadable: said when it is read

    def read(self, tree: SourceTree, out: ArchiveWriter, display: Display) -> None:
        dumps = dumps_in(tree) or [n for n in tree.names() if n.lower().endswith(DUMP_SUFFIXES)]
        files = Files(tree, dumps)
        persons: set[str] = set()
        for name in dumps:
            _Dump(tree, name, out, files, persons, display).run()
        if not out.is_done("leftovers"):
            for problem in tree.problems:
                out.diagnose(problem.code, problem.entry, problem.message, dropped=problem.dropped)
            for name in files.names:
                if name in files.used or any(name == p.entry for p in tree.problems):
                    continue
                self._loose_file(tree, name, out)
            out.complete("leftovers")

    @staticmethod
    def _loose_file(tree: SourceTree, name: str, out: Sink) -> None:
        where = name
        fid = file_id(PLATFORM, f"file:{name}")
        try:
            sha, size = out.put_blob(io.BufferedReader(Hashing(entry_chunks(tree, name)), 1 << 20))
        except EntryError as exc:
            out.diagnose(exc.code, name, str(exc), dropped="entry")
            return
        base = name.rsplit("/", 1)[-1]
        raw = json.dumps({"path": name, "size": size}).encode()
        out.add(
            File(
                id=fid,
                platform=PLATFORM,
                native_id=f"file:{name}",
                name=base,
                media_type=mimetypes.guess_type(base)[0],
                size=size,
                sha256=sha,
                raw=raw,
                origin=where,
            )
        )
        out.diagnose(
            "mediawiki.unlisted_file",
            where,
            f"{name} is named by no upload of the dump: kept as a file linked to no page",
            entity_id=fid,
        )


class _Dump:
    """One dump file, read from start to end."""

    def __init__(
        self,
        tree: SourceTree,
        name: str,
        out: ArchiveWriter,
        files: Files,
        persons: set[str],
        display: Display,
    ) -> None:
        self.tree = tree
        self.name = name
        self.out = out
        self.files = files
        self.persons = persons
        self.display = display
        self.sink: Sink | _Null = out
        stem = name.rsplit("/", 1)[-1]
        for suffix in (".bz2", ".gz", ".xml"):
            stem = stem.removesuffix(suffix) if stem.lower().endswith(suffix) else stem
        self.wiki = stem
        self.wiki_space: str | None = None
        self.namespaces: dict[int, Namespace] = {}
        self.by_name: dict[str, int] = {}
        self.spaces: set[int] = set()
        self.log_space: str | None = None
        self.unknown: set[str] = set()
        self.slots_said = False
        self.records = 0
        self.since_flush = 0
        self.unit: str | None = None
        self.page: _PageState | None = None

    # -- units ---------------------------------------------------------------------------------
    def _enter(self) -> None:
        """A new top-level record starts: the unit it belongs to."""
        self.records += 1
        unit = f"{self.name}#{(self.records - 1) // UNIT}"
        if unit != self.unit:
            self._leave()
            self.unit = unit
            self.sink = _Null() if self.out.is_done(unit) else self.out

    def _leave(self) -> None:
        if self.unit is not None and self.sink is self.out:
            self.out.complete(self.unit)
        self.unit = None

    def where(self, line: int) -> str:
        return f"{self.name}#{line}"

    # -- the run -------------------------------------------------------------------------------
    def run(self) -> None:
        task = self.display.task(f"MediaWiki {self.name}", total=self.tree.size(self.name))
        self.unit = f"{self.name}#0"
        self.sink = _Null() if self.out.is_done(self.unit) else self.out
        try:
            counted = Counting(self.tree.open_entry(self.name), task.advance)
        except EntryError as exc:
            self.sink.diagnose(exc.code, self.name, str(exc), dropped="entry")
            self._leave()
            return
        inflate = decompressing(cast("IO[bytes]", counted), self.name)
        repair = Utf8Repair(cast("IO[bytes]", inflate or counted))
        broke = False
        with io.BufferedReader(repair, 1 << 20) as stream:
            for record in parse_dump(stream, self.name):
                if isinstance(record, DumpRevision):
                    self._revision(record)
                elif isinstance(record, Upload):
                    self._upload(record)
                elif isinstance(record, PageEnd):
                    self._page_end(record)
                elif isinstance(record, LogItem):
                    self._logitem(record)
                elif isinstance(record, SiteInfo):
                    self._siteinfo(record)
                elif isinstance(record, Unknown):
                    self._unknown_top(record)
                else:
                    self._broken(record, counted.error or (inflate.error if inflate else None))
                    broke = True
        for line, original in repair.repaired:
            self.sink.diagnose(
                "source.not_utf8",
                f"{self.name}#{line}",
                f"line {line} of {self.name} is not valid UTF-8: its invalid bytes were read as cp1252"
                " (the line's original bytes, up to 4 KB, in this diagnostic)",
                raw=original,
            )
        if repair.more:
            self.sink.diagnose(
                "source.not_utf8",
                self.name,
                f"{repair.more} more lines of {self.name} are not valid UTF-8: read as cp1252 likewise",
            )
        cause = counted.error or (inflate.error if inflate else None)
        if cause and not broke:
            # The XML ended well but its compressed stream did not: said all the same.
            self.sink.diagnose("mediawiki.truncated", self.name, f"the XML is whole but {cause}")
        self._leave()

    # -- the wiki and its namespaces -----------------------------------------------------------
    def _siteinfo(self, info: SiteInfo) -> None:
        self.wiki = info.dbname or info.sitename or self.wiki
        raw = info.raw()
        self._workspace(raw, info.sitename, info.line)
        if info.namespaces is None:
            self._default_namespaces(self.where(info.line))
        else:
            for ns in info.namespaces:
                self.namespaces[ns.key] = ns
        self._index_names()
        self._say_unknown(info.unknown, info.line, "siteinfo")

    def _wiki(self) -> str:
        """The wiki's space, for a dump that had no siteinfo before its first record."""
        if self.wiki_space is None:
            self._workspace(None, None, 0)
            if not self.namespaces:
                self._default_namespaces(self.name)
                self._index_names()
        assert self.wiki_space is not None
        return self.wiki_space

    def _workspace(self, raw: bytes | None, sitename: str | None, line: int) -> None:
        if self.wiki_space is None:
            self.wiki_space = space_id(PLATFORM, self.wiki)
            self.sink.add(
                Space(
                    id=self.wiki_space,
                    platform=PLATFORM,
                    native_id=self.wiki,
                    kind=SpaceKind.WORKSPACE,
                    visibility=Visibility.PUBLIC,
                    name=self.wiki,
                    display_name=sitename,
                    raw=raw,
                    origin=self.where(line) if raw is not None else f"{self.name}:builtin",
                )
            )

    def _default_namespaces(self, where: str) -> None:
        for key, name in DEFAULT_NAMESPACES.items():
            self.namespaces.setdefault(key, Namespace(key, name))
        self.sink.diagnose(
            "mediawiki.default_namespaces",
            where,
            "the dump lists no namespaces: titles are read with MediaWiki's canonical English names",
        )

    def _index_names(self) -> None:
        self.by_name = {ns.name.casefold(): ns.key for ns in self.namespaces.values() if ns.name}

    def _namespace_of(self, header: PageHeader) -> int:
        if header.ns is not None:
            try:
                return int(header.ns.strip())
            except ValueError:
                pass
        title = header.title or ""
        prefix, colon, _ = title.partition(":")
        if colon:
            key = self.by_name.get(prefix.replace("_", " ").strip().casefold())
            if key is not None:
                return key
        return 0

    def _namespace_space(self, key: int, header: PageHeader) -> str:
        wiki = self._wiki()
        ident = space_id(PLATFORM, f"ns:{key}")
        if key in self.spaces:
            return ident
        self.spaces.add(key)
        known = self.namespaces.get(key)
        if known is not None and known.raw is not None:
            name, raw, origin = known.name or "(main)", known.raw, self.where(known.line)
        elif known is not None:
            name, raw, origin = known.name or "(main)", None, f"{self.name}:builtin"
        else:
            prefix, colon, _ = (header.title or "").partition(":")
            name = prefix if colon and key != 0 else ("(main)" if key == 0 else f"ns:{key}")
            raw = json.dumps({"ns": key, "name_from_title": header.title}, ensure_ascii=False).encode()
            origin = self.where(header.line)
        self.sink.add(
            Space(
                id=ident,
                platform=PLATFORM,
                native_id=f"ns:{key}",
                kind=SpaceKind.WIKI_SPACE,
                visibility=Visibility.PUBLIC,
                name=name,
                parent_id=wiki,
                raw=raw,
                origin=origin,
            )
        )
        return ident

    def _log_space(self) -> str:
        if self.log_space is None:
            wiki = self._wiki()
            self.log_space = space_id(PLATFORM, "log")
            self.sink.add(
                Space(
                    id=self.log_space,
                    platform=PLATFORM,
                    native_id="log",
                    kind=SpaceKind.WIKI_SPACE,
                    visibility=Visibility.PUBLIC,
                    name="(log)",
                    parent_id=wiki,
                    origin=f"{self.name}:builtin",
                )
            )
        return self.log_space

    # -- persons -------------------------------------------------------------------------------
    def _person(self, who: Contributor, line: int, what: str, entity: str | None) -> str | None:
        if who.kind == "hidden":
            self.sink.diagnose(
                "mediawiki.contributor_hidden",
                self.where(line),
                f"{what}: the contributor is hidden (deleted); no author",
                entity_id=entity,
            )
            return None
        if who.kind == "none":
            return None
        if who.kind == "ip":
            native, name, guest = f"ip:{who.ip}", who.ip, True
        elif who.id is not None and who.id.strip() not in ("", "0"):
            native, name, guest = who.id.strip(), who.username, False
        else:
            # No id, or id 0 (imported edits share it): the name is the identity.
            native, name, guest = f"name:{who.username or ''}", who.username, False
        ident = person_id(PLATFORM, native)
        if ident not in self.persons:
            self.persons.add(ident)
            self.sink.add(
                Person(
                    id=ident,
                    platform=PLATFORM,
                    native_id=native,
                    name=name,
                    is_guest=guest,
                    raw=who.raw(),
                    origin=self.where(line),
                )
            )
        return ident

    # -- pages and revisions ---------------------------------------------------------------------
    def _start_page(self, header: PageHeader) -> _PageState:
        if self.page is not None and self.page.header is header:
            return self.page
        self._enter()
        self._wiki()
        ns = self._namespace_of(header)
        space = self._namespace_space(ns, header)
        native = header.id.strip() if header.id and header.id.strip() else (header.title or "")
        page = _PageState(header, native, item_id(PLATFORM, self.wiki, native), space)
        self.page = page
        self._say_unknown(header.unknown, header.line, "page")
        return page

    def _revision(self, rev: DumpRevision) -> None:
        page = self._start_page(rev.page)
        page.revisions += 1
        title = rev.page.title
        native = rev.id.strip() if rev.id and rev.id.strip() else f"@{rev.number}"
        ident = revision_id(page.id, native)
        where = self.where(rev.line)
        raw = rev.raw()
        if native in page.revision_ids:
            self.sink.diagnose(
                "mediawiki.duplicate_revision",
                where,
                f"page {title!r} holds revision {native} twice: this one is kept here only",
                dropped="revision",
                raw=raw,
                entity_id=ident,
            )
            return
        page.revision_ids.add(native)
        what = f"revision {native} of {title!r}"
        author = self._person(rev.contributor, rev.line, what, ident)
        at = _micros(rev.timestamp)
        if at is None:
            self.sink.diagnose(
                "mediawiki.bad_timestamp", where, f"{what}: timestamp {rev.timestamp!r} is not ISO 8601"
            )
        if rev.comment_deleted:
            self.sink.diagnose(
                "mediawiki.comment_deleted", where, f"{what}: the edit summary is suppressed", entity_id=ident
            )
        body = None
        if rev.text is not None:
            body = _body(_format_of(rev.model), rev.text)
            self._check(rev, what, where, ident)
        elif rev.text_deleted:
            self.sink.diagnose(
                "mediawiki.text_deleted", where, f"{what}: the text is suppressed; no body", entity_id=ident
            )
        elif rev.text_location is not None:
            self.sink.diagnose(
                "mediawiki.text_stub",
                where,
                f"{what}: a stub, the text is at {rev.text_location!r}, not in the dump; no body",
                entity_id=ident,
            )
        if rev.slots and not self.slots_said:
            self.slots_said = True
            roles = sorted({s.role or "?" for s in rev.slots})
            self.sink.diagnose(
                "mediawiki.slots_not_modelled",
                where,
                f"revisions hold non-main slots ({', '.join(roles)}, first in {what}): kept in their raw",
            )
        self._say_unknown(rev.unknown, rev.line, "revision")
        if page.revisions == 1:
            page.first_author, page.created_at, page.created_native = author, at, rev.timestamp
        else:
            page.edited_by, page.edited_at, page.edited_native = author, at, rev.timestamp
        page.last_body = body
        record = Revision(
            id=ident,
            item_id=page.id,
            native_id=native,
            author_id=author,
            created_at=at,
            body=body,
            comment=rev.comment,
            raw=raw,
            origin=where,
        )
        self._keep(page, record, len(raw))
        self.since_flush += len(raw) + (len(rev.text) if rev.text is not None else 0)
        if self.since_flush > FLUSH_BYTES:
            self.since_flush = 0
            flush = getattr(self.sink, "flush", None)
            if flush is not None:
                flush()

    def _keep(self, page: _PageState, record: msgspec.Struct, size: int) -> None:
        """Hold a page's record until its item is written; past the buffer, write the item now."""
        if page.item_written:
            self.sink.add(record)
            return
        page.buffered.append(record)
        page.buffered_bytes += size
        if page.buffered_bytes > PAGE_BUFFER_BYTES or len(page.buffered) > PAGE_BUFFER_REVISIONS:
            # A first version of the item (no raw, no times, the first revision's body) so the
            # revisions can refer to it; the page's end writes the whole of it over this one,
            # once its revisions are in (the archive keeps an item's changed body as a revision
            # unless a revision already holds it).
            first = page.buffered[0]
            self.sink.add(
                Item(
                    id=page.id,
                    platform=PLATFORM,
                    native_id=page.native,
                    kind=ItemKind.PAGE,
                    space_id=page.space,
                    title=page.header.title,
                    body=first.body if isinstance(first, Revision) else None,
                    origin=self.where(page.header.line),
                )
            )
            page.item_written = True
            for held in page.buffered:
                self.sink.add(held)
            page.buffered = []

    def _check(self, rev: DumpRevision, what: str, where: str, ident: str) -> None:
        """The text against its ``bytes`` and ``sha1``: a mismatch is said, the text kept."""
        assert rev.text is not None
        data = rev.text.encode("utf-8")
        if rev.text_bytes is not None and rev.text_bytes.strip() != str(len(data)):
            self.sink.diagnose(
                "mediawiki.bytes_mismatch",
                where,
                f"{what}: bytes={rev.text_bytes!r} but the text is {len(data)} bytes of UTF-8",
                entity_id=ident,
            )
        if not rev.sha1 and not rev.text_sha1:
            return
        actual = sha1_base36(data)
        if rev.text_sha1 is not None and rev.text_sha1.strip() != actual:
            self.sink.diagnose(
                "mediawiki.sha1_mismatch",
                where,
                f"{what}: <text sha1> {rev.text_sha1!r} but the text's is {actual!r}",
                entity_id=ident,
            )
        if rev.sha1:
            expected = actual
            if rev.slots:
                hashes = {"main": actual}
                for slot in rev.slots:
                    if slot.text is not None:
                        hashes[slot.role or "?"] = sha1_base36(slot.text.encode("utf-8"))
                    elif slot.sha1:
                        hashes[slot.role or "?"] = slot.sha1.strip()
                expected = fold_sha1(hashes)
            if rev.sha1.strip() != expected:
                self.sink.diagnose(
                    "mediawiki.sha1_mismatch",
                    where,
                    f"{what}: <sha1> {rev.sha1!r} but the text's is {expected!r}",
                    entity_id=ident,
                )

    def _page_end(self, end: PageEnd) -> None:
        page = self._start_page(end.page)
        header = end.page
        body = page.last_body
        subtype = None
        if header.redirect is not None:
            subtype = "redirect"
            if header.redirect and body is not None:
                # The text's own `#REDIRECT [[…]]` link names the target as written; the
                # attribute names it normalised: one reference, not two.
                target = page_key("mediawiki", header.redirect)
                links = {page_key("mediawiki", r.target) for r in body.references if r.kind is RefKind.PAGE}
                if target not in links:
                    ref = Reference(kind=RefKind.PAGE, target=header.redirect, label="redirect")
                    body = msgspec.structs.replace(body, references=(ref, *body.references))
        if page.revisions == 0:
            self.sink.diagnose(
                "mediawiki.page_without_revisions",
                self.where(header.line),
                f"page {header.title!r} has no revision in the dump: kept without a body",
            )
        if page.item_written:
            for held in page.buffered:
                self.sink.add(held)
            page.buffered = []
            flush = getattr(self.sink, "flush", None)
            if flush is not None:
                flush()  # the revisions are in before the item is updated
        self.sink.add(
            Item(
                id=page.id,
                platform=PLATFORM,
                native_id=page.native,
                kind=ItemKind.PAGE,
                space_id=page.space,
                subtype=subtype,
                author_id=page.first_author,
                created_at=page.created_at,
                created_native=page.created_native,
                edited_at=page.edited_at if page.revisions > 1 else None,
                edited_native=page.edited_native if page.revisions > 1 else None,
                edited_by_id=page.edited_by if page.revisions > 1 else None,
                title=header.title,
                body=body,
                raw=end.raw(),
                origin=self.where(header.line),
            )
        )
        for held in page.buffered:
            self.sink.add(held)
        for link in page.links:
            self.sink.add(link)
        self.page = None

    # -- uploads -------------------------------------------------------------------------------
    def _upload(self, up: Upload) -> None:
        page = self._start_page(up.page)
        page.uploads += 1
        where = self.where(up.line)
        filename = up.filename or ""
        if up.archivename is not None:
            version = up.archivename.split("!", 1)[0] if "!" in up.archivename else (up.timestamp or "")
            native = f"{filename}@{version}"
        else:
            native = filename
        fid = file_id(PLATFORM, native)
        what = f"upload {native!r} of {up.page.title!r}"
        author = self._person(up.contributor, up.line, what, fid)
        if up.comment_deleted:
            self.sink.diagnose(
                "mediawiki.comment_deleted", where, f"{what}: the upload comment is suppressed", entity_id=fid
            )
        self._say_unknown(up.unknown, up.line, "upload")
        declared = _int(up.size)
        sha256: str | None = None
        missing: str | None = None
        hashing: Hashing | None = None
        got = 0
        if up.contents is not None:
            if (up.contents_encoding or "base64").lower() == "base64":
                hashing = Hashing(base64_chunks(up.contents))
            else:
                missing = (
                    f"<contents> in the encoding {up.contents_encoding!r}, which passerelle does not read"
                )
                self.sink.diagnose(
                    "mediawiki.upload_undecodable", where, f"{what}: {missing}", entity_id=fid,
                    raw=up.contents.encode("utf-8"),
                )  # fmt: skip
        else:
            entry = self.files.find(up.rel, filename, up.archivename)
            if entry is not None:
                self.files.used.add(entry)
                hashing = Hashing(entry_chunks(self.tree, entry))
            else:
                missing = "not in the dump (no <contents>) and no file of that name beside it"
                self.sink.diagnose("mediawiki.upload_missing", where, f"{what}: {missing}", entity_id=fid)
        if hashing is not None:
            try:
                sha256, got = self.sink.put_blob(io.BufferedReader(hashing, 1 << 20))
            except (binascii.Error, ValueError) as exc:
                missing = f"<contents> is not valid base64 ({exc})"
                self.sink.diagnose(
                    "mediawiki.upload_undecodable", where, f"{what}: {missing}", entity_id=fid,
                    raw=(up.contents or "").encode("utf-8"),
                )  # fmt: skip
            except EntryError as exc:
                missing = str(exc)
                self.sink.diagnose(exc.code, where, f"{what}: {exc}", entity_id=fid)
            else:
                if declared is not None and declared != got:
                    self.sink.diagnose(
                        "mediawiki.upload_size_mismatch",
                        where,
                        f"{what}: <size> {up.size!r} but the bytes are {got}",
                        entity_id=fid,
                    )
                digest = base36(hashing.sha1.digest())
                if up.sha1base36 and up.sha1base36.strip() != digest:
                    self.sink.diagnose(
                        "mediawiki.upload_sha1_mismatch",
                        where,
                        f"{what}: <sha1base36> {up.sha1base36!r} but the bytes' is {digest!r}",
                        entity_id=fid,
                    )
        self.sink.add(
            File(
                id=fid,
                platform=PLATFORM,
                native_id=native,
                name=filename,
                title=up.archivename,
                media_type=mimetypes.guess_type(filename)[0],
                size=declared,
                sha256=sha256,
                missing_reason=missing if sha256 is None else None,
                url=up.src,
                author_id=author,
                created_at=_micros(up.timestamp),
                raw=up.raw(),
                origin=where,
            )
        )
        link = ItemFile(item_id=page.id, file_id=fid, position=page.uploads - 1)
        if page.item_written:
            self.sink.add(link)
        else:
            page.links.append(link)

    # -- log entries ---------------------------------------------------------------------------
    def _logitem(self, item: LogItem) -> None:
        self._enter()
        space = self._log_space()
        native = item.id.strip() if item.id and item.id.strip() else f"@{item.number}"
        ident = item_id(PLATFORM, "log", native)
        where = self.where(item.line)
        what = f"log entry {native}"
        author = self._person(item.contributor, item.line, what, ident)
        if item.comment_deleted:
            self.sink.diagnose(
                "mediawiki.comment_deleted", where, f"{what}: the comment is suppressed", entity_id=ident
            )
        at = _micros(item.timestamp)
        if at is None:
            self.sink.diagnose(
                "mediawiki.bad_timestamp", where, f"{what}: timestamp {item.timestamp!r} is not ISO 8601"
            )
        self._say_unknown(item.unknown, item.line, "logitem")
        self.sink.add(
            Item(
                id=ident,
                platform=PLATFORM,
                native_id=native,
                kind=ItemKind.EVENT,
                space_id=space,
                subtype=f"{item.type or ''}/{item.action or ''}",
                author_id=author,
                created_at=at,
                created_native=item.timestamp,
                title=item.logtitle,
                body=Body(format="text", source=item.comment, normalised=item.comment)
                if item.comment is not None
                else None,
                raw=item.raw(),
                origin=where,
            )
        )

    # -- what is not read ----------------------------------------------------------------------
    def _say_unknown(self, names: list[str], line: int, within: str) -> None:
        for name in names:
            if name in self.unknown:
                continue
            self.unknown.add(name)
            self.sink.diagnose(
                "mediawiki.unknown_element",
                self.where(line),
                f"<{name}> in a <{within}> is not read: it stays in the {within}'s raw record",
            )

    def _unknown_top(self, record: Unknown) -> None:
        self.sink.diagnose(
            "mediawiki.unknown_element",
            self.where(record.line),
            f"<{record.name}> at the top of the dump is not read: kept in this diagnostic",
            dropped="element",
            raw=record.raw,
        )

    def _broken(self, record: Broken, stream_error: str | None) -> None:
        error = record.error
        being = ""
        if record.page is not None:
            page = self._start_page(record.page)
            being = f"; page {record.page.title!r} was being read ({page.revisions} complete revisions kept)"
            self._page_end_partial(page)
        cause = f" ({stream_error})" if stream_error else ""
        self.sink.diagnose(
            "mediawiki.truncated",
            f"{self.name}#{error.line}",
            f"the dump stops at line {error.line}, column {error.column} (byte ~{error.offset} of the"
            f" XML): {error.message}{cause}{being}; everything before is kept",
            raw=record.partial,
        )

    def _page_end_partial(self, page: _PageState) -> None:
        """The page being read when the dump broke: its item from what was read."""
        from lxml import etree

        stand_in = etree.Element("page")
        etree.SubElement(stand_in, "title").text = page.header.title
        if page.header.id is not None:
            etree.SubElement(stand_in, "id").text = page.header.id
        stand_in.set("truncated", "true")
        self._page_end(PageEnd(page.header, page.revisions, page.uploads, stand_in))


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None
