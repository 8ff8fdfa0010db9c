"""The Slack export reader: a zip or a folder, standard, Enterprise Grid and slackdump layouts.

Every record of the export becomes canonical data or a diagnostic: users, the four
conversation lists, every message of every day file (every subtype kept as an item),
reactions with every user, files (bytes when the export has them), pins, mentions,
links and emoji. Threads are rebuilt from ``thread_ts`` alone, so replies that sit in
later day files than their root are placed correctly. The exact ``ts`` string is the
message's identity; the verbatim bytes of every record are kept as its raw form.

Reference: ../shared/reference/formats-chat.md §1 and §2.
"""

from __future__ import annotations

import calendar
import dataclasses
import itertools
import os
import re
from array import array
from bisect import bisect_left
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, ClassVar

import msgspec

from passerelle.archive.blobs import BlobWriter, LocalBlobStore
from passerelle.archive.writer import ArchiveWriter
from passerelle.model import ids
from passerelle.model.entities import (
    Body,
    File,
    Item,
    ItemFile,
    ItemKind,
    Membership,
    Person,
    Reaction,
    Reference,
    RefKind,
    Revision,
    Space,
    SpaceKind,
    Visibility,
)
from passerelle.progress import Display
from passerelle.readers import slack_mrkdwn
from passerelle.readers.base import FormatInfo, Sink
from passerelle.readers.recording import Event, Recording
from passerelle.readers.source_tree import EntryError, SourceTree, repair_utf8

PLATFORM = "slack"
BODY_FORMAT = "slack-mrkdwn"

_DAY_FILE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})\.json$")
_TS = re.compile(r"^\d{1,12}\.\d{1,9}$")
_UPLOAD = re.compile(r"^(?:.*/)?__uploads/([A-Z0-9]+)/[^/]+$")
_ATTACHMENT = re.compile(r"^.+/attachments/([A-Z0-9]+)-[^/]+$")
_FIRST_VALID_CREATED = 1_356_998_400  # Slack writes placeholders such as 1 for DMs (2013-01-01)

# Conversation lists, in the order they are read, with the kind each declares.
_CONVERSATION_FILES: tuple[tuple[str, SpaceKind, Visibility], ...] = (
    ("channels.json", SpaceKind.PUBLIC_CHANNEL, Visibility.PUBLIC),
    ("groups.json", SpaceKind.PRIVATE_CHANNEL, Visibility.PRIVATE),
    ("mpims.json", SpaceKind.GROUP_MESSAGE, Visibility.PRIVATE),
    ("dms.json", SpaceKind.DIRECT_MESSAGE, Visibility.PRIVATE),
)
_USER_FILES = ("users.json", "org_users.json")

# System messages: kept as items of kind "event".
EVENT_SUBTYPES = frozenset(
    [
        "channel_join",
        "channel_leave",
        "channel_topic",
        "channel_purpose",
        "channel_name",
        "channel_archive",
        "channel_unarchive",
        "channel_posting_permissions",
        "channel_convert_to_private",
        "channel_convert_to_public",
        "group_join",
        "group_leave",
        "group_topic",
        "group_purpose",
        "group_name",
        "group_archive",
        "group_unarchive",
        "pinned_item",
        "unpinned_item",
        "bot_add",
        "bot_remove",
        "bot_enable",
        "bot_disable",
        "joiner_notification",
        "emoji_changed",
        "sh_room_created",
        "reminder_add",
        "ekm_access_denied",
        "app_conversation_leave",
        "app_conversation_join",
        "channel_canvas_updated",
        "tabbed_canvas_updated",
        "message_changed",
        "message_deleted",
        "message_replied",
        "assistant_app_thread",
    ]
)
MESSAGE_SUBTYPES = frozenset(
    [
        "bot_message",
        "me_message",
        "thread_broadcast",
        "file_share",
        "file_comment",
        "file_mention",
        "tombstone",
        "slackbot_response",
        "huddle_thread",
        "share_shortcut",
        "reply_broadcast",
    ]
)
KNOWN_MESSAGE_FIELDS = frozenset(
    [
        "type",
        "subtype",
        "ts",
        "user",
        "text",
        "team",
        "user_team",
        "source_team",
        "client_msg_id",
        "user_profile",
        "blocks",
        "attachments",
        "files",
        "file",
        "upload",
        "reactions",
        "edited",
        "pinned_to",
        "thread_ts",
        "parent_user_id",
        "reply_count",
        "reply_users_count",
        "latest_reply",
        "reply_users",
        "replies",
        "subscribed",
        "last_read",
        "is_locked",
        "unread_count",
        "bot_id",
        "bot_profile",
        "username",
        "icons",
        "display_as_bot",
        "metadata",
        "hidden",
        "root",
        "topic",
        "purpose",
        "name",
        "old_name",
        "comment",
        "is_starred",
        "message",
        "previous_message",
        "deleted_ts",
        "room",
        "no_notifications",
        "permalink",
        "inviter",
        "is_intro",
        "channel",
        "channel_type",
        "edited_ts",
        "x_files",
        "is_thread_root",
        "app_id",
        "bot_link",
        "item",
        "item_type",
        "replace_original",
        "delete_original",
        "is_delete_original",
        "passerelle",  # what passerelle's Slack writer adds to a message it built: kept in raw
    ]
)
SLACKBOT = "USLACKBOT"


def ts_to_micros(ts: str) -> int:
    """Exact integer microseconds of a Slack ``ts`` (no float rounding)."""
    seconds, _, fraction = ts.partition(".")
    return int(seconds) * 1_000_000 + int((fraction + "000000")[:6])


def _created(value: Any) -> int | None:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return seconds * 1_000_000 if seconds >= _FIRST_VALID_CREATED else None


def _str(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    return value if isinstance(value, str) and value else None


def _obj(record: dict[str, Any], key: str) -> dict[str, Any]:
    value = record.get(key)
    return value if isinstance(value, dict) else {}


def _text_of(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("value")
    return value if isinstance(value, str) and value else None


@dataclass
class _Conversation:
    native_id: str
    folder: str  # path of its folder of day files, prefix included
    kind: SpaceKind
    visibility: Visibility
    name: str | None


@dataclass
class _State:
    """What the reader keeps across units. Bounded by users, conversations and files, never messages."""

    tree: SourceTree
    persons: set[str] = field(default_factory=set)  # native ids written (defined or placeholder)
    user_names: dict[str, str] = field(default_factory=dict)
    space_names: dict[str, str] = field(default_factory=dict)
    bot_users: dict[str, str] = field(default_factory=dict)  # bot_id -> user id
    pins: set[tuple[str, str]] = field(default_factory=set)
    files_written: set[str] = field(default_factory=set)
    uploads: dict[str, str] = field(default_factory=dict)  # file id -> entry holding its bytes
    consumed: set[str] = field(default_factory=set)  # entries the reader interpreted, day files aside
    day_folders: set[str] = field(default_factory=set)  # every day file in these is read
    reported: set[str] = field(default_factory=set)  # one-per-source diagnostics already given
    workspace: str | None = None

    def name_of(self, kind: RefKind, native: str) -> str | None:
        """How a mention reads in the normalised body: the person's or the channel's name."""
        return self.user_names.get(native) if kind is RefKind.PERSON else self.space_names.get(native)


class SlackReader:
    info: ClassVar[FormatInfo] = FormatInfo(
        name="slack",
        platform=PLATFORM,
        description="Slack workspace export (zip or folder; standard, Enterprise Grid, slackdump layouts)",
        keeps=(
            "users, bots, deleted and guest users; users referenced but undefined (placeholders)",
            "public and private channels, DMs, group DMs, with members, topic, purpose, archived flag",
            "every message and subtype with its exact ts, text, blocks and raw record",
            "threads from thread_ts across day files, thread_broadcast, tombstones",
            "edits (edited user and ts), message_changed history as revisions",
            "reactions with every listed user and skin tone; pins (pinned_to and channel pins)",
            "files: metadata always, bytes when the export holds them (slackdump layouts)",
            "mentions, channel links, @here/@channel/@everyone, user groups, dates, links, emoji",
        ),
        cannot_carry=(
            "file bytes absent from the export (Slack exports hold links only): reason recorded",
            "reaction times (Slack exports have none)",
            "reactors beyond the users Slack lists for a reaction (count kept in raw)",
            "edit history beyond the last edit, unless message_changed events are present",
        ),
    )
    version: ClassVar[str] = "1"

    @classmethod
    def detect(cls, tree: SourceTree) -> bool:
        return bool(_roots(tree))

    # -------------------------------------------------------------------------------
    def read(self, tree: SourceTree, out: ArchiveWriter, display: Display) -> None:
        state = self._start(tree, out)
        roots = _roots(tree)

        self._read_users(tree, roots, out, state)
        conversations = self._read_conversations(tree, roots, out, state)

        folders = self._folders(tree, conversations)
        task = display.task("Slack conversations", total=len(folders))
        chunks: list[_Chunk] = []
        for folder, day_files in folders.items():
            conversation = conversations.get(folder) or self._unlisted(folder, out, state)
            state.day_folders.add(folder)
            unit = f"conversation:{folder}"
            if out.is_done(unit):
                task.advance()
                continue
            chunks += _chunks(tree, unit, conversation, day_files)
        seen = _SeenTimes()
        for chunk, events in self._parse(chunks, out, state):
            if chunk.first:
                seen = _SeenTimes()
            self._replay(events, out, state, seen)
            if chunk.last:
                out.complete(chunk.unit)
                task.advance()

        if not out.is_done("leftovers"):
            self._report_leftovers(tree, out, state)
            out.complete("leftovers")
        if not out.is_done("threads"):
            self._report_missing_roots(out)
            out.complete("threads")

    @staticmethod
    def _start(tree: SourceTree, out: ArchiveWriter) -> _State:
        """The reader's state before the first unit: placeholders an interrupted run already
        made (so they are not reported twice) and where each file's bytes are."""
        state = _State(tree)
        state.persons |= {
            row[0]
            for row in out.query(
                "SELECT native_id FROM persons WHERE platform = ? AND is_placeholder = 1", (PLATFORM,)
            )
        }
        for name in tree.names():
            match = _UPLOAD.match(name) or _ATTACHMENT.match(name)
            if match:
                state.uploads.setdefault(match.group(1), name)
        return state

    # -- conversations in chunks, in this process or in a pool -------------------------
    PARALLEL_MIN_BYTES: ClassVar[int] = 24 << 20  # below this, a pool costs more than it saves

    def _parse(
        self, chunks: list[_Chunk], out: ArchiveWriter, state: _State
    ) -> Iterator[tuple[_Chunk, list[Event]]]:
        """Parse chunks into recordings, yielded in order; in worker processes for large exports."""
        context = _Context.of(state, out)
        workers = min(len(os.sched_getaffinity(0)), 4)
        if workers < 2 or sum(c.size for c in chunks) < self.PARALLEL_MIN_BYTES:
            _worker_init(context)
            try:
                for chunk in chunks:
                    yield chunk, _worker_parse(chunk, state.tree.subset(chunk.entries))
            finally:
                _worker_done()
            return
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=get_context("forkserver"), initializer=_worker_init,
            initargs=(context,),
        )  # fmt: skip
        try:
            pending: deque[tuple[_Chunk, Future[list[Event]]]] = deque()
            todo = iter(chunks)
            # A bounded window of chunks in flight keeps memory flat, whatever the export's size.
            # Each chunk travels with the index of its own entries: a worker never lists the export.
            for chunk in itertools.islice(todo, workers + 1):
                pending.append((chunk, pool.submit(_worker_parse, chunk, state.tree.subset(chunk.entries))))
            while pending:
                chunk, future = pending.popleft()
                events = future.result()
                for following in itertools.islice(todo, 1):
                    subset = state.tree.subset(following.entries)
                    pending.append((following, pool.submit(_worker_parse, following, subset)))
                yield chunk, events
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _replay(self, events: list[Event], out: ArchiveWriter, state: _State, seen: _SeenTimes) -> None:
        """Write a recording, taking in order the decisions that depend on the whole source.

        A worker marks a person, a notice or a file the first time *it* meets them, and never
        again; so those marks are acted on here even inside a message or a file whose own rows
        are skipped (a duplicate message, a file already written), or a later use would point
        at a row never written.
        """
        duplicate = False  # inside a message whose ts the conversation already had
        file_group = False  # inside the first record of a file, as this worker met it
        known_file = False  # ... of a file already written from an earlier chunk
        for event in events:
            kind = event[0]
            if kind == "row" or kind == "diagnostic":
                if known_file or (duplicate and not file_group):
                    continue
                if kind == "row":
                    out.add_row(event[1], event[2])
                else:
                    out.add_diagnostic(event[1])
            elif kind == "message":
                _, created, where, raw = event
                duplicate = not seen.add(created)
                if duplicate:
                    message = f"a second message with the ts of an earlier one in {where.rpartition('/')[0]}"
                    out.diagnose("slack.duplicate_ts", where, message, dropped="message", raw=raw)
            elif kind == "message_end":
                duplicate = False
            elif kind == "file":
                file_group, known_file = True, event[1] in state.files_written
                state.files_written.add(event[1])
            elif kind == "file_end":
                file_group = known_file = False
            elif kind == "person":
                self._ensure_person(event[1], event[2], out, state, bot=event[3])
            elif kind == "once":
                self._once(out, state, *event[1:])
            elif kind == "consumed":
                state.consumed.add(event[1])

    # -- persons ------------------------------------------------------------------------
    def _read_users(self, tree: SourceTree, roots: list[str], out: ArchiveWriter, state: _State) -> None:
        emit = not out.is_done("users")
        for prefix in roots:
            for fname in _USER_FILES:
                entry = prefix + fname
                for where, raw, record in _records(tree, entry, out, state, "user", report=emit):
                    uid = record.get("id")
                    if not isinstance(uid, str) or not uid:
                        if emit:
                            out.diagnose(
                                "slack.missing_id", where, "user without an id", dropped="user", raw=raw
                            )
                        continue
                    person = _person(uid, record, raw, where)
                    state.user_names[uid] = person.display_name or person.name or uid
                    profile = _obj(record, "profile")
                    bot_id = (profile or {}).get("bot_id")
                    if isinstance(bot_id, str):
                        state.bot_users[bot_id] = uid
                    if state.workspace is None and isinstance(record.get("team_id"), str):
                        state.workspace = record["team_id"]
                    state.persons.add(uid)
                    if emit:
                        out.add(person)
        if emit:
            out.complete("users")

    def _ensure_person(self, uid: str, where: str, out: Sink, state: _State, *, bot: bool = False) -> str:
        if uid not in state.persons:
            state.persons.add(uid)
            if isinstance(out, Recording):
                out.mark("person", uid, where, bot)  # decided when replayed, in the source's order
            elif uid == SLACKBOT:
                out.add(
                    Person(
                        id=ids.person_id(PLATFORM, uid),
                        platform=PLATFORM,
                        native_id=uid,
                        name="slackbot",
                        is_bot=True,
                        origin="slack:builtin",
                    )
                )
            else:
                out.add(
                    Person(
                        id=ids.person_id(PLATFORM, uid),
                        platform=PLATFORM,
                        native_id=uid,
                        is_bot=bot,
                        is_placeholder=True,
                        origin=where,
                    )
                )
                code, what = ("slack.unknown_bot", "bot") if bot else ("slack.unknown_user", "user")
                out.diagnose(
                    code,
                    where,
                    f"{what} {uid} is used but not defined; a placeholder person was made",
                    entity_id=ids.person_id(PLATFORM, uid),
                )
        return ids.person_id(PLATFORM, uid)

    # -- conversations --------------------------------------------------------------------
    def _read_conversations(
        self, tree: SourceTree, roots: list[str], out: ArchiveWriter, state: _State
    ) -> dict[str, _Conversation]:
        emit = not out.is_done("conversations")
        conversations: dict[str, _Conversation] = {}
        workspace_native = state.workspace or "workspace"
        workspace = ids.space_id(PLATFORM, workspace_native)
        if emit:
            out.add(
                Space(
                    id=workspace,
                    platform=PLATFORM,
                    native_id=workspace_native,
                    kind=SpaceKind.WORKSPACE,
                    visibility=Visibility.PRIVATE,
                    name=state.workspace,
                )
            )
        for prefix in roots:
            for fname, kind, visibility in _CONVERSATION_FILES:
                entry = prefix + fname
                for where, raw, record in _records(tree, entry, out, state, "conversation", report=emit):
                    cid = record.get("id")
                    if not isinstance(cid, str) or not cid:
                        if emit:
                            out.diagnose(
                                "slack.missing_id",
                                where,
                                "conversation without an id",
                                dropped="conversation",
                                raw=raw,
                            )
                        continue
                    name = _str(record, "name")
                    folder = prefix + (cid if kind is SpaceKind.DIRECT_MESSAGE or not name else name)
                    conversations[folder] = _Conversation(cid, folder, kind, visibility, name)
                    state.space_names[cid] = name or cid
                    for pin in record.get("pins") or []:
                        if isinstance(pin, dict) and isinstance(pin.get("id"), str):
                            state.pins.add((cid, pin["id"]))
                    if emit:
                        self._emit_conversation(
                            record, raw, where, conversations[folder], workspace, out, state
                        )
        if emit:
            out.complete("conversations")
        return conversations

    def _emit_conversation(
        self,
        record: dict[str, Any],
        raw: bytes,
        where: str,
        conv: _Conversation,
        workspace: str,
        out: ArchiveWriter,
        state: _State,
    ) -> None:
        space = ids.space_id(PLATFORM, conv.native_id)
        creator = record.get("creator")
        creator_id = (
            self._ensure_person(creator, where, out, state) if isinstance(creator, str) and creator else None
        )
        out.add(
            Space(
                id=space,
                platform=PLATFORM,
                native_id=conv.native_id,
                kind=conv.kind,
                visibility=conv.visibility,
                name=conv.name,
                topic=_text_of(record.get("topic")),
                purpose=_text_of(record.get("purpose")),
                parent_id=workspace,
                created_at=_created(record.get("created")),
                creator_id=creator_id,
                is_archived=bool(record.get("is_archived")),
                raw=raw,
                origin=where,
            )
        )
        members = record.get("members")
        if members is None and "members" in record:
            out.diagnose("slack.null_members", where, f"members of {conv.native_id} are null in the export")
        for member in members if isinstance(members, list) else []:
            if not isinstance(member, str) or not member:
                message = f"member {member!r} of {conv.native_id} is not a user id"
                out.diagnose(
                    "slack.invalid_record",
                    where,
                    message,
                    dropped="membership",
                    raw=msgspec.json.encode(member),
                )
            else:
                person = self._ensure_person(member, where, out, state)
                out.add(
                    Membership(
                        space_id=space,
                        person_id=person,
                        role="owner" if member == creator else "member",
                        origin=where,
                    )
                )

    def _unlisted(self, folder: str, out: ArchiveWriter, state: _State) -> _Conversation:
        name = folder.rpartition("/")[2]
        # A DM folder is named by its id; anything else by the channel's name.
        is_dm = bool(re.fullmatch(r"D[A-Z0-9]{6,}", name))
        kind = SpaceKind.DIRECT_MESSAGE if is_dm else SpaceKind.PUBLIC_CHANNEL
        visibility = Visibility.PRIVATE if is_dm else Visibility.PUBLIC
        native = name if is_dm else f"folder:{folder}"
        conversation = _Conversation(native, folder, kind, visibility, None if is_dm else name)
        if not out.is_done(f"conversation:{folder}"):
            out.add(
                Space(
                    id=ids.space_id(PLATFORM, native),
                    platform=PLATFORM,
                    native_id=native,
                    kind=kind,
                    visibility=visibility,
                    name=conversation.name,
                    origin=folder,
                )
            )
            out.diagnose(
                "slack.unlisted_conversation",
                folder,
                f"folder {folder!r} is in no conversation list; kept as a {kind.value}",
            )
        return conversation

    def _folders(self, tree: SourceTree, conversations: dict[str, _Conversation]) -> dict[str, list[str]]:
        folders: dict[str, list[str]] = {}
        for name in tree.names():
            folder, _, fname = name.rpartition("/")
            # Attachments are named "<file id>-<name>", never like a day; but uploads keep
            # their own names, so a file called "2020-01-01.json" may sit under __uploads.
            if folder and _DAY_FILE.match(fname) and "__uploads" not in folder.split("/"):
                folders.setdefault(folder, []).append(name)
        return folders

    # -- messages ------------------------------------------------------------------------
    def _read_day_file(
        self, tree: SourceTree, entry: str, conv: _Conversation, out: Sink, state: _State
    ) -> None:
        day = _DAY_FILE.match(entry.rpartition("/")[2])
        assert day is not None
        day_text = "-".join(day.groups())
        year, month, mday = (int(g) for g in day.groups())
        day_start = calendar.timegm((year, month, mday, 0, 0, 0))
        for where, raw, record in _records(tree, entry, out, state, "message", report=True):
            ts = record.get("ts")
            if not isinstance(ts, str) or not _TS.match(ts):
                out.diagnose(
                    "slack.missing_ts", where, "message without a valid ts", dropped="message", raw=raw
                )
                continue
            created = ts_to_micros(ts)
            if isinstance(out, Recording):
                # Whether this ts was seen before in the conversation is decided at replay,
                # where all of the conversation's chunks pass in order.
                out.mark("message", created, where, raw)
            # Slack splits day files by the workspace's local day: allow a time zone's offset.
            if abs(created // 1_000_000 - day_start - 43_200) > 43_200 + 14 * 3600:
                out.diagnose("slack.ts_outside_day_file", where, f"ts {ts} is not on {day_text}")
            self._message(record, raw, ts, created, where, conv, out, state)
            if isinstance(out, Recording):
                out.mark("message_end")

    def _message(
        self,
        m: dict[str, Any],
        raw: bytes,
        ts: str,
        created: int,
        where: str,
        conv: _Conversation,
        out: Sink,
        state: _State,
    ) -> None:
        space = ids.space_id(PLATFORM, conv.native_id)
        item = ids.item_id(PLATFORM, conv.native_id, ts)
        subtype = _str(m, "subtype")
        if subtype and subtype not in EVENT_SUBTYPES and subtype not in MESSAGE_SUBTYPES:
            self._once(
                out,
                state,
                f"subtype:{subtype}",
                "slack.unknown_subtype",
                where,
                f"subtype {subtype!r} is not known; kept as a message",
            )
        for key in m.keys() - KNOWN_MESSAGE_FIELDS:
            self._once(
                out,
                state,
                f"field:{key}",
                "slack.unknown_field",
                where,
                f"field {key!r} is not modelled; kept in the raw record",
            )

        author = self._author(m, where, out, state)
        edited = _obj(m, "edited") or None
        edited_native = edited.get("ts") if edited and isinstance(edited.get("ts"), str) else None
        editor = edited.get("user") if edited else None
        thread_ts = m.get("thread_ts")
        root = None
        if isinstance(thread_ts, str) and thread_ts != ts and _TS.match(thread_ts):
            root = ids.item_id(PLATFORM, conv.native_id, thread_ts)
        text = _str(m, "text") or ""

        normalised, refs = slack_mrkdwn.parse(text, state.name_of)
        references = []
        for ref in refs:
            target_id = None
            if ref.kind is RefKind.PERSON:
                target_id = self._ensure_person(ref.target, where, out, state)
            elif ref.kind is RefKind.SPACE:
                target_id = ids.space_id(PLATFORM, ref.target)
            references.append(
                Reference(kind=ref.kind, target=ref.target, target_id=target_id, label=ref.label)
            )
        out.add(
            Item(
                id=item,
                platform=PLATFORM,
                native_id=ts,
                kind=ItemKind.EVENT if subtype in EVENT_SUBTYPES else ItemKind.MESSAGE,
                space_id=space,
                subtype=subtype,
                author_id=author,
                created_at=created,
                created_native=ts,
                edited_at=ts_to_micros(edited_native) if edited_native and _TS.match(edited_native) else None,
                edited_native=edited_native,
                edited_by_id=self._ensure_person(editor, where, out, state)
                if isinstance(editor, str) and editor
                else None,
                deleted=subtype == "tombstone",
                thread_root_id=root,
                parent_id=root,
                also_in_channel=root is not None and subtype in ("thread_broadcast", "reply_broadcast"),
                pinned=bool(m.get("pinned_to")) or (conv.native_id, ts) in state.pins,
                body=Body(
                    format=BODY_FORMAT, source=text, normalised=normalised, references=tuple(references)
                ),
                raw=raw,
                origin=where,
            )
        )
        self._reactions(m, item, where, out, state)
        self._files(m, item, where, out, state)
        if subtype == "message_changed":
            self._history(m, conv, where, out, state)

    def _author(self, m: dict[str, Any], where: str, out: Sink, state: _State) -> str | None:
        user = m.get("user")
        if isinstance(user, str) and user:
            return self._ensure_person(user, where, out, state)
        bot_id = m.get("bot_id")
        if isinstance(bot_id, str) and bot_id:
            if bot_id in state.bot_users:
                return self._ensure_person(state.bot_users[bot_id], where, out, state)
            return self._ensure_person(bot_id, where, out, state, bot=True)
        return None

    def _reactions(self, m: dict[str, Any], item: str, where: str, out: Sink, state: _State) -> None:
        reactions = m.get("reactions")
        if not isinstance(reactions, list):
            return
        for index, reaction in enumerate(reactions):
            users = reaction.get("users") if isinstance(reaction, dict) else None
            name = reaction.get("name") if isinstance(reaction, dict) else None
            if not isinstance(name, str) or not isinstance(users, list):
                out.diagnose(
                    "slack.invalid_record",
                    f"{where}/reactions/{index}",
                    "reaction without name or users",
                    dropped="reaction",
                    raw=msgspec.json.encode(reaction),
                )
                continue
            for user in dict.fromkeys(u for u in users if isinstance(u, str) and u):
                out.add(
                    Reaction(item_id=item, person_id=self._ensure_person(user, where, out, state), emoji=name)
                )
            count = reaction.get("count")
            if isinstance(count, int) and count > len(users):
                out.diagnose(
                    "slack.reaction_users_truncated",
                    f"{where}/reactions/{index}",
                    f":{name}: has count {count} but lists {len(users)} users",
                )

    def _files(self, m: dict[str, Any], item: str, where: str, out: Sink, state: _State) -> None:
        files = m.get("files")
        if not isinstance(files, list):
            files = [m["file"]] if isinstance(m.get("file"), dict) else []
        for position, f in enumerate(files):
            fid = f.get("id") if isinstance(f, dict) else None
            if not isinstance(fid, str) or not fid:
                out.diagnose(
                    "slack.invalid_record",
                    f"{where}/files/{position}",
                    "file without an id",
                    dropped="file",
                    raw=msgspec.json.encode(f),
                )
                continue
            canonical = ids.file_id(PLATFORM, fid)
            if fid not in state.files_written:
                state.files_written.add(fid)
                # A file shared in several conversations is written once: the first, in order.
                if isinstance(out, Recording):
                    out.mark("file", fid)
                self._file(f, fid, canonical, f"{where}/files/{position}", out, state)
                if isinstance(out, Recording):
                    out.mark("file_end")
            out.add(ItemFile(item_id=item, file_id=canonical, position=position))

    def _file(
        self, f: dict[str, Any], fid: str, canonical: str, where: str, out: Sink, state: _State
    ) -> None:
        sha256 = missing = None
        declared = f.get("size") if isinstance(f.get("size"), int) else None
        entry = state.uploads.get(fid)
        if entry is not None:
            try:
                with state.tree.open_entry(entry) as stream:
                    sha256, size = out.put_blob(stream, size=state.tree.size(entry))
                state.consumed.add(entry)
                if isinstance(out, Recording):
                    out.mark("consumed", entry)
                if declared is not None and declared != size:
                    out.diagnose(
                        "slack.file_size_mismatch",
                        entry,
                        f"file {fid}: {size} bytes in the export, {declared} declared",
                        entity_id=canonical,
                    )
            except (EntryError, OSError, EOFError, ValueError) as exc:
                missing = f"unreadable in the export: {exc}"
        else:
            mode = f.get("mode")
            missing = {
                "tombstone": "deleted in Slack before the export",
                "hidden_by_limit": "hidden by the Slack plan's history limit",
                "external": "an external link, not a Slack file",
            }.get(mode if isinstance(mode, str) else "", "not in the export (Slack exports hold links only)")
            if isinstance(f.get("file_access"), str):
                missing = f"not accessible at export time ({f['file_access']})"
        if missing:
            out.diagnose("slack.file_bytes_missing", where, f"file {fid}: {missing}", entity_id=canonical)
        user = f.get("user")
        created = f.get("created")
        out.add(
            File(
                id=canonical,
                platform=PLATFORM,
                native_id=fid,
                name=_str(f, "name"),
                title=_str(f, "title"),
                media_type=_str(f, "mimetype"),
                size=declared,
                sha256=sha256,
                missing_reason=missing,
                url=_str(f, "url_private"),
                author_id=self._ensure_person(user, where, out, state)
                if isinstance(user, str) and user
                else None,
                created_at=created * 1_000_000 if isinstance(created, int) else None,
                raw=msgspec.json.encode(f),
                origin=where,
            )
        )

    def _history(self, m: dict[str, Any], conv: _Conversation, where: str, out: Sink, state: _State) -> None:
        """A message_changed event carries the message before and after: two revisions of its target."""
        new, old = m.get("message"), m.get("previous_message")
        if not isinstance(new, dict) or not isinstance(new.get("ts"), str):
            return
        target = ids.item_id(PLATFORM, conv.native_id, new["ts"])
        for version in (old, new):
            if not isinstance(version, dict):
                continue
            edited = _obj(version, "edited")
            native = edited.get("ts") if isinstance(edited.get("ts"), str) else version.get("ts")
            if not isinstance(native, str) or not _TS.match(native):
                continue
            text = _str(version, "text") or ""
            user = edited.get("user") or version.get("user")
            out.add(
                Revision(
                    id=ids.revision_id(target, native),
                    item_id=target,
                    native_id=native,
                    author_id=self._ensure_person(user, where, out, state)
                    if isinstance(user, str) and user
                    else None,
                    created_at=ts_to_micros(native),
                    body=Body(
                        format=BODY_FORMAT,
                        source=text,
                        normalised=slack_mrkdwn.parse(text, state.name_of)[0],
                    ),
                    raw=msgspec.json.encode(version),
                    origin=where,
                )
            )

    # -- accounting ------------------------------------------------------------------------
    def _report_leftovers(self, tree: SourceTree, out: ArchiveWriter, state: _State) -> None:
        # A resumed run skipped the units that read some uploads: the archive knows they were read.
        for (native,) in out.query(
            "SELECT native_id FROM files WHERE source_id = ? AND sha256 IS NOT NULL", (out.source_id,)
        ):
            entry = state.uploads.get(native)
            if entry is not None:
                state.consumed.add(entry)
        for problem in tree.problems:
            out.diagnose(problem.code, problem.entry, problem.message, dropped=problem.dropped)
        for name in tree.names():
            folder, _, fname = name.rpartition("/")
            if name in state.consumed or (folder in state.day_folders and _DAY_FILE.match(fname)):
                continue
            code = "source.unrecognised_entry"
            if fname.endswith(".json") and folder and "__uploads" not in name and "/attachments/" not in name:
                code = "slack.not_a_day_file"
            try:
                with tree.open_entry(name) as stream:
                    sha, size = out.put_blob(stream, size=tree.size(name))
            except EntryError as exc:
                out.diagnose(exc.code, name, str(exc), dropped="entry")
                continue
            out.diagnose(code, name, f"{name!r} ({size} bytes) is not interpreted; kept as blob sha256:{sha}")

    def _report_missing_roots(self, out: ArchiveWriter) -> None:
        rows = out.query(
            "SELECT r.thread_root_id, min(r.origin), count(*) FROM items r WHERE r.source_id = ?"
            " AND r.thread_root_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM items t WHERE t.id = r.thread_root_id)"
            " GROUP BY r.thread_root_id ORDER BY 2",
            (out.source.id,),
        )
        for root, where, count in rows:
            out.diagnose(
                "slack.thread_root_missing",
                where,
                f"{count} replies to a thread whose root is not in the export",
                entity_id=root,
            )

    # -- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _once(out: Sink, state: _State, key: str, code: str, where: str, message: str) -> None:
        if key not in state.reported:
            state.reported.add(key)
            if isinstance(out, Recording):
                out.mark("once", key, code, where, message)
            elif isinstance(out, ArchiveWriter) and out.query(
                "SELECT 1 FROM diagnostics WHERE source_id = ? AND code = ? AND message = ? LIMIT 1",
                (out.source.id, code, message),
            ):
                return  # given by an earlier, interrupted run of this source
            else:
                out.diagnose(code, where, message)


def _person(uid: str, u: dict[str, Any], raw: bytes, where: str) -> Person:
    profile = _obj(u, "profile")

    def text(mapping: dict[str, Any], key: str) -> str | None:
        value = mapping.get(key)
        return value if isinstance(value, str) and value else None

    return Person(
        id=ids.person_id(PLATFORM, uid),
        platform=PLATFORM,
        native_id=uid,
        name=text(u, "name"),
        display_name=text(profile, "display_name"),
        real_name=text(u, "real_name") or text(profile, "real_name"),
        email=text(profile, "email"),
        is_bot=bool(u.get("is_bot") or u.get("is_app_user")),
        is_deleted=bool(u.get("deleted")),
        is_guest=bool(u.get("is_restricted") or u.get("is_ultra_restricted")),
        timezone=text(u, "tz"),
        title=text(profile, "title"),
        raw=raw,
        origin=where,
    )


def _roots(tree: SourceTree) -> list[str]:
    """The workspace roots: the export's top level, and each ``teams/<id>/`` of an Enterprise Grid export."""
    markers = set(_USER_FILES) | {f for f, _, _ in _CONVERSATION_FILES}
    roots: list[str] = []
    for name in tree.names():
        prefix, _, fname = name.rpartition("/")
        if fname in markers and (prefix == "" or re.fullmatch(r"teams/[^/]+", prefix)):
            root = prefix + "/" if prefix else ""
            if root not in roots:
                roots.append(root)
    return sorted(roots)


def _records(
    tree: SourceTree, entry: str, out: Sink, state: _State, kind: str, *, report: bool
) -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    """Yield (where, exact bytes, decoded object) for each element of a JSON array file.

    A file that is not a JSON array, or an element that is not an object, becomes a
    diagnostic; the file's bytes or the element are kept with it.
    """
    if entry not in tree:
        return
    state.consumed.add(entry)
    try:
        data = tree.read_bytes(entry)
    except EntryError as exc:
        if report:
            out.diagnose(exc.code, entry, str(exc), dropped="entry")
        return
    repaired = repair_utf8(data)
    if repaired is not None:
        if report:
            sha, _ = out.put_blob_bytes(data)
            message = f"{entry!r} is not UTF-8; its invalid bytes were read as cp1252, original kept as blob sha256:{sha}"
            out.diagnose("source.not_utf8", entry, message)
        data = repaired
    elements, error = _decode_array(data)
    if elements is None:
        if report:
            sha, _ = out.put_blob_bytes(data)
            message = f"{entry!r} is not a JSON array ({error}); bytes kept as blob sha256:{sha}"
            out.diagnose("slack.invalid_json", entry, message, dropped="file")
        return
    for index, element in enumerate(elements):
        where = f"{entry}#{index}"
        raw = bytes(element)
        try:
            record = msgspec.json.decode(raw)
        except msgspec.DecodeError:  # pragma: no cover - Raw elements are valid JSON by construction
            record = None
        if not isinstance(record, dict):
            if report:
                out.diagnose(
                    "slack.invalid_record",
                    where,
                    f"{kind} record is {type(record).__name__}, not an object",
                    dropped=kind,
                    raw=raw,
                )
            continue
        yield where, raw, record


def _decode_array(data: bytes) -> tuple[list[msgspec.Raw] | None, str]:
    try:
        return msgspec.json.decode(data, type=list[msgspec.Raw]), ""
    except msgspec.DecodeError as exc:
        return None, str(exc)


# -- parsing conversations in chunks, in worker processes or in this one ------------------
CHUNK_BYTES = 2 << 20


@dataclass(frozen=True)
class _Chunk:
    unit: str
    conversation: _Conversation
    entries: tuple[str, ...]
    size: int
    first: bool
    last: bool


class _SeenTimes:
    """The message times of one conversation, in 8 bytes each: they arrive almost in order,
    so most are appended to a sorted array; the few out of order go to a small set."""

    def __init__(self) -> None:
        self._sorted = array("q")
        self._others: set[int] = set()

    def add(self, value: int) -> bool:
        """Add the value; False if it was there already."""
        ordered = self._sorted
        if not ordered or value > ordered[-1]:
            ordered.append(value)
            return True
        at = bisect_left(ordered, value)
        if (at < len(ordered) and ordered[at] == value) or value in self._others:
            return False
        self._others.add(value)
        return True


def _chunks(tree: SourceTree, unit: str, conversation: _Conversation, entries: list[str]) -> list[_Chunk]:
    """Split a conversation's day files into chunks of about CHUNK_BYTES, in order."""
    chunks: list[_Chunk] = []
    current: list[str] = []
    size = 0
    for entry in entries:
        current.append(entry)
        size += tree.size(entry)
        if size >= CHUNK_BYTES:
            chunks.append(_Chunk(unit, conversation, tuple(current), size, not chunks, False))
            current, size = [], 0
    if current or not chunks:
        chunks.append(_Chunk(unit, conversation, tuple(current), size, not chunks, False))
    chunks[-1] = dataclasses.replace(chunks[-1], last=True)
    return chunks


@dataclass(frozen=True)
class _Context:
    """What a worker needs to parse any conversation: sent once to each worker."""

    uploads: SourceTree  # the entries holding file bytes, and only those
    source_id: str
    blob_root: Path
    persons: frozenset[str]
    user_names: dict[str, str]
    space_names: dict[str, str]
    bot_users: dict[str, str]
    pins: frozenset[tuple[str, str]]
    upload_entries: dict[str, str]
    reported: frozenset[str]
    files_written: frozenset[str]

    @classmethod
    def of(cls, state: _State, out: ArchiveWriter) -> _Context:
        return cls(
            state.tree.subset(state.uploads.values()), out.source.id, out.archive.blobs.root,
            frozenset(state.persons), state.user_names, state.space_names, state.bot_users,
            frozenset(state.pins), state.uploads, frozenset(state.reported), frozenset(state.files_written),
        )  # fmt: skip


_WORKER: tuple[SlackReader, _State, Recording] | None = None


def _worker_init(context: _Context) -> None:
    global _WORKER
    state = _State(context.uploads)
    state.persons = set(context.persons)
    state.user_names = context.user_names
    state.space_names = context.space_names
    state.bot_users = context.bot_users
    state.pins = set(context.pins)
    state.uploads = context.upload_entries
    state.reported = set(context.reported)
    state.files_written = set(context.files_written)
    blobs = BlobWriter(LocalBlobStore(context.blob_root))
    _WORKER = (SlackReader(), state, Recording(context.source_id, blobs))


def _worker_done() -> None:
    global _WORKER
    if _WORKER is not None:
        _WORKER[1].tree.close()
        _WORKER[2].blobs.close()
        _WORKER = None


def _worker_parse(chunk: _Chunk, tree: SourceTree) -> list[Event]:
    """Parse a chunk's day files, read from ``tree``: the subset of the export they are."""
    assert _WORKER is not None, "_worker_init runs first"
    reader, state, recording = _WORKER
    recording.events = []
    for entry in chunk.entries:
        reader._read_day_file(tree, entry, chunk.conversation, recording, state)
    tree.close()
    recording.blobs.wait()  # the chunk's file bytes are on disk before its unit can be marked done
    return recording.events
