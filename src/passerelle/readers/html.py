"""The html reader: a static site passerelle wrote (``export --to html``) back into an archive.

A site someone received is an archive that can be rescued. Its records are in its data
files (``data/site.js``, ``persons.js``, ``spaces.js``, ``items-00000.js``…), each exactly
``passerelle_data(<JSON object>);\\n`` (docs/web.md, "Reading a static site back and
verifying it"); its pages, styles, scripts and search index are built from them and are not
read. The site carries the archive's own ids: every record becomes the entity of that id
with the record's values, under the platform ``passerelle-html`` (the site does not say
which platform a record first came from), its JSON object as raw record. File bytes are
read from each file's ``path``.

Input is hostile: a data file that is not exactly the contract's, a JSON error, a record
lacking a field, a path climbing out of the site or naming nothing, bytes that are not the
ones declared, counts that disagree: each is a typed diagnostic (``html.*``) and the rest
is read. One data file is in memory at a time (an item chunk holds at most 1,000 items);
each is a unit of work.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import msgspec

from passerelle.archive.writer import ArchiveWriter
from passerelle.model.entities import (
    Body,
    File,
    Item,
    ItemFile,
    ItemKind,
    Membership,
    Person,
    Reaction,
    Revision,
    Space,
    SpaceKind,
    Visibility,
)
from passerelle.progress import Display
from passerelle.readers.base import FormatInfo
from passerelle.readers.source_tree import EntryError, SourceTree, is_unsafe

PLATFORM = "passerelle-html"
FORMAT = "passerelle-html"
PREFIX, SUFFIX = b"passerelle_data(", b");\n"
SITE, PERSONS, SPACES = "data/site.js", "data/persons.js", "data/spaces.js"
ITEM_CHUNK = re.compile(r"data/items-(\d{5})\.js")
SEARCH = re.compile(r"data/search-[^/]*\.js")
# The site holds only the normalised (CommonMark) form of a body: read back, that is its markup.
BODY_FORMAT = "markdown"
COUNTED = ("persons", "spaces", "memberships", "items", "reactions", "files", "revisions")
_SNIFF = 4096
_DECODE_ERRORS = (msgspec.DecodeError, RecursionError, UnicodeDecodeError)
_BATCH = 500  # ids looked up in the archive at a time


# -- the contract's records, as msgspec decodes them (a missing field or a wrong type: refused) --
class _Record(msgspec.Struct):
    pass


class _PersonRecord(_Record):
    id: str
    name: str | None
    display_name: str | None
    real_name: str | None
    email: str | None
    is_bot: bool
    is_deleted: bool
    is_guest: bool
    title: str | None


class _Member(_Record):
    person_id: str
    role: str


class _SpaceRecord(_Record):
    id: str
    kind: SpaceKind
    visibility: Visibility
    name: str | None
    display_name: str | None
    topic: str | None
    purpose: str | None
    parent_id: str | None
    created_at: int | None
    is_archived: bool
    members: list[_Member]


class _ReactionRecord(_Record):
    person_id: str
    emoji: str
    created_at: int | None


class _FileRecord(_Record):
    id: str
    name: str | None
    title: str | None
    media_type: str | None
    size: int | None
    sha256: str | None
    missing_reason: str | None
    path: str | None


class _RevisionRecord(_Record):
    id: str
    author_id: str | None
    created_at: int | None
    comment: str | None
    body_format: str | None
    body_text: str | None


class _ItemRecord(_Record):
    id: str
    space_id: str
    kind: ItemKind
    subtype: str | None
    author_id: str | None
    created_at: int | None
    edited_at: int | None
    deleted: bool
    thread_root_id: str | None
    parent_id: str | None
    also_in_channel: bool
    pinned: bool
    title: str | None
    body_format: str | None
    body_text: str | None
    reactions: list[_ReactionRecord]
    files: list[msgspec.Raw]
    revisions: list[msgspec.Raw]
    page: str


class _DataFile(msgspec.Struct):
    kind: str
    records: list[msgspec.Raw]


class _Site(msgspec.Struct):
    kind: str
    format: str
    version: int
    audience: dict[str, Any]
    item_chunks: int
    counts: dict[str, int]


def site_prefix(tree: SourceTree) -> str | None:
    """Where the site starts in the tree: at its top, or in its one top-level folder (a zipped
    folder); None when the tree holds no ``data/site.js`` of a passerelle site."""
    candidates = [""] if SITE in tree else []
    candidates += sorted(
        name[: -len(SITE)] for name in tree.names() if name.endswith("/" + SITE) and name.count("/") == 2
    )
    for prefix in candidates:
        try:
            with tree.open_entry(prefix + SITE) as handle:
                head = handle.read(_SNIFF)
        except EntryError:
            continue
        if head.startswith(PREFIX) and b'"format":"' + FORMAT.encode() + b'"' in head:
            return prefix
    return None


def unframe(data: bytes) -> bytes | None:
    """The JSON inside a data file, or None when the file is not exactly the contract's frame."""
    if len(data) < len(PREFIX) + len(SUFFIX) or not data.startswith(PREFIX) or not data.endswith(SUFFIX):
        return None
    return data[len(PREFIX) : -len(SUFFIX)]


class HtmlReader:
    info: ClassVar[FormatInfo] = FormatInfo(
        name="html",
        platform=PLATFORM,
        description="static site written by passerelle (export --to html; a folder or a zip): its data files",
        keeps=(
            "every record of the site's data files with the archive's own ids and exact values:"
            " persons, spaces and their members, items with their reactions, files and revisions",
            "file bytes, checked against the SHA-256 each record declares",
            "each record's JSON object as its raw record",
        ),
        cannot_carry=(
            "what the site's audience could not see: the site never held it",
            "original markup: the site holds bodies in their normalised CommonMark form (read back as"
            " markdown; the original format's name stays in the raw record)",
            "what the data files do not hold: platforms, native ids, native times, mentions,"
            " file URLs, authors and dates; persons' time zones; e-mail addresses a site withholds",
        ),
    )
    version: ClassVar[str] = "1"

    @classmethod
    def detect(cls, tree: SourceTree) -> bool:
        return site_prefix(tree) is not None

    def read(self, tree: SourceTree, out: ArchiveWriter, display: Display) -> None:
        prefix = site_prefix(tree)
        if prefix is None:  # forced with --from on something else: every entry is left over
            prefix = ""
        _SiteRead(tree, prefix, out, display).run()


@dataclass
class _Counts:
    persons: int = 0
    spaces: int = 0
    memberships: int = 0
    items: int = 0
    reactions: int = 0
    revisions: int = 0
    file_ids: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, int]:
        counted = dict(self.__dict__)
        counted.pop("file_ids")
        return {**counted, "files": len(self.file_ids)}


@dataclass(frozen=True)
class _Listed:
    """One file of an item's list: its place, exact bytes, and record (or why it does not read)."""

    index: int
    where: str
    raw: bytes
    record: _FileRecord | str


class _SiteRead:
    def __init__(self, tree: SourceTree, prefix: str, out: ArchiveWriter, display: Display) -> None:
        self.tree = tree
        self.prefix = prefix
        self.out = out
        self.display = display
        self.counts = _Counts()
        self.persons: set[str] = set()  # ids persons.js defines
        self.spaces: set[str] = set()
        self.consumed: set[str] = set()  # entries read as data or file bytes
        self.bytes_read: set[str] = set()  # file ids whose bytes are in the blob store (this run)

    def run(self) -> None:
        site = self._site()
        self._persons()
        self._spaces()
        chunks = self._chunk_names()
        if site is not None:
            # Chunks missing between those the site holds are named; the count says the rest (a
            # hostile count is no loop bound).
            last = int(chunks[-1][len("data/items-") : -len(".js")]) + 1 if chunks else 0
            expected = [f"data/items-{n:05d}.js" for n in range(min(site.item_chunks, last))]
            if site.item_chunks != len(chunks) or chunks != expected:
                self.out.diagnose(
                    "html.count_mismatch",
                    SITE,
                    f"site.js says {site.item_chunks} item chunks; the site holds {len(chunks)} items-*.js files",
                )
            for name in sorted(set(expected) - set(chunks)):
                self.out.diagnose("html.bad_data_file", name, "site.js names this chunk; it is missing")
        task = self.display.task("items", total=len(chunks))
        for name in chunks:
            self._items(name)
            task.advance()
        if site is not None:
            self._check_counts(site)
        self._leftovers()

    # -- data files --------------------------------------------------------------------------
    def _json(self, name: str) -> tuple[bytes, bytes] | None:
        """A data file's bytes and the JSON inside, or None with an error diagnostic that keeps them."""
        self.consumed.add(name)
        path = self.prefix + name
        if path not in self.tree:
            self.out.diagnose("html.bad_data_file", name, "the site lacks this data file", dropped="document")
            return None
        try:
            data = self.tree.read_bytes(path)
        except EntryError as exc:
            self.out.diagnose(exc.code, name, str(exc), dropped="document")
            return None
        inner = unframe(data)
        if inner is None:
            self.out.diagnose(
                "html.bad_data_file",
                name,
                f"not exactly {PREFIX.decode()}<JSON>{SUFFIX.decode()!r}: not read",
                dropped="document",
                raw=data,
            )
            return None
        return data, inner

    def _decoded(self, name: str, shape: type[Any], kind: str) -> Any:
        """A data file decoded into its shape, or None with an error diagnostic keeping its bytes."""
        found = self._json(name)
        if found is None:
            return None
        data, inner = found
        try:
            # The whole file must be UTF-8: records kept raw are not decoded by msgspec until later.
            inner.decode("utf-8")
            document = msgspec.json.decode(inner, type=shape)
        except msgspec.ValidationError as exc:
            why = str(exc)
        except _DECODE_ERRORS as exc:
            self.out.diagnose("html.invalid_json", name, f"not JSON: {exc}", dropped="document", raw=data)
            return None
        else:
            if document.kind == kind:
                return document
            why = f"its kind is {document.kind!r}, not {kind!r}"
        self.out.diagnose(
            "html.bad_data_file",
            name,
            f"not a data file of the contract: {why}",
            dropped="document",
            raw=data,
        )
        return None

    def _document(self, name: str, kind: str) -> list[msgspec.Raw] | None:
        document = self._decoded(name, _DataFile, kind)
        return document.records if document is not None else None

    def _site(self) -> _Site | None:
        site: _Site | None = self._decoded(SITE, _Site, "site")
        return site

    def _records(
        self, name: str, kind: str, records: list[msgspec.Raw], shape: type[Any]
    ) -> Iterator[tuple[str, bytes, Any]]:
        """Each record of a data file decoded into its shape, with its place and exact bytes;
        a record that does not decode is an error diagnostic that keeps it."""
        for index, raw in enumerate(records):
            where, data = f"{name}#{index}", bytes(raw)
            try:
                record = msgspec.json.decode(data, type=shape)
            except (msgspec.ValidationError, *_DECODE_ERRORS) as exc:
                self.out.diagnose(
                    "html.unreadable_record",
                    where,
                    f"a {kind} that cannot be read: {exc}",
                    dropped=kind,
                    raw=data,
                )
                self._count_unread(kind, data)
                continue
            yield where, data, record

    def _count_unread(self, kind: str, data: bytes) -> None:
        """What a record that does not read holds, counted as site.js counts it: its lists' lengths."""
        value = _loose(data)
        if not isinstance(value, dict):
            return

        def listed(key: str) -> list[Any]:
            found = value.get(key)
            return found if isinstance(found, list) else []

        if kind == "space":
            self.counts.memberships += len(listed("members"))
        elif kind == "item":
            self.counts.reactions += len(listed("reactions"))
            self.counts.revisions += len(listed("revisions"))
            self.counts.file_ids.update(
                f["id"] for f in listed("files") if isinstance(f, dict) and isinstance(f.get("id"), str)
            )

    def _persons(self) -> None:
        records = self._document(PERSONS, "persons") or []
        self.counts.persons = len(records)
        done = self.out.is_done(PERSONS)
        decoded = list(self._records(PERSONS, "person", records, _PersonRecord))
        held = set() if done else self._held(PERSONS, {"persons": [p.id for _, _, p in decoded]})
        for where, raw, p in decoded:
            self.persons.add(p.id)
            if done or p.id in held:
                continue
            self.out.add(
                Person(
                    id=p.id, platform=PLATFORM, native_id=p.id, name=p.name, display_name=p.display_name,
                    real_name=p.real_name, email=p.email, is_bot=p.is_bot, is_deleted=p.is_deleted,
                    is_guest=p.is_guest, title=p.title, raw=raw, origin=where,
                )
            )  # fmt: skip
        if not done:
            self.out.complete(PERSONS)

    def _spaces(self) -> None:
        records = self._document(SPACES, "spaces") or []
        self.counts.spaces = len(records)
        done = self.out.is_done(SPACES)
        decoded = list(self._records(SPACES, "space", records, _SpaceRecord))
        held = set() if done else self._held(SPACES, {"spaces": [s.id for _, _, s in decoded]})
        for where, raw, s in decoded:
            self.spaces.add(s.id)
            self.counts.memberships += len(s.members)
            if done:
                continue
            if s.id not in held:
                self.out.add(
                    Space(
                        id=s.id, platform=PLATFORM, native_id=s.id, kind=s.kind, visibility=s.visibility,
                        name=s.name, display_name=s.display_name, topic=s.topic, purpose=s.purpose,
                        parent_id=s.parent_id, created_at=s.created_at, is_archived=s.is_archived,
                        raw=raw, origin=where,
                    )
                )  # fmt: skip
            for at, member in enumerate(s.members):
                person = self._person(member.person_id, f"{where}/members/{at}")
                self.out.add(Membership(space_id=s.id, person_id=person, role=member.role, origin=where))
        if not done:
            self.out.complete(SPACES)

    def _held(self, name: str, ids: dict[str, list[str]]) -> set[str]:
        """The ids the archive already holds from their own source (another platform than a
        site's): the site's copy of such a record is a projection of it (bodies in their
        normalised form only, e-mails perhaps withheld), so it does not replace it. Said once
        per data file."""
        held: set[str] = set()
        for table, wanted in ids.items():
            unique = sorted(set(wanted))
            for start in range(0, len(unique), _BATCH):
                batch = unique[start : start + _BATCH]
                marks = ", ".join("?" * len(batch))
                held.update(
                    row[0]
                    for row in self.out.query(
                        f"SELECT id FROM {table} WHERE platform != ? AND id IN ({marks})", (PLATFORM, *batch)
                    )
                )
        if held:
            self.out.diagnose(
                "html.already_held",
                name,
                f"{len(held)} records of this file are in the archive from their own source: kept as they"
                " are, the site's copies not used",
            )
        return held

    def _person(self, person_id: str, where: str) -> str:
        """A person a record names; one persons.js lacks gets a placeholder (said at each place,
        so a run resumed midway says the same as a clean one)."""
        if person_id not in self.persons:
            self.out.diagnose(
                "html.unknown_person",
                where,
                f"person {person_id!r} is not in persons.js: a placeholder stands for them",
                entity_id=person_id,
            )
            self.out.add(Person(id=person_id, platform=PLATFORM, native_id=person_id, is_placeholder=True))
        return person_id

    def _chunk_names(self) -> list[str]:
        found = []
        for name in self.tree.names():
            if name.startswith(self.prefix) and ITEM_CHUNK.fullmatch(name[len(self.prefix) :]):
                found.append(name[len(self.prefix) :])
        return sorted(found)

    # -- items ---------------------------------------------------------------------------------
    def _items(self, name: str) -> None:
        records = self._document(name, "items") or []
        self.counts.items += len(records)
        done = self.out.is_done(name)
        decoded = [
            (where, raw, record, self._files(where, record.files))
            for where, raw, record in self._records(name, "item", records, _ItemRecord)
        ]
        held: set[str] = set()
        if not done:
            file_ids = [
                f.record.id for *_, files in decoded for f in files if isinstance(f.record, _FileRecord)
            ]
            held = self._held(name, {"items": [r.id for _, _, r, _ in decoded], "files": file_ids})
        for where, raw, record, files in decoded:
            self.counts.reactions += len(record.reactions)
            self.counts.revisions += len(record.revisions)
            self.counts.file_ids.update(filter(None, map(_listed_id, files)))
            if not done:
                self._item(where, raw, record, files, held)
        if not done:
            self.out.complete(name)

    def _item(self, where: str, raw: bytes, r: _ItemRecord, files: list[_Listed], held: set[str]) -> None:
        """One item and what it carries; an item (or file) the archive holds from its own source
        is left as it is, what it carries added where the archive lacks it."""
        if r.space_id not in self.spaces:
            self.out.diagnose(
                "html.unknown_space",
                where,
                f"space {r.space_id!r} is not in spaces.js: the item is not read",
                dropped="item",
                raw=raw,
            )
            return
        out = self.out
        author = self._person(r.author_id, f"{where}/author_id") if r.author_id is not None else None
        if r.id not in held:
            out.add(
                Item(
                    id=r.id, platform=PLATFORM, native_id=r.id, kind=r.kind, space_id=r.space_id,
                    subtype=r.subtype, author_id=author, created_at=r.created_at, edited_at=r.edited_at,
                    deleted=r.deleted, thread_root_id=r.thread_root_id, parent_id=r.parent_id,
                    also_in_channel=r.also_in_channel, pinned=r.pinned, title=r.title,
                    body=_body(r.body_text), raw=raw, origin=where,
                )
            )  # fmt: skip
        for at, reaction in enumerate(r.reactions):
            person = self._person(reaction.person_id, f"{where}/reactions/{at}")
            out.add(
                Reaction(item_id=r.id, person_id=person, emoji=reaction.emoji, created_at=reaction.created_at)
            )
        for f in files:
            if isinstance(f.record, str):
                message = f"a file that cannot be read: {f.record}"
                out.diagnose("html.unreadable_record", f.where, message, dropped="file", raw=f.raw)
                continue
            if f.record.id not in held:
                self._file(f.record, f.where, f.raw)
            out.add(ItemFile(item_id=r.id, file_id=f.record.id, position=f.index))
        if r.id in held:  # its history is the archive's own
            return
        for rev_where, rev_raw, v in self._records_at(
            f"{where}/revisions", "revision", r.revisions, _RevisionRecord
        ):
            out.add(
                Revision(
                    id=v.id, item_id=r.id, native_id=v.id, author_id=v.author_id, created_at=v.created_at,
                    body=_body(v.body_text), comment=v.comment, raw=rev_raw, origin=rev_where,
                )
            )  # fmt: skip

    def _records_at(
        self, where: str, kind: str, records: list[msgspec.Raw], shape: type[Any]
    ) -> Iterator[tuple[str, bytes, Any]]:
        for index, raw in enumerate(records):
            place, data = f"{where}/{index}", bytes(raw)
            try:
                yield place, data, msgspec.json.decode(data, type=shape)
            except (msgspec.ValidationError, *_DECODE_ERRORS) as exc:
                self.out.diagnose(
                    "html.unreadable_record",
                    place,
                    f"a {kind} that cannot be read: {exc}",
                    dropped=kind,
                    raw=data,
                )

    def _files(self, where: str, records: list[msgspec.Raw]) -> list[_Listed]:
        """An item's files, in order, decoded or with the reason they are not."""
        listed = []
        for index, raw in enumerate(records):
            data = bytes(raw)
            record: _FileRecord | str
            try:
                record = decoded = msgspec.json.decode(data, type=_FileRecord)
            except (msgspec.ValidationError, *_DECODE_ERRORS) as exc:
                record = str(exc)
            else:
                if decoded.path is not None:
                    self.consumed.add(posixpath.normpath(decoded.path))
            listed.append(_Listed(index, f"{where}/files/{index}", data, record))
        return listed

    def _file(self, f: _FileRecord, where: str, raw: bytes) -> None:
        if f.id in self.bytes_read:  # listed under an earlier item of this run: written then
            return
        sha, reason = self._file_bytes(f, where)
        self.out.add(
            File(
                id=f.id, platform=PLATFORM, native_id=f.id, name=f.name, title=f.title,
                media_type=f.media_type, size=f.size, sha256=sha,
                missing_reason=reason if sha is None else None, raw=raw, origin=where,
            )
        )  # fmt: skip
        self.bytes_read.add(f.id)

    def _file_bytes(self, f: _FileRecord, where: str) -> tuple[str | None, str | None]:
        """The SHA-256 of the file's bytes put in the blob store, or None and why not."""
        if f.path is None:
            return None, f.missing_reason or "the site does not hold its bytes"
        path = posixpath.normpath(f.path)
        if is_unsafe(f.path) or path.startswith(("../", "/")) or path in ("..", "."):
            self.out.diagnose(
                "html.unsafe_path", where, f"path {f.path!r} climbs out of the site: not read", entity_id=f.id
            )
            return None, "its path in the site climbs out of it"
        entry = self.prefix + path
        if entry not in self.tree:
            self.out.diagnose(
                "html.missing_file", where, f"path {f.path!r} is not in the site", entity_id=f.id
            )
            return None, "its path names no file of the site"
        try:
            with self.tree.open_entry(entry) as stream:
                sha, size = self.out.put_blob(stream, size=self.tree.size(entry))
        except EntryError as exc:
            self.out.diagnose(exc.code, where, str(exc), entity_id=f.id)
            return None, "its bytes could not be read"
        # The record's size is the size its source declared (kept as it is, like every reader's);
        # the bytes are known by their SHA-256.
        if sha != f.sha256:
            self.out.diagnose(
                "html.file_mismatch",
                where,
                f"{f.path!r} holds {size} bytes of SHA-256 {sha}; its record says SHA-256 {f.sha256}",
                entity_id=f.id,
            )
        return sha, None

    # -- accounting -----------------------------------------------------------------------------
    def _check_counts(self, site: _Site) -> None:
        held = self.counts.as_dict()
        for name in COUNTED:
            declared = site.counts.get(name)
            if declared != held[name]:
                self.out.diagnose(
                    "html.count_mismatch",
                    SITE,
                    f"site.js counts {declared} {name}; the data files hold {held[name]}",
                )

    def _leftovers(self) -> None:
        if self.out.is_done("leftovers"):
            return
        for problem in self.tree.problems:
            self.out.diagnose(problem.code, problem.entry, problem.message, dropped=problem.dropped)
        presentation = 0
        for name in self.tree.names():
            relative = name[len(self.prefix) :] if name.startswith(self.prefix) else None
            if relative in self.consumed:
                continue
            if relative is not None and _is_presentation(relative):
                presentation += 1
                continue
            try:
                with self.tree.open_entry(name) as stream:
                    sha, size = self.out.put_blob(stream, size=self.tree.size(name))
            except EntryError as exc:
                self.out.diagnose(exc.code, name, str(exc), dropped="entry")
                continue
            self.out.diagnose(
                "source.unrecognised_entry",
                name,
                f"{name!r} ({size} bytes, SHA-256 {sha}) is no data file and no record's file; its bytes are kept",
            )
        if presentation:
            self.out.diagnose(
                "html.presentation",
                self.prefix + "index.html",
                f"{presentation} pages, styles, scripts and search files of the site are built from its data"
                " files: not read",
            )
        self.out.complete("leftovers")


def _loose(data: bytes) -> Any:
    try:
        return msgspec.json.decode(data)
    except _DECODE_ERRORS:
        return None


def _listed_id(listed: _Listed) -> str | None:
    """The id of an item's file, also of one whose record does not read (site.js counts it)."""
    if isinstance(listed.record, _FileRecord):
        return listed.record.id
    value = _loose(listed.raw)
    found = value.get("id") if isinstance(value, dict) else None
    return found if isinstance(found, str) else None


def _is_presentation(name: str) -> bool:
    if name.startswith("data/"):
        return SEARCH.fullmatch(name) is not None
    return not name.startswith("files/")


def _body(text: str | None) -> Body | None:
    return Body(format=BODY_FORMAT, source=text, normalised=text) if text is not None else None
