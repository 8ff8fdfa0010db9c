"""The Mattermost bulk-export reader: mmctl's JSON Lines, in a zip, a folder or alone.

A bulk export (``mmctl export``; bulk-import files made by mmetl and others are the same
format) is one JSON object per line, the first ``{"type":"version","version":1}``: teams,
channels, users with their team and channel memberships, bots, custom emoji, posts with
their replies, reactions and attachments, direct channels and direct posts; roles and
schemes. Attachments and emoji images are files of the export, named by a path that
Mattermost joins to ``data/``. Reference: ../shared/reference/formats-chat.md §3.

Mattermost names records rather than numbering them: a user by username, a channel by
team and name, a post by its channel, author and ``create_at`` (milliseconds). Those names
are the native ids (a post: ``<create_at>:<username>``, with ``#2``, ``#3``… when the same
key comes again in its space), so a later export of the same server merges.

Only JSON Lines is read, as Mattermost's importer reads it: a file holding one
pretty-printed object (a sample from documentation) is not an export, ``detect`` does not
take it, and read with ``--from mattermost`` each of its lines that is not a JSON object
is an error diagnostic that keeps the line.

The export is read in two streaming passes, so memory holds names (users, teams,
channels, emoji, files) and 8 to 16 bytes a post, never posts:

1. definitions (one unit): users, bots, teams, channels, direct channels and emoji become
   persons, spaces and files; the pass also learns what the posts use (authors, reactors,
   channels never defined, files) and which posts repeat an earlier post's key, and makes
   the placeholders those need;
2. lines, in blocks of ``BLOCK_LINES`` (one unit each): memberships, posts, replies,
   reactions, attachments, and a diagnostic for every line that is not data. Everything a
   block needs was settled by the first pass, so a block depends on no other block: a
   re-run skips the blocks done and reads the first pass again for its state.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import msgspec

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
    Space,
    SpaceKind,
    Visibility,
)
from passerelle.progress import Display
from passerelle.readers import mattermost_markdown
from passerelle.readers.base import FormatInfo, Sink
from passerelle.readers.source_tree import EntryError, SourceTree, repair_utf8

PLATFORM = "mattermost"
BODY_FORMAT = "mattermost-markdown"
BLOCK_LINES = 10_000  # lines a unit of work holds
SNIFF_BYTES = 1 << 16  # what detection reads of an entry: a version line is far shorter
_SUFFIXES = (".jsonl", ".json")
# create_at is milliseconds; beyond this (year 33658) it is no time, and its microseconds
# would not fit SQLite's 64-bit integers.
_MAX_MILLIS = 10**15
_DEFINITIONS = frozenset({"team", "channel", "user", "bot", "emoji", "direct_channel"})
_UNMODELLED = frozenset({"role", "scheme"})  # permissions: the model has no place for them
_DECODE_ERRORS = (msgspec.DecodeError, RecursionError)


# -- values ------------------------------------------------------------------------------------
def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _millis(value: Any) -> int | None:
    """A time in milliseconds: a positive integer that microseconds can hold; else None."""
    return value if type(value) is int and 0 < value < _MAX_MILLIS else None


def _positive(value: Any) -> bool:
    return type(value) is int and value > 0


def _roles(record: dict[str, Any]) -> list[str]:
    roles = record.get("roles")
    return roles.split() if isinstance(roles, str) else []


def _list(value: Any) -> list[Any] | None:
    """A list field: its elements ([] when absent or null, as exports write it); None when
    it is something else."""
    if value is None:
        return []
    return value if isinstance(value, list) else None


def _direct_native(members: tuple[str, ...]) -> str:
    return "direct:" + ",".join(members)


def _members(value: Any) -> tuple[str, ...] | None:
    """A direct channel's members, distinct and sorted; None unless a non-empty list of usernames."""
    if not isinstance(value, list) or not value or not all(_text(m) for m in value):
        return None
    return tuple(sorted(set(value)))


def _direct_members(channel: dict[str, Any]) -> tuple[str, ...] | None:
    # Newer servers may give "participants" [{username, …}] in place of "members".
    if channel.get("members") is None and isinstance(channel.get("participants"), list):
        participants = channel["participants"]
        return _members([p.get("username") if isinstance(p, dict) else None for p in participants])
    return _members(channel.get("members"))


def _reaction(value: Any) -> tuple[str, str] | None:
    """(username, emoji name) of a reaction; None when it lacks either."""
    if not isinstance(value, dict):
        return None
    user, emoji = _text(value.get("user")), _text(value.get("emoji_name"))
    return (user, emoji) if user and emoji else None


def _attachment(value: Any) -> str | None:
    return _text(value.get("path")) if isinstance(value, dict) else None


def _message_problem(record: dict[str, Any], kind: str) -> str | None:
    """Why a post, reply or direct post cannot become an item; None when it can."""
    if _text(record.get("user")) is None:
        return f"{kind} without a user"
    if _millis(record.get("create_at")) is None:
        return f"{kind} without a valid create_at ({record.get('create_at')!r})"
    message = record.get("message")
    if message is not None and not isinstance(message, str):
        return f"{kind} whose message is not text"
    return None


@dataclass(frozen=True)
class _Post:
    """A post or direct post line that can become items."""

    record: dict[str, Any]  # the post object
    space: str  # its space's native id
    team: str | None  # None for a direct post
    members: tuple[str, ...]  # a direct post's members, distinct and sorted
    user: str
    create_at: int


def _post(kind: str, line: dict[str, Any]) -> _Post | str:
    """The post a post or direct_post line holds, or why it cannot become one."""
    record = line.get(kind)
    if not isinstance(record, dict):
        return f"a {kind} line without a {kind} object"
    problem = _message_problem(record, kind)
    if problem is not None:
        return problem
    user, created = record["user"], record["create_at"]
    if kind == "post":
        team, channel = _text(record.get("team")), _text(record.get("channel"))
        if team is None or channel is None:
            return "post without a team and channel"
        return _Post(record, f"{team}/{channel}", team, (), user, created)
    members = _members(record.get("channel_members"))
    if members is None:
        return "direct post without its channel members"
    return _Post(record, _direct_native(members), None, members, user, created)


@dataclass(frozen=True)
class _Member:
    """One entry of a user's ``teams`` or of a team's ``channels``."""

    where: str
    space: str | None  # the team's or channel's native id; None when the entry is not valid
    team: str  # the team's name (for a channel, the team it is in)
    channel: str | None
    role: str
    raw: Any = None
    problem: str | None = None


def _memberships(user: dict[str, Any], where: str) -> Iterator[_Member]:
    teams = user.get("teams")
    if teams is None:
        return
    if not isinstance(teams, list):
        yield _Member(f"{where}/teams", None, "", None, "", teams, "teams is not a list")
        return
    for i, team in enumerate(teams):
        at = f"{where}/teams/{i}"
        name = _text(team.get("name")) if isinstance(team, dict) else None
        if name is None:
            yield _Member(at, None, "", None, "", team, "team membership without a team name")
            continue
        assert isinstance(team, dict)
        yield _Member(at, name, name, None, "admin" if "team_admin" in _roles(team) else "member")
        channels = team.get("channels")
        if channels is None:
            continue
        if not isinstance(channels, list):
            yield _Member(f"{at}/channels", None, name, None, "", channels, "channels is not a list")
            continue
        for j, channel in enumerate(channels):
            cat = f"{at}/channels/{j}"
            cname = _text(channel.get("name")) if isinstance(channel, dict) else None
            if cname is None:
                yield _Member(cat, None, name, None, "", channel, "channel membership without a channel name")
                continue
            assert isinstance(channel, dict)
            role = "admin" if "channel_admin" in _roles(channel) else "member"
            yield _Member(cat, f"{name}/{cname}", name, cname, role)


def _key(kind: str, record: dict[str, Any]) -> tuple[str | None, str]:
    """The key a definition is known by (a username, a team name, "team/channel", an emoji
    name, a direct channel's native id), or None and why it has none."""
    if kind in ("user", "bot"):
        return _text(record.get("username")), f"{kind} without a username"
    if kind in ("team", "emoji"):
        return _text(record.get("name")), f"{kind} without a name"
    if kind == "channel":
        team, name = _text(record.get("team")), _text(record.get("name"))
        return (f"{team}/{name}" if team and name else None), "channel without a team and name"
    members = _direct_members(record)
    return (_direct_native(members) if members else None), "direct channel without members"


def _native(create_at: int, user: str, n: int | None) -> str:
    return f"{create_at}:{user}" + (f"#{n}" if n else "")


# -- reading lines -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Broken:
    number: int  # the line that could not be read
    message: str


def _raw_lines(tree: SourceTree, entry: str) -> Iterator[tuple[int, bytes | None] | _Broken]:
    """(number from 1, bytes without the line break; None when longer than the limit) of each
    line; a stream that breaks (corrupt or unreadable entry) ends with _Broken."""
    limit = tree.limits.max_json_bytes
    number = 0
    try:
        with tree.open_entry(entry) as stream:
            while line := stream.readline(limit + 1):
                number += 1
                if len(line) > limit and not line.endswith(b"\n"):
                    while (more := stream.readline(1 << 20)) and not more.endswith(b"\n"):
                        pass
                    yield number, None
                    continue
                yield number, line.rstrip(b"\r\n")
    except (EntryError, OSError, EOFError) as exc:
        yield _Broken(number + 1, str(exc))


def _decode(data: bytes) -> tuple[dict[str, Any] | None, bytes | None, str]:
    """(the line's object or None, the line read as UTF-8 when it was not, why it is no object)."""
    repaired = repair_utf8(data)
    try:
        record = msgspec.json.decode(repaired if repaired is not None else data)
    except _DECODE_ERRORS as exc:
        return None, repaired, f"not JSON ({exc})"
    if not isinstance(record, dict):
        return None, repaired, f"a JSON {type(record).__name__}, not an object"
    return record, repaired, ""


def _first_line(tree: SourceTree, entry: str) -> bytes:
    try:
        with tree.open_entry(entry) as stream:
            return stream.readline(SNIFF_BYTES)
    except EntryError:
        return b""


def _is_version_line(data: bytes) -> bool:
    try:
        record = msgspec.json.decode(data.strip())
    except _DECODE_ERRORS:
        return False
    return isinstance(record, dict) and record.get("type") == "version"


def _exports(tree: SourceTree) -> list[str]:
    """The export's JSON Lines files: top-level .jsonl or .json entries whose first line is a
    version line (mmctl writes one, named import.jsonl, beside the data/ folder)."""
    return [
        name
        for name in tree.names()
        if "/" not in name and name.lower().endswith(_SUFFIXES) and _is_version_line(_first_line(tree, name))
    ]


def _entry_for(tree: SourceTree, path: str) -> str | None:
    """The entry holding a file's bytes: the path as written, or under data/ (the importer's join)."""
    for name in (path, f"data/{path}"):
        if name in tree:
            return name
    return None


# -- what the first pass learns ----------------------------------------------------------------------
class _KeyCounts:
    """How many times each (space, post key) has come. One 64-bit digest a key in an
    open-addressing table (8 to 16 bytes a post, no object per post); a dict counts the
    few keys that come more than once."""

    def __init__(self) -> None:
        self._slots = array("Q", bytes(8 * 1024))
        self._used = 0
        self._more: dict[int, int] = {}

    def add(self, space: str, key: str) -> int:
        """Count the key in the space; return how many times it has come, this one included."""
        digest = hashlib.blake2b(f"{space}\x1f{key}".encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "little") | 1  # 0 marks an empty slot
        slots = self._slots
        mask = len(slots) - 1
        at = value & mask
        while (held := slots[at]) != 0:
            if held == value:
                n = self._more.get(value, 1) + 1
                self._more[value] = n
                return n
            at = (at + 1) & mask
        slots[at] = value
        self._used += 1
        if self._used * 2 > len(slots):
            self._grow()
        return 1

    def _grow(self) -> None:
        old = self._slots
        slots = self._slots = array("Q", bytes(16 * len(old)))
        mask = len(slots) - 1
        for value in old:
            if value:
                at = value & mask
                while slots[at] != 0:
                    at = (at + 1) & mask
                slots[at] = value


@dataclass
class _Direct:
    where: str  # its direct_channel line, or the first direct post in it
    members: tuple[str, ...]
    defined: bool  # by a direct_channel line (else known from direct posts only)


@dataclass
class _Scan:
    """What the first pass learns. Bounded by users, teams, channels and files, never by posts
    (but for ``keys``, 8 to 16 bytes a post, dropped once the pass is over)."""

    users: dict[str, str] = field(default_factory=dict)  # username -> its defining line (users, bots)
    teams: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)  # "team/name" -> its defining line
    emoji: dict[str, str] = field(default_factory=dict)
    directs: dict[str, _Direct] = field(default_factory=dict)
    # First uses, in the order of the export: what is used but never defined gets a placeholder there.
    used_users: dict[str, str] = field(default_factory=dict)
    used_teams: dict[str, str] = field(default_factory=dict)
    used_channels: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # key -> team, name, where
    files: dict[str, str] = field(default_factory=dict)  # attachment path -> its first use
    consumed: set[str] = field(default_factory=set)  # entries read as files' bytes
    keys: _KeyCounts = field(default_factory=_KeyCounts)
    repeats: dict[str, int] = field(default_factory=dict)  # where of a post whose key came before -> n

    def use_user(self, name: str, where: str) -> None:
        if name not in self.used_users:
            self.used_users[name] = where

    def use_channel(self, team: str, name: str, where: str) -> None:
        if team not in self.used_teams:
            self.used_teams[team] = where
        key = f"{team}/{name}"
        if key not in self.used_channels:
            self.used_channels[key] = (team, name, where)

    def defined(self, kind: str, key: str) -> str | None:
        """Where the key was defined already; None when this is its first definition."""
        if kind == "direct_channel":
            direct = self.directs.get(key)
            return direct.where if direct is not None and direct.defined else None
        table = {"user": self.users, "bot": self.users, "team": self.teams, "channel": self.channels}
        return table.get(kind, self.emoji).get(key)

    def count(self, space: str, record: dict[str, Any], where: str) -> None:
        n = self.keys.add(space, f"{record['create_at']}:{record['user']}")
        if n > 1:
            self.repeats[where] = n


class MattermostReader:
    info: ClassVar[FormatInfo] = FormatInfo(
        name="mattermost",
        platform=PLATFORM,
        description="Mattermost bulk export (mmctl export: a zip or folder with a .jsonl and data/, or the .jsonl alone)",
        keeps=(
            "users and bots (username, nickname, names, email, position, deactivated, guest); users"
            " used but never defined (placeholders)",
            "teams as workspaces; public and private channels with header, purpose, archived flag",
            "team and channel memberships with admin roles; direct and group channels with their members",
            "posts, replies and direct posts with exact create_at, edit_at, type, pinned flag, raw line",
            "threads (replies in their root's thread, whatever their order or time)",
            "reactions with their user and time; attachments with their bytes (path or data/path)",
            "custom emoji as files named emoji:<name>, with their image",
            "mentions, @here/@channel/@all, ~channel links, links and emoji in messages",
            "role and scheme lines, and lines of unknown types, verbatim in diagnostics",
        ),
        cannot_carry=(
            "permissions: roles and schemes (kept verbatim in info diagnostics)",
            "notification preferences, flagged posts, thread followers, props, read state (kept in raw)",
            "files absent from the export: the record is kept, the reason recorded",
            "a pretty-printed JSON object: only JSON Lines is read, each other line is an error diagnostic",
        ),
    )
    version: ClassVar[str] = "1"

    @classmethod
    def detect(cls, tree: SourceTree) -> bool:
        return bool(_exports(tree))

    def read(self, tree: SourceTree, out: ArchiveWriter, display: Display) -> None:
        # Forced (--from mattermost) on files without a version line: every top-level JSON file.
        entries = _exports(tree) or [
            n for n in tree.names() if "/" not in n and n.lower().endswith(_SUFFIXES)
        ]
        total = sum(tree.size(e) for e in entries)
        scan = _Scan()
        emit = not out.is_done("definitions")
        task = display.task("Mattermost definitions", total=total)
        for entry in entries:
            self._definitions(tree, entry, out if emit else None, scan, task.advance)
        scan.keys = _KeyCounts()  # the post keys are settled: free them before the second pass
        if emit:
            self._placeholders(out, scan)
            out.complete("definitions")

        task = display.task("Mattermost posts", total=total)
        for entry in entries:
            self._lines(tree, entry, out, scan, task.advance)

        if not out.is_done("leftovers"):
            self._report_leftovers(tree, set(entries), out, scan)
            out.complete("leftovers")

    # -- pass 1: definitions, and what the posts use ---------------------------------------------
    def _definitions(
        self, tree: SourceTree, entry: str, out: Sink | None, scan: _Scan, advance: Callable[[int], None]
    ) -> None:
        """Read every line; write persons, spaces and emoji when ``out`` is given."""
        for line in _raw_lines(tree, entry):
            if isinstance(line, _Broken):
                return  # said by the second pass, where the line falls
            number, data = line
            if data is None:
                continue
            advance(len(data) + 1)
            record, repaired, _ = _decode(data)
            kind = record.get("type") if record is not None else None
            where = f"{entry}#{number}"
            if kind in _DEFINITIONS:
                assert record is not None
                raw = repaired if repaired is not None else data
                self._definition(tree, kind, record, raw, where, out, scan)
            elif kind == "post" or kind == "direct_post":
                assert record is not None
                self._scan_post(tree, kind, record, where, scan)

    def _definition(
        self,
        tree: SourceTree,
        kind: str,
        line: dict[str, Any],
        raw: bytes,
        where: str,
        out: Sink | None,
        scan: _Scan,
    ) -> None:
        record = line.get(kind)
        if not isinstance(record, dict):
            if out is not None:
                message = f"a {kind} line without a {kind} object"
                out.diagnose("mattermost.invalid_record", where, message, dropped=kind, raw=raw)
            return
        key, problem = _key(kind, record)
        if key is None:
            if out is not None:
                out.diagnose("mattermost.invalid_record", where, problem, dropped=kind, raw=raw)
            return
        earlier = scan.defined(kind, key)
        if earlier is not None:
            if out is not None:
                message = f"{kind} {key!r} is defined again; the definition at {earlier} is kept"
                out.diagnose("mattermost.duplicate_record", where, message, dropped=kind, raw=raw)
            return
        if kind in ("user", "bot"):
            scan.users[key] = where
        elif kind == "team":
            scan.teams[key] = where
        elif kind == "channel":
            scan.channels[key] = where
        elif kind == "emoji":
            scan.emoji[key] = where
        if kind == "user":
            for member in _memberships(record, where):
                if member.space is not None:
                    if member.channel is None:
                        scan.used_teams.setdefault(member.team, member.where)
                    else:
                        scan.use_channel(member.team, member.channel, member.where)
        elif kind == "channel":
            scan.used_teams.setdefault(record["team"], where)
        elif kind == "direct_channel":
            members = _direct_members(record)
            assert members is not None
            scan.directs[key] = _Direct(where, members, True)
            for username in members:
                scan.use_user(username, where)
        elif kind == "emoji":
            image = _text(record.get("image"))
            entry = _entry_for(tree, image) if image else None
            if entry is not None:
                scan.consumed.add(entry)
        if out is not None:
            self._emit_definition(tree, kind, key, record, raw, where, out)

    def _emit_definition(
        self, tree: SourceTree, kind: str, key: str, record: dict[str, Any], raw: bytes, where: str, out: Sink
    ) -> None:
        if kind in ("user", "bot"):
            out.add(_person(kind, key, record, raw, where))
        elif kind == "team":
            out.add(
                Space(
                    id=ids.space_id(PLATFORM, key),
                    platform=PLATFORM,
                    native_id=key,
                    kind=SpaceKind.WORKSPACE,
                    visibility=Visibility.PUBLIC if record.get("type") == "O" else Visibility.PRIVATE,
                    name=key,
                    display_name=_text(record.get("display_name")),
                    purpose=_text(record.get("description")),
                    raw=raw,
                    origin=where,
                )
            )
        elif kind == "channel":
            # Any type but "O" is private: the safer reading for a web archive's access rules.
            public = record.get("type") == "O"
            out.add(
                Space(
                    id=ids.space_id(PLATFORM, key),
                    platform=PLATFORM,
                    native_id=key,
                    kind=SpaceKind.PUBLIC_CHANNEL if public else SpaceKind.PRIVATE_CHANNEL,
                    visibility=Visibility.PUBLIC if public else Visibility.PRIVATE,
                    name=record["name"],
                    display_name=_text(record.get("display_name")),
                    topic=_text(record.get("header")),
                    purpose=_text(record.get("purpose")),
                    parent_id=ids.space_id(PLATFORM, record["team"]),
                    is_archived=_positive(record.get("deleted_at")),
                    raw=raw,
                    origin=where,
                )
            )
        elif kind == "direct_channel":
            members = _direct_members(record)
            assert members is not None
            out.add(_direct_space(key, members, raw, where, topic=_text(record.get("header"))))
        elif kind == "emoji":
            image = _text(record.get("image"))
            entry = _entry_for(tree, image) if image else None
            self._file(tree, f"emoji:{key}", key, key, image, entry, where, None, None, raw, out)

    def _scan_post(self, tree: SourceTree, kind: str, line: dict[str, Any], where: str, scan: _Scan) -> None:
        post = _post(kind, line)
        if isinstance(post, str):
            return  # said by the second pass
        if post.team is None:
            scan.directs.setdefault(post.space, _Direct(where, post.members, False))
            for member in post.members:
                scan.use_user(member, where)
        else:
            scan.use_channel(post.team, post.space[len(post.team) + 1 :], where)
        scan.use_user(post.user, where)
        scan.count(post.space, post.record, where)
        self._scan_uses(tree, post.record, where, scan)
        for i, reply in enumerate(_list(post.record.get("replies")) or []):
            if isinstance(reply, dict) and _message_problem(reply, "reply") is None:
                at = f"{where}/replies/{i}"
                scan.use_user(reply["user"], at)
                scan.count(post.space, reply, at)
                self._scan_uses(tree, reply, at, scan)

    @staticmethod
    def _scan_uses(tree: SourceTree, record: dict[str, Any], where: str, scan: _Scan) -> None:
        for i, value in enumerate(_list(record.get("reactions")) or []):
            reaction = _reaction(value)
            if reaction is not None and reaction[0] not in scan.used_users:
                scan.used_users[reaction[0]] = f"{where}/reactions/{i}"
        for i, value in enumerate(_list(record.get("attachments")) or []):
            path = _attachment(value)
            if path is not None and path not in scan.files:
                scan.files[path] = f"{where}/attachments/{i}"
                entry = _entry_for(tree, path)
                if entry is not None:
                    scan.consumed.add(entry)

    def _placeholders(self, out: ArchiveWriter, scan: _Scan) -> None:
        """What the export uses but never defines, made where it is first used; and the direct
        channels known from their posts alone."""
        for name, where in scan.used_users.items():
            if name in scan.users:
                continue
            person = ids.person_id(PLATFORM, name)
            out.add(
                Person(
                    id=person, platform=PLATFORM, native_id=name, name=name, is_placeholder=True, origin=where
                )
            )
            message = f"user {name!r} is used but not defined; a placeholder person was made"
            out.diagnose("mattermost.unknown_user", where, message, entity_id=person)
        for team, where in scan.used_teams.items():
            if team in scan.teams:
                continue
            space = ids.space_id(PLATFORM, team)
            out.add(
                Space(
                    id=space,
                    platform=PLATFORM,
                    native_id=team,
                    kind=SpaceKind.WORKSPACE,
                    visibility=Visibility.PRIVATE,
                    name=team,
                    raw=msgspec.json.encode({"team": team}),
                    origin=where,
                )
            )
            message = f"team {team!r} is used but not defined; kept as a private workspace"
            out.diagnose("mattermost.unknown_team", where, message, entity_id=space)
        for key, (team, name, where) in scan.used_channels.items():
            if key in scan.channels:
                continue
            space = ids.space_id(PLATFORM, key)
            out.add(
                Space(
                    id=space,
                    platform=PLATFORM,
                    native_id=key,
                    kind=SpaceKind.PRIVATE_CHANNEL,
                    visibility=Visibility.PRIVATE,
                    name=name,
                    parent_id=ids.space_id(PLATFORM, team),
                    raw=msgspec.json.encode({"team": team, "channel": name}),
                    origin=where,
                )
            )
            message = (
                f"channel {name!r} of team {team!r} is used but not defined;"
                " kept as a private channel (its kind is unknown)"
            )
            out.diagnose("mattermost.unknown_channel", where, message, entity_id=space)
        for native, direct in scan.directs.items():
            if direct.defined:
                continue
            raw = msgspec.json.encode({"channel_members": list(direct.members)})
            out.add(_direct_space(native, direct.members, raw, direct.where))
            space = ids.space_id(PLATFORM, native)
            for member in direct.members:
                out.add(
                    Membership(space_id=space, person_id=ids.person_id(PLATFORM, member), origin=direct.where)
                )

    # -- pass 2: lines, block by block ---------------------------------------------------------------
    def _lines(
        self, tree: SourceTree, entry: str, out: ArchiveWriter, scan: _Scan, advance: Callable[[int], None]
    ) -> None:
        unit: str | None = None
        done = False
        for line in _raw_lines(tree, entry):
            number = line.number if isinstance(line, _Broken) else line[0]
            block = f"lines:{entry}#{(number - 1) // BLOCK_LINES * BLOCK_LINES + 1}"
            if block != unit:
                if unit is not None and not done:
                    out.complete(unit)
                unit, done = block, out.is_done(block)
            if isinstance(line, _Broken):
                if not done:
                    message = f"{entry!r} breaks off at line {number} ({line.message}); what follows is lost"
                    out.diagnose("mattermost.truncated", f"{entry}#{number}", message, dropped="lines")
                break
            if not done:
                self._line(tree, entry, number, line[1], out, scan)
            advance(len(line[1] or b"") + 1)
        if unit is None:  # an empty file
            unit, done = f"lines:{entry}#1", out.is_done(f"lines:{entry}#1")
            if not done:
                message = f"{entry!r} is empty: no version line"
                out.diagnose("mattermost.bad_version", f"{entry}#1", message)
        if not done:
            out.complete(unit)

    def _line(
        self, tree: SourceTree, entry: str, number: int, data: bytes | None, out: ArchiveWriter, scan: _Scan
    ) -> None:
        where = f"{entry}#{number}"
        if data is None:
            message = f"line {number} is longer than the limit; not read"
            out.diagnose("source.too_large", where, message, dropped="line")
            if number == 1:
                out.diagnose("mattermost.bad_version", where, f"{entry!r} does not begin with a version line")
            return
        record, repaired, problem = _decode(data)
        raw = data
        if repaired is not None:
            sha, _ = out.put_blob_bytes(data)
            message = f"line {number} is not UTF-8; its invalid bytes were read as cp1252, original kept as blob sha256:{sha}"
            out.diagnose("source.not_utf8", where, message)
            raw = repaired
        kind = record.get("type") if record is not None else None
        if number == 1 and kind != "version":
            out.diagnose("mattermost.bad_version", where, f"{entry!r} does not begin with a version line")
        if record is None:
            if data.strip():  # a blank line holds no record
                out.diagnose(
                    "mattermost.invalid_json", where, f"line {number} is {problem}", dropped="line", raw=raw
                )
            return
        if kind == "version":
            self._version(record, number, where, raw, out)
        elif kind in _UNMODELLED:
            message = f"a {kind} line (permissions): the model has no place for it; kept in this diagnostic"
            out.diagnose("mattermost.unmodelled_record", where, message, dropped=kind, raw=raw)
        elif kind == "user":
            self._user_memberships(record, where, out, scan)
        elif kind == "direct_channel":
            self._direct_memberships(record, where, out, scan)
        elif kind == "post" or kind == "direct_post":
            post = _post(kind, record)
            if isinstance(post, str):
                out.diagnose("mattermost.invalid_record", where, post, dropped=kind, raw=raw)
            else:
                self._post_items(tree, post, raw, where, out, scan)
        elif kind not in _DEFINITIONS:
            what = f"type {kind!r}" if isinstance(kind, str) else "no type"
            message = f"a line of {what}: passerelle does not know it; kept in this diagnostic"
            out.diagnose("mattermost.unknown_type", where, message, dropped="line", raw=raw)

    @staticmethod
    def _version(record: dict[str, Any], number: int, where: str, raw: bytes, out: ArchiveWriter) -> None:
        version = record.get("version")
        if number != 1:
            message = "a version line after the first line; the lines are read as version 1"
            out.diagnose("mattermost.bad_version", where, message, raw=raw)
        elif type(version) is not int or version != 1:
            message = f"version {version!r}: passerelle reads version 1; the lines are read as version 1"
            out.diagnose("mattermost.bad_version", where, message, raw=raw)
        if record.keys() - {"type", "version"}:
            # The export's own description (generator, version, creation time): kept.
            message = "the version line's other fields (such as info): kept in this diagnostic"
            out.diagnose("mattermost.unmodelled_record", where, message, dropped="version", raw=raw)

    @staticmethod
    def _user_memberships(line: dict[str, Any], where: str, out: ArchiveWriter, scan: _Scan) -> None:
        user = line.get("user")
        name = _text(user.get("username")) if isinstance(user, dict) else None
        if name is None or scan.users.get(name) != where:
            return  # not a user, or not its first definition: said by the first pass
        assert isinstance(user, dict)
        person = ids.person_id(PLATFORM, name)
        for member in _memberships(user, where):
            if member.space is None:
                out.diagnose(
                    "mattermost.invalid_record",
                    member.where,
                    member.problem or "",
                    dropped="membership",
                    raw=msgspec.json.encode(member.raw),
                )
                continue
            space = ids.space_id(PLATFORM, member.space)
            out.add(Membership(space_id=space, person_id=person, role=member.role, origin=member.where))

    @staticmethod
    def _direct_memberships(line: dict[str, Any], where: str, out: ArchiveWriter, scan: _Scan) -> None:
        record = line.get("direct_channel")
        members = _direct_members(record) if isinstance(record, dict) else None
        if members is None:
            return  # said by the first pass
        native = _direct_native(members)
        direct = scan.directs.get(native)
        if direct is None or direct.where != where:
            return
        space = ids.space_id(PLATFORM, native)
        for member in members:
            out.add(Membership(space_id=space, person_id=ids.person_id(PLATFORM, member), origin=where))

    def _post_items(
        self, tree: SourceTree, post: _Post, raw: bytes, where: str, out: ArchiveWriter, scan: _Scan
    ) -> None:
        root_native = _native(post.create_at, post.user, scan.repeats.get(where))
        root = ids.item_id(PLATFORM, post.space, root_native)
        self._item(tree, post, post.record, raw, root_native, root, None, where, out, scan)
        replies = _list(post.record.get("replies"))
        if replies is None:
            self._invalid_list(post.record, "replies", "reply", where, out)
            return
        for i, reply in enumerate(replies):
            at = f"{where}/replies/{i}"
            problem = (
                _message_problem(reply, "reply") if isinstance(reply, dict) else "reply is not an object"
            )
            if problem is not None:
                encoded = msgspec.json.encode(reply)
                out.diagnose("mattermost.invalid_record", at, problem, dropped="reply", raw=encoded)
                continue
            native = _native(reply["create_at"], reply["user"], scan.repeats.get(at))
            item = ids.item_id(PLATFORM, post.space, native)
            self._item(tree, post, reply, msgspec.json.encode(reply), native, item, root, at, out, scan)

    def _item(
        self,
        tree: SourceTree,
        post: _Post,
        record: dict[str, Any],
        raw: bytes,
        native: str,
        item: str,
        root: str | None,
        where: str,
        out: ArchiveWriter,
        scan: _Scan,
    ) -> None:
        created, user = record["create_at"], record["user"]
        if "#" in native:
            message = (
                f"a post with the create_at and author of an earlier one in its channel: native id {native!r}"
            )
            out.diagnose("mattermost.repeated_post_key", where, message, entity_id=item)
        subtype = _text(record.get("type"))
        edited = _millis(record.get("edit_at"))
        text = record.get("message") or ""
        author = ids.person_id(PLATFORM, user)
        out.add(
            Item(
                id=item,
                platform=PLATFORM,
                native_id=native,
                kind=ItemKind.EVENT if subtype and subtype.startswith("system_") else ItemKind.MESSAGE,
                space_id=ids.space_id(PLATFORM, post.space),
                subtype=subtype,
                author_id=author,
                created_at=created * 1000,
                created_native=str(created),
                edited_at=edited * 1000 if edited else None,
                edited_native=str(edited) if edited else None,
                thread_root_id=root,
                parent_id=root,
                pinned=record.get("is_pinned") is True,
                body=Body(
                    format=BODY_FORMAT,
                    source=text,
                    normalised=text,
                    references=self._references(text, post, scan),
                ),
                raw=raw,
                origin=where,
            )
        )
        reactions = _list(record.get("reactions"))
        if reactions is None:
            self._invalid_list(record, "reactions", "reaction", where, out)
        for i, value in enumerate(reactions or []):
            reaction = _reaction(value)
            if reaction is None:
                out.diagnose(
                    "mattermost.invalid_record",
                    f"{where}/reactions/{i}",
                    "reaction without a user and emoji name",
                    dropped="reaction",
                    raw=msgspec.json.encode(value),
                )
                continue
            assert isinstance(value, dict)
            at = _millis(value.get("create_at"))
            person = ids.person_id(PLATFORM, reaction[0])
            out.add(
                Reaction(
                    item_id=item, person_id=person, emoji=reaction[1], created_at=at * 1000 if at else None
                )
            )
        attachments = _list(record.get("attachments"))
        if attachments is None:
            self._invalid_list(record, "attachments", "attachment", where, out)
        for i, value in enumerate(attachments or []):
            at_where = f"{where}/attachments/{i}"
            path = _attachment(value)
            if path is None:
                encoded = msgspec.json.encode(value)
                out.diagnose(
                    "mattermost.invalid_record",
                    at_where,
                    "attachment without a path",
                    dropped="attachment",
                    raw=encoded,
                )
                continue
            if scan.files.get(path) == at_where:  # the file's first use: its record is written here
                name = path.rstrip("/").rpartition("/")[2] or path
                entry = _entry_for(tree, path)
                self._file(
                    tree, path, name, None, path, entry, at_where, author, created * 1000,
                    msgspec.json.encode(value), out,
                )  # fmt: skip
            out.add(ItemFile(item_id=item, file_id=ids.file_id(PLATFORM, path), position=i))

    @staticmethod
    def _invalid_list(record: dict[str, Any], key: str, kind: str, where: str, out: ArchiveWriter) -> None:
        out.diagnose(
            "mattermost.invalid_record",
            f"{where}/{key}",
            f"{key} is not a list",
            dropped=kind,
            raw=msgspec.json.encode(record[key]),
        )

    @staticmethod
    def _references(text: str, post: _Post, scan: _Scan) -> tuple[Reference, ...]:
        references: list[Reference] = []
        for ref in mattermost_markdown.references(text, scan.users.__contains__):
            target_id = None
            if ref.kind is RefKind.PERSON and ref.target in scan.users:
                target_id = ids.person_id(PLATFORM, ref.target)
            elif ref.kind is RefKind.SPACE and post.team is not None:
                # ~name is a channel of the post's own team.
                key = f"{post.team}/{ref.target}"
                if key in scan.channels or key in scan.used_channels:
                    target_id = ids.space_id(PLATFORM, key)
            references.append(
                Reference(kind=ref.kind, target=ref.target, target_id=target_id, label=ref.label)
            )
        return tuple(references)

    # -- files -----------------------------------------------------------------------------------------
    @staticmethod
    def _file(
        tree: SourceTree,
        native: str,
        name: str,
        title: str | None,
        path: str | None,
        entry: str | None,
        where: str,
        author: str | None,
        created: int | None,
        raw: bytes,
        out: Sink,
    ) -> None:
        sha256 = missing = None
        size: int | None = None
        if entry is not None:
            try:
                with tree.open_entry(entry) as stream:
                    sha256, size = out.put_blob(stream, size=tree.size(entry))
            except (EntryError, OSError, EOFError, ValueError) as exc:
                missing = f"unreadable in the export: {exc}"
        elif path is None:
            missing = "the export names no file"
        else:
            missing = f"not in the export (neither {path!r} nor {'data/' + path!r})"
        file = ids.file_id(PLATFORM, native)
        if missing:
            out.diagnose(
                "mattermost.file_not_in_export", where, f"file {native!r}: {missing}", entity_id=file
            )
        out.add(
            File(
                id=file,
                platform=PLATFORM,
                native_id=native,
                name=name,
                title=title,
                size=size,
                sha256=sha256,
                missing_reason=missing,
                author_id=author,
                created_at=created,
                raw=raw,
                origin=where,
            )
        )

    # -- accounting ------------------------------------------------------------------------------------
    def _report_leftovers(self, tree: SourceTree, read: set[str], out: ArchiveWriter, scan: _Scan) -> None:
        for problem in tree.problems:
            out.diagnose(problem.code, problem.entry, problem.message, dropped=problem.dropped)
        for name in tree.names():
            if name in read or name in scan.consumed:
                continue
            try:
                with tree.open_entry(name) as stream:
                    sha, size = out.put_blob(stream, size=tree.size(name))
            except EntryError as exc:
                out.diagnose(exc.code, name, str(exc), dropped="entry")
                continue
            message = f"{name!r} ({size} bytes) is not interpreted; kept as blob sha256:{sha}"
            out.diagnose("source.unrecognised_entry", name, message)


def _person(kind: str, username: str, record: dict[str, Any], raw: bytes, where: str) -> Person:
    if kind == "bot":
        return Person(
            id=ids.person_id(PLATFORM, username),
            platform=PLATFORM,
            native_id=username,
            name=username,
            display_name=_text(record.get("display_name")),
            is_bot=True,
            is_deleted=_positive(record.get("delete_at")),
            raw=raw,
            origin=where,
        )
    names = (record.get("first_name"), record.get("last_name"))
    real_name = " ".join(n for n in names if isinstance(n, str)).strip()
    return Person(
        id=ids.person_id(PLATFORM, username),
        platform=PLATFORM,
        native_id=username,
        name=username,
        display_name=_text(record.get("nickname")),
        real_name=real_name or None,
        email=_text(record.get("email")),
        is_deleted=_positive(record.get("delete_at")),
        is_guest="system_guest" in _roles(record),
        title=_text(record.get("position")),
        raw=raw,
        origin=where,
    )


def _direct_space(
    native: str, members: tuple[str, ...], raw: bytes, where: str, *, topic: str | None = None
) -> Space:
    # A DM to oneself has one distinct member: it is still a direct message.
    kind = SpaceKind.DIRECT_MESSAGE if len(members) <= 2 else SpaceKind.GROUP_MESSAGE
    return Space(
        id=ids.space_id(PLATFORM, native),
        platform=PLATFORM,
        native_id=native,
        kind=kind,
        visibility=Visibility.PRIVATE,
        topic=topic,
        raw=raw,
        origin=where,
    )
