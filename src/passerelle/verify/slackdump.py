"""Reconcile an archive with a slackdump recording or conversation dump, by an independent path.

This module shares no code with the slackdump reader: it reads the source with the
standard library's ``gzip`` and ``json``, line by line, works out on its own what each
chunk holds, and checks every record against the archive:

- every distinct message of a conversation (by its exact ``ts``) is an item, a reply in
  its thread; each copy of a message the recording repeats is either the archived one
  (same record) or kept, with its raw bytes, in a diagnostic at its place;
- the archived copy's reactions (emoji x user) and files are there;
- users, conversations (channel lists, channel info), the workspace, channel members and
  file records are there, each record as the archive's row or superseded by a later copy;
- anything else (a line that is not JSON, a chunk type the model has no place for, an
  unknown field, a truncated gzip stream) is explained only by a diagnostic with the
  matching ``dropped`` kind at that very place.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from passerelle.archive import Archive
from passerelle.errors import BadInputError
from passerelle.model import ids
from passerelle.verify.export_files import ExportFiles
from passerelle.verify.ledger import open_report
from passerelle.verify.report import ConversationRow, Tally, VerifyReport
from passerelle.verify.slack import _check_other_entries, _Checker, _cp1252_where_not_utf8

PLATFORM = "slack"
_GZIP = b"\x1f\x8b"
_SNIFF = 1 << 20
_SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz")
_TS = re.compile(r"^\d{1,12}\.\d{1,9}$")
_THREAD = re.compile(r"^(.+)_thread_\d{1,12}\.\d{1,9}\.json$")
_LONG_FIRST_LINE = re.compile(rb'\{\s*"t"\s*:\s*\d')
_SLACK_LISTS = {"users.json", "org_users.json", "channels.json", "groups.json", "mpims.json", "dms.json"}

# slackdump's chunk: header fields, and the data fields of each type.
_HEADER = {"t", "ts", "id", "n", "nt", "r", "l", "to"}
_DATA: dict[int, set[str]] = {
    0: {"m"},
    1: {"p", "m"},
    2: {"ci", "p", "f"},
    3: {"u"},
    4: {"ch"},
    5: {"ci"},
    6: {"w"},
    7: {"cu"},
}
_WITH_CHANNEL = {0, 1, 2, 5, 7}
_SHAPE: dict[str, tuple[type, str]] = {
    "m": (list, "message"),
    "p": (dict, "message"),
    "f": (list, "file"),
    "ci": (dict, "conversation"),
    "u": (list, "user"),
    "ch": (list, "conversation"),
    "w": (dict, "workspace"),
    "cu": (list, "membership"),
}


# -- what the source is -------------------------------------------------------------------
def _first_bytes(path: Path) -> bytes:
    with path.open("rb") as handle:
        data = handle.read(_SNIFF)
    if data.startswith(_GZIP):
        try:
            return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(data, _SNIFF)
        except zlib.error:
            return b""
    return data


def _what(name: str, path: Path) -> str | None:
    """ "chunks", "dump" or None, from the entry's name and first bytes."""
    if not name.lower().endswith(_SUFFIXES):
        return None
    try:
        data = _first_bytes(path).lstrip(b" \t\r\n")
    except OSError:
        return None
    if data.startswith(b"{"):
        first_line, newline, _ = data.partition(b"\n")
        try:
            chunk = json.loads(first_line)
        except ValueError:
            return "chunks" if not newline and _LONG_FIRST_LINE.match(first_line) else None
        return "chunks" if isinstance(chunk, dict) and type(chunk.get("t")) is int else None
    if data.startswith(b"["):
        text = data.decode("utf-8", "replace")
        at = 1
        while at < len(text) and text[at] in " \t\r\n":
            at += 1
        try:
            first, _ = json.JSONDecoder().raw_decode(text, at)
        except ValueError:
            return None
        return "dump" if isinstance(first, dict) and isinstance(first.get("ts"), str) else None
    return None


def is_slackdump_source(path: Path) -> bool:
    """Whether verify should read this source as slackdump's: a single file that is not a
    zip, or a folder holding recordings or dumps at its top and no Slack export lists."""
    if path.is_file():
        with path.open("rb") as handle:
            return handle.read(2) != b"PK" and path.suffix.lower() != ".zip"
    if not path.is_dir():
        return False
    top = [p for p in path.iterdir() if p.is_file()]
    teams = path / "teams"
    if any(p.name in _SLACK_LISTS for p in top) or (
        teams.is_dir() and any(p.name in _SLACK_LISTS for p in teams.glob("*/*"))
    ):
        return False  # a Slack export (Enterprise Grid keeps its lists under teams/<id>/)
    return any(_what(p.name, p) for p in top)


class _Source:
    """The entries of a single file or a folder, and the fingerprint ingest gave the source."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.folder: ExportFiles | None = None
        if path.is_dir():
            self.folder = ExportFiles(path, what="slackdump folder")
            self.entries = {name: Path(real) for name, real in self.folder.entries.items()}
        else:
            self.entries = {path.name: path}

    def fingerprint(self) -> str:
        if self.folder is not None:
            return self.folder.fingerprint()
        digest = hashlib.sha256()
        with self.path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()


# -- the check ------------------------------------------------------------------------------
@dataclass
class _Conversation:
    native_id: str
    name: str
    kind: str
    seen: set[str] = field(default_factory=set)  # ts of the messages met so far
    content_checked: set[str] = field(default_factory=set)
    thread_roots: set[str] = field(default_factory=set)
    members: set[str] = field(default_factory=set)


@dataclass
class _Verifier:
    checker: _Checker
    conversations: dict[str, _Conversation] = field(default_factory=dict)

    @property
    def store(self) -> Any:
        return self.checker.archive.store

    @property
    def report(self) -> VerifyReport:
        return self.checker.report

    def conversation(self, native_id: str, name: str | None = None, kind: str = "unknown") -> _Conversation:
        conv = self.conversations.get(native_id)
        if conv is None:
            conv = self.conversations[native_id] = _Conversation(native_id, name or native_id, kind)
        return conv

    def row(self, conv: _Conversation) -> ConversationRow:
        row = self.report.conversation(conv.native_id, conv.name, conv.kind)
        row.name, row.kind = conv.name, conv.kind  # a definition may come after the first use
        return row

    def kept(self, table: str, entity_id: str, record: Any) -> bool | None:
        """None: no such row; else whether the record is the row's raw or superseded by a later copy."""
        raw = self.store.scalar(f"SELECT raw FROM {table} WHERE id = ?", (entity_id,))
        if raw is None and self.store.scalar(f"SELECT 1 FROM {table} WHERE id = ?", (entity_id,)) is None:
            return None
        return self.checker.raw_kept(entity_id, raw, record)

    def in_diagnostic(self, where: str, kind: str, record: Any) -> bool:
        return any(
            raw is not None and json.loads(raw) == record
            for (raw,) in self.store.query(
                'SELECT raw FROM diagnostics WHERE source_id = ? AND "where" = ? AND dropped = ?',
                (self.checker.source_id, where, kind),
            )
        )

    # -- messages --------------------------------------------------------------------
    def message(self, conv: _Conversation, where: str, record: Any) -> None:
        row = self.row(conv)
        messages = row.tally("messages")
        if not isinstance(record, dict):
            self.checker.account(messages, where, "message record is not an object", False, "message")
            return
        ts = record.get("ts")
        if not isinstance(ts, str) or not _TS.match(ts):
            self.checker.account(messages, where, f"message without a valid ts ({ts!r})", False, "message")
            return
        item = ids.item_id(PLATFORM, conv.native_id, ts)
        stored = self.store.query(
            "SELECT native_id, subtype, thread_root_id, raw FROM items WHERE id = ?", (item,)
        )
        if ts not in conv.seen:
            conv.seen.add(ts)
            subtype = record["subtype"] if isinstance(record.get("subtype"), str) else ""
            self.checker.account(
                row.subtype(subtype), where, f"message {ts} missing", bool(stored), "message"
            )
            self.checker.account(messages, where, f"message {ts} missing", bool(stored), "message")
        if not stored:
            return
        # Each copy: the archived one, or one kept in a diagnostic at its place.
        copies = self.report.tally("message copies")
        copies.source += 1
        if self.kept("items", item, record):
            copies.archive += 1
        elif self.in_diagnostic(where, "version", record):
            copies.explained += 1
            return
        else:
            copies.unexplained += 1
            self.report.problem(f"{where}: this copy of message {ts} is neither the archived one nor kept")
            return
        if ts in conv.content_checked:
            return
        conv.content_checked.add(ts)
        native, stored_subtype, root, _ = stored[0]
        subtype = record.get("subtype") if isinstance(record.get("subtype"), str) else None
        thread_ts = record.get("thread_ts")
        expected = None
        if isinstance(thread_ts, str) and thread_ts != ts and _TS.match(thread_ts):
            expected = ids.item_id(PLATFORM, conv.native_id, thread_ts)
            conv.thread_roots.add(thread_ts)
            self.checker.account(
                row.tally("replies"),
                where,
                f"reply {ts} not in thread {thread_ts}",
                root == expected,
                "reply",
            )
        if native != ts or stored_subtype != subtype or (expected is None and root is not None):
            self.report.problem(f"{where}: message {ts} stored as ts={native} subtype={stored_subtype}")
            messages.unexplained += 1
        self.reactions(row, item, where, record)
        self.message_files(row, item, where, record)

    def reactions(self, row: ConversationRow, item: str, where: str, record: dict[str, Any]) -> None:
        stored = {
            (emoji, person)
            for emoji, person in self.store.query(
                "SELECT r.emoji, p.native_id FROM reactions r JOIN persons p ON p.id = r.person_id"
                " WHERE r.item_id = ?",
                (item,),
            )
        }
        reactions = record.get("reactions")
        for index, reaction in enumerate(reactions if isinstance(reactions, list) else []):
            here = f"{where}/reactions/{index}"
            name = reaction.get("name") if isinstance(reaction, dict) else None
            users = reaction.get("users") if isinstance(reaction, dict) else None
            if not isinstance(name, str) or not isinstance(users, list):
                self.checker.account(row.tally("reactions"), here, "invalid reaction", False, "reaction")
                continue
            for user in dict.fromkeys(u for u in users if isinstance(u, str) and u):
                self.checker.account(
                    row.tally("reactions"),
                    here,
                    f":{name}: by {user} missing",
                    (name, user) in stored,
                    "reaction",
                )

    def message_files(self, row: ConversationRow, item: str, where: str, record: dict[str, Any]) -> None:
        linked = {
            native
            for (native,) in self.store.query(
                "SELECT f.native_id FROM item_files x JOIN files f ON f.id = x.file_id WHERE x.item_id = ?",
                (item,),
            )
        }
        files = record.get("files")
        if not isinstance(files, list):
            files = [record["file"]] if isinstance(record.get("file"), dict) else []
        for index, f in enumerate(files):
            fid = f.get("id") if isinstance(f, dict) else None
            self.checker.account(
                row.tally("files"),
                f"{where}/files/{index}",
                f"file {fid} not linked to its message",
                isinstance(fid, str) and fid in linked,
                "file",
            )

    def threads(self) -> None:
        for conv in self.conversations.values():
            tally = self.row(conv).tally("thread_roots")
            for root_ts in sorted(conv.thread_roots):
                root = ids.item_id(PLATFORM, conv.native_id, root_ts)
                tally.source += 1
                if self.store.scalar("SELECT 1 FROM items WHERE id = ?", (root,)):
                    tally.archive += 1
                elif self.store.scalar(
                    "SELECT 1 FROM diagnostics WHERE source_id = ? AND code = 'slack.thread_root_missing'"
                    " AND entity_id = ?",
                    (self.checker.source_id, root),
                ):
                    tally.explained += 1
                else:
                    tally.unexplained += 1
                    self.report.problem(f"{conv.name}: thread {root_ts} has replies but no root, unexplained")

    # -- the other records ------------------------------------------------------------
    def record(
        self, measure: str, table: str, entity_id: str | None, where: str, record: Any, kind: str
    ) -> bool:
        """Account for a user, conversation, workspace or file record: the archive's row (or
        superseded by a later copy), or a copy kept in a diagnostic. True for the archived one."""
        tally = self.report.tally(measure)
        if entity_id is None:  # not a record the archive could hold: explained by a diagnostic only
            self.checker.account(tally, where, f"invalid {kind} record", False, kind)
            return False
        tally.source += 1
        if self.kept(table, entity_id, record):
            tally.archive += 1
            return True
        if self.in_diagnostic(where, "version", record):
            tally.explained += 1
        else:
            tally.unexplained += 1
            self.report.problem(f"{where}: {kind} record neither in the archive nor kept in a diagnostic")
        return False

    def user(self, where: str, record: Any) -> None:
        uid = record.get("id") if isinstance(record, dict) else None
        entity = ids.person_id(PLATFORM, uid) if isinstance(uid, str) and uid else None
        self.record("users", "persons", entity, where, record, "user")

    def definition(self, where: str, record: Any) -> None:
        cid = record.get("id") if isinstance(record, dict) else None
        if not isinstance(record, dict) or not isinstance(cid, str) or not cid:
            self.record("conversations", "spaces", None, where, record, "conversation")
            return
        space = ids.space_id(PLATFORM, cid)
        archived = self.record("conversations", "spaces", space, where, record, "conversation")
        if record.get("is_im"):
            kind = "direct_message"
        elif record.get("is_mpim"):
            kind = "group_message"
        elif record.get("is_private") or record.get("is_group"):
            kind = "private_channel"
        else:
            kind = "public_channel"
        conv = self.conversation(cid)
        if not archived:
            return  # another copy, kept in its diagnostic with its members
        name = record.get("name")
        conv.name = name if isinstance(name, str) and name else cid
        conv.kind = kind
        members = record.get("members")
        if isinstance(members, list):
            self.members(conv, [(where, m) for m in members])

    def members(self, conv: _Conversation, members: list[tuple[str, Any]]) -> None:
        stored = {
            native
            for (native,) in self.store.query(
                "SELECT p.native_id FROM memberships m JOIN persons p ON p.id = m.person_id WHERE m.space_id = ?",
                (ids.space_id(PLATFORM, conv.native_id),),
            )
        }
        tally = self.row(conv).tally("members")
        for where, member in members:
            if isinstance(member, str) and member in conv.members:
                continue  # counted once per conversation, however often the recording lists it
            if isinstance(member, str):
                conv.members.add(member)
            found = isinstance(member, str) and member in stored
            self.checker.account(tally, where, f"{member!r} not a member of {conv.name}", found, "membership")

    # -- a chunk file ------------------------------------------------------------------
    def chunk_file(self, name: str, path: Path) -> None:
        chunks = self.report.tally("chunks")
        if self.checker.dropped(name, "entry"):  # refused by the reader (unreadable…): not opened here
            self.checker.account(chunks, name, "entry refused", False, "entry")
            return
        number = 0
        try:
            with path.open("rb") as probe:
                compressed = probe.read(2) == _GZIP
            with gzip.open(path, "rb") if compressed else path.open("rb") as lines:
                for number, line in enumerate(lines, start=1):  # number: read after the loop too
                    if line.strip():
                        self.chunk(f"{name}#{number}", line, chunks)
        except (EOFError, OSError, zlib.error) as exc:
            # The stream breaks off inside the line after the last one read.
            self.checker.account(chunks, f"{name}#{number + 1}", f"stream breaks off ({exc})", False, "lines")

    def chunk(self, where: str, line: bytes, tally: Tally) -> None:
        if self.checker.dropped(where, "chunk"):  # the reader could not keep it (not JSON, unknown type…)
            self.checker.account(tally, where, "chunk not read", False, "chunk")
            return
        try:
            chunk = json.loads(line)
        except ValueError:
            chunk = None
        kind = chunk.get("t") if isinstance(chunk, dict) else None
        channel = chunk.get("id") if isinstance(chunk, dict) else None
        readable = (
            isinstance(chunk, dict)
            and type(kind) is int
            and kind in _DATA
            and (kind not in _WITH_CHANNEL or (isinstance(channel, str) and channel != ""))
        )
        self.checker.account(tally, where, "chunk neither read nor explained", readable, "chunk")
        if not readable:
            return
        assert isinstance(chunk, dict) and isinstance(kind, int)
        for key in sorted(chunk.keys() - _HEADER - _DATA[kind]):
            self.checker.account(
                self.report.tally("unknown fields"), f"{where}/{key}", f"field {key!r} lost", False, "field"
            )
        values: dict[str, Any] = {}
        for key in _DATA[kind]:
            value = chunk.get(key)
            if value is None:
                continue
            shape, lost = _SHAPE[key]
            if isinstance(value, shape):
                values[key] = value
            else:
                self.checker.account(
                    self.report.tally("malformed fields"),
                    f"{where}/{key}",
                    f"{key} is malformed",
                    False,
                    lost,
                )
        if kind == 3:
            for index, user in enumerate(values.get("u", [])):
                self.user(f"{where}/u/{index}", user)
        elif kind == 4:
            for index, conversation in enumerate(values.get("ch", [])):
                self.definition(f"{where}/ch/{index}", conversation)
        elif kind == 6 and "w" in values:
            team = values["w"].get("team_id")
            native = team if isinstance(team, str) and team else "workspace"
            self.record(
                "workspace", "spaces", ids.space_id(PLATFORM, native), f"{where}/w", values["w"], "workspace"
            )
        if "ci" in values:
            self.definition(f"{where}/ci", values["ci"])
        if kind in (0, 1, 2):
            assert isinstance(channel, str)
            conv = self.conversation(channel)
            if "p" in values:
                self.message(conv, f"{where}/p", values["p"])
            for index, message in enumerate(values.get("m", [])):
                self.message(conv, f"{where}/m/{index}", message)
            for index, record in enumerate(values.get("f", [])):
                fid = record.get("id") if isinstance(record, dict) else None
                entity = ids.file_id(PLATFORM, fid) if isinstance(fid, str) and fid else None
                self.record("file records", "files", entity, f"{where}/f/{index}", record, "file")
        elif kind == 7:
            assert isinstance(channel, str)
            conv = self.conversation(channel)
            self.members(conv, [(f"{where}/cu/{i}", m) for i, m in enumerate(values.get("cu", []))])

    # -- a conversation dump ---------------------------------------------------------------
    def dump_file(self, name: str, path: Path) -> None:
        tally = self.report.tally("dump files")
        if self.checker.dropped(name, "entry"):
            self.checker.account(tally, name, "entry refused", False, "entry")
            return
        data = path.read_bytes()
        try:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                if not self.checker.said(name, "source.not_utf8"):
                    raise
                text = _cp1252_where_not_utf8(data)
            messages = json.loads(text)
        except ValueError as exc:
            self.checker.account(tally, name, f"unreadable ({exc})", False, "file")
            return
        if not isinstance(messages, list):
            self.checker.account(tally, name, "not a JSON array", False, "file")
            return
        self.checker.account(tally, name, "", True, "file")
        folder, _, base = name.rpartition("/")
        thread = _THREAD.match(base)
        stem = thread.group(1) if thread else (base.rsplit(".", 1)[0] if "." in base else base)
        for index, message in enumerate(messages):
            channel = message.get("channel") if isinstance(message, dict) else None
            if isinstance(channel, str) and channel:
                conv = self.conversation(channel)
            else:
                conv = self.conversation(f"file:{folder}/{stem}" if folder else f"file:{stem}", stem, "dump")
            self.message(conv, f"{name}#{index}", message)


def verify_slackdump(archive: Archive, source: Path) -> VerifyReport:
    if not source.exists():
        raise BadInputError(f"{source}: no such file or folder")
    recording = _Source(source)
    kinds = {name: _what(name, path) for name, path in sorted(recording.entries.items())}
    if source.is_file() and not any(kinds.values()):
        raise BadInputError(f"{source}: neither a Slack export (zip or folder) nor a slackdump recording")
    report, ingested = open_report(archive, source, recording.fingerprint(), PLATFORM, "slackdump")
    if not ingested:
        return report
    verifier = _Verifier(_Checker(archive, report.source_id, report))
    for name, kind in kinds.items():
        if kind == "chunks":
            verifier.chunk_file(name, recording.entries[name])
        elif kind == "dump":
            verifier.dump_file(name, recording.entries[name])
    verifier.threads()
    if recording.folder is not None and any(kind is None for kind in kinds.values()):
        others = [name for name, kind in kinds.items() if kind is None]
        _check_other_entries(recording.folder, others, verifier.checker)
    return report
