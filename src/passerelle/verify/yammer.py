"""Reconcile an archive with the Yammer / Viva Engage network export it came from, by an
independent path.

This module shares no code with the Yammer reader: it lists the export with the standard
library (``ExportFiles``: ``zipfile`` or ``os.walk``), splits each CSV file into records with
its own line tracking over ``csv`` (so that it knows the line each record starts on and the
record's exact text), works out from the format what each row is, and checks it against
the archive:

- every user is a person (not a placeholder) with its raw record, email, name and deleted
  state; every network a workspace; every group a community of its privacy, under the home
  network; every admin an admin membership of the home network;
- every message is an item, with the id its thread gives it, in the space its row says
  (its group, All Company, or the direct conversation of its sender and participants, who
  are its members), of its kind, author, exact created_at, deletion, parent and thread
  root, and its raw record; every ``uploadedfile`` attachment is linked to it; every user
  it mentions or names is a person;
- every file row is a file with its bytes (those of the entry its path names, or of
  ``Files/<id>.<ext>``) or the reason they are missing; every version a revision of its
  message; every topic, and every page without content, a diagnostic holding the row;
  ``log.txt`` and ``request.txt`` diagnostics holding their bytes; every other entry a file
  with its bytes.

A row absent from the archive is *explained* only by a diagnostic the reader stored at that
very place (``<entry>#<line>``) with the row's kind as ``dropped``; a file none of whose rows
could be read, by a diagnostic at the entry dropping the ``file`` (or the ``entry``).
Anything else is a difference.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from passerelle.archive import Archive
from passerelle.model import ids
from passerelle.verify.export_files import ExportFiles
from passerelle.verify.ledger import SourceLedger, open_report, unsafe_names
from passerelle.verify.report import Tally, VerifyReport

PLATFORM = "yammer"
LIMIT = 64 << 20  # characters: what the reader reads of a field, a line, a record
LOG_LIMIT = 1 << 20
_KINDS = {
    "Messages.csv": "message",
    "Users.csv": "user",
    "Groups.csv": "group",
    "Files.csv": "file",
    "MessageVersions.csv": "version",
    "Topics.csv": "topic",
    "Admins.csv": "admin",
    "Networks.csv": "network",
    "Pages.csv": "page",
}
_KEYED_BY = {
    "Messages.csv": ("id",),
    "Users.csv": ("id",),
    "Groups.csv": ("id",),
    "Files.csv": ("file_id", "id"),
    "MessageVersions.csv": ("message_id", "id"),
    "Networks.csv": ("id",),
    "Admins.csv": ("user_id", "id", "email"),
}
_MENTION = re.compile(r"\[\[user:([^\]\s]+)\]\]")
_READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, ValueError, RuntimeError, NotImplementedError)
_BAD_BYTES = re.compile("[\udc80-\udcff]+")


def _root_of(names: set[str]) -> str | None:
    def holds(prefix: str) -> bool:
        return f"{prefix}Messages.csv" in names and (
            f"{prefix}Users.csv" in names or f"{prefix}Groups.csv" in names
        )

    if holds(""):
        return ""
    tops = sorted({n.split("/")[0] + "/" for n in names if n.count("/") == 1 and n.endswith("/Messages.csv")})
    matching = [t for t in tops if holds(t)]
    return matching[0] if len(matching) == 1 else None


def is_yammer_source(path: Path) -> bool:
    """Whether verify should read this source as a Yammer network export: a zip or folder with
    Messages.csv beside Users.csv or Groups.csv, at its root or in one top folder."""
    try:
        if path.is_dir():
            names = {p.relative_to(path).as_posix() for p in path.glob("*.csv")}
            names |= {p.relative_to(path).as_posix() for p in path.glob("*/*.csv")}
        elif path.is_file() and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
        else:
            return False
    except _READ_ERRORS:
        return False
    return _root_of(names) is not None


# -- records, with their lines and exact text -------------------------------------------------------
@dataclass
class _CsvRecord:
    line: int
    values: list[str] | None  # None: not readable as CSV (or too large)
    text: str  # exact, line break that ends it removed, bytes that are not UTF-8 read as cp1252
    not_utf8: bool = False


def _cp1252(text: str) -> str:
    return _BAD_BYTES.sub(
        lambda m: m.group().encode("utf-8", "surrogateescape").decode("cp1252", "replace"), text
    )


def _csv_records(handle: IO[bytes]) -> Iterator[_CsvRecord]:
    """The records of a CSV file: the csv module splits them; a record it gives up on ends at
    the line where its quotes balance. A line over LIMIT characters is read whole but given
    cut (its quotes' balance kept); a record over LIMIT characters is not read."""
    csv.field_size_limit(LIMIT)
    stream = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="surrogateescape", newline="")
    consumed: list[str] = []
    state = {"lines": 0, "size": 0, "over": False, "quotes": 0}

    def physical_lines() -> Iterator[str]:
        while piece := stream.readline(LIMIT):
            state["lines"] += 1
            quotes = piece.count('"')
            given = piece
            if len(piece) >= LIMIT and not piece.endswith(("\n", "\r")):
                state["over"] = True
                tail = piece
                while tail and not tail.endswith(("\n", "\r")):
                    tail = stream.readline(LIMIT)
                    quotes += tail.count('"')
                ending = "\r\n" if tail.endswith("\r\n") else tail[-1:]
                balance = '"' if (quotes - piece.count('"')) % 2 else ""
                given, piece = piece + balance + ending, piece + ending
            state["quotes"] += quotes
            if state["size"] < LIMIT:
                consumed.append(piece)
                state["size"] += len(piece)
            else:
                state["over"] = True
            yield given

    source = physical_lines()
    parser = csv.reader(source, strict=True)
    while True:
        first_line = state["lines"] + 1
        values: list[str] | None
        try:
            values = next(parser)
        except StopIteration:
            return
        except csv.Error:
            values = None
            while state["quotes"] % 2 and next(source, None) is not None:
                pass
        text = "".join(consumed)
        over = bool(state["over"])
        consumed.clear()
        state.update(size=0, over=False, quotes=0)
        if not text or values == []:
            continue
        for ending in ("\r\n", "\n", "\r"):
            if text.endswith(ending):
                text = text[: -len(ending)]
                break
        bad = _BAD_BYTES.search(text) is not None
        if bad:
            text = _cp1252(text)
            values = [_cp1252(v) for v in values] if values is not None else None
        yield _CsvRecord(first_line, None if over else values, text, bad)


@dataclass
class _Row:
    where: str
    line: int
    cells: dict[str, str]
    text: str

    def get(self, *names: str) -> str | None:
        for name in names:
            value = self.cells.get(name)
            if value:
                return value
        return None


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


def _raw_text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, str) else None


@dataclass
class _Checker(SourceLedger):
    export: ExportFiles = field(kw_only=True)
    root: str = field(kw_only=True)
    threads: dict[str, str] = field(default_factory=dict)  # message id -> its thread, first row
    first_lines: dict[str, int] = field(default_factory=dict)
    file_ids: set[str] = field(default_factory=set)  # the file ids of Files.csv
    stems: dict[str, str] = field(default_factory=dict)  # Files/<id>.<ext> entries by id
    bytes_checked: set[str] = field(default_factory=set)  # entries whose bytes a file holds
    persons_checked: set[str] = field(default_factory=set)
    user_emails: dict[str, str] = field(default_factory=dict)
    home: str = "network"

    # -- the archive --
    def one(self, sql: str, *params: Any) -> tuple[Any, ...] | None:
        rows = self.archive.store.query(sql, params)
        return rows[0] if rows else None

    def differ(self, tally: Tally, where: str, what: str) -> None:
        tally.unexplained += 1
        self.report.problem(f"{where}: {what}")

    def raw_is(self, entity: str, raw: bytes | None, text: str) -> bool:
        if _raw_text(raw) == text:
            return True
        return any(
            _raw_text(old) == text
            for (old,) in self.archive.store.query(
                "SELECT raw FROM superseded WHERE entity_id = ? AND source_id = ?", (entity, self.source_id)
            )
        )

    # -- reading a file of the export --
    def rows(self, name: str, *, first: bool = False) -> Iterator[_Row]:
        """The rows of a file whose records the reader read; the records that are not rows are
        accounted here (unless ``first``: a first walk that learns, accounts nothing)."""
        entry = self.root + name
        if entry not in self.export.entries:
            return
        kind = _KINDS[name]
        tally = self.report.tally("rows not kept")
        if not first and self.dropped(entry, "entry"):
            self.account(tally, entry, "file refused", False, "entry")
            return
        try:
            with self.export.open(entry) as handle:
                records = _csv_records(handle)
                header = next(records, None)
                if header is None:
                    if not first and not self.said(entry, "yammer.empty_file"):
                        self.differ(tally, entry, "an empty file, not said so")
                    return
                names = [n.strip().lower() for n in header.values] if header.values is not None else None
                keyed = _KEYED_BY.get(name, ())
                if names is None or (keyed and not set(keyed) & set(names)):
                    if not first:
                        self.account(tally, entry, "header not read, not said so", False, "file")
                    return
                if header.not_utf8 and not first and not self.said(f"{entry}#1", "source.not_utf8"):
                    self.differ(tally, f"{entry}#1", "a header not UTF-8, not said so")
                for record in records:
                    where = f"{entry}#{record.line}"
                    if record.values is None or len(record.values) != len(names):
                        if not first:
                            self.account(tally, where, f"a {kind} row not readable, not said so", False, kind)
                        continue
                    if record.not_utf8 and not first and not self.said(where, "source.not_utf8"):
                        self.differ(tally, where, "a row not UTF-8, not said so")
                    cells: dict[str, str] = {}
                    for column, value in zip(names, record.values, strict=True):
                        cells.setdefault(column, value)
                    yield _Row(where, record.line, cells, record.text)
        except _READ_ERRORS as exc:
            if not first and not self.dropped(entry, "entry"):
                self.differ(tally, entry, f"unreadable ({exc}), not said so")

    def once(self, seen: dict[str, int], ident: str | None, row: _Row, kind: str, tally: Tally) -> bool:
        """The row is its id's first (to be checked); else it must have been dropped as a duplicate."""
        if ident is None:
            self.account(tally, row.where, f"a {kind} without an id, not said so", False, kind)
            return False
        if ident in seen and seen[ident] != row.line:
            self.account(tally, row.where, f"{kind} {ident} again, not said so", False, kind)
            return False
        seen.setdefault(ident, row.line)
        return True

    def person(self, ident: str | None, where: str) -> None:
        if not ident or ident in self.persons_checked:
            return
        self.persons_checked.add(ident)
        found = self.one("SELECT 1 FROM persons WHERE id = ?", ids.person_id(PLATFORM, ident)) is not None
        self.account(self.report.tally("people used"), where, f"person {ident} missing", found, "person")

    # -- networks, users, groups --
    def check_networks(self) -> None:
        tally = self.report.tally("networks")
        seen: dict[str, int] = {}
        for row in self.rows("Networks.csv"):
            ident = row.get("id")
            if not self.once(seen, ident, row, "network", tally):
                continue
            if len(seen) == 1:
                self.home = f"network:{ident}"
            space = ids.space_id(PLATFORM, f"network:{ident}")
            stored = self.one("SELECT kind, raw FROM spaces WHERE id = ?", space)
            self.account(tally, row.where, f"network {ident} missing", stored is not None, "network")
            if stored is not None and (
                stored[0] != "workspace" or not self.raw_is(space, stored[1], row.text)
            ):
                self.differ(tally, row.where, f"network {ident} stored differently")

    def check_users(self) -> None:
        tally = self.report.tally("users")
        seen: dict[str, int] = {}
        for row in self.rows("Users.csv"):
            ident = row.get("id")
            if not self.once(seen, ident, row, "user", tally):
                continue
            assert ident is not None
            self.persons_checked.add(ident)
            if email := row.get("email"):
                self.user_emails.setdefault(email.strip().lower(), ident)
            person = ids.person_id(PLATFORM, ident)
            stored = self.one(
                "SELECT is_placeholder, display_name, email, is_deleted, raw FROM persons WHERE id = ?",
                person,
            )
            found = stored is not None and not stored[0]
            self.account(tally, row.where, f"user {ident} missing", found, "user")
            if not found or stored is None:
                continue
            expected = (row.get("name"), row.get("email"), int(row.get("deleted_at") is not None))
            if tuple(stored[1:4]) != expected or not self.raw_is(person, stored[4], row.text):
                self.differ(
                    tally, row.where, f"user {ident} stored as {stored[1:4]}, the export says {expected}"
                )

    def check_groups(self) -> None:
        tally = self.report.tally("groups")
        seen: dict[str, int] = {}
        network = ids.space_id(PLATFORM, self.home)
        for row in self.rows("Groups.csv"):
            ident = row.get("id")
            if not self.once(seen, ident, row, "group", tally):
                continue
            assert ident is not None
            space = ids.space_id(PLATFORM, ident)
            stored = self.one("SELECT kind, visibility, name, parent_id, raw FROM spaces WHERE id = ?", space)
            self.account(tally, row.where, f"group {ident} missing", stored is not None, "group")
            if stored is None:
                continue
            expected = (
                "community",
                "private" if _flag(row.get("private")) else "public",
                row.get("name"),
                network,
            )
            if tuple(stored[:4]) != expected or not self.raw_is(space, stored[4], row.text):
                self.differ(
                    tally, row.where, f"group {ident} stored as {stored[:4]}, the export says {expected}"
                )

    def check_admins(self) -> None:
        tally = self.report.tally("admins")
        network = ids.space_id(PLATFORM, self.home)
        for row in self.rows("Admins.csv"):
            ident = row.get("user_id", "id")
            if ident is None and (email := row.get("email")):
                ident = self.user_emails.get(email.strip().lower())
            if ident is None:
                self.account(tally, row.where, "an admin naming no user, not said so", False, "admin")
                continue
            stored = self.one(
                "SELECT role FROM memberships WHERE space_id = ? AND person_id = ?",
                network,
                ids.person_id(PLATFORM, ident),
            )
            self.account(tally, row.where, f"admin {ident} missing", stored == ("admin",), "admin")

    def check_kept_rows(self, name: str, code: str, kind: str, measure: str) -> None:
        """Rows the model has no entity for: each in a diagnostic holding its text."""
        tally = self.report.tally(measure)
        for row in self.rows(name):
            kept = any(
                _raw_text(raw) == row.text
                for (raw,) in self.archive.store.query(
                    'SELECT raw FROM diagnostics WHERE source_id = ? AND "where" = ? AND code = ? AND dropped = ?',
                    (self.source_id, row.where, code, kind),
                )
            )
            self.account(tally, row.where, f"{kind} not kept", kept, kind)

    # -- files --
    def entry_of(self, path: str | None, ident: str) -> str | None:
        if path:
            clean = path.replace("\\", "/").lstrip("/")
            parts = clean.split("/")
            if ".." not in parts and ":" not in parts[0]:
                for candidate in (self.root + clean, clean):
                    if candidate in self.export.entries:
                        return candidate
        return self.stems.get(ident)

    def check_bytes(self, ident: str, entry: str | None, where: str) -> None:
        tally = self.report.tally("file bytes")
        tally.source += 1
        stored = self.one(
            "SELECT sha256, missing_reason FROM files WHERE id = ?", ids.file_id(PLATFORM, ident)
        )
        sha = None
        if entry is not None:
            self.bytes_checked.add(entry)
            with contextlib.suppress(*_READ_ERRORS):
                sha = self.export.sha256(entry)
        if stored is None:
            self.differ(tally, where, f"no file record for {ident}")
        elif sha is not None and stored[0] == sha and self.archive.blobs.has(sha):
            tally.archive += 1
        elif stored[0] is None and stored[1]:
            tally.explained += 1
            if sha is not None:
                self.differ(tally, where, f"file {ident}: its bytes are in {entry} but not in the archive")
        else:
            self.differ(tally, where, f"bytes of file {ident} not kept (export {sha}, archive {stored[0]})")

    def check_files(self) -> None:
        tally = self.report.tally("file records")
        seen: dict[str, int] = {}
        folder = self.root + "Files/"
        for name in sorted(self.export.entries):
            if name.startswith(folder) and "/" not in name[len(folder) :]:
                stem = name[len(folder) :].split(".")[0]
                if stem:
                    self.stems.setdefault(stem, name)
        for row in self.rows("Files.csv"):
            ident = row.get("file_id", "id")
            if not self.once(seen, ident, row, "file", tally):
                continue
            assert ident is not None
            self.file_ids.add(ident)
            file = ids.file_id(PLATFORM, ident)
            stored = self.one("SELECT raw FROM files WHERE id = ?", file)
            self.account(tally, row.where, f"file {ident} missing", stored is not None, "file")
            if stored is not None and not self.raw_is(file, stored[0], row.text):
                self.differ(tally, row.where, f"the raw record of file {ident} differs")
            self.check_bytes(ident, self.entry_of(row.get("path"), ident), row.where)

    # -- messages --
    def learn_messages(self) -> None:
        for row in self.rows("Messages.csv", first=True):
            ident = row.get("id")
            if ident and ident not in self.threads:
                self.threads[ident] = row.get("thread_id") or ident
                self.first_lines[ident] = row.line

    def check_messages(self) -> None:
        self.learn_messages()
        not_kept = self.report.tally("messages not kept")
        unknown_files_seen: set[str] = set()
        for row in self.rows("Messages.csv"):
            ident = row.get("id")
            if ident is None or self.first_lines.get(ident) != row.line:
                self.account(
                    not_kept, row.where, "a message without an id, or again, not said so", False, "message"
                )
                continue
            thread = self.threads[ident]
            item = ids.item_id(PLATFORM, thread, ident)
            sender = row.get("sender_id")
            people = [
                t.split(":", 1)[1].strip()
                for t in (row.get("participants") or "").split(",")
                if t.strip().lower().startswith("user:") and t.split(":", 1)[1].strip()
            ]
            if _flag(row.get("in_private_conversation")):
                members = sorted(set(people) | ({sender} if sender else set()))
                space = "direct:" + ",".join(members)
                space_kind = "direct_message" if len(members) <= 2 else "group_message"
            elif row.get("group_id"):
                space, space_kind, members = row.get("group_id") or "", "community", []
            else:
                space, space_kind, members = "all-company", "community", []
            conversation = self.report.conversation(space, row.get("group_name") or space, space_kind)
            for member in members:
                found = self.one(
                    "SELECT 1 FROM memberships WHERE space_id = ? AND person_id = ?",
                    ids.space_id(PLATFORM, space),
                    ids.person_id(PLATFORM, member),
                )
                self.account(
                    conversation.tally("members"),
                    row.where,
                    f"{member} not a member of {space}",
                    found is not None,
                    "membership",
                )
            is_reply = thread != ident
            parent = root = None
            if is_reply:
                parent_native = row.get("replied_to_id") or thread
                parent = ids.item_id(PLATFORM, self.threads.get(parent_native, thread), parent_native)
                root = ids.item_id(PLATFORM, thread, thread)
            kind = "event" if row.get("message_type") == "system" else ("comment" if is_reply else "post")
            stored = self.one(
                "SELECT space_id, kind, author_id, created_native, deleted, parent_id, thread_root_id, title, raw"
                " FROM items WHERE id = ?",
                item,
            )
            tally = conversation.tally("replies" if is_reply else "messages")
            self.account(
                conversation.subtype(row.get("message_type") or ""),
                row.where,
                f"message {ident} missing",
                stored is not None,
                "message",
            )
            self.account(tally, row.where, f"message {ident} missing", stored is not None, "message")
            if stored is None:
                continue
            expected = (
                ids.space_id(PLATFORM, space),
                kind,
                ids.person_id(PLATFORM, sender) if sender else None,
                row.get("created_at"),
                int(row.get("deleted_at") is not None),
                parent,
                root,
                row.get("title"),
            )
            if tuple(stored[:8]) != expected:
                self.differ(
                    tally, row.where, f"message {ident} stored as {stored[:8]}, the export says {expected}"
                )
            if not self.raw_is(item, stored[8], row.text):
                self.differ(tally, row.where, f"the raw record of message {ident} differs")
            self.person(sender, row.where)
            for person in people:
                self.person(person, row.where)
            for match in _MENTION.finditer(row.get("body") or ""):
                self.person(match.group(1), row.where)
            self.check_attachments(conversation.tally("files"), item, row, unknown_files_seen)

    def check_attachments(self, tally: Tally, item: str, row: _Row, unknown_seen: set[str]) -> None:
        linked = {
            native
            for (native,) in self.archive.store.query(
                "SELECT f.native_id FROM item_files x JOIN files f ON f.id = x.file_id WHERE x.item_id = ?",
                (item,),
            )
        }
        for token in (row.get("attachments") or "").split(","):
            kind, _, ident = token.strip().partition(":")
            if kind.lower() != "uploadedfile" or not ident.strip():
                continue
            ident = ident.strip()
            self.account(
                tally, row.where, f"attachment uploadedfile:{ident} not linked", ident in linked, "attachment"
            )
            if ident not in self.file_ids and ident not in unknown_seen:
                unknown_seen.add(ident)
                self.check_bytes(ident, self.stems.get(ident), row.where)

    # -- versions, pages --
    def check_versions(self) -> None:
        tally = self.report.tally("versions")
        for row in self.rows("MessageVersions.csv"):
            by_message = "message_id" in row.cells
            message = row.get("message_id") if by_message else row.get("id")
            if message is None or message not in self.threads:
                self.account(tally, row.where, "a version not kept, not said so", False, "version")
                continue
            item = ids.item_id(PLATFORM, self.threads[message], message)
            native = row.get("version_id", "version") or (row.get("id") if by_message else None) or row.where
            revision = ids.revision_id(item, native)
            stored = self.one("SELECT item_id, raw FROM revisions WHERE id = ?", revision)
            self.account(
                tally,
                row.where,
                f"version {native} of message {message} missing",
                stored is not None,
                "version",
            )
            if stored is not None and (stored[0] != item or not self.raw_is(revision, stored[1], row.text)):
                self.differ(tally, row.where, f"version {native} stored differently")

    def check_pages(self) -> None:
        entry = self.root + "Pages.csv"
        if entry not in self.export.entries:
            return
        tally = self.report.tally("pages")
        for row in self.rows("Pages.csv"):
            ident = row.get("id")
            if ident is not None and ("body" in row.cells or "content" in row.cells):
                item = ids.item_id(PLATFORM, "pages", ident)
                stored = self.one("SELECT kind, raw FROM items WHERE id = ?", item)
                found = stored is not None and stored[0] == "page" and self.raw_is(item, stored[1], row.text)
                self.account(tally, row.where, f"page {ident} missing", found, "page")
            else:
                kept = any(
                    _raw_text(raw) == row.text
                    for (raw,) in self.archive.store.query(
                        'SELECT raw FROM diagnostics WHERE source_id = ? AND "where" = ? AND dropped = ?',
                        (self.source_id, row.where, "page"),
                    )
                )
                self.account(tally, row.where, "page not kept", kept, "page")

    # -- the rest --
    def check_other_entries(self, names: list[str]) -> None:
        tally = self.report.tally("other files")
        logs = {self.root + "log.txt", self.root + "request.txt"}
        for name in names:
            if self.dropped(name, "entry"):
                self.account(tally, name, "entry refused", False, "entry")
                continue
            try:
                data_sha = self.export.sha256(name)
            except _READ_ERRORS as exc:
                self.account(tally, name, f"unreadable ({exc})", False, "entry")
                continue
            if name in logs and self.export_size(name) <= LOG_LIMIT:
                data = self.export.read(name)
                kept = any(
                    raw == data
                    for (raw,) in self.archive.store.query(
                        'SELECT raw FROM diagnostics WHERE source_id = ? AND "where" = ? AND code = ?',
                        (self.source_id, name, "yammer.export_log"),
                    )
                )
                self.account(tally, name, "the export's log not kept", kept, "entry")
                continue
            stored = self.one("SELECT sha256 FROM files WHERE id = ?", ids.file_id(PLATFORM, name))
            kept = stored is not None and stored[0] == data_sha and self.archive.blobs.has(data_sha)
            self.account(tally, name, f"bytes (sha256 {data_sha[:12]}…) not kept", kept, "entry")

    def export_size(self, name: str) -> int:
        if self.export.zip is not None:
            return self.export.zip.getinfo(self.export.entries[name]).file_size
        return Path(self.export.entries[name]).stat().st_size


def verify_yammer(archive: Archive, source: Path) -> VerifyReport:
    export = ExportFiles(source, what="Yammer network export (zip or folder)")
    report, ingested = open_report(archive, source, export.fingerprint(), PLATFORM, "yammer")
    if not ingested:
        return report
    names = sorted(export.entries)
    root = _root_of(set(names))
    if root is None:
        report.problem(f"{source}: no Messages.csv beside Users.csv or Groups.csv")
        return report
    checker = _Checker(archive, report.source_id, report, export=export, root=root)
    unsafe = set(unsafe_names(names))
    for name in sorted(unsafe):
        checker.account(report.tally("other files"), name, "unsafe entry not diagnosed", False, "entry")
    checker.check_networks()
    checker.check_users()
    checker.check_groups()
    checker.check_admins()
    checker.check_kept_rows("Topics.csv", "yammer.topic", "topic", "topics")
    checker.check_files()
    checker.check_messages()
    checker.check_versions()
    checker.check_pages()
    read = {root + name for name in _KINDS} | checker.bytes_checked | unsafe
    checker.check_other_entries([n for n in names if n not in read])
    return report
