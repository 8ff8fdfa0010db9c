"""Reconcile an archive with the CSV files it was read from, by an independent path.

This module shares no code with the CSV reader: it finds the mapping the archive recorded
for the source (the ``csv.mapping`` diagnostic keeps its TOML text), reads it with
``tomllib``, lists the source with the standard library (``ExportFiles``), and reads every
mapped file with the standard library's ``csv``, one row at a time, under the rules of
docs/csv.md (a BOM wins; a quote that never closes costs its first line; a blank line is
no row). Each row must be in the archive, found by the id the rules give it, with its text
as its raw record (or the archive's own record, for exact rows), its parent, its space, its
members, its files; or be explained by a diagnostic that dropped it at ``<file>#<line>``.
References are checked against the archive's persons (by id, name or e-mail, as the rules
say), never against what the reader decided.

A CSV source is its files read with its mapping: its fingerprint is the files' (a folder's
names and contents, a zip's or a file's bytes; for files given one by one, those files'
names and contents under their common folder) joined with the mapping's, so the source is
found whichever of those the archive recorded.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import csv
import fnmatch
import hashlib
import io
import tomllib
import zipfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from passerelle.archive import Archive
from passerelle.model import ids
from passerelle.verify.export_files import ExportFiles
from passerelle.verify.ledger import SourceLedger, open_report, unsafe_names
from passerelle.verify.report import Tally, VerifyReport

READER = "csv"
MAPPING_NAME = "passerelle-mapping.toml"
ITEMS = "items"  # the conversation every item id of a CSV source is keyed under
MAX_ROW = 8 << 20  # a row of more characters is set aside (docs/csv.md)
_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
_ENDS = ("\n", "\r")
_HANDLER = "passerelle.verify_csv"
_READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, ValueError, RuntimeError, NotImplementedError)


def _escape(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "".join(chr(0xDC00 + b) for b in error.object[error.start : error.end]), error.end


codecs.register_error(_HANDLER, _escape)


def holds_mapping(path: Path) -> bool:
    """A folder or zip with passerelle-mapping.toml at its root: CSV files and their mapping."""
    try:
        if path.is_dir():
            return (path / MAPPING_NAME).is_file()
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                return MAPPING_NAME in zf.namelist()
    except _READ_ERRORS:
        pass
    return False


def is_csv_source(path: Path, archive: Archive) -> bool:
    """A folder or zip holding passerelle-mapping.toml; or, when the archive holds CSV sources,
    CSV files (a file, or a folder or zip of them that is no Slack export)."""
    if holds_mapping(path):
        return True
    try:
        if path.is_dir():
            names = [p.name for p in path.rglob("*") if p.is_file()]
            slack = (path / "channels.json").is_file() or (path / "users.json").is_file()
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
            slack = "channels.json" in names or "users.json" in names
        elif path.is_file():
            names, slack = [path.name], False
        else:
            return False
    except _READ_ERRORS:
        return False
    if slack or not any(n.lower().endswith(_SUFFIXES) for n in names):
        return False
    return archive.store.scalar("SELECT 1 FROM sources WHERE reader = ? LIMIT 1", (READER,)) is not None


# -- the mapping, read on its own -------------------------------------------------------------------------
@dataclass
class _Table:
    """One [[file]] of the mapping: what this check needs of it."""

    index: int
    path: str
    entity: str
    encoding: str
    delimiter: str
    quote: str
    header: bool
    skip_initial_space: bool
    columns: dict[str, Any]
    lists: dict[str, str]
    constants: dict[str, Any]

    def matches(self, name: str) -> bool:
        if name == self.path:
            return True
        return any(c in self.path for c in "*?[") and fnmatch.fnmatchcase(name, self.path)


def _tables(doc: dict[str, Any]) -> list[_Table]:
    return [
        _Table(
            index=i,
            path=f["path"],
            entity=f["entity"],
            encoding=str(f.get("encoding", "utf-8")).lower(),
            delimiter=f.get("delimiter", ","),
            quote=f.get("quote", '"'),
            header=f.get("header", True),
            skip_initial_space=f.get("skip_initial_space", False),
            columns=dict(f.get("columns", {})),
            lists=dict(f.get("lists", {})),
            constants=dict(f.get("constants", {})),
        )
        for i, f in enumerate(doc.get("file", []))
    ]


def combined(files_sha256: str, mapping: bytes) -> str:
    digest = hashlib.sha256(b"passerelle-csv\0" + files_sha256.encode() + b"\0")
    digest.update(hashlib.sha256(mapping).digest())
    return digest.hexdigest()


# -- a file's records, read on their own -----------------------------------------------------------------
class _Huge(Exception):
    pass


class _Lines:
    """The lines csv reads, kept; a row over MAX_ROW characters raises _Huge."""

    def __init__(self, text: io.TextIOWrapper) -> None:
        self.text = text
        self.again: deque[str] = deque()
        self.taken: list[str] = []
        self.size = 0
        self.count = 0
        self.one_line = False  # the last _Huge was one line too long

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.again:
            line = self.again.popleft()
        else:
            line = self.text.readline(MAX_ROW + 1)
            if not line:
                raise StopIteration
            if len(line) > MAX_ROW and not line.endswith(_ENDS):
                while line and not line.endswith(_ENDS):
                    line = self.text.readline(MAX_ROW)
                self.count += 1
                self.one_line = True
                raise _Huge
        self.count += 1
        self.taken.append(line)
        self.size += len(line)
        if self.size > MAX_ROW:
            raise _Huge
        return line


@dataclass
class _Record:
    line: int
    fields: list[str] | None  # None: not a row
    text: str = ""


def _codec(head: bytes, encoding: str) -> tuple[str, bool]:
    if head[:3] == b"\xef\xbb\xbf":
        return "utf-8-sig", False
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16", True
    if encoding == "utf-16":
        return "utf-16-le", True
    if encoding.startswith("utf-16"):
        return encoding, True
    return ("utf-8" if encoding == "utf-8-sig" else encoding), False


def _readable(text: str, utf16: bool) -> str:
    out = []
    for char in text:
        code = ord(char)
        if 0xDC00 <= code <= 0xDCFF:
            if utf16:
                out.append("\ufffd")
            else:
                byte = bytes([code - 0xDC00])
                try:
                    out.append(byte.decode("cp1252"))
                except UnicodeDecodeError:
                    out.append(byte.decode("latin-1"))
        else:
            out.append(char)
    return "".join(out)


def _records(stream: IO[bytes], table: _Table) -> Iterator[_Record]:
    head = stream.read(4)
    codec, utf16 = _codec(head, table.encoding)
    text = io.TextIOWrapper(
        io.BufferedReader(_Prefixed(head, stream)), encoding=codec, errors=_HANDLER, newline=""
    )
    lines = _Lines(text)
    reader = csv.reader(
        lines,
        delimiter=table.delimiter,
        quotechar=table.quote or None,
        quoting=csv.QUOTE_MINIMAL if table.quote else csv.QUOTE_NONE,
        skipinitialspace=table.skip_initial_space,
        strict=True,
    )
    while True:
        lines.taken, lines.size, lines.one_line = [], 0, False
        start = lines.count + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except (_Huge, csv.Error) as exc:
            again = isinstance(exc, _Huge) and not lines.one_line
            again = again or (
                isinstance(exc, csv.Error) and ("end of data" in str(exc) or "larger" in str(exc))
            )
            if again and len(lines.taken) > 1:
                rest = lines.taken[1:]
                lines.again.extendleft(reversed(rest))
                lines.count -= len(rest)
            yield _Record(start, None)
            continue
        if fields:
            raw = "".join(lines.taken)
            if any(0xDC00 <= ord(c) <= 0xDCFF for c in raw):
                fields = [_readable(f, utf16) for f in fields]
                raw = _readable(raw, utf16)
            yield _Record(start, fields, raw)


class _Prefixed(io.RawIOBase):
    """The stream with the bytes already read from it put back in front."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        super().__init__()
        self.head = head
        self.stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self.head:
            n = min(len(view), len(self.head))
            view[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.stream.read(len(view))
        view[: len(data)] = data
        return len(data)


# -- the check ---------------------------------------------------------------------------------------------
@dataclass
class _Row:
    """A row's values by field name, as the rules of docs/csv.md read them."""

    table: _Table
    columns: dict[str, int]
    fields: list[str]
    where: str
    text: str

    def value(self, name: str) -> str | None:
        if name in self.table.constants:
            constant = self.table.constants[name]
            return ("true" if constant else "false") if isinstance(constant, bool) else str(constant)
        at = self.columns.get(name)
        if at is None:
            return None
        cell = self.fields[at]
        if cell == "" and name not in self.empty():
            return None
        return cell

    def empty(self) -> set[str]:
        at = self.columns.get("empty_fields")
        if at is None:
            return set()
        return {
            n.strip() for n in self.fields[at].split(self.table.lists.get("empty_fields", ",")) if n.strip()
        }

    def ident(self, name: str) -> str | None:
        value = self.value(name)
        return value.strip() or None if value is not None else None

    def items(self, name: str) -> list[str]:
        value = self.value(name)
        if value is None:
            return []
        return [v.strip() for v in value.split(self.table.lists.get(name, ",")) if v.strip()]

    def given(self, name: str) -> bool:
        return name in self.columns or name in self.table.constants

    def native(self) -> str:
        exact = self.value("native_id") if self.given("native_id") else None
        return exact if exact is not None else (self.ident("id") or self.where)


@dataclass
class _Checker(SourceLedger):
    export: ExportFiles = field(kw_only=True)
    platform: str = field(kw_only=True)
    persons: dict[str, str] = field(default_factory=dict)  # native -> id
    names: dict[str, str] = field(default_factory=dict)  # name -> id
    emails: dict[str, str] = field(default_factory=dict)  # e-mail (casefolded) -> id
    consumed: set[str] = field(default_factory=set)

    def row(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        rows = self.archive.store.query(sql, params)
        return rows[0] if rows else None

    def learn_persons(self) -> None:
        """The archive's persons of the platform, by what a reference may name."""
        for person, native, name, email in self.archive.store.query(
            "SELECT id, native_id, name, email FROM persons WHERE platform = ? ORDER BY origin, id",
            (self.platform,),
        ):
            self.persons.setdefault(native, person)
            if name:
                self.names.setdefault(name, person)
            if email:
                self.emails.setdefault(email.strip().casefold(), person)

    def person(self, ref: str) -> str:
        found = self.persons.get(ref) or self.names.get(ref) or self.emails.get(ref.casefold())
        return found or ids.person_id(self.platform, ref)

    def person_native(self, ref: str) -> str:
        person = self.person(ref)
        stored = self.row("SELECT native_id FROM persons WHERE id = ?", (person,))
        return stored[0] if stored else ref

    def item(self, platform: str, ref: str) -> str:
        return ids.item_id(platform, ITEMS, ref)

    def differ(self, tally: Tally, where: str, what: str) -> None:
        tally.unexplained += 1
        self.report.problem(f"{where}: {what}")

    def expected_raw(self, row: _Row) -> tuple[bool, Any]:
        """(exact, what the raw holds): the row's text, or the archive's record the row carries."""
        if not (row.given("raw") or row.given("raw_base64")):
            row_text = row.text
            ends = 2 if row_text.endswith("\r\n") else 1 if row_text.endswith(("\n", "\r")) else 0
            return False, row_text[: len(row_text) - ends]
        text = row.value("raw")
        if text is not None:
            return True, text.encode("utf-8")
        encoded = row.value("raw_base64")
        if encoded is None:
            return True, None
        try:
            return True, base64.b64decode(encoded, validate=True)
        except ValueError:
            return True, None

    def raw_matches(self, entity: str, stored: bytes | None, row: _Row) -> bool:
        exact, expected = self.expected_raw(row)
        if not exact:
            return self.raw_kept(entity, stored, expected)
        return stored == expected or any(
            old == expected
            for (old,) in self.archive.store.query(
                "SELECT raw FROM superseded WHERE entity_id = ? AND source_id = ?", (entity, self.source_id)
            )
        )

    # -- one file --
    def check_file(self, table: _Table, name: str) -> None:
        if self.dropped(name, "entry"):
            self.account(self.report.tally("files read"), name, "file refused", False, "entry")
            return
        columns: dict[str, int] | None = None
        expected: int | None = None
        try:
            with self.export.open(name) as stream:
                for record in _records(stream, table):
                    where = f"{name}#{record.line}"
                    if record.fields is None:
                        if table.header and columns is None:
                            self.account(
                                self.report.tally("files read"), name, "header unreadable", False, "entry"
                            )
                            return
                        what = "a row that cannot be read, not said so"
                        self.account(self.report.tally("rows not read"), where, what, False, "row")
                        continue
                    if columns is None:
                        columns, expected = self.header(table, name, record.fields)
                        if columns is None:
                            return
                        if table.header:
                            continue
                    if len(record.fields) != expected:
                        self.account(
                            self.report.tally("rows not read"),
                            where,
                            f"{len(record.fields)} columns",
                            False,
                            "row",
                        )
                        continue
                    self.check_row(_Row(table, columns, record.fields, where, record.text))
        except _READ_ERRORS as exc:
            if not self.dropped(name, "entry"):
                self.differ(self.report.tally("files read"), name, f"unreadable ({exc}), not said so")

    def header(self, table: _Table, name: str, fields: list[str]) -> tuple[dict[str, int] | None, int]:
        columns: dict[str, int] = {}
        stripped = [f.strip() for f in fields]
        for field_name, column in table.columns.items():
            if isinstance(column, int):
                at = column - 1
            elif column in fields:
                at = fields.index(column)
            elif str(column).strip() in stripped:
                at = stripped.index(str(column).strip())
            else:
                at = len(fields)
            if at >= len(fields):
                self.account(
                    self.report.tally("files read"), name, f"column {column!r} missing", False, "entry"
                )
                return None, 0
            columns[field_name] = at
        return columns, len(fields)

    def check_row(self, row: _Row) -> None:
        check = {
            "persons": self.check_person,
            "spaces": self.check_space,
            "memberships": self.check_membership,
            "items": self.check_item,
            "reactions": self.check_reaction,
            "files": self.check_file_row,
            "revisions": self.check_revision,
            "item_files": self.check_item_file,
        }[row.table.entity]
        check(row)

    def platform_of(self, row: _Row) -> str:
        platform = row.value("platform")
        return platform if platform is not None else self.platform

    def check_record(self, row: _Row, table: str, entity: str, measure: str) -> tuple[Any, ...] | None:
        """A row that is a record of its own: found by its id with its raw, or dropped here."""
        stored = self.row(f"SELECT raw, native_id FROM {table} WHERE id = ?", (entity,))
        found = stored is not None and self.raw_matches(entity, stored[0], row)
        self.account(
            self.report.tally(measure), row.where, f"{table[:-1]} {row.native()!r} missing", found, "row"
        )
        return stored if found else None

    def check_person(self, row: _Row) -> None:
        person = _given(row.value("archive_id"), ids.person_id(self.platform_of(row), row.native()))
        self.check_record(row, "persons", person, "persons")

    def check_space(self, row: _Row) -> None:
        space = _given(row.value("archive_id"), ids.space_id(self.platform_of(row), row.native()))
        if self.check_record(row, "spaces", space, "spaces") is None:
            return
        for member in dict.fromkeys(row.items("members")):
            self.check_member(space, self.person(member), row.where)

    def check_member(self, space: str, person: str, where: str) -> None:
        found = self.row("SELECT 1 FROM memberships WHERE space_id = ? AND person_id = ?", (space, person))
        self.account(
            self.report.tally("members"),
            where,
            f"member {person} of {space} missing",
            found is not None,
            "row",
        )

    def space_of(self, row: _Row, platform: str) -> str | None:
        """The space the rules put an item in, when the row alone says it."""
        if row.given("space_id"):
            return row.value("space_id")
        space = row.ident("space")
        if space:
            return ids.space_id(self.platform, space)
        to = row.items("to")
        if to:
            author = row.ident("author")
            members = sorted({self.person_native(p) for p in ([author] if author else []) + to})
            return ids.space_id(self.platform, "direct:" + ",".join(members))
        return None  # the parent's, or the file's: followed by the reader, not checked here

    def check_item(self, row: _Row) -> None:
        platform = self.platform_of(row)
        native = row.native()
        item = _given(row.value("archive_id"), self.item(self.platform, native))
        parent = row.ident("parent")
        measure = "replies" if parent or row.value("parent_id") else "messages"
        stored = self.row(
            "SELECT raw, space_id, parent_id, thread_root_id, author_id FROM items WHERE id = ?", (item,)
        )
        found = stored is not None and self.raw_matches(item, stored[0], row)
        self.account(self.report.tally(measure), row.where, f"item {native!r} missing", found, "row")
        if not found or stored is None:
            return
        tally = self.report.tally(measure)
        space = self.space_of(row, platform)
        if space is not None and stored[1] != space:
            self.differ(tally, row.where, f"item {native!r} in space {stored[1]}, the rules say {space}")
        if row.given("archive_id"):
            expected_parent = row.value("parent_id")
        else:
            expected_parent = self.item(self.platform, parent) if parent and parent != native else None
        if stored[2] != expected_parent:
            self.differ(
                tally, row.where, f"item {native!r}: parent {stored[2]}, the row says {expected_parent}"
            )
        exact = row.given("archive_id")
        if (
            not exact
            and expected_parent
            and stored[3] is None
            and not self.said(row.where, "csv.reply_cycle")
        ):
            self.differ(tally, row.where, f"item {native!r} replies but is in no thread")
        author = row.ident("author")
        expected_author = (
            row.value("author_id") if row.given("author_id") else self.person(author) if author else None
        )
        if stored[4] != expected_author:
            self.differ(
                tally, row.where, f"item {native!r}: author {stored[4]}, the row says {expected_author}"
            )
        if space is not None and row.items("to") and not row.given("space_id"):
            author = row.ident("author")
            for person in dict.fromkeys(([author] if author else []) + row.items("to")):
                self.check_member(space, self.person(person), row.where)
        for ref in row.items("attachments"):
            self.check_attached(item, ids.file_id(self.platform, ref), row.where)

    def check_attached(self, item: str, file: str, where: str) -> None:
        found = self.row("SELECT 1 FROM item_files WHERE item_id = ? AND file_id = ?", (item, file))
        self.account(
            self.report.tally("attachments"),
            where,
            f"file {file} of {item} missing",
            found is not None,
            "row",
        )

    def reference(self, row: _Row, name: str) -> str | None:
        if row.given(f"{name}_id"):
            return row.value(f"{name}_id")
        ref = row.ident(name)
        if not ref:
            return None
        if name == "item":
            return self.item(self.platform, ref)
        if name == "file":
            return ids.file_id(self.platform, ref)
        if name == "space":
            return ids.space_id(self.platform, ref)
        return self.person(ref)

    def check_membership(self, row: _Row) -> None:
        space, person = self.reference(row, "space"), self.reference(row, "person")
        found = (space is not None and person is not None) and self.row(
            "SELECT 1 FROM memberships WHERE space_id = ? AND person_id = ?", (space, person)
        ) is not None
        self.account(
            self.report.tally("members"),
            row.where,
            f"membership of {person} in {space} missing",
            found,
            "row",
        )

    def check_reaction(self, row: _Row) -> None:
        item, person, emoji = self.reference(row, "item"), self.reference(row, "person"), row.value("emoji")
        found = (item is not None and person is not None and emoji is not None) and self.row(
            "SELECT 1 FROM reactions WHERE item_id = ? AND person_id = ? AND emoji = ?",
            (item, person, emoji),
        ) is not None
        self.account(
            self.report.tally("reactions"), row.where, f"reaction {emoji!r} of {person} missing", found, "row"
        )

    def check_item_file(self, row: _Row) -> None:
        item, file = self.reference(row, "item"), self.reference(row, "file")
        found = (item is not None and file is not None) and self.row(
            "SELECT 1 FROM item_files WHERE item_id = ? AND file_id = ?", (item, file)
        ) is not None
        self.account(
            self.report.tally("item files"), row.where, f"file {file} of {item} missing", found, "row"
        )

    def check_revision(self, row: _Row) -> None:
        item = self.reference(row, "item")
        if item is None:
            self.account(self.report.tally("revisions"), row.where, "revision without its item", False, "row")
            return
        revision = _given(row.value("archive_id"), ids.revision_id(item, row.native()))
        self.check_record(row, "revisions", revision, "revisions")

    def check_file_row(self, row: _Row) -> None:
        native = row.native()
        file = _given(row.value("archive_id"), ids.file_id(self.platform_of(row), native))
        stored = self.check_record(row, "files", file, "files")
        path = row.value("path")
        entry = path.strip().replace("\\", "/") if path else None
        while entry and entry.startswith("./"):
            entry = entry[2:]
        if entry in self.export.entries and entry != MAPPING_NAME:
            self.consumed.add(entry)
            if stored is not None:
                self.check_bytes(file, entry, row.where)
        item = row.ident("item")
        if item and stored is not None:
            self.check_attached(self.item(self.platform, item), file, row.where)

    def check_bytes(self, file: str, entry: str, where: str) -> None:
        tally = self.report.tally("file bytes")
        tally.source += 1
        stored = self.row("SELECT sha256, missing_reason FROM files WHERE id = ?", (file,))
        sha = None
        with contextlib.suppress(*_READ_ERRORS):
            sha = self.export.sha256(entry)
        if stored is not None and sha is not None and stored[0] == sha and self.archive.blobs.has(sha):
            tally.archive += 1
        elif stored is not None and stored[0] is None and stored[1] and self.said_anything(entry):
            tally.explained += 1
        else:
            self.differ(
                tally, where, f"the bytes of {entry} are not the file's ({stored[0] if stored else None})"
            )

    def check_others(self, names: list[str]) -> None:
        tally = self.report.tally("other files")
        for name in names:
            kept = self.said(name, "source.unrecognised_entry")
            self.account(tally, name, "file of the source neither read nor kept", kept, "entry")


def _given(value: str | None, default: str) -> str:
    return value if value is not None else default


def _fingerprints(export: ExportFiles, mapping: bytes, tables: list[_Table]) -> list[tuple[str, list[str]]]:
    """The fingerprints this source may have been ingested under, with its files: the whole of
    it, or (a folder) the mapped files, given one by one."""
    candidates = [(export.fingerprint(), sorted(export.entries))]
    if export.path.is_dir():
        mapped = sorted(n for n in export.entries if n != MAPPING_NAME and any(t.matches(n) for t in tables))
        digest = hashlib.sha256()
        for name in mapped:
            digest.update(export.real_names[name] + b"\0" + bytes.fromhex(export.sha256(name)))
        candidates.append((digest.hexdigest(), mapped))
    return [(combined(sha, mapping), names) for sha, names in candidates]


def verify_csv(archive: Archive, source: Path) -> VerifyReport:
    export = ExportFiles(source, what="CSV source (a file, a folder or a zip)", single_file=True)
    recorded = archive.store.query(
        "SELECT d.raw FROM sources s JOIN diagnostics d ON d.source_id = s.id AND d.code = 'csv.mapping'"
        " WHERE s.reader = ? ORDER BY s.ingested_at DESC, s.id",
        (READER,),
    )
    for (mapping,) in recorded:
        try:
            doc = tomllib.loads(bytes(mapping).decode("utf-8-sig"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        tables = _tables(doc)
        for sha, names in _fingerprints(export, bytes(mapping), tables):
            if archive.store.scalar("SELECT 1 FROM sources WHERE id = ?", (ids.source_id(READER, sha),)):
                return _check(archive, source, export, sha, doc, tables, bytes(mapping), names)
    report, _ = open_report(archive, source, export.fingerprint(), READER, "csv")
    report.problems.clear()
    report.problem_count = 0
    report.problem(
        f"{source}: no CSV source of this archive was read from these files (with its recorded mapping)"
    )
    return report


def _check(
    archive: Archive,
    source: Path,
    export: ExportFiles,
    sha: str,
    doc: dict[str, Any],
    tables: list[_Table],
    mapping: bytes,
    names: list[str],
) -> VerifyReport:
    report, _ = open_report(archive, source, sha, READER, "csv")
    checker = _Checker(archive, report.source_id, report, export=export, platform=doc.get("platform", "csv"))
    checker.learn_persons()
    unsafe = set(unsafe_names(names))
    for name in sorted(unsafe):
        checker.account(report.tally("other files"), name, "unsafe entry not diagnosed", False, "entry")
    mapped: set[str] = set()
    inside = MAPPING_NAME in export.entries and export.read(MAPPING_NAME) == mapping
    order = ("persons", "spaces", "memberships", "files", "items", "reactions", "revisions", "item_files")
    for entity in order:
        for table in tables:
            if table.entity != entity:
                continue
            for name in names:
                if name in unsafe or name == MAPPING_NAME or not table.matches(name):
                    continue
                mapped.add(name)
                checker.check_file(table, name)
    known = mapped | checker.consumed | unsafe | ({MAPPING_NAME} if inside else set())
    checker.check_others([n for n in names if n not in known])
    return report


__all__ = ["combined", "holds_mapping", "is_csv_source", "verify_csv"]
