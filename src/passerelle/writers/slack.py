"""The Slack export writer (``export --to slack``): a Slack workspace export, zip or folder.

The layout is the one Slack's "all channels and conversations" export has, which
Mattermost's mmetl, Rocket.Chat, Zulip and slack-export-viewer import (formats-chat.md
§1, §2, §4): ``users.json``, ``channels.json`` (public channels), ``groups.json``
(private channels), ``mpims.json`` (group DMs), ``dms.json``, ``integration_logs.json``;
one folder per conversation (a channel by its name, a group DM by its ``mpdm-…`` name, a
DM by its id) of ``YYYY-MM-DD.json`` day files (UTC) in ``ts`` order; file bytes at
``__uploads/<file id>/<name>``, the slackdump layout mmetl and passerelle's reader read.

Records come two ways:

- **Slack's own** (platform ``slack``): users, conversations and messages are written
  from their raw record, verbatim, so reading the output back gives the same ids, the
  same canonical content and the same raw JSON. Placeholders and Slackbot are not written
  (the reader makes them again where they are used); a conversation the source never
  listed is again a folder listed nowhere; lists stay in the file (and Enterprise Grid
  ``teams/<id>/`` folder) they came from.
- **Other platforms**: built from canonical fields. Slack ids are made from archive ids
  (``U``/``C``/``G``/``D``/``F``/``T`` and base32 of a digest), names follow Slack's
  rules, ``ts`` is the creation time to the microsecond (moved on by 1 µs where two would
  be equal), bodies become mrkdwn with ``<@U…>``/``<#C…>``/``<!here>`` mentions, threads
  get ``thread_ts`` and reply counts. Every record carries ``"passerelle": {"id": <archive
  id>, …}`` with the originals the format has no field for: ``verify`` pairs records by it.

Memory holds the persons, spaces and files (their Slack ids), one conversation's day at a
time and one message; every difference is a note in the export log.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import IO, Any, ClassVar

import msgspec

from passerelle.archive.view import ArchiveView, Message
from passerelle.model import ids
from passerelle.model.entities import File, Item, ItemKind, Person, Space, SpaceKind, Visibility
from passerelle.progress import Display
from passerelle.writers.base import ExportLog, Note, Outcome, Output, RuleCheck, WriterInfo
from passerelle.writers.slack_mrkdwn import escape, is_exact, mentions_for, to_mrkdwn

PLATFORM = "slack"
BODY_FORMAT = "slack-mrkdwn"

_TS = re.compile(r"^\d{1,12}\.\d{1,9}$")
_FILE_ID = re.compile(r"^[A-Z0-9]+$")  # what the __uploads/<id>/ layout can name
_LIST_ORIGIN = re.compile(r"^((?:teams/[^/]+/)?)(channels|groups|mpims|dms)\.json#(\d+)$")
_USER_ORIGIN = re.compile(r"^((?:teams/[^/]+/)?)(users|org_users)\.json#(\d+)$")
_FIRST_VALID_CREATED = 1_356_998_400  # 2013-01-01: earlier 'created' values are Slack placeholders
_US = 1_000_000
_DAY_US = 86_400 * _US

_ROOT_LISTS = ("users.json", "channels.json", "groups.json", "mpims.json", "dms.json")
_LIST_OF_KIND = {
    SpaceKind.PUBLIC_CHANNEL: "channels",
    SpaceKind.PRIVATE_CHANNEL: "groups",
    SpaceKind.GROUP_MESSAGE: "mpims",
    SpaceKind.DIRECT_MESSAGE: "dms",
}
_KIND_OF_LIST = {list_: kind for kind, list_ in _LIST_OF_KIND.items()}
_ID_PREFIX = {"channels": "C", "groups": "G", "mpims": "G", "dms": "D"}
_RESERVED_FOLDERS = frozenset(["__uploads", "teams"])

# Slack's system-message subtypes (formats-chat.md §1.6): a message with one of these is an
# event, any other a message. The Slack reader classifies the same way.
EVENT_SUBTYPES = frozenset(
    [
        "channel_join", "channel_leave", "channel_topic", "channel_purpose", "channel_name",
        "channel_archive", "channel_unarchive", "channel_posting_permissions",
        "channel_convert_to_private", "channel_convert_to_public", "group_join", "group_leave",
        "group_topic", "group_purpose", "group_name", "group_archive", "group_unarchive",
        "pinned_item", "unpinned_item", "bot_add", "bot_remove", "bot_enable", "bot_disable",
        "joiner_notification", "emoji_changed", "sh_room_created", "reminder_add",
        "ekm_access_denied", "app_conversation_leave", "app_conversation_join",
        "channel_canvas_updated", "tabbed_canvas_updated", "message_changed", "message_deleted",
        "message_replied", "assistant_app_thread",
    ]
)  # fmt: skip
_BROADCAST_SUBTYPES = ("thread_broadcast", "reply_broadcast")

_ENCODE = msgspec.json.Encoder()


def _ts(micros: int) -> str:
    """Slack's ``ts`` for a time in microseconds, exact."""
    return f"{micros // _US}.{micros % _US:06d}"


@lru_cache(maxsize=1 << 14)
def _day(day_number: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day_number * 86_400))


def _digest_id(prefix: str, archive_id: str, taken: set[str]) -> str:
    """A Slack-shaped id made from an archive id: the same archive id, the same Slack id."""
    digest = base64.b32encode(hashlib.blake2b(archive_id.encode(), digest_size=20).digest()).decode()
    for length in range(10, len(digest) + 1):
        candidate = prefix + digest[:length]
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise AssertionError(f"no free Slack id for {archive_id}")  # pragma: no cover - 160-bit digest


_CHANNEL_DROP = re.compile(r"[^\w\-]+")
_HANDLE_SPACES = re.compile(r"\s+")
_HANDLE_DROP = re.compile(r"[^\w.\-]+")


def channel_name(text: str) -> str:
    """Slack's rules for a channel name: lowercase, no spaces or periods, at most 80 characters."""
    name = _CHANNEL_DROP.sub("-", unicodedata.normalize("NFKC", text).lower()).strip("-")
    return name[:80].strip("-")


def user_handle(text: str) -> str:
    """Slack's rules for a user name: lowercase, no spaces, at most 80 characters."""
    handle = unicodedata.normalize("NFKC", text).lower().strip()
    handle = _HANDLE_DROP.sub("", _HANDLE_SPACES.sub(".", handle))
    return handle[:80].strip(".")


def _unique(base: str, used: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3``… : the first not in ``used`` (compared lowercase)."""
    candidate, n = base, 1
    while candidate.lower() in used:
        n += 1
        suffix = f"-{n}"
        candidate = base[: 80 - len(suffix)] + suffix
    used.add(candidate.lower())
    return candidate


def _safe_folder(folder: str) -> bool:
    parts = folder.split("/")
    return bool(folder) and "\\" not in folder and all(p not in ("", ".", "..") for p in parts)


def _upload_name(name: str | None) -> str:
    """A file's name as the last part of its upload path: never a path of its own."""
    base = (name or "").replace("\\", "/").rpartition("/")[2].strip().replace("\x00", "")
    if base in ("", ".", ".."):
        return "file"
    if len(base.encode()) > 200:
        stem, dot, ext = base.rpartition(".")
        ext = ext if dot and len(ext) <= 16 else ""
        keep = (stem if ext else base).encode()[: 200 - len(ext) - 1].decode(errors="ignore")
        base = f"{keep}.{ext}" if ext else keep
    return base


def _decoded(raw: bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    return value if isinstance(value, dict) else None


@dataclass
class _User:
    slack_id: str
    handle: str | None  # the user name written (mpdm names are made of them)
    names: tuple[str, ...]  # how another platform's text may mention the person


@dataclass
class _Conv:
    space: Space
    slack_id: str
    folder: str | None  # None: the team (the workspace), no folder
    entry: str | None  # the list it is written in; None: listed nowhere
    native: bool  # its messages from Slack are written verbatim (it keeps its Slack id)
    members: frozenset[str] | None  # the Slack user ids its record lists
    creator: str | None
    record: bytes | None
    where: str
    names: tuple[str, ...] = ()


@dataclass
class _FileState:
    slack_id: str
    upload: str | None  # where its bytes are in the output
    written: bool  # its record is in the output (False: left out of every message)
    bytes_kept: bool  # its bytes, if the archive has them, are in the output


_AS_IT_IS = _FileState("", None, True, True)


class _Peek:
    """An iterator of rows keyed by their second value, taken a key at a time."""

    def __init__(self, rows: Iterator[Any]) -> None:
        self._rows = rows
        self._head: Any = next(rows, None)

    def take(self, key: str) -> list[Any]:
        taken = []
        while self._head is not None and self._head[1] == key:
            taken.append(self._head)
            self._head = next(self._rows, None)
        return taken

    def rest(self) -> list[Any]:
        rest = [] if self._head is None else [self._head, *self._rows]
        self._head = None
        return rest


class _DayFiles:
    """One conversation's day files, written as its messages come (in time order), with the
    bytes of their files written after each day file is closed."""

    def __init__(self, out: Output, folder: str) -> None:
        self.out = out
        self.folder = folder
        self.day: str | None = None
        self.stream: IO[bytes] | None = None
        self.index = 0
        self.uploads: list[tuple[str, str]] = []

    def where(self, micros: int) -> str:
        day = _day(micros // _DAY_US)
        return f"{self.folder}/{day}.json#{self.index if day == self.day else 0}"

    def add(self, micros: int, element: bytes) -> None:
        day = _day(micros // _DAY_US)
        if day != self.day or self.stream is None:
            self.close()
            self.stream = self.out.open(f"{self.folder}/{day}.json")
            self.stream.write(b"[\n")
            self.day, self.index = day, 0
        else:
            self.stream.write(b",\n")
        self.stream.write(element)
        self.index += 1

    def upload(self, name: str, sha256: str) -> None:
        self.uploads.append((name, sha256))
        if self.stream is None:
            self._flush_uploads()

    def close(self) -> None:
        if self.stream is not None:
            self.stream.write(b"\n]\n")
            self.stream.close()
            self.stream = None
        self._flush_uploads()

    def _flush_uploads(self) -> None:
        for name, sha256 in self.uploads:
            self.out.write_blob(name, sha256)
        self.uploads = []


class SlackWriter:
    info: ClassVar[WriterInfo] = WriterInfo(
        name="slack",
        description="Slack workspace export (zip or folder), as Slack writes it and mmetl, Rocket.Chat,"
        " Zulip and slack-export-viewer import",
        keeps=(
            "Slack's own users, conversations and messages verbatim: the same ids, content and raw JSON",
            "public and private channels, DMs and group DMs, with members, topic, purpose, archived flag",
            "messages with exact ts (microseconds), threads (thread_ts, reply counts), thread_broadcast,"
            " pins, edits (edited user and ts), tombstones, event subtypes",
            "mentions, channel links, broadcasts and links as mrkdwn; the original markup in 'passerelle'",
            "reactions with every user and skin tone; files, bytes at __uploads/<id>/<name>",
            "the archive id and originals of every record built from another platform ('passerelle' key)",
        ),
        cannot_carry=(
            "reaction times (Slack exports have none)",
            "edit history: revisions from other platforms are kept in the message's 'passerelle' key",
            "files attached to no message (custom emoji): bytes under __uploads/, record lost",
            "a second workspace; a foreign workspace's name and description",
            "membership roles other than the creator's; space titles (display names) beside the name",
        ),
        reader="slack",
    )
    version: ClassVar[str] = "1"
    # Slack exports have no reaction times: the one rule note, checked by verify.
    rule_checks: ClassVar[Mapping[str, RuleCheck]] = {
        "slack.reaction_time_lost": lambda archive, output: archive is not None and output is None
    }

    def __init__(self, options: Mapping[str, str]) -> None:
        self.options = dict(options)

    def write(self, view: ArchiveView, out: Output, log: ExportLog, display: Display) -> None:
        _Export(view, out, log, display).run()


class _Export:
    def __init__(self, view: ArchiveView, out: Output, log: ExportLog, display: Display) -> None:
        self.view = view
        self.out = out
        self.log = log
        self.display = display
        self.users: dict[str, _User] = {}  # person id -> its Slack user
        self.convs: dict[str, _Conv] = {}  # space id -> its Slack conversation
        self.files: dict[str, _FileState] = {}  # file id -> its Slack file (built, or not as it is)
        self.files_as_they_are: set[str] = set()  # Slack files written from their record, with their bytes
        self.taken: set[str] = set()  # Slack ids in use
        self.team_id: str | None = None  # the users' team_id
        self.team_space: str | None = None  # the archive space that became the team

    def run(self) -> None:
        spaces = list(self.view.spaces())
        # Slack's own ids stay theirs: ids made for other platforms' records avoid them.
        self.taken |= {s.native_id for s in spaces if s.platform == PLATFORM}
        self._choose_team(spaces)
        users = self._persons()
        lists = self._spaces(spaces)
        for entry in (*_ROOT_LISTS, *sorted((set(users) | set(lists)) - set(_ROOT_LISTS))):
            records = users.get(entry) or lists.get(entry) or []
            self.out.write_bytes(entry, _array([record for _, record in sorted(records)]))
        self.out.write_bytes("integration_logs.json", b"[]\n")
        self._memberships()
        conversations = [c for c in self.convs.values() if c.folder is not None]
        task = self.display.task("Slack conversations", total=len(conversations))
        for conv in conversations:
            self._conversation(conv)
            task.advance()
        self._loose_files()
        accounted = sum(self.log.tally["revision"].values())
        for _ in range(self.view.count("revisions") - accounted):  # revisions of no item at all
            self._account("revision", self._note("slack.revision_lost", "revision", Outcome.LOST,
                                                 "a revision of no item in the archive", "", None))  # fmt: skip

    # -- notes ------------------------------------------------------------------------
    @staticmethod
    def _note(
        code: str,
        entity: str,
        outcome: Outcome,
        message: str,
        where: str,
        entity_id: str | None,
        attribute: str | None = None,
        original: Any = None,
    ) -> Note:
        return Note(
            code=code,
            entity=entity,
            outcome=outcome,
            message=message,
            where=where,
            entity_id=entity_id,
            attribute=attribute,
            original=None if original is None else str(original),
        )

    def _account(self, entity: str, *notes: Note) -> None:
        self.log.account(entity, list(notes))

    # -- persons --------------------------------------------------------------------------
    def _persons(self) -> dict[str, list[tuple[tuple[int, str], bytes]]]:
        """Every person's Slack user; the records of users.json (and any other user list)."""
        persons = list(self.view.persons())
        handles: set[str] = set()
        for p in persons:
            if p.platform == PLATFORM:
                self.taken.add(p.native_id)
                if p.name:
                    handles.add(p.name.lower())
        entries: dict[str, list[tuple[tuple[int, str], bytes]]] = {}
        foreign: list[Person] = []
        for p in persons:
            if p.platform != PLATFORM:
                foreign.append(p)
                continue
            self.users[p.id] = _User(p.native_id, p.name, ())
            self.log.persons[p.id] = p.native_id
            if p.raw is not None and not p.is_placeholder:
                match = _USER_ORIGIN.match(p.origin or "")
                entry = f"{match[1]}{match[2]}.json" if match else "users.json"
                order = (int(match[3]), "") if match else (1 << 62, p.id)
                entries.setdefault(entry, []).append((order, p.raw))
            self._account("person")
        for p in foreign:
            uid = _digest_id("U", p.id, self.taken)
            self.log.persons[p.id] = uid
            names = tuple(n for n in (p.name, p.display_name) if n)
            if p.is_placeholder:
                # Known only by id: written nowhere, so reading the output back makes it a
                # placeholder again where it is used.
                self.users[p.id] = _User(uid, None, names)
                notes = []
                if p.is_bot:
                    notes.append(self._note("slack.value_lost", "person", Outcome.ADAPTED,
                                            "a placeholder is read back as a user, not a bot", "users.json",
                                            p.id, "is_bot", True))  # fmt: skip
                self._account("person", *notes)
                continue
            index = len(entries.get("users.json", ()))
            where = f"users.json#{index}"
            record, handle, notes = self._user_record(p, uid, handles, where)
            self.users[p.id] = _User(uid, handle, names)
            entries.setdefault("users.json", []).append(((1 << 62, p.id), _ENCODE.encode(record)))
            self._account("person", *notes)
        return entries

    def _user_record(
        self, p: Person, uid: str, handles: set[str], where: str
    ) -> tuple[dict[str, Any], str, list[Note]]:
        notes: list[Note] = []
        keep: dict[str, Any] = {"id": p.id}
        base = next((user_handle(n) for n in (p.name, p.display_name, p.real_name,
                                                (p.email or "").partition("@")[0]) if n and user_handle(n)),
                    "user")  # fmt: skip
        handle = _unique(base, handles)
        if handle != p.name:
            keep["name"] = p.name
            notes.append(self._note("slack.user_renamed", "person", Outcome.ADAPTED,
                                    f"user name {p.name!r} is written {handle!r}", where, p.id, "name",
                                    p.name))  # fmt: skip
        for attribute in ("display_name", "real_name", "email", "title"):
            if getattr(p, attribute) == "":
                notes.append(self._note("slack.value_lost", "person", Outcome.ADAPTED,
                                        f"an empty {attribute} reads back as none", where, p.id, attribute,
                                        ""))  # fmt: skip
        profile: dict[str, Any] = {}
        if p.is_bot:  # importers make bot accounts from it (mmetl)
            profile["bot_id"] = _digest_id("B", p.id, self.taken)
        for key, value in (("display_name", p.display_name), ("real_name", p.real_name),
                           ("email", p.email), ("title", p.title)):  # fmt: skip
            if value:
                profile[key] = value
        record: dict[str, Any] = {"id": uid}
        if self.team_id is not None:
            record["team_id"] = self.team_id
        record["name"] = handle
        record["deleted"] = p.is_deleted
        if p.real_name:
            record["real_name"] = p.real_name
        if p.timezone:
            record["tz"] = p.timezone
        record["is_bot"] = p.is_bot
        record["is_restricted"] = p.is_guest
        record["is_ultra_restricted"] = False
        record["profile"] = profile
        record["passerelle"] = keep
        return record, handle, notes

    # -- spaces ------------------------------------------------------------------------------
    def _choose_team(self, spaces: list[Space]) -> None:
        """The workspace that becomes the export's team: Slack's own, else the first from
        another platform that holds no messages (one that does is written as a channel)."""
        for s in spaces:
            if s.kind is SpaceKind.WORKSPACE and s.platform == PLATFORM:
                self.team_space = s.id
                self.team_id = s.native_id if s.native_id != "workspace" else None
                return
        for s in spaces:
            if s.kind is SpaceKind.WORKSPACE and not self.view.count("items", "space_id = ?", (s.id,)):
                self.team_space = s.id
                self.team_id = _digest_id("T", s.id, self.taken)
                return

    def _spaces(self, spaces: list[Space]) -> dict[str, list[tuple[tuple[int, str], bytes]]]:
        """Every space's Slack conversation (or team); the records of each conversation list."""
        exact: set[str] = set()  # folders in use, as written
        folded: set[str] = set(_RESERVED_FOLDERS)  # ... and lowercase, for names made here
        entries: dict[str, list[tuple[tuple[int, str], bytes]]] = {}
        natives, built, workspaces = [], [], []
        for s in spaces:
            if s.platform == PLATFORM:
                self.taken.add(s.native_id)
            if s.kind is SpaceKind.WORKSPACE and not (
                s.platform != PLATFORM and self.view.count("items", "space_id = ?", (s.id,))
            ):
                workspaces.append(s)
            elif s.platform == PLATFORM and (s.raw is not None or s.native_id.startswith("folder:")):
                natives.append(s)
            else:
                built.append(s)
        for s in workspaces:
            self._workspace(s)

        def origin_order(s: Space) -> tuple[str, str, int, str]:
            match = _LIST_ORIGIN.match(s.origin or "")
            if match:
                return (match[1], match[2], int(match[3]), "")
            return ("~", "", 0, s.id)

        for s in sorted(natives, key=origin_order):
            conv = self._native_conversation(s, exact, folded)
            if conv is None:
                built.append(s)
                continue
            notes = []
            if s.parent_id != self.team_space:  # its workspace is not the export's team
                notes.append(self._note("slack.value_lost", "space", Outcome.ADAPTED,
                                        "every Slack conversation belongs to the export's one team", conv.where,
                                        s.id, "parent_id", s.parent_id))  # fmt: skip
            self._add_conversation(conv, entries, notes)
        # Names already valid in Slack are kept first: the fewest conversations are renamed.
        kinds = list(SpaceKind)
        for s in sorted(built, key=lambda s: (not s.name or channel_name(s.name) != s.name,
                                              kinds.index(s.kind), s.id)):  # fmt: skip
            conv, notes = self._built_conversation(s, folded, entries)
            self._add_conversation(conv, entries, notes)
        return entries

    def _add_conversation(
        self, conv: _Conv, entries: dict[str, list[tuple[tuple[int, str], bytes]]], notes: list[Note]
    ) -> None:
        self.convs[conv.space.id] = conv
        self.log.spaces[conv.space.id] = conv.slack_id
        if conv.entry is not None and conv.record is not None:
            listed = entries.setdefault(conv.entry, [])
            listed.append(((len(listed), ""), conv.record))
        self._account("space", *notes)

    def _workspace(self, s: Space) -> None:
        where = "users.json"
        if s.id != self.team_space:
            self._account("space", self._note("slack.workspace_lost", "space", Outcome.LOST,
                                              f"workspace {s.name or s.id!r}: a Slack export holds one team",
                                              where, s.id))  # fmt: skip
            return
        slack_id = self.team_id or s.native_id
        self.convs[s.id] = _Conv(s, slack_id, None, None, s.platform == PLATFORM, None, None, None, where)
        self.log.spaces[s.id] = slack_id
        notes = []
        if s.platform != PLATFORM:
            differences = {
                "name": (s.name, slack_id),
                "display_name": (s.display_name, None),
                "topic": (s.topic, None),
                "purpose": (s.purpose, None),
                "visibility": (s.visibility, Visibility.PRIVATE),
            }
            for attribute, (value, becomes) in differences.items():
                if value != becomes:
                    notes.append(self._note("slack.workspace_adapted", "space", Outcome.ADAPTED,
                                            f"the workspace becomes team {slack_id}: its {attribute} is not"
                                            " carried", where, s.id, attribute, value))  # fmt: skip
            if s.parent_id is not None:
                notes.append(self._note("slack.value_lost", "space", Outcome.ADAPTED,
                                        "the team has no parent", where, s.id, "parent_id",
                                        s.parent_id))  # fmt: skip
        self._account("space", *notes)

    def _native_conversation(self, s: Space, exact: set[str], folded: set[str]) -> _Conv | None:
        """A Slack conversation written from its raw record; None when it cannot be (it is built)."""
        if s.raw is None:
            # A folder of day files the source listed nowhere: listed nowhere again.
            folder = s.native_id.removeprefix("folder:")
            if s.native_id == folder:
                return None
            if not _safe_folder(folder) or folder in exact:
                return None
            exact.add(folder)
            folded.add(folder.lower())
            return _Conv(s, s.native_id, folder, None, True, frozenset(), None, None, folder,
                         (folder.rpartition("/")[2],))  # fmt: skip
        record = _decoded(s.raw)
        list_ = _LIST_OF_KIND.get(s.kind)
        if record is None or list_ is None:
            return None
        match = _LIST_ORIGIN.match(s.origin or "")
        prefix, list_ = (match[1], match[2]) if match else ("", list_)
        name = record.get("name") if isinstance(record.get("name"), str) and record.get("name") else None
        base = s.native_id if list_ == "dms" or name is None else name
        folder = prefix + base
        if not _safe_folder(base) or "/" in base:
            return None
        if folder in exact:
            prefix = f"teams/{s.native_id}/"
            folder = prefix + base
            if folder in exact or not _safe_folder(folder):
                return None
            note = self._note("slack.folder_moved", "space", Outcome.ADAPTED,
                              f"folder {base!r} is taken: written under {prefix}", folder, s.id,
                              "origin", s.origin)  # fmt: skip
            self.log.note("space", [note])
        exact.add(folder)
        folded.add(folder.lower())
        members = record.get("members")
        creator = record.get("creator")
        return _Conv(
            s,
            s.native_id,
            folder,
            f"{prefix}{list_}.json",
            True,
            frozenset(m for m in members if isinstance(m, str)) if isinstance(members, list) else frozenset(),
            creator if isinstance(creator, str) and creator else None,
            s.raw,
            f"{prefix}{list_}.json",
            (name or s.native_id,),
        )

    def _built_conversation(
        self, s: Space, folded: set[str], entries: dict[str, list[tuple[tuple[int, str], bytes]]]
    ) -> tuple[_Conv, list[Note]]:
        members = [self.users[m].slack_id for m in self.view.members(s.id) if m in self.users]
        list_ = _LIST_OF_KIND.get(s.kind) or ("channels" if s.visibility is Visibility.PUBLIC else "groups")
        if list_ == "dms" and len(set(members)) > 2:
            list_ = "mpims"
        entry = f"{list_}.json"
        where = f"{entry}#{len(entries.get(entry, ()))}"
        notes: list[Note] = []
        keep: dict[str, Any] = {"id": s.id}

        def note(
            code: str, attribute: str, original: Any, message: str, outcome: Outcome = Outcome.ADAPTED
        ) -> None:
            notes.append(self._note(code, "space", outcome, message, where, s.id, attribute, original))

        kind = _KIND_OF_LIST[list_]
        if kind is not s.kind:
            keep["kind"] = s.kind.value
            note("slack.kind_adapted", "kind", s.kind.value, f"a {s.kind.value} is written as a {kind.value}")
        visibility = Visibility.PUBLIC if list_ == "channels" else Visibility.PRIVATE
        if visibility is not s.visibility:
            keep["visibility"] = s.visibility.value
            note("slack.value_lost", "visibility", s.visibility.value,
                 f"a {s.visibility.value} {kind.value} reads back {visibility.value}")  # fmt: skip
        slack_id = (
            s.native_id
            if s.platform == PLATFORM and re.fullmatch(r"[A-Z0-9]+", s.native_id)
            else _digest_id(_ID_PREFIX[list_], s.id, self.taken)
        )
        if list_ == "dms":
            name, folder = s.name, slack_id
            folded.add(folder.lower())
        else:
            if list_ == "mpims":
                # Slack names a group DM after its members: mpdm-ada--bob.k--cy-1
                handles = sorted(self.users[m].handle or self.users[m].slack_id.lower()
                                 for m in self.view.members(s.id) if m in self.users)  # fmt: skip
                stem = ("mpdm-" + "--".join(handles))[:200] if handles else f"mpdm-{slack_id.lower()}"
                n = 1
                while f"{stem}-{n}".lower() in folded:
                    n += 1
                name = f"{stem}-{n}"
                folded.add(name.lower())
            else:
                base = next((channel_name(n) for n in (s.name, s.display_name) if n and channel_name(n)), "")
                name = _unique(base or channel_name(f"{list_}-{slack_id}"), folded)
            folder = name
            if name != s.name:
                keep["name"] = s.name
                note("slack.channel_renamed", "name", s.name, f"{s.name!r} is written {name!r}")
        if s.display_name is not None:
            keep["display_name"] = s.display_name
            note("slack.value_kept_aside", "display_name", s.display_name, "Slack has no title beside a name")
        for attribute in ("topic", "purpose"):
            if getattr(s, attribute) == "":
                note("slack.value_lost", attribute, "", f"an empty {attribute} reads back as none")
        if s.parent_id is None or s.parent_id != self.team_space:  # read back: the team's child
            keep["parent_id"] = s.parent_id
            note("slack.value_lost", "parent_id", s.parent_id, "every Slack conversation belongs to the team")
        record: dict[str, Any] = {"id": slack_id}
        if name is not None:
            record["name"] = name
        if s.created_at is not None:
            seconds = s.created_at // _US if s.created_at >= 0 else None
            if seconds is not None:
                record["created"] = seconds
            if seconds is None or seconds < _FIRST_VALID_CREATED or s.created_at % _US:
                keep["created_at"] = s.created_at
                note("slack.time_truncated", "created_at", s.created_at, "created is kept to the second"
                     if seconds is not None and seconds >= _FIRST_VALID_CREATED else "created before 2013"
                     " reads back as unknown")  # fmt: skip
        creator = self.users[s.creator_id].slack_id if s.creator_id in self.users else None
        if creator is not None:
            record["creator"] = creator
        record["is_archived"] = s.is_archived
        if list_ == "dms" and len(members) == 1:
            members = members * 2  # a DM with oneself, as Slack lists it
        record["members"] = members
        for attribute in ("topic", "purpose"):
            value = getattr(s, attribute)
            if value or list_ != "dms":  # channels always have both, as in Slack's own lists
                record[attribute] = {"value": value or "", "creator": "", "last_set": 0}
        record["passerelle"] = keep
        # A Slack conversation that keeps its id keeps its messages' ids: they are written verbatim.
        native = s.platform == PLATFORM and slack_id == s.native_id
        conv = _Conv(s, slack_id, folder, entry, native, frozenset(members), creator, _ENCODE.encode(record),
                     where, tuple(n for n in (s.name, s.display_name, name) if n))  # fmt: skip
        return conv, notes

    # -- memberships -------------------------------------------------------------------------
    def _memberships(self) -> None:
        for m in self.view.memberships():
            entity_id = f"{m.space_id}/{m.person_id}"
            conv = self.convs.get(m.space_id)
            user = self.users.get(m.person_id)
            where = conv.where if conv is not None else ""
            if conv is None or conv.members is None or user is None or user.slack_id not in conv.members:
                if conv is None:
                    why = "its space is not written"
                elif conv.folder is None:
                    why = "a Slack export lists no workspace members"
                elif conv.entry is None:
                    why = "a conversation listed nowhere has no members"
                else:
                    why = "its conversation's record does not list the member"
                self._account("membership", self._note("slack.membership_lost", "membership", Outcome.LOST,
                                                       why, where, entity_id))  # fmt: skip
                continue
            role = "owner" if user.slack_id == conv.creator else "member"
            if m.role != role:
                self._account("membership", self._note("slack.value_lost", "membership", Outcome.ADAPTED,
                                                       f"role {m.role!r} reads back {role!r}", where, entity_id,
                                                       "role", m.role))  # fmt: skip
            else:
                self._account("membership")

    # -- messages ---------------------------------------------------------------------------
    def _conversation(self, conv: _Conv) -> None:
        assert conv.folder is not None
        days = _DayFiles(self.out, conv.folder)
        revisions = _Peek(self.view.revisions_of_space(conv.space.id))
        derivable: set[str] = set()  # revisions the written message_changed events give
        slack_revisions: list[tuple[str, str]] = []  # (revision id, where) of Slack messages
        for message, at, root_at, root_author, replies, authors, latest in self._timeline(conv):
            item = message.item
            item_revisions = revisions.take(item.id)
            verbatim = (
                conv.native
                and item.platform == PLATFORM
                and item.raw is not None
                and item.created_native is not None
                and item.created_at is not None
                and _TS.match(item.created_native) is not None
            )
            if verbatim:
                assert item.created_at is not None and item.raw is not None
                where = days.where(item.created_at)
                self._verbatim(conv, message, where, days, derivable)
                days.add(item.created_at, item.raw)
                slack_revisions += [(r[0], where) for r in item_revisions]
            else:
                where = days.where(at)
                thread = (root_at, root_author, replies, authors, latest)
                record = self._built(conv, message, at, thread, item_revisions, where, days)
                days.add(at, _ENCODE.encode(record))
        days.close()
        for revision_id, where in slack_revisions:
            if revision_id in derivable:
                self._account("revision")
            else:
                self._account("revision", self._note("slack.revision_lost", "revision", Outcome.LOST,
                                                     "no message_changed event of the export carries it",
                                                     where, revision_id))  # fmt: skip
        for row in revisions.rest():  # pragma: no cover - the view gives them in message order
            self._account("revision", self._note("slack.revision_lost", "revision", Outcome.LOST,
                                                 "not written", conv.folder, row[0]))  # fmt: skip

    def _timeline(
        self, conv: _Conv
    ) -> Iterator[tuple[Message, int, int | None, str | None, int, tuple[str, ...], int | None]]:
        """The conversation's messages; on a timeline of unique times unless all are Slack's own,
        written verbatim with their own ts (then a plain time-ordered read is enough)."""
        space = conv.space.id
        if conv.native and not self.view.count(
            "items", "space_id = ? AND (platform != ? OR raw IS NULL OR created_native IS NULL"
            " OR created_at IS NULL)", (space, PLATFORM),
        ):  # fmt: skip
            for message in self.view.messages(space):
                assert message.item.created_at is not None
                yield message, message.item.created_at, None, None, 0, (), None
        else:
            yield from self.view.timeline(space)

    def _verbatim(
        self, conv: _Conv, message: Message, where: str, days: _DayFiles, derivable: set[str]
    ) -> None:
        """Account a Slack message written from its raw record: what the record holds is carried."""
        item = message.item
        notes: list[Note] = []
        record = _decoded(item.raw) if message.reactions or message.file_ids or item.subtype == "message_changed" \
            else None  # fmt: skip
        record = record or {}
        if message.reactions:
            listed = {
                (user, reaction.get("name"))
                for reaction in record.get("reactions") or []
                if isinstance(reaction, dict) and isinstance(reaction.get("users"), list)
                for user in reaction["users"]
            }
            for r in message.reactions:
                reaction_id = f"{item.id}/{r.person_id}/{r.emoji}"
                user = self.users.get(r.person_id)
                if user is None or (user.slack_id, r.emoji) not in listed:
                    self._account("reaction", self._note("slack.reaction_lost", "reaction", Outcome.LOST,
                                                         "the message's record does not list it", where,
                                                         reaction_id))  # fmt: skip
                elif r.created_at is not None:
                    self._account("reaction", self._reaction_time(r.created_at, where))
                else:
                    self._account("reaction")
        if message.file_ids:
            files = record.get("files")
            if not isinstance(files, list):
                files = [record["file"]] if isinstance(record.get("file"), dict) else []
            embedded = {f["id"]: f for f in files if isinstance(f, dict) and isinstance(f.get("id"), str)}
            for f in self._files_of(message.file_ids):
                copy = embedded.get(f.native_id)
                state = (
                    _AS_IT_IS
                    if f.id in self.files_as_they_are
                    else self.files.get(f.id) or self._native_file(f, copy, where, days)
                )
                # What a reader compares: the bytes, else the name this message's copy gives.
                if copy is None or (f.sha256 is None and _name_in(copy) != f.name):
                    notes.append(self._note("slack.file_record_differs", "item", Outcome.ADAPTED,
                                            f"file {f.id} reads back from the message's own copy of its"
                                            " record", where, item.id, "files"))  # fmt: skip
                elif f.sha256 is not None and not state.bytes_kept:
                    notes.append(self._note("slack.file_bytes_lost", "item", Outcome.ADAPTED,
                                            f"file {f.id} is not written with its bytes", where, item.id,
                                            "files"))  # fmt: skip
        if item.subtype == "message_changed":
            derivable |= self._derived_revisions(conv, record)
        self._account("item", *notes)

    def _derived_revisions(self, conv: _Conv, record: dict[str, Any]) -> set[str]:
        """The revisions the Slack reader makes of a message_changed event: the message before and after."""
        new = record.get("message")
        if not isinstance(new, dict) or not isinstance(new.get("ts"), str):
            return set()
        target = ids.item_id(PLATFORM, conv.space.native_id, new["ts"])
        found = set()
        for version in (record.get("previous_message"), new):
            if isinstance(version, dict):
                edited = version.get("edited")
                edited = edited if isinstance(edited, dict) else {}
                native = edited.get("ts") if isinstance(edited.get("ts"), str) else version.get("ts")
                if isinstance(native, str) and _TS.match(native):
                    found.add(ids.revision_id(target, native))
        return found

    def _files_of(self, file_ids: tuple[str, ...]) -> list[File]:
        if not file_ids:
            return []
        by_id = {f.id: f for f in self.view.files(file_ids)}
        return [by_id[i] for i in file_ids if i in by_id]

    def _native_file(self, f: File, copy: dict[str, Any] | None, where: str, days: _DayFiles) -> _FileState:
        """A Slack file first met in a message written verbatim: written as the message's copy of its record."""
        if copy is None:
            state = _FileState(f.native_id, None, False, False)
            self.files[f.id] = state
            self._account("file", self._note("slack.file_record_differs", "file", Outcome.LOST,
                                             "the message's record does not list it", where, f.id))  # fmt: skip
            return state
        state = _FileState(f.native_id, None, True, True)
        self.files[f.id] = state
        notes = []
        if _name_in(copy) != f.name:
            notes.append(self._note("slack.file_record_differs", "file", Outcome.ADAPTED,
                                    "the message's copy of the file record gives another name", where, f.id,
                                    "name", f.name))  # fmt: skip
        if f.sha256 is not None:
            if _FILE_ID.match(f.native_id) and self.view.archive.blobs.has(f.sha256):
                state.upload = f"__uploads/{f.native_id}/{_upload_name(f.name)}"
                days.upload(state.upload, f.sha256)
            else:
                state.bytes_kept = False
                why = "its bytes are not in the archive's blob store" if _FILE_ID.match(f.native_id) else \
                    f"its id {f.native_id!r} cannot name an __uploads folder"  # fmt: skip
                notes.append(self._note("slack.file_bytes_lost", "file", Outcome.ADAPTED, why, where, f.id,
                                        "sha256", f.sha256))  # fmt: skip
        self._account("file", *notes)
        if state.bytes_kept:  # the usual case: remembered by its id alone
            del self.files[f.id]
            self.files_as_they_are.add(f.id)
        return state

    def _new_file_id(self, file_id: str) -> str:
        """A Slack file id for a file of another platform: none of the archive's Slack files has it."""
        while True:
            candidate = _digest_id("F", file_id, self.taken)
            if not self.view.count("files", "platform = ? AND native_id = ?", (PLATFORM, candidate)):
                return candidate

    def _reaction_time(self, created_at: int, where: str) -> Note:
        return self._note("slack.reaction_time_lost", "reaction", Outcome.ADAPTED,
                          "reaction times are not in Slack exports", where, None, "created_at")  # fmt: skip

    # -- messages from other platforms ------------------------------------------------------------
    def _built(
        self,
        conv: _Conv,
        message: Message,
        at: int,
        thread: tuple[int | None, str | None, int, tuple[str, ...], int | None],
        revisions: list[Any],
        where: str,
        days: _DayFiles,
    ) -> dict[str, Any]:
        item = message.item
        root_at, root_author, replies, reply_authors, latest = thread
        notes: list[Note] = []
        keep: dict[str, Any] = {"id": item.id}

        def note(code: str, attribute: str | None, original: Any, text: str) -> None:
            notes.append(self._note(code, "item", Outcome.ADAPTED, text, where, item.id, attribute, original))

        ts = _ts(at)
        if item.created_at is None or item.created_at < 0:
            keep["created_at"] = item.created_at
            note("slack.time_missing", "created_at", item.created_at, f"no valid time: written at ts {ts}")
        elif at != item.created_at:
            keep["created_at"] = item.created_at
            note("slack.ts_nudged", "created_at", item.created_at, f"moved on by {at - item.created_at} µs")
        if item.created_native is not None:
            keep["created_native"] = item.created_native
            notes.append(self._note("slack.native_time_replaced", "item", Outcome.ADAPTED,
                                    "the source's time notation becomes Slack's ts", "", None,
                                    "created_native"))  # fmt: skip

        # Subtype and kind: a reply also in the channel is a thread_broadcast, a deleted
        # message a tombstone; the kind follows the subtype, as Slack's readers decide it.
        subtype = item.subtype
        in_thread = root_at is not None
        if item.deleted and subtype != "tombstone":
            keep["subtype"] = subtype
            note("slack.value_kept_aside", "subtype", subtype, "a deleted message is a Slack tombstone")
            subtype = "tombstone"
        elif item.also_in_channel and in_thread and subtype not in _BROADCAST_SUBTYPES:
            keep["subtype"] = subtype
            note(
                "slack.value_kept_aside",
                "subtype",
                subtype,
                "a reply also in the channel is a thread_broadcast",
            )
            subtype = "thread_broadcast"
        elif item.also_in_channel and not in_thread:
            keep["also_in_channel"] = True
            note(
                "slack.value_lost", "also_in_channel", True, "a message outside a thread cannot be broadcast"
            )
        elif not item.also_in_channel and in_thread and subtype in _BROADCAST_SUBTYPES:
            keep["subtype"] = subtype
            note("slack.value_kept_aside", "subtype", subtype, "a reply not in the channel is no broadcast")
            subtype = None
        kind = ItemKind.EVENT if subtype in EVENT_SUBTYPES else ItemKind.MESSAGE
        if kind is not item.kind:
            keep["kind"] = item.kind.value
            note(
                "slack.kind_adapted",
                "kind",
                item.kind.value,
                f"a {item.kind.value} is written as a {kind.value}",
            )

        text = self._text(item, keep, note)
        record: dict[str, Any] = {"type": "message"}
        if subtype is not None:
            record["subtype"] = subtype
        record["ts"] = ts
        author = self.users.get(item.author_id) if item.author_id is not None else None
        if author is not None:
            record["user"] = author.slack_id
        record["text"] = text

        # Threads: Slack's are flat, rebuilt from thread_ts.
        if in_thread:
            assert root_at is not None
            record["thread_ts"] = _ts(root_at)
            if root_author is not None and root_author in self.users:
                record["parent_user_id"] = self.users[root_author].slack_id
            if item.parent_id is not None and item.parent_id != item.thread_root_id:
                keep["parent_id"] = item.parent_id
                note("slack.value_kept_aside", "parent_id", item.parent_id, "Slack threads are flat")
        elif item.thread_root_id is not None and item.thread_root_id != item.id:
            keep["thread_root_id"] = item.thread_root_id
            note("slack.thread_unlinked", "thread_root_id", item.thread_root_id,
                 "its thread root is not in the conversation")  # fmt: skip
        elif replies:
            record["thread_ts"] = ts
            users = [self.users[a].slack_id for a in reply_authors if a in self.users]
            record["reply_count"] = replies
            record["reply_users_count"] = len(users)
            record["latest_reply"] = _ts(latest if latest is not None else at)
            record["reply_users"] = users
        if item.parent_id is not None and not in_thread and item.parent_id != item.thread_root_id:
            keep["parent_id"] = item.parent_id
            note("slack.value_kept_aside", "parent_id", item.parent_id, "a parent outside a thread")

        if item.edited_at is not None:
            if item.edited_at >= 0:
                edited: dict[str, Any] = {}
                if item.edited_by_id is not None and item.edited_by_id in self.users:
                    edited["user"] = self.users[item.edited_by_id].slack_id
                edited["ts"] = _ts(item.edited_at)
                record["edited"] = edited
            else:
                keep["edited_at"] = item.edited_at
                note("slack.value_lost", "edited_at", item.edited_at, "an edit time before 1970")
            if item.edited_native is not None:
                keep["edited_native"] = item.edited_native
        if item.deleted:
            record["hidden"] = True
            if item.deleted_at is not None:
                keep["deleted_at"] = item.deleted_at
                note(
                    "slack.value_kept_aside",
                    "deleted_at",
                    item.deleted_at,
                    "a tombstone has no time of its own",
                )

        files = self._built_files(item, message.file_ids, where, days, note)
        if files:
            record["files"] = files
            record["upload"] = False
        if message.reactions:
            record["reactions"] = self._built_reactions(message, where)
        if item.pinned:
            record["pinned_to"] = [conv.slack_id]
        if revisions:
            kept = []
            for r in revisions:
                revision_id, _, native_id, author_id, created_at, body_format, body_source, comment = r
                kept.append({
                    "id": revision_id,
                    "native_id": native_id,
                    "user": self.users[author_id].slack_id if author_id in self.users else None,
                    "created_at": created_at,
                    "format": body_format,
                    "source": body_source,
                    "comment": comment,
                })  # fmt: skip
                self._account("revision", self._note("slack.revision_kept_aside", "revision", Outcome.LOST,
                                                     "kept in the message's passerelle.revisions", where,
                                                     revision_id))  # fmt: skip
            keep["revisions"] = kept
        record["passerelle"] = keep
        self._account("item", *notes)
        return record

    def _text(self, item: Item, keep: dict[str, Any], note: Any) -> str:
        body = item.body
        if body is None:
            text, exact = "", False
            note("slack.body_converted", "body", None, "no body: a Slack message has an empty text")
        elif item.platform == PLATFORM and body.format == BODY_FORMAT:
            text, exact = body.source, True
        else:
            references = tuple((r.kind.value, r.target, r.target_id, r.label) for r in body.references)
            text = to_mrkdwn(body.normalised, mentions_for(references, self._person_names, self._space_names))
            exact = is_exact(text, body.normalised)
            if body.format != BODY_FORMAT:
                keep["body"] = {"format": body.format, "source": body.source}
            if not exact:
                note(
                    "slack.body_converted", "body", None, "written as Slack mrkdwn, it reads back differently"
                )
        if item.title:
            keep["title"] = item.title
            note("slack.value_kept_aside", "title", item.title, "the title is the text's bold first line")
            if exact and body is not None:
                note("slack.body_converted", "body", None, "the title is the text's bold first line")
            text = f"*{escape(item.title)}*\n{text}" if text else f"*{escape(item.title)}*"
        return text

    def _person_names(self, person_id: str) -> tuple[str, tuple[str, ...]] | None:
        user = self.users.get(person_id)
        return None if user is None else (user.slack_id, user.names)

    def _space_names(self, space_id: str) -> tuple[str, tuple[str, ...]] | None:
        conv = self.convs.get(space_id)
        return None if conv is None or conv.folder is None else (conv.slack_id, conv.names)

    def _built_files(
        self, item: Item, file_ids: tuple[str, ...], where: str, days: _DayFiles, note: Any
    ) -> list[dict[str, Any]]:
        records = []
        for f in self._files_of(file_ids):
            state = self.files.get(f.id) or self._first_built_file(f, where, days)
            if not state.written:
                note("slack.file_bytes_lost", "files", f.id, f"file {f.id} has no bytes in the archive")
                continue
            record: dict[str, Any] = {"id": state.slack_id}
            if f.created_at is not None and f.created_at >= 0:
                record["created"] = record["timestamp"] = f.created_at // _US
            for key, value in (("name", f.name), ("title", f.title), ("mimetype", f.media_type)):
                if value is not None:
                    record[key] = value
            if f.author_id is not None and f.author_id in self.users:
                record["user"] = self.users[f.author_id].slack_id
            if f.size is not None:
                record["size"] = f.size
            record["mode"] = "hosted"
            if f.url is not None:
                record["url_private"] = record["url_private_download"] = f.url
            keep: dict[str, Any] = {"id": f.id}
            if f.missing_reason is not None:
                keep["missing_reason"] = f.missing_reason
            if f.created_at is not None and (f.created_at < 0 or f.created_at % _US):
                keep["created_at"] = f.created_at
            record["passerelle"] = keep
            records.append(record)
        return records

    def _first_built_file(self, f: File, where: str, days: _DayFiles) -> _FileState:
        slack_id = (
            f.native_id if f.platform == PLATFORM and _FILE_ID.match(f.native_id) else self._new_file_id(f.id)
        )
        state = _FileState(slack_id, None, True, True)
        self.files[f.id] = state
        notes = []
        if f.sha256 is not None:
            if self.view.archive.blobs.has(f.sha256):
                state.upload = f"__uploads/{slack_id}/{_upload_name(f.name)}"
                days.upload(state.upload, f.sha256)
            else:
                state.written = state.bytes_kept = False
                self._account("file", self._note("slack.file_bytes_lost", "file", Outcome.LOST,
                                                 "its bytes are not in the archive's blob store: left out",
                                                 where, f.id))  # fmt: skip
                return state
        elif f.missing_reason is not None:
            notes.append(self._note("slack.value_kept_aside", "file", Outcome.ADAPTED,
                                    "the reason its bytes are missing is in its passerelle key", where, f.id,
                                    "missing_reason", f.missing_reason))  # fmt: skip
        if f.created_at is not None and (f.created_at < 0 or f.created_at % _US):
            notes.append(self._note("slack.time_truncated", "file", Outcome.ADAPTED,
                                    "created is kept to the second", where, f.id, "created_at",
                                    f.created_at))  # fmt: skip
        self._account("file", *notes)
        return state

    def _built_reactions(self, message: Message, where: str) -> list[dict[str, Any]]:
        """Reactions grouped by emoji, in order of each emoji's first use (by time, then user)."""
        grouped: dict[str, list[str]] = {}
        ordered = sorted(
            (r for r in message.reactions if r.person_id in self.users),
            key=lambda r: (
                r.created_at is None,
                r.created_at or 0,
                self.users[r.person_id].slack_id,
                r.emoji,
            ),
        )
        for r in message.reactions:
            if r.person_id not in self.users:  # pragma: no cover - every person has a Slack user
                self._account("reaction", self._note("slack.reaction_lost", "reaction", Outcome.LOST,
                                                     "its person is unknown", where,
                                                     f"{r.item_id}/{r.person_id}/{r.emoji}"))  # fmt: skip
        for r in ordered:
            grouped.setdefault(r.emoji, []).append(self.users[r.person_id].slack_id)
            if r.created_at is not None:
                self._account("reaction", self._reaction_time(r.created_at, where))
            else:
                self._account("reaction")
        return [{"name": emoji, "users": users, "count": len(users)} for emoji, users in grouped.items()]

    # -- files attached to nothing --------------------------------------------------------------
    def _loose_files(self) -> None:
        for f in self.view.unattached_files():
            where = ""
            if f.sha256 is not None and self.view.archive.blobs.has(f.sha256):
                slack_id = (
                    f.native_id
                    if f.platform == PLATFORM and _FILE_ID.match(f.native_id)
                    else self._new_file_id(f.id)
                )
                where = f"__uploads/{slack_id}/{_upload_name(f.name)}"
                self.out.write_blob(where, f.sha256)
            self._account("file", self._note("slack.loose_file", "file", Outcome.LOST,
                                             "attached to no message: a Slack export has no place for it"
                                             + (f"; its bytes are at {where}" if where else ""),
                                             where, f.id, None, f.name))  # fmt: skip


def _name_in(record: dict[str, Any]) -> str | None:
    name = record.get("name")
    return name if isinstance(name, str) and name else None


def _array(records: list[bytes]) -> bytes:
    if not records:
        return b"[]\n"
    return b"[\n" + b",\n".join(records) + b"\n]\n"
