"""The slackdump reader: slackdump's chunk recordings and loose conversation dumps.

slackdump (github.com/rusq/slackdump) records the Slack API's answers as they come, one
"chunk" per API call, one JSON object per line, usually gzip-compressed (the legacy
``-legacy`` format: ``C….json.gz``, ``users.json.gz``, ``channels.json.gz``, or one
``chunks.jsonl.gz``). Its converter also writes a conversation as a JSON array of Slack
messages (``<name>.json``) and each thread's replies beside it (``<name>_thread_<ts>.json``).
Reference: ../shared/reference/formats-chat.md §2.

The platform is Slack: ids are made exactly as the Slack export reader makes them, and
the message mapping is the Slack reader's own (this reader subclasses it), so a
recording and an official export of the same workspace merge without duplicates.

A recording repeats itself: a thread's parent comes in the channel's history and again
with its replies; a message with files comes again with them; the channel comes again
with every file chunk (at times as an empty stub). Each record becomes data once, from
one copy: a message from its last copy (the most recent API answer); a user, file or
workspace from its last copy; a conversation from its last own definition (channel list
or channel info) before any file chunk's copy. Every other copy that says the same is
merged; one that differs is kept, raw, in a diagnostic at its place (a message differing
only in thread bookkeeping: ``info``; otherwise ``warning``; any other record: ``info``).
Writing each entity once also keeps the archive's triggers from seeing one source
replace its own rows.

The source is read in four streaming passes, so that memory holds per-conversation
message times and per-record positions, never messages:

1. scan: names, the workspace, and for each record and repeated message the copy that
   becomes data;
2. users (before anything refers to them);
3. the workspace, conversations (with their members) and file records;
4. messages, channel members and everything else, line by line, in order.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar, cast

import msgspec

from passerelle.archive.writer import ArchiveWriter
from passerelle.model import ids
from passerelle.model.entities import Membership, Space, SpaceKind, Visibility
from passerelle.progress import Display
from passerelle.readers.base import FormatInfo
from passerelle.readers.slack import (
    _TS,
    PLATFORM,
    SlackReader,
    _Conversation,
    _obj,
    _person,
    _records,
    _roots,
    _SeenTimes,
    _State,
    _str,
    ts_to_micros,
)
from passerelle.readers.source_tree import EntryError, SourceTree

GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 1 << 20  # what detection reads of an entry (decompressed, when gzip)
_CANDIDATE_SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz")
_THREAD_FILE = re.compile(r"^(.+)_thread_(\d{1,12}\.\d{1,9})\.json$")
_CHUNK_START = re.compile(rb'\{\s*"t"\s*:\s*\d')

# Chunk types (slackdump internal/chunk/chunk.go).
HISTORY, REPLIES, FILES, USERS, CHANNELS, CHANNEL_INFO, WORKSPACE, CHANNEL_USERS = range(8)
UNMODELLED = {8: "starred items", 9: "bookmarks", 10: "message search results", 11: "file search results"}
_HEADER = frozenset({"t", "ts", "id", "n", "nt", "r", "l", "to"})  # recording metadata, not data
_DATA: dict[int, frozenset[str]] = {
    HISTORY: frozenset({"m"}),
    REPLIES: frozenset({"p", "m"}),
    FILES: frozenset({"ci", "p", "f"}),
    USERS: frozenset({"u"}),
    CHANNELS: frozenset({"ch"}),
    CHANNEL_INFO: frozenset({"ci"}),
    WORKSPACE: frozenset({"w"}),
    CHANNEL_USERS: frozenset({"cu"}),
}
_NEEDS_ID = frozenset({HISTORY, REPLIES, FILES, CHANNEL_INFO, CHANNEL_USERS})
# What each data field holds: its JSON shape, and the kind of record lost when it is not that.
_SHAPES: dict[str, tuple[type, str]] = {
    "m": (list, "message"),
    "p": (dict, "message"),
    "f": (list, "file"),
    "ci": (dict, "conversation"),
    "u": (list, "user"),
    "ch": (list, "conversation"),
    "w": (dict, "workspace"),
    "cu": (list, "membership"),
}
# Fields of a message that change as its thread grows or is read, without the message changing.
_BOOKKEEPING = frozenset(
    {
        "reply_count",
        "reply_users_count",
        "reply_users",
        "latest_reply",
        "last_read",
        "subscribed",
        "is_locked",
        "unread_count",
    }
)


class _Ts(msgspec.Struct):
    ts: Any = None


@dataclass
class _Line:
    where: str  # entry#line, the line counted from 1
    raw: bytes | None  # None: longer than the limit
    fields: dict[str, msgspec.Raw] | None = None  # None: not a JSON object
    type: int | None = None  # None: not a chunk (see problem)
    cid: str | None = None
    problem: str | None = None


@dataclass
class _Broken:
    where: str
    message: str


@dataclass
class _Last:
    """Where a repeated message comes last, and what it says there."""

    where: str
    digest: bytes
    loose: bytes  # without the thread bookkeeping fields


@dataclass
class _Scan:
    """What the first pass learns. Bounded by conversations, users, files and repeated messages,
    never by the number of messages."""

    seen: dict[str, _SeenTimes] = field(default_factory=dict)  # the message times of each conversation
    last: dict[tuple[str, str], _Last] = field(default_factory=dict)  # messages that come more than once
    # (kind, id) of each user, conversation, workspace and file record -> [where the copy that
    # becomes data is, its digest, its rank]: the last copy of the highest rank.
    copies: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    defined: set[str] = field(default_factory=set)  # conversations with a definition record
    team: str | None = None
    has_workspace_record: bool = False
    conversations: dict[str, _Conversation] = field(default_factory=dict)

    def note(self, cid: str, where: str, raw: msgspec.Raw) -> None:
        try:
            ts = msgspec.json.decode(raw, type=_Ts).ts
        except msgspec.DecodeError:
            return  # not an object: reported in the last pass
        if not isinstance(ts, str) or not _TS.match(ts):
            return
        seen = self.seen.get(cid)
        if seen is None:
            seen = self.seen[cid] = _SeenTimes()
        if not seen.add(ts_to_micros(ts)):
            self.last[(cid, ts)] = _Last(where, *_digests(msgspec.json.decode(raw)))

    def note_record(self, kind: str, key: str, where: str, record: dict[str, Any], rank: int = 0) -> None:
        known = self.copies.get((kind, key))
        if known is None or rank >= known[2]:
            self.copies[(kind, key)] = [where, _digest(record), rank]

    def earlier_copy(self, kind: str, key: str, where: str) -> list[Any] | None:
        """[where, digest, rank] of the copy that becomes data, when this one is another copy."""
        known = self.copies.get((kind, key))
        return known if known is not None and known[0] != where else None


def _digest(record: dict[str, Any]) -> bytes:
    return hashlib.blake2b(msgspec.json.encode(record, order="sorted"), digest_size=16).digest()


def _digests(record: dict[str, Any]) -> tuple[bytes, bytes]:
    return _digest(record), _digest({k: v for k, v in record.items() if k not in _BOOKKEEPING})


# -- recognising entries ----------------------------------------------------------------------
def candidate(name: str) -> bool:
    return name.lower().endswith(_CANDIDATE_SUFFIXES)


def head(tree: SourceTree, name: str) -> bytes:
    """The entry's first bytes, decompressed when it is gzip."""
    try:
        with tree.open_entry(name) as stream:
            data = stream.read(SNIFF_BYTES)
    except EntryError:
        return b""
    if data[:2] == GZIP_MAGIC:
        try:
            return zlib.decompressobj(31).decompress(data, SNIFF_BYTES)
        except zlib.error:
            return b""
    return data


def sniff(data: bytes) -> str | None:
    """ "chunks" for a chunk recording (its first line a JSON object with an integer "t"),
    "dump" for a JSON array whose first element is a message (an object with a "ts"
    string), else None."""
    text = data.lstrip(b" \t\r\n")
    if text[:1] == b"{":
        line, newline, _ = text.partition(b"\n")
        try:
            first = json.loads(line)
        except ValueError:
            # A first line longer than what was read: its start says enough.
            return "chunks" if not newline and _CHUNK_START.match(line) else None
        return "chunks" if isinstance(first, dict) and type(first.get("t")) is int else None
    if text[:1] == b"[":
        decoded = text.decode("utf-8", "replace")
        start = len(decoded) - len(decoded[1:].lstrip(" \t\r\n"))
        try:
            element, _ = json.JSONDecoder().raw_decode(decoded, start)
        except ValueError:
            return None
        return "dump" if isinstance(element, dict) and isinstance(element.get("ts"), str) else None
    return None


def entry_kind(tree: SourceTree, name: str) -> str | None:
    return sniff(head(tree, name)) if candidate(name) else None


# -- reading chunk files line by line ------------------------------------------------------------
def _lines(tree: SourceTree, entry: str) -> Iterator[_Line | _Broken]:
    """Each line of a (gzip or plain) JSON Lines entry, parsed as far as a chunk's header;
    a stream that breaks (truncated or corrupt gzip, unreadable entry) ends with _Broken."""
    limit = tree.limits.max_json_bytes
    counter = [0]  # the line being read
    try:
        with tree.open_entry(entry) as raw:
            assert isinstance(raw, io.BufferedReader)  # what SourceTree.open_entry gives
            stream: IO[bytes] = raw
            if raw.peek(2)[:2] == GZIP_MAGIC:
                stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
            with stream:
                yield from _split(entry, stream, limit, counter)
    except (EntryError, EOFError, OSError, zlib.error) as exc:
        yield _Broken(f"{entry}#{counter[0] or 1}", str(exc))


def _split(entry: str, stream: IO[bytes], limit: int, counter: list[int]) -> Iterator[_Line]:
    while True:
        counter[0] += 1
        line = stream.readline(limit + 1)
        if not line:
            return
        where = f"{entry}#{counter[0]}"
        if len(line) > limit and not line.endswith(b"\n"):
            while (more := stream.readline(1 << 20)) and not more.endswith(b"\n"):
                pass
            yield _Line(where, None, problem=f"line is longer than {limit} bytes; not read")
            continue
        if not line.strip():
            continue  # a blank line holds no record
        yield _parse_line(where, line.rstrip(b"\r\n"))


def _parse_line(where: str, line: bytes) -> _Line:
    try:
        fields = msgspec.json.decode(line, type=dict[str, msgspec.Raw])
    except msgspec.DecodeError as exc:
        return _Line(where, line, problem=f"not a JSON object ({exc})")
    result = _Line(where, line, fields)
    try:
        kind = msgspec.json.decode(fields["t"]) if "t" in fields else None
    except msgspec.DecodeError:  # pragma: no cover - Raw values are valid JSON by construction
        kind = None
    if type(kind) is not int:
        result.problem = 'the chunk has no integer type "t"'
        return result
    try:
        cid = msgspec.json.decode(fields["id"]) if "id" in fields else None
    except msgspec.DecodeError:  # pragma: no cover
        cid = None
    if kind in _NEEDS_ID and (not isinstance(cid, str) or not cid):
        result.problem = f'a chunk of type {kind} without a conversation "id"'
        return result
    result.type = kind
    result.cid = cid if isinstance(cid, str) and cid else None
    return result


def _value(line: _Line, key: str) -> Any:
    """The decoded value of a data field; None when absent or null."""
    assert line.fields is not None
    raw = line.fields.get(key)
    return None if raw is None else msgspec.json.decode(raw)


def _elements(line: _Line, key: str) -> list[msgspec.Raw] | None:
    """The elements of a list field; None when absent, null or not a list."""
    assert line.fields is not None
    raw = line.fields.get(key)
    if raw is None:
        return None
    try:
        return msgspec.json.decode(raw, type=list[msgspec.Raw])
    except msgspec.DecodeError:
        return None


def _shape_ok(line: _Line, key: str) -> bool:
    assert line.fields is not None
    raw = line.fields.get(key)
    if raw is None:
        return True
    value = msgspec.json.decode(raw)
    return value is None or isinstance(value, _SHAPES[key][0])


def _message_slots(line: _Line) -> Iterator[tuple[str, msgspec.Raw]]:
    """(where, raw) of every message a history, replies or files chunk holds, in order."""
    assert line.fields is not None
    if line.type in (REPLIES, FILES) and "p" in line.fields and _shape_ok(line, "p"):
        parent = line.fields["p"]
        if bytes(parent).strip() != b"null":
            yield f"{line.where}/p", parent
    if line.type in (HISTORY, REPLIES):
        for index, raw in enumerate(_elements(line, "m") or []):
            yield f"{line.where}/m/{index}", raw


def _definitions(line: _Line) -> Iterator[tuple[str, msgspec.Raw]]:
    """(where, raw) of every conversation definition a chunk holds."""
    assert line.fields is not None
    if line.type in (CHANNEL_INFO, FILES) and "ci" in line.fields and _shape_ok(line, "ci"):
        info = line.fields["ci"]
        if bytes(info).strip() != b"null":
            yield f"{line.where}/ci", info
    if line.type == CHANNELS:
        for index, raw in enumerate(_elements(line, "ch") or []):
            yield f"{line.where}/ch/{index}", raw


def _keyed_records(line: _Line) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(kind, where, record) of each user, workspace, conversation and file record of a chunk
    that has an id (the workspace: always), as the second and third passes meet them."""
    if line.type == USERS:
        for index, raw in enumerate(_elements(line, "u") or []):
            record = msgspec.json.decode(raw)
            if isinstance(record, dict) and isinstance(record.get("id"), str) and record["id"]:
                yield "user", f"{line.where}/u/{index}", record
    if line.type == WORKSPACE and _shape_ok(line, "w"):
        record = _value(line, "w")
        if isinstance(record, dict):
            yield "workspace", f"{line.where}/w", record
    for where, raw in _definitions(line):
        record = msgspec.json.decode(raw)
        if isinstance(record, dict) and isinstance(record.get("id"), str) and record["id"]:
            yield "conversation", where, record
    if line.type == FILES and _shape_ok(line, "f"):
        for index, raw in enumerate(_elements(line, "f") or []):
            record = msgspec.json.decode(raw)
            if isinstance(record, dict) and isinstance(record.get("id"), str) and record["id"]:
                yield "file", f"{line.where}/f/{index}", record


def _identified(
    raw: bytes, where: str, kind: str, out: ArchiveWriter, emit: bool
) -> tuple[dict[str, Any], str] | None:
    """The record and its id; None, said once (when ``emit``), if it is not an object or has none."""
    record = msgspec.json.decode(raw)
    if not isinstance(record, dict):
        if emit:
            message = f"{kind} record is {type(record).__name__}, not an object"
            out.diagnose("slack.invalid_record", where, message, dropped=kind, raw=raw)
        return None
    native = record.get("id")
    if not isinstance(native, str) or not native:
        if emit:
            out.diagnose("slack.missing_id", where, f"{kind} without an id", dropped=kind, raw=raw)
        return None
    return record, native


def _workspace_native(record: dict[str, Any]) -> str:
    return _str(record, "team_id") or "workspace"


def _kind(record: dict[str, Any]) -> tuple[SpaceKind, Visibility]:
    if record.get("is_im"):
        return SpaceKind.DIRECT_MESSAGE, Visibility.PRIVATE
    if record.get("is_mpim"):
        return SpaceKind.GROUP_MESSAGE, Visibility.PRIVATE
    if record.get("is_private") or record.get("is_group"):
        return SpaceKind.PRIVATE_CHANNEL, Visibility.PRIVATE
    return SpaceKind.PUBLIC_CHANNEL, Visibility.PUBLIC


def dump_conversation(entry: str, record: dict[str, Any]) -> tuple[str, str]:
    """(native id, name) of the conversation a dumped message belongs to: its "channel",
    else the file's name (``<name>.json``, or ``<name>_thread_<ts>.json`` for a thread)."""
    channel = record.get("channel")
    if isinstance(channel, str) and channel:
        return channel, channel
    folder, _, base = entry.rpartition("/")
    thread = _THREAD_FILE.match(base)
    stem = thread.group(1) if thread else (base.rsplit(".", 1)[0] if "." in base else base)
    name = f"{folder}/{stem}" if folder else stem
    return f"file:{name}", stem


class SlackdumpReader(SlackReader):
    info: ClassVar[FormatInfo] = FormatInfo(
        name="slackdump",
        platform=PLATFORM,
        description="slackdump recordings: chunk files (gzip or plain JSON Lines) and loose conversation dumps",
        keeps=(
            "users (chunk type 3), the workspace (6), conversations from channel lists and channel info"
            " (4, 5; a file chunk's copy when there is no other), kind from is_im/is_mpim/is_private",
            "channel members (7 and the channel info's members list)",
            "every message of history and thread chunks (0, 1) with the Slack export reader's mapping:"
            " exact ts, threads from thread_ts, reactions, files, mentions, raw record",
            "file chunks (2): the message again, and every file record",
            "a record recorded several times: one copy as data, every other copy that differs in a"
            " diagnostic with its raw bytes",
            "loose conversation dumps (<name>.json) and thread files (<name>_thread_<ts>.json)",
            "starred items, bookmarks and search results (8-11), unknown chunk types and fields:"
            " kept verbatim in info diagnostics",
        ),
        cannot_carry=(
            "chunk headers (recording time in ns, counts, last-page and thread-only flags): recording"
            " metadata, not kept",
            "file bytes (chunk recordings hold file records only): reason recorded",
            "a dumped conversation's Slack id and kind when its messages do not carry them: kept as a"
            " public channel named by the file",
            "reaction times (Slack has none)",
            "stars, bookmarks and search results as canonical data (kept in diagnostics only)",
        ),
    )
    version: ClassVar[str] = "1"

    @classmethod
    def detect(cls, tree: SourceTree) -> bool:
        if _roots(tree):
            return False  # an official export (users.json, channels.json…): the Slack reader's
        return any(entry_kind(tree, name) for name in tree.names() if "/" not in name)

    # -------------------------------------------------------------------------------
    def read(self, tree: SourceTree, out: ArchiveWriter, display: Display) -> None:
        state = self._start(tree, out)
        entries = {name: kind for name in tree.names() if (kind := entry_kind(tree, name))}
        chunk_files = [name for name, kind in entries.items() if kind == "chunks"]
        state.consumed.update(entries)

        scan = _Scan()
        self._scan(tree, entries, out, state, scan)
        self._users_pass(tree, chunk_files, out, state, scan)
        self._definitions_pass(tree, chunk_files, out, state, scan)

        task = display.task("slackdump entries", total=len(entries))
        for name, kind in entries.items():
            unit = f"entry:{name}"
            if not out.is_done(unit):
                if kind == "chunks":
                    self._read_chunks(tree, name, out, state, scan)
                else:
                    self._read_dump(tree, name, out, state, scan)
                out.complete(unit)
            task.advance()

        if not out.is_done("leftovers"):
            self._report_leftovers(tree, out, state)
            out.complete("leftovers")
        if not out.is_done("threads"):
            self._report_missing_roots(out)
            out.complete("threads")

    # -- pass 1: where each record comes last, names, the workspace ------------------------------
    def _scan(
        self, tree: SourceTree, entries: dict[str, str], out: ArchiveWriter, state: _State, scan: _Scan
    ) -> None:
        """Nothing is written here (``out`` only passes through, unused, to the array reader)."""
        user_team: str | None = None
        for entry, kind in entries.items():
            if kind == "dump":
                for where, raw, record in _records(tree, entry, out, state, "message", report=False):
                    cid, _ = dump_conversation(entry, record)
                    scan.note(cid, where, msgspec.Raw(raw))
                continue
            for line in _lines(tree, entry):
                if isinstance(line, _Broken) or line.type is None:
                    continue
                for record_kind, where, record in _keyed_records(line):
                    key = record["id"] if record_kind != "workspace" else _workspace_native(record)
                    # A file chunk's copy of the channel is context, at times an empty stub
                    # (an id and zeros): the channel's own info or list entry ranks first.
                    rank = 0 if record_kind == "conversation" and line.type == FILES else 1
                    scan.note_record(record_kind, key, where, record, rank)
                    if record_kind == "user" and user_team is None:
                        user_team = _str(record, "team_id")
                    elif record_kind == "workspace" and not scan.has_workspace_record:
                        scan.has_workspace_record = True
                        scan.team = _str(record, "team_id")
                    elif record_kind == "conversation":
                        scan.defined.add(key)
                        state.space_names[key] = _str(record, "name") or key
                        for pin in record.get("pins") or []:
                            if isinstance(pin, dict) and isinstance(pin.get("id"), str):
                                state.pins.add((key, pin["id"]))
                if line.cid is not None:
                    for where, raw in _message_slots(line):
                        scan.note(line.cid, where, raw)
        if not scan.has_workspace_record:
            scan.team = user_team
        state.workspace = scan.team

    def _other_copy(
        self,
        scan: _Scan,
        kind: str,
        key: str,
        where: str,
        record: dict[str, Any],
        raw: bytes,
        entity: str,
        out: ArchiveWriter,
        emit: bool,
    ) -> bool:
        """True for a copy of a record other than the one that becomes data: merged when it says
        the same, else kept in a diagnostic."""
        last = scan.earlier_copy(kind, key, where)
        if last is None:
            return False
        if emit and _digest(record) != last[1]:
            message = f"a copy of {kind} {key} that differs from the copy at {last[0]}, which is kept"
            out.diagnose(
                "slackdump.record_repeated", where, message, dropped="version", entity_id=entity, raw=raw
            )
        return True

    # -- pass 2: users ----------------------------------------------------------------------------
    def _users_pass(
        self, tree: SourceTree, chunk_files: list[str], out: ArchiveWriter, state: _State, scan: _Scan
    ) -> None:
        emit = not out.is_done("users")
        for entry in chunk_files:
            for line in _lines(tree, entry):
                if isinstance(line, _Broken) or line.type != USERS:
                    continue
                if not _shape_ok(line, "u"):
                    if emit:
                        self._bad_field(line, "u", out)
                    continue
                for index, raw in enumerate(_elements(line, "u") or []):
                    self._user(f"{line.where}/u/{index}", bytes(raw), out, state, scan, emit)
        if emit:
            out.complete("users")

    def _user(
        self, where: str, raw: bytes, out: ArchiveWriter, state: _State, scan: _Scan, emit: bool
    ) -> None:
        found = _identified(raw, where, "user", out, emit)
        if found is None:
            return
        record, uid = found
        if self._other_copy(scan, "user", uid, where, record, raw, ids.person_id(PLATFORM, uid), out, emit):
            return
        person = _person(uid, record, raw, where)
        state.user_names[uid] = person.display_name or person.name or uid
        bot_id = _obj(record, "profile").get("bot_id")
        if isinstance(bot_id, str):
            state.bot_users[bot_id] = uid
        state.persons.add(uid)
        if emit:
            out.add(person)

    # -- pass 3: the workspace, conversations and file records ------------------------------------
    def _definitions_pass(
        self, tree: SourceTree, chunk_files: list[str], out: ArchiveWriter, state: _State, scan: _Scan
    ) -> None:
        emit = not out.is_done("conversations")
        workspace = ids.space_id(PLATFORM, scan.team or "workspace")
        if emit and not scan.has_workspace_record:
            out.add(
                Space(
                    id=workspace,
                    platform=PLATFORM,
                    native_id=scan.team or "workspace",
                    kind=SpaceKind.WORKSPACE,
                    visibility=Visibility.PRIVATE,
                    name=scan.team,
                )
            )
        for entry in chunk_files:
            for line in _lines(tree, entry):
                if isinstance(line, _Broken) or line.type not in (CHANNELS, CHANNEL_INFO, FILES, WORKSPACE):
                    continue
                assert line.fields is not None
                for key in ("ch", "ci", "f", "w"):
                    if key in _DATA[line.type] and not _shape_ok(line, key) and emit:
                        self._bad_field(line, key, out)
                if line.type == WORKSPACE and _shape_ok(line, "w"):
                    record = _value(line, "w")
                    if isinstance(record, dict):
                        self._workspace(f"{line.where}/w", record, bytes(line.fields["w"]), out, scan, emit)
                for where, raw in _definitions(line):
                    self._conversation(where, bytes(raw), workspace, out, state, scan, emit)
                if line.type == FILES and _shape_ok(line, "f"):
                    for index, raw in enumerate(_elements(line, "f") or []):
                        self._file_record(f"{line.where}/f/{index}", bytes(raw), out, state, scan, emit)
        if emit:
            out.complete("conversations")

    def _workspace(
        self, where: str, record: dict[str, Any], raw: bytes, out: ArchiveWriter, scan: _Scan, emit: bool
    ) -> None:
        native = _workspace_native(record)
        space = ids.space_id(PLATFORM, native)
        if self._other_copy(scan, "workspace", native, where, record, raw, space, out, emit) or not emit:
            return
        out.add(
            Space(
                id=space,
                platform=PLATFORM,
                native_id=native,
                kind=SpaceKind.WORKSPACE,
                visibility=Visibility.PRIVATE,
                name=_str(record, "team") or _str(record, "team_id"),
                raw=raw,
                origin=where,
            )
        )

    def _conversation(
        self,
        where: str,
        raw: bytes,
        workspace: str,
        out: ArchiveWriter,
        state: _State,
        scan: _Scan,
        emit: bool,
    ) -> None:
        found = _identified(raw, where, "conversation", out, emit)
        if found is None:
            return
        record, cid = found
        space = ids.space_id(PLATFORM, cid)
        if self._other_copy(scan, "conversation", cid, where, record, raw, space, out, emit) or not emit:
            return
        kind, visibility = _kind(record)
        conversation = _Conversation(cid, where.partition("#")[0], kind, visibility, _str(record, "name"))
        self._emit_conversation(record, raw, where, conversation, workspace, out, state)

    def _file_record(
        self, where: str, raw: bytes, out: ArchiveWriter, state: _State, scan: _Scan, emit: bool
    ) -> None:
        record = msgspec.json.decode(raw)
        fid = record.get("id") if isinstance(record, dict) else None
        if not isinstance(fid, str) or not fid:
            if emit:
                out.diagnose("slack.invalid_record", where, "file without an id", dropped="file", raw=raw)
            return
        assert isinstance(record, dict)
        state.files_written.add(fid)  # a message sharing it links to this record, written here
        canonical = ids.file_id(PLATFORM, fid)
        if self._other_copy(scan, "file", fid, where, record, raw, canonical, out, emit) or not emit:
            return
        self._file(record, fid, canonical, where, out, state)

    # -- pass 4: messages, members, and whatever else the recording holds ---------------------------
    def _read_chunks(
        self, tree: SourceTree, entry: str, out: ArchiveWriter, state: _State, scan: _Scan
    ) -> None:
        for line in _lines(tree, entry):
            if isinstance(line, _Broken):
                out.diagnose(
                    "slackdump.truncated",
                    line.where,
                    f"{entry!r} breaks off at line {line.where.rpartition('#')[2]} ({line.message});"
                    " what follows is lost",
                    dropped="lines",
                )
                return
            if line.raw is None:
                out.diagnose("source.too_large", line.where, line.problem or "", dropped="chunk")
                continue
            if line.fields is None or line.type is None:
                code = "slackdump.invalid_line" if line.fields is None else "slackdump.invalid_chunk"
                out.diagnose(code, line.where, line.problem or "", dropped="chunk", raw=line.raw)
                continue
            if line.type not in _DATA:
                what = UNMODELLED.get(line.type, f"chunk type {line.type}")
                message = f"{what}: the model has no place for them; kept in this diagnostic"
                out.diagnose("slackdump.unmodelled_chunk", line.where, message, dropped="chunk", raw=line.raw)
                continue
            for key in sorted(line.fields.keys() - _HEADER - _DATA[line.type]):
                out.diagnose(
                    "slackdump.unknown_field",
                    f"{line.where}/{key}",
                    f"field {key!r} of a type {line.type} chunk is not modelled; kept in this diagnostic",
                    dropped="field",
                    raw=bytes(line.fields[key]),
                )
            if line.type in (HISTORY, REPLIES, FILES):
                for key in ("p", "m"):
                    if key in _DATA[line.type] and not _shape_ok(line, key):
                        self._bad_field(line, key, out)
                assert line.cid is not None
                for where, raw in _message_slots(line):
                    self._occurrence(line.cid, None, where, bytes(raw), out, state, scan)
            elif line.type == CHANNEL_USERS:
                self._members(line, out, state, scan)

    def _read_dump(
        self, tree: SourceTree, entry: str, out: ArchiveWriter, state: _State, scan: _Scan
    ) -> None:
        for where, raw, record in _records(tree, entry, out, state, "message", report=True):
            cid, name = dump_conversation(entry, record)
            self._occurrence(cid, name, where, raw, out, state, scan, record=record)

    def _occurrence(
        self,
        cid: str,
        dump_name: str | None,
        where: str,
        raw: bytes,
        out: ArchiveWriter,
        state: _State,
        scan: _Scan,
        *,
        record: Any = None,
    ) -> None:
        """One copy of a message: written when it is its last copy, else merged or kept in a diagnostic."""
        if record is None:
            record = msgspec.json.decode(raw)
        if not isinstance(record, dict):
            message = f"message record is {type(record).__name__}, not an object"
            out.diagnose("slack.invalid_record", where, message, dropped="message", raw=raw)
            return
        ts = record.get("ts")
        if not isinstance(ts, str) or not _TS.match(ts):
            out.diagnose("slack.missing_ts", where, "message without a valid ts", dropped="message", raw=raw)
            return
        item = ids.item_id(PLATFORM, cid, ts)
        last = scan.last.get((cid, ts))
        if last is not None and last.where != where:
            digest, loose = _digests(record)
            if digest == last.digest:
                return  # the same message again (a thread's parent with its replies…): merged
            if loose == last.loose:
                code = "slackdump.message_repeated"
                message = f"an earlier copy of message {ts} differing only in its thread bookkeeping; the copy at {last.where} is kept"
            else:
                code = "slackdump.message_conflict"
                message = f"an earlier copy of message {ts} that differs from the copy at {last.where}, which is kept"
            out.diagnose(code, where, message, dropped="version", entity_id=item, raw=raw)
            return
        conversation = self._space(cid, dump_name, where, out, state, scan)
        self._message(record, raw, ts, ts_to_micros(ts), where, conversation, out, state)

    def _space(
        self, cid: str, dump_name: str | None, where: str, out: ArchiveWriter, state: _State, scan: _Scan
    ) -> _Conversation:
        """The conversation, its space written (as a placeholder when the source never defines it)."""
        conversation = scan.conversations.get(cid)
        if conversation is not None:
            return conversation
        entry = where.partition("#")[0]
        if cid in scan.defined:
            conversation = _Conversation(cid, entry, SpaceKind.PUBLIC_CHANNEL, Visibility.PUBLIC, None)
        else:
            if dump_name is not None and cid.startswith("file:"):
                kind, visibility = SpaceKind.PUBLIC_CHANNEL, Visibility.PUBLIC
                name: str | None = dump_name
                raw = msgspec.json.encode(dump_name)
                message = (
                    f"conversation {dump_name!r} is known only by the name of {entry!r}: its Slack id and"
                    " kind are unknown; kept as a public channel"
                )
            else:
                kind, visibility = {
                    "D": (SpaceKind.DIRECT_MESSAGE, Visibility.PRIVATE),
                    "G": (SpaceKind.PRIVATE_CHANNEL, Visibility.PRIVATE),
                }.get(cid[:1], (SpaceKind.PUBLIC_CHANNEL, Visibility.PUBLIC))
                name = None
                raw = msgspec.json.encode(cid)
                message = (
                    f"conversation {cid} is not described in the source; kept as a {kind.value}"
                    " (kind guessed from its id)"
                )
            conversation = _Conversation(cid, entry, kind, visibility, name)
            space = ids.space_id(PLATFORM, cid)
            # A conversation another source defined stays as that source says.
            if not out.query("SELECT 1 FROM spaces WHERE id = ?", (space,)):
                out.add(
                    Space(
                        id=space,
                        platform=PLATFORM,
                        native_id=cid,
                        kind=kind,
                        visibility=visibility,
                        name=name,
                        parent_id=ids.space_id(PLATFORM, scan.team or "workspace"),
                        raw=raw,
                        origin=entry if dump_name is not None else where,
                    )
                )
                out.diagnose("slackdump.unknown_conversation", entry if dump_name else where, message)
            if name:
                state.space_names.setdefault(cid, name)
        scan.conversations[cid] = conversation
        return conversation

    def _members(self, line: _Line, out: ArchiveWriter, state: _State, scan: _Scan) -> None:
        if not _shape_ok(line, "cu"):
            self._bad_field(line, "cu", out)
            return
        assert line.cid is not None
        members = _elements(line, "cu") or []
        if members:
            self._space(line.cid, None, line.where, out, state, scan)
        space = ids.space_id(PLATFORM, line.cid)
        for index, raw in enumerate(members):
            member = msgspec.json.decode(raw)
            if not isinstance(member, str) or not member:
                out.diagnose(
                    "slack.invalid_record",
                    f"{line.where}/cu/{index}",
                    f"member {member!r} of {line.cid} is not a user id",
                    dropped="membership",
                    raw=bytes(raw),
                )
                continue
            person = self._ensure_person(member, line.where, out, state)
            out.add(Membership(space_id=space, person_id=person, origin=line.where))

    def _bad_field(self, line: _Line, key: str, out: ArchiveWriter) -> None:
        assert line.fields is not None
        shape, dropped = _SHAPES[key]
        out.diagnose(
            "slackdump.invalid_chunk",
            f"{line.where}/{key}",
            f"field {key!r} of a type {line.type} chunk is not a JSON {'array' if shape is list else 'object'};"
            " kept in this diagnostic",
            dropped=dropped,
            raw=bytes(line.fields[key]),
        )
