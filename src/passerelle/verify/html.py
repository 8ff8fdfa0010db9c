"""A static site passerelle wrote, checked by an independent path: as a source (did the archive
read back from it take every record?) and as an export (does it hold exactly what its
audience may see, and is it whole?).

This module shares no code with the html reader: it lists the site with the standard library
(``ExportFiles``: ``zipfile`` or ``os.walk``), strips each data file's frame itself and
decodes it with the standard ``json`` module (the reader uses msgspec), hashes file bytes
with ``hashlib``, and finds the item on its page with lxml's HTML parser (the writer
writes pages with Jinja2).

- **The site itself** (both ways): every data file is exactly ``passerelle_data(<JSON
  object>);\\n`` of the kind its name says; ``site.js``'s counts and chunk count are what the
  data files hold; every file's ``path`` is a file of the site with the SHA-256 its
  record declares; every item's ``page`` is a page of the site holding an element whose id
  is ``item-`` and the item's id.
- **As a source** (``verify_html``, an archive ingested from the site): every record is the
  archive's entity of that id with the record's values and the record as raw; a record
  absent is explained only by a diagnostic the reader stored at its place with its kind
  as ``dropped`` (or at its data file, dropping the ``document``); a defect of the site,
  only by the reader's diagnostic of that defect at that place.
- **As an export** (``check_export``, from the fidelity check: the archive the site was
  written from): the audience ``site.js`` names is the one the export was asked for, and
  nothing in the data files, the pages or the files is what that audience may not see,
  by the web archive's one rule (``passerelle.web.access.visible``): a private space's
  message in a public site is a leak, the worst failure of a static export.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import sqlite3
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from passerelle.archive import DATABASE, Archive
from passerelle.verify.export_files import ExportFiles
from passerelle.verify.ledger import SourceLedger, open_report
from passerelle.verify.report import Tally, VerifyReport
from passerelle.writers.base import Note, Outcome

if TYPE_CHECKING:
    from passerelle.export import Manifest
    from passerelle.verify.fidelity import FidelityReport

PLATFORM = "passerelle-html"
FORMAT = "passerelle-html"
FRAME_START, FRAME_END = b"passerelle_data(", b");\n"
SITE, PERSONS, SPACES = "data/site.js", "data/persons.js", "data/spaces.js"
_CHUNK = re.compile(r"data/items-(\d{5})\.js")
_COUNTED = ("persons", "spaces", "memberships", "items", "reactions", "files", "revisions")
_READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, ValueError, RuntimeError, NotImplementedError)
ITEM_ANCHOR = "item-"  # a page shows an item in an element whose id is this and the item's id
_PAGES_KEPT = 64  # pages whose element ids are kept (an item chunk's items share a few pages)
_BATCH = 400  # ids looked up at a time (twice per statement: under SQLite's 999 parameters)
_ID_LENGTH = 200  # texts longer than this are no archive id


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# -- finding a site ---------------------------------------------------------------------------------
def _prefix(names: Any) -> str | None:
    if SITE in names:
        return ""
    tops = sorted(n[: -len(SITE)] for n in names if n.endswith("/" + SITE) and n.count("/") == 2)
    return tops[0] if tops else None


def is_html_site(path: Path) -> bool:
    """A folder or zip holding ``data/site.js`` of a passerelle site (at its top or in its one
    top-level folder). Cheap: verify asks it of every source."""
    try:
        if path.is_dir():
            tops = [path, *sorted(p for p in path.iterdir() if p.is_dir())]
            found = next((top / SITE for top in tops if (top / SITE).is_file()), None)
            if found is None:
                return False
            with found.open("rb") as handle:
                head = handle.read(4096)
        elif path.is_file() and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                prefix = _prefix(zf.namelist())
                if prefix is None:
                    return False
                with zf.open(prefix + SITE) as handle:
                    head = handle.read(4096)
        else:
            return False
    except _READ_ERRORS:
        return False
    return head.startswith(FRAME_START) and f'"format":"{FORMAT}"'.encode() in head


def was_read_from(archive: Archive, path: Path) -> bool:
    """Whether the archive holds this very site as a source (it was ingested from it): then
    verify reconciles it as a source, else as an export written from the archive."""
    if archive.store.scalar("SELECT 1 FROM sources WHERE platform = ? LIMIT 1", (PLATFORM,)) is None:
        return False
    from passerelle.model import ids

    sha = ExportFiles(path, what="site").fingerprint()
    return (
        archive.store.scalar("SELECT 1 FROM sources WHERE id = ?", (ids.source_id(PLATFORM, sha),))
        is not None
    )


# -- reading the site by its own path ---------------------------------------------------------------
@dataclass
class _Data:
    """A data file: its records (or the whole document for site.js), or why it does not read."""

    name: str
    document: dict[str, Any] | None = None
    error: str | None = None

    @property
    def records(self) -> list[Any]:
        records = (self.document or {}).get("records")
        return records if isinstance(records, list) else []


def _element_ids(data: bytes) -> frozenset[str]:
    """The id attributes of an HTML page's elements (a hostile page: no network, recovered)."""
    parser = etree.HTMLParser(recover=True, no_network=True, encoding="utf-8")
    root = etree.fromstring(data, parser) if data.strip() else None
    if root is None:
        return frozenset()
    values = root.xpath("//@id")
    return frozenset(str(value) for value in values) if isinstance(values, list) else frozenset()


@dataclass
class Site:
    """The site's entries, read with the standard library."""

    path: Path
    files: ExportFiles = field(init=False)
    prefix: str = field(init=False)
    _pages: OrderedDict[str, frozenset[str] | None] = field(default_factory=OrderedDict)

    def __post_init__(self) -> None:
        self.files = ExportFiles(self.path, what="passerelle static site")
        self.prefix = _prefix(self.files.entries) or ""

    def has(self, name: str) -> bool:
        return self.prefix + name in self.files.entries

    def data(self, name: str, kind: str) -> _Data:
        if not self.has(name):
            return _Data(name, error="missing")
        try:
            raw = self.files.read(self.prefix + name)
        except _READ_ERRORS as exc:
            return _Data(name, error=f"unreadable ({exc})")
        if not (raw.startswith(FRAME_START) and raw.endswith(FRAME_END)) or len(raw) < len(
            FRAME_START + FRAME_END
        ):
            return _Data(name, error="not exactly passerelle_data(<JSON>);\\n")
        try:
            document = json.loads(
                raw[len(FRAME_START) : -len(FRAME_END)].decode("utf-8"), parse_constant=_no_constant
            )
        except (ValueError, RecursionError) as exc:
            return _Data(name, error=f"not JSON ({exc})")
        if not isinstance(document, dict) or document.get("kind") != kind:
            return _Data(name, error=f"not a {kind} data file")
        if kind != "site" and not isinstance(document.get("records"), list):
            return _Data(name, error="no records list")
        return _Data(name, document)

    def chunk_names(self) -> list[str]:
        n = len(self.prefix)
        return sorted(
            name[n:]
            for name in self.files.entries
            if name.startswith(self.prefix) and _CHUNK.fullmatch(name[n:])
        )

    def file_check(self, path: Any, sha256: Any) -> tuple[str | None, str | None]:
        """(the code of the defect, a sentence) for a file's ``path``; (None, None) when the
        path is a file of the site with the declared SHA-256 (its ``size`` is the size the
        file's source declared, which the bytes need not have)."""
        if not isinstance(path, str):
            return "html.unreadable_record", "its path is not text"
        normal = posixpath.normpath(path)
        if path.startswith("/") or "\\" in path or ".." in path.split("/") or normal.startswith(("../", "/")):
            return "html.unsafe_path", f"path {path!r} climbs out of the site"
        if not self.has(normal):
            return "html.missing_file", f"path {path!r} is not in the site"
        digest, length = hashlib.sha256(), 0
        with self.files.open(self.prefix + normal) as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                length += len(block)
        if digest.hexdigest() != sha256:
            return "html.file_mismatch", f"{path!r} holds {length} bytes of SHA-256 {digest.hexdigest()}"
        return None, None

    def page_ids(self, page: str) -> frozenset[str] | None:
        """The element ids of a page of the site; None when it is not one."""
        if page in self._pages:
            self._pages.move_to_end(page)
            return self._pages[page]
        found: frozenset[str] | None = None
        normal = posixpath.normpath(page)
        if page.endswith((".html", ".htm")) and not normal.startswith(("../", "/")) and self.has(normal):
            found = _element_ids(self.files.read(self.prefix + normal))
        self._pages[page] = found
        if len(self._pages) > _PAGES_KEPT:
            self._pages.popitem(last=False)
        return found

    def pages(self) -> Iterator[str]:
        n = len(self.prefix)
        for name in sorted(self.files.entries):
            if name.startswith(self.prefix) and name.endswith((".html", ".htm")):
                yield name[n:]


# -- the checks of the site itself, shared by both ways --------------------------------------------
Report = Callable[[str, str, str], None]  # (measure, where, what) of a defect


@dataclass
class _Walk:
    """One pass over the site's data files: each record handed to the callbacks, the counts
    the files hold compared with site.js, file bytes and pages checked; each defect reported
    (``defect``), with the reader's code for it."""

    site: Site
    defect: Callable[[str, str, str, str], None]  # (measure, where, code, what)
    held: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_COUNTED, 0))
    file_ids: set[str] = field(default_factory=set)
    site_doc: dict[str, Any] | None = None

    def site_js(self) -> None:
        data = self.site.data(SITE, "site")
        if data.error is not None:
            self.defect("data files", SITE, "html.bad_data_file", data.error)
        self.site_doc = data.document

    def counts(self) -> None:
        self.held["files"] = len(self.file_ids)
        if self.site_doc is None:
            return
        declared = self.site_doc.get("counts")
        declared = declared if isinstance(declared, dict) else {}
        for name in _COUNTED:
            if declared.get(name) != self.held[name]:
                self.defect(
                    "counts", SITE, "html.count_mismatch",
                    f"site.js counts {declared.get(name)} {name}; the data files hold {self.held[name]}",
                )  # fmt: skip
        chunks = self.site.chunk_names()
        if self.site_doc.get("item_chunks") != len(chunks) or chunks != [
            f"data/items-{n:05d}.js" for n in range(len(chunks))
        ]:
            self.defect(
                "counts", SITE, "html.count_mismatch",
                f"site.js says {self.site_doc.get('item_chunks')} item chunks; the site holds {len(chunks)}",
            )  # fmt: skip

    def page(self, where: str, item: dict[str, Any]) -> bool:
        """The item's page shows it."""
        page = item.get("page")
        ids = self.site.page_ids(page) if isinstance(page, str) else None
        if ids is None:
            self.defect("pages", where, "", f"its page {page!r} is not a page of the site")
            return False
        if f"{ITEM_ANCHOR}{item.get('id')}" not in ids:
            self.defect(
                "pages", where, "", f"its page {page!r} holds no element of id {ITEM_ANCHOR}{item.get('id')}"
            )
            return False
        return True


def _strings(value: Any) -> Iterator[str]:
    """Every text of a JSON value, keys included."""
    stack = [value]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value)
            stack.extend(value.values())


def _dicts(records: Any) -> list[Any]:
    return records if isinstance(records, list) else []


# -- as a source ----------------------------------------------------------------------------------------
_PERSON_COLUMNS = ("name", "display_name", "real_name", "email", "is_bot", "is_deleted", "is_guest", "title")
_SPACE_COLUMNS = (
    "kind", "visibility", "name", "display_name", "topic", "purpose", "parent_id", "created_at", "is_archived",
)  # fmt: skip
_ITEM_COLUMNS = (
    "space_id", "kind", "subtype", "author_id", "created_at", "edited_at", "deleted", "thread_root_id",
    "parent_id", "also_in_channel", "pinned", "title", "body_text",
)  # fmt: skip
_FILE_COLUMNS = ("name", "title", "media_type", "size")
_REVISION_COLUMNS = ("author_id", "created_at", "comment", "body_text")
_BOOLEANS = {"is_bot", "is_deleted", "is_guest", "is_archived", "deleted", "also_in_channel", "pinned"}


def _differences(columns: tuple[str, ...], row: tuple[Any, ...], record: dict[str, Any]) -> list[str]:
    found = []
    for column, value in zip(columns, row, strict=True):
        expected = record.get(column)
        if column in _BOOLEANS and isinstance(expected, bool):
            expected = int(expected)
        if value != expected or (column not in _BOOLEANS and isinstance(expected, bool)):
            found.append(f"{column} {value!r} where the site says {expected!r}")
    return found


@dataclass
class _SourceCheck(SourceLedger):
    site: Site = field(kw_only=True)
    persons: set[str] = field(default_factory=set)
    spaces: set[str] = field(default_factory=set)
    dropped_files: set[str] = field(default_factory=set)  # data files the reader said it did not read
    bytes_checked: set[Any] = field(default_factory=set)  # file ids

    def row(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        rows = self.archive.store.query(sql, params)
        return rows[0] if rows else None

    def defect(self, measure: str, where: str, code: str, what: str) -> None:
        """A defect of the site: the reader must have said so, there."""
        tally = self.report.tally(measure)
        tally.source += 1
        if code and self.said(where, code):
            tally.explained += 1
        else:
            tally.unexplained += 1
            self.report.problem(f"{where}: {what}" + (f", not said ({code})" if code else ""))

    def data(self, name: str, kind: str) -> _Data:
        data = self.site.data(name, kind)
        if data.error is not None:
            self.dropped_files.add(name)
            tally = self.report.tally("data files")
            tally.source += 1
            if self.dropped(name, "document"):
                tally.explained += 1
            else:
                tally.unexplained += 1
                self.report.problem(f"{name}: {data.error}, not said")
        elif self.dropped(name, "document"):
            self.dropped_files.add(
                name
            )  # the reader's msgspec refused what json reads: its records are not read
        return data

    def record(
        self, tally: Tally, where: str, file: str, kind: str, what: str, problems: list[str] | None
    ) -> bool:
        """One record: in the archive as the site has it (``problems`` empty), else explained
        by a diagnostic dropping it (or its data file, or its item), else a difference."""
        tally.source += 1
        if problems == []:
            tally.archive += 1
            return True
        if file in self.dropped_files or self.dropped(where, kind):
            tally.explained += 1
            return False
        tally.unexplained += 1
        self.report.problem(
            f"{where}: {what} " + ("; ".join(problems) if problems else "is not in the archive")
        )
        return False

    def held(self, table: str, entity_id: Any, file: str) -> bool:
        """The archive holds this record from its own source, and the reader said it kept it so
        (a site ingested into the archive it was written from)."""
        if not isinstance(entity_id, str):
            return False
        row = self.row(f"SELECT platform FROM {table} WHERE id = ?", (entity_id,))
        return row is not None and row[0] != PLATFORM and self.said(file, "html.already_held")

    def values(
        self,
        table: str,
        key: str,
        entity_id: Any,
        columns: tuple[str, ...],
        record: dict[str, Any],
        *,
        raw: bool = True,
    ) -> list[str] | None:
        """None when the archive has no such row; else the differences (and the raw record kept)."""
        if not isinstance(entity_id, str):
            return None
        extra = ", raw" if raw else ""
        row = self.row(f"SELECT {', '.join(columns)}{extra} FROM {table} WHERE {key} = ?", (entity_id,))
        if row is None:
            return None
        found = _differences(columns, row[: len(columns)], record)
        if raw and not self.raw_kept(entity_id, row[-1], record):
            found.append("its raw record is not the site's record")
        return found

    # -- the data files --
    def run(self) -> None:
        walk = _Walk(self.site, self.defect)
        site = self.data(SITE, "site")
        # site.js the reader did not read (said so) declares nothing it must agree with.
        walk.site_doc = None if SITE in self.dropped_files else site.document
        persons = self.data(PERSONS, "persons")
        walk.held["persons"] = len(persons.records)
        for at, record in enumerate(persons.records):
            self.person(f"{PERSONS}#{at}", record)
        spaces = self.data(SPACES, "spaces")
        walk.held["spaces"] = len(spaces.records)
        for at, record in enumerate(spaces.records):
            walk.held["memberships"] += len(_dicts(record.get("members"))) if isinstance(record, dict) else 0
            self.space(f"{SPACES}#{at}", record)
        for name in self.site.chunk_names():
            chunk = self.data(name, "items")
            walk.held["items"] += len(chunk.records)
            for at, record in enumerate(chunk.records):
                self.item(walk, name, f"{name}#{at}", record)
        walk.counts()

    def person(self, where: str, record: Any) -> None:
        pid = record.get("id") if isinstance(record, dict) else None
        found = (
            []
            if self.held("persons", pid, PERSONS)
            else self.values("persons", "id", pid, _PERSON_COLUMNS, record)
        )
        if self.record(self.report.tally("persons"), where, PERSONS, "person", f"person {pid!r}", found):
            self.persons.add(pid)  # type: ignore[arg-type]

    def space(self, where: str, record: Any) -> None:
        sid = record.get("id") if isinstance(record, dict) else None
        found = (
            []
            if self.held("spaces", sid, SPACES)
            else self.values("spaces", "id", sid, _SPACE_COLUMNS, record)
        )
        fields = record if isinstance(record, dict) else {}
        row = self.report.conversation(
            str(sid), str(fields.get("name") or sid), str(fields.get("kind") or "?")
        )
        if not self.record(self.report.tally("spaces"), where, SPACES, "space", f"space {sid!r}", found):
            for _ in _dicts(record.get("members") if isinstance(record, dict) else None):
                self.record(row.tally("members"), where, SPACES, "space", "", [])  # explained with its space
            return
        self.spaces.add(sid)  # type: ignore[arg-type]
        for at, member in enumerate(_dicts(record.get("members"))):
            person = member.get("person_id") if isinstance(member, dict) else None
            got = self.row("SELECT role FROM memberships WHERE space_id = ? AND person_id = ?", (sid, person))
            problems = None if got is None else ([] if got[0] == member.get("role") else [f"role {got[0]!r}"])
            self.record(
                row.tally("members"), f"{where}/members/{at}", SPACES, "space", f"member {person!r}", problems
            )
            self.placeholder(f"{where}/members/{at}", person)

    def placeholder(self, where: str, person: Any) -> None:
        """A person the site names without defining: the reader said so, there."""
        if person is not None and not (isinstance(person, str) and person in self.persons):
            self.defect("persons", where, "html.unknown_person", f"person {person!r} is not in persons.js")

    def item(self, walk: _Walk, file: str, where: str, record: Any) -> None:
        if not isinstance(record, dict):
            self.record(
                self.report.tally("items"), where, file, "item", "a record that is not an object", None
            )
            return
        iid, sid = record.get("id"), record.get("space_id")
        files, reactions, revisions = (_dicts(record.get(k)) for k in ("files", "reactions", "revisions"))
        walk.held["reactions"] += len(reactions)
        walk.held["revisions"] += len(revisions)
        walk.file_ids.update(f["id"] for f in files if isinstance(f, dict) and isinstance(f.get("id"), str))
        row = self.report.conversation(sid, sid, "?") if isinstance(sid, str) and sid in self.spaces else None
        item_held = self.held("items", iid, file)
        found = [] if item_held else self.values("items", "id", iid, _ITEM_COLUMNS, record)
        if found is not None and not item_held:
            fmt = self.row("SELECT body_format FROM items WHERE id = ?", (iid,))
            if fmt is not None and fmt[0] != ("markdown" if record.get("body_text") is not None else None):
                found.append(f"body_format {fmt[0]!r}")
        is_reply = record.get("thread_root_id") not in (None, iid)
        tally = row.tally("replies" if is_reply else "messages") if row else self.report.tally("items")
        kept = self.record(tally, where, file, "item", f"item {iid!r}", found)
        if kept:
            walk.page(where, record)
            if record.get("author_id") is not None:
                self.placeholder(f"{where}/author_id", record["author_id"])
        for at, reaction in enumerate(reactions):
            self.reaction(row, where, file, iid, kept, at, reaction)
        for at, listed in enumerate(files):
            self.file(walk, row, file, f"{where}/files/{at}", iid, kept, at, listed)
        for at, revision in enumerate(revisions):
            self.revision(file, f"{where}/revisions/{at}", iid, kept, revision, held=item_held)

    def reaction(self, row: Any, where: str, file: str, iid: Any, kept: bool, at: int, reaction: Any) -> None:
        tally = row.tally("reactions") if row else self.report.tally("reactions")
        if not kept:  # explained with its item, or already a difference
            tally.source += 1
            tally.explained += 1
            return
        r = reaction if isinstance(reaction, dict) else {}
        got = self.row(
            "SELECT created_at FROM reactions WHERE item_id = ? AND person_id = ? AND emoji = ?",
            (iid, r.get("person_id"), r.get("emoji")),
        )
        problems = (
            None if got is None else ([] if got[0] == r.get("created_at") else [f"created_at {got[0]!r}"])
        )
        self.record(
            tally, f"{where}/reactions/{at}", file, "reaction", f"reaction {r.get('emoji')!r}", problems
        )
        self.placeholder(f"{where}/reactions/{at}", r.get("person_id"))

    def file(
        self, walk: _Walk, row: Any, file: str, where: str, iid: Any, kept: bool, at: int, listed: Any
    ) -> None:
        tally = row.tally("files") if row else self.report.tally("files")
        if not kept:
            tally.source += 1
            tally.explained += 1
            return
        f = listed if isinstance(listed, dict) else {}
        fid = f.get("id")
        held = self.held("files", fid, file)
        problems = [] if held else self.values("files", "id", fid, _FILE_COLUMNS, f, raw=False)
        if problems is not None:
            position = self.row(
                "SELECT position FROM item_files WHERE item_id = ? AND file_id = ?", (iid, fid)
            )
            if position is None or position[0] != at:
                problems.append(f"not the item's file number {at}")
            sha, reason = self.row("SELECT sha256, missing_reason FROM files WHERE id = ?", (fid,)) or (
                None,
                None,
            )
            if f.get("path") is None:
                if not held and (sha is not None or reason is None):
                    problems.append("the site has no bytes for it, the archive says otherwise")
            elif isinstance(fid, str) and fid not in self.bytes_checked:  # on several items: read once
                self.bytes_checked.add(fid)
                code, what = self.site.file_check(f.get("path"), f.get("sha256"))
                if code is not None:
                    self.defect("file bytes", where, code, what or "")
                elif not held and (sha != f.get("sha256") or not self.archive.blobs.has(sha)):
                    problems.append(f"the archive holds SHA-256 {sha!r}, not the bytes of {f.get('path')!r}")
        self.record(tally, where, file, "file", f"file {fid!r}", problems)

    def revision(self, file: str, where: str, iid: Any, kept: bool, revision: Any, *, held: bool) -> None:
        tally = self.report.tally("revisions")
        if not kept or held:  # explained with its item; or the item's history is the archive's own
            tally.source += 1
            tally.explained += not held
            tally.archive += held
            return
        r = revision if isinstance(revision, dict) else {}
        problems = self.values("revisions", "id", r.get("id"), _REVISION_COLUMNS, r)
        if problems is not None:
            item = self.row("SELECT item_id FROM revisions WHERE id = ?", (r.get("id"),))
            if item is None or item[0] != iid:
                problems.append("not a revision of its item")
        self.record(tally, where, file, "revision", f"revision {r.get('id')!r}", problems)


def verify_html(archive: Archive, path: Path) -> VerifyReport:
    """Reconcile an archive with the static site it was read from."""
    site = Site(path)
    report, found = open_report(archive, path, site.files.fingerprint(), PLATFORM, "passerelle static site")
    if not found:
        return report
    _SourceCheck(archive, report.source_id, report, site=site).run()
    return report


# -- as an export ----------------------------------------------------------------------------------------
def _audience_condition(audience: Any, column: str) -> tuple[str, list[str]] | None:
    """The web archive's rule for the audience site.js names; None when it names none."""
    from passerelle.web import access

    if audience == {"public": True}:
        return access.visible(access.ANYONE, column)
    if (
        isinstance(audience, dict)
        and set(audience) == {"person_id"}
        and isinstance(audience["person_id"], str)
    ):
        return access.visible(access.Viewer(audience["person_id"]), column)
    return None


def check_export(archive: Archive, path: Path, manifest: Manifest, report: FidelityReport) -> None:
    """The site an export wrote: whole (data files, counts, file bytes, pages), for the
    audience the export was asked for, and holding nothing that audience may not see."""
    site = Site(path)
    walk = _Walk(site, lambda measure, where, code, what: report.problem(f"{where}: {what}"))
    walk.site_js()
    document = walk.site_doc or {}
    person = manifest.options.get("as")
    wanted: dict[str, Any] = {"person_id": person} if person else {"public": True}
    if document.get("audience") != wanted:
        report.problem(f"{SITE}: audience {document.get('audience')!r}; the export was asked for {wanted!r}")
    condition = _audience_condition(document.get("audience"), "s.id")
    conn = sqlite3.connect(f"file:{archive.root / DATABASE}?mode=ro", uri=True)
    try:
        audience = _Audience(conn, condition, report, public=document.get("audience") == {"public": True})
        audience.run(site, walk)
        audience.withheld(manifest.notes)
    finally:
        conn.close()


@dataclass
class _Audience:
    conn: sqlite3.Connection
    condition: tuple[str, list[str]] | None
    report: FidelityReport
    public: bool  # a site for anyone: it shows no e-mail address either (docs/web.md)
    shown: dict[str, bool] = field(default_factory=dict)  # space id -> the audience may see it

    def may_see(self, space_id: Any) -> bool:
        if not isinstance(space_id, str):
            return False
        if space_id not in self.shown:
            if self.condition is None:
                self.shown[space_id] = False
            else:
                sql, params = self.condition
                row = self.conn.execute(
                    f"SELECT 1 FROM spaces s WHERE s.id = ? AND {sql}", (space_id, *params)
                ).fetchone()
                self.shown[space_id] = row is not None
        return self.shown[space_id]

    def withheld(self, notes: list[Note]) -> None:
        """A space the export says it left out whole is one the audience may not see: the site
        holds what its audience may see, not less."""
        for note in notes:
            lost_whole = note.outcome is Outcome.LOST and note.attribute is None
            if note.entity == "space" and lost_whole and note.entity_id and self.may_see(note.entity_id):
                self.report.problem(
                    f"space {note.entity_id}: left out ({note.code}), yet its audience may see it"
                )

    def leak(self, where: str, what: str) -> None:
        self.report.problem(f"{where}: {what} its audience may not see (a leak)")

    def run(self, site: Site, walk: _Walk) -> None:
        persons = site.data(PERSONS, "persons")
        spaces = site.data(SPACES, "spaces")
        for data in (persons, spaces):
            if data.error is not None:
                self.report.problem(f"{data.name}: {data.error}")
        walk.held["persons"] = len(persons.records)
        walk.held["spaces"] = len(spaces.records)
        for at, record in enumerate(persons.records):
            if self.public and isinstance(record, dict) and record.get("email") is not None:
                self.leak(f"{PERSONS}#{at}", f"the e-mail address of person {record.get('id')!r} is one")
        for at, record in enumerate(spaces.records):
            members = _dicts(record.get("members")) if isinstance(record, dict) else []
            walk.held["memberships"] += len(members)
            sid = record.get("id") if isinstance(record, dict) else None
            if not self.may_see(sid):
                self.leak(f"{SPACES}#{at}", f"space {sid!r} is one")
        referenced: set[str] = set()
        for name in site.chunk_names():
            chunk = site.data(name, "items")
            if chunk.error is not None:
                self.report.problem(f"{name}: {chunk.error}")
            walk.held["items"] += len(chunk.records)
            for at, record in enumerate(chunk.records):
                self.item(site, walk, f"{name}#{at}", record, referenced)
        walk.counts()
        self.stray_files(site, referenced)
        self.pages(site)
        self.other_data(site)

    def item(self, site: Site, walk: _Walk, where: str, record: Any, referenced: set[str]) -> None:
        if not isinstance(record, dict):
            self.report.problem(f"{where}: a record that is not an object")
            return
        files, reactions, revisions = (_dicts(record.get(k)) for k in ("files", "reactions", "revisions"))
        walk.held["reactions"] += len(reactions)
        walk.held["revisions"] += len(revisions)
        if not self.may_see(record.get("space_id")):
            self.leak(where, f"item {record.get('id')!r} of space {record.get('space_id')!r} is one")
        walk.page(where, record)
        for at, listed in enumerate(files):
            f = listed if isinstance(listed, dict) else {}
            if isinstance(f.get("id"), str):
                walk.file_ids.add(f["id"])
            if f.get("path") is not None:
                referenced.add(posixpath.normpath(str(f["path"])))
                code, what = site.file_check(f.get("path"), f.get("sha256"))
                if code is not None:
                    self.report.problem(f"{where}/files/{at}: {what}")

    def stray_files(self, site: Site, referenced: set[str]) -> None:
        """Bytes under files/ that no record of the site names: what they are is not the
        audience's business (they could be a private message's attachment)."""
        n = len(site.prefix)
        for name in sorted(site.files.entries):
            relative = name[n:]
            if name.startswith(site.prefix) and relative.startswith("files/") and relative not in referenced:
                self.report.problem(f"{relative}: bytes no item of the site names")

    def other_data(self, site: Site) -> None:
        """The other data files (the search index, whatever its shape): no text in them is the id
        of an item or space of the archive its audience may not see."""
        n = len(site.prefix)
        for name in sorted(site.files.entries):
            relative = name[n:]
            if (
                not name.startswith(site.prefix)
                or not relative.startswith("data/")
                or not relative.endswith(".js")
            ):
                continue
            if relative in (SITE, PERSONS, SPACES) or _CHUNK.fullmatch(relative):
                continue
            raw = site.files.read(name)
            if not (raw.startswith(FRAME_START) and raw.endswith(FRAME_END)):
                self.report.problem(f"{relative}: not exactly passerelle_data(<JSON>);\\n")
                continue
            try:
                document = json.loads(
                    raw[len(FRAME_START) : -len(FRAME_END)].decode("utf-8"), parse_constant=_no_constant
                )
            except (ValueError, RecursionError) as exc:
                self.report.problem(f"{relative}: not JSON ({exc})")
                continue
            texts = sorted({text for text in _strings(document) if len(text) <= _ID_LENGTH})
            for start in range(0, len(texts), _BATCH):
                batch = texts[start : start + _BATCH]
                marks = ", ".join("?" * len(batch))
                for kind, found, space_id in self.conn.execute(
                    f"SELECT 'item', id, space_id FROM items WHERE id IN ({marks})"
                    f" UNION ALL SELECT 'space', id, id FROM spaces WHERE id IN ({marks}) ORDER BY 1, 2",
                    (*batch, *batch),
                ):
                    if not self.may_see(space_id):
                        what = (
                            f"item {found!r} of space {space_id!r}" if kind == "item" else f"space {found!r}"
                        )
                        self.leak(relative, f"{what} is one")

    def pages(self, site: Site) -> None:
        """No page shows an item of the archive its audience may not see (an element with its id)."""
        for page in site.pages():
            ids = site.page_ids(page) or frozenset()
            candidates = sorted(i[len(ITEM_ANCHOR) :] for i in ids if i.startswith(ITEM_ANCHOR))
            for start in range(0, len(candidates), _BATCH):
                batch = candidates[start : start + _BATCH]
                marks = ", ".join("?" * len(batch))
                for item_id, space_id in self.conn.execute(
                    f"SELECT id, space_id FROM items WHERE id IN ({marks}) ORDER BY id", batch
                ):
                    if not self.may_see(space_id):
                        self.leak(page, f"item {item_id!r} of space {space_id!r} is one")
