"""Reconcile an archive with the Mattermost bulk export it came from, by an independent path.

This module shares no code with the Mattermost reader: it reads the export with the
standard library's ``zipfile`` and ``json``, line by line in file order, works out on its
own what each line holds, and checks every record against the archive:

- every user and bot is a person, every team, channel and direct channel a space, every
  custom emoji a file (``emoji:<name>``), each with its raw line;
- every membership a user lists (teams, and channels in them), and every member of a
  direct channel or of a direct post's channel;
- every post, reply and direct post is an item in its space, under the native id the
  export gives it (``<create_at>:<username>``, ``#n`` when the key came before in the
  space), with its time, author, type, thread and raw record;
- every (user, emoji) reaction, every attachment, and the bytes of every file the export
  holds (or the reason they are missing);
- every other entry's bytes are in the blob store.

A record absent from the archive is *explained* only by a diagnostic the reader stored at
that very place (``<entry>#<line>``, ``…/replies/<i>``, ``…/reactions/<i>``…) with the
record's kind as ``dropped``; anything else is a difference, and ``verify`` fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from passerelle.archive import Archive
from passerelle.model import ids
from passerelle.verify.export_files import ExportFiles
from passerelle.verify.ledger import SourceLedger, open_report, unsafe_names
from passerelle.verify.report import ConversationRow, Tally, VerifyReport

PLATFORM = "mattermost"
_SUFFIXES = (".jsonl", ".json")
_SNIFF = 1 << 16
_MAX_MILLIS = 10**15
_DEFINITIONS = {"team", "channel", "user", "bot", "emoji", "direct_channel"}
_UNMODELLED = {"role", "scheme"}
_READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, ValueError, RuntimeError, NotImplementedError)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads(text: str) -> Any:
    """Strict JSON: NaN and Infinity are not JSON, nor is nesting Python cannot follow."""
    try:
        return json.loads(text, parse_constant=_no_constants)
    except RecursionError as exc:
        raise ValueError("nested too deep") from exc


def _first_record(handle: IO[bytes]) -> Any:
    try:
        return _loads(handle.readline(_SNIFF).decode("utf-8").strip())
    except (ValueError, UnicodeDecodeError):
        return None


def _starts_with_version(handle: IO[bytes]) -> bool:
    first = _first_record(handle)
    return isinstance(first, dict) and first.get("type") == "version"


def is_mattermost_source(path: Path) -> bool:
    """Whether verify should read this source as a Mattermost bulk export: a JSON Lines file
    whose first line is a version line, alone or at the top of a zip or folder."""
    try:
        if path.is_dir():
            for child in path.iterdir():
                if child.is_file() and child.name.lower().endswith(_SUFFIXES):
                    with child.open("rb") as handle:
                        if _starts_with_version(handle):
                            return True
            return False
        if not path.is_file():
            return False
        if not zipfile.is_zipfile(path):
            with path.open("rb") as handle:
                return _starts_with_version(handle)
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if "/" not in info.filename and info.filename.lower().endswith(_SUFFIXES):
                    with zf.open(info) as handle:
                        if _starts_with_version(handle):
                            return True
    except _READ_ERRORS:
        return False
    return False


# -- what a record must hold to be data ------------------------------------------------------------
def _name(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _time(value: Any) -> int | None:
    return value if type(value) is int and 0 < value < _MAX_MILLIS else None


def _message_ok(record: Any) -> bool:
    if (
        not isinstance(record, dict)
        or _name(record.get("user")) is None
        or _time(record.get("create_at")) is None
    ):
        return False
    return record.get("message") is None or isinstance(record.get("message"), str)


def _distinct_members(value: Any) -> list[str] | None:
    if not isinstance(value, list) or not value or any(_name(m) is None for m in value):
        return None
    return sorted(set(value))


def _channel_members(record: dict[str, Any]) -> list[str] | None:
    if record.get("members") is None and isinstance(record.get("participants"), list):
        return _distinct_members(
            [p.get("username") if isinstance(p, dict) else None for p in record["participants"]]
        )
    return _distinct_members(record.get("members"))


def _elements(value: Any) -> list[Any] | None:
    """A list field's elements: [] when absent or null; None when it is not a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else None


def _roles(record: dict[str, Any]) -> list[str]:
    return record["roles"].split() if isinstance(record.get("roles"), str) else []


def _cp1252_where_not_utf8(data: bytes) -> str:
    """Text whose bytes that are not UTF-8 are read as cp1252, as the reader says it did."""
    text = data.decode("utf-8", "surrogateescape")
    return re.sub(
        "[\udc80-\udcff]+",
        lambda m: m.group().encode("utf-8", "surrogateescape").decode("cp1252", "replace"),
        text,
    )


# -- the reconciliation -------------------------------------------------------------------------------------
@dataclass
class _Checker(SourceLedger):
    export: ExportFiles = field(kw_only=True)
    users: dict[str, str] = field(default_factory=dict)  # username -> its first definition
    teams: set[str] = field(default_factory=set)
    channels: set[str] = field(default_factory=set)
    emoji: set[str] = field(default_factory=set)
    directs: set[str] = field(default_factory=set)  # defined by a direct_channel line
    direct_members_checked: set[str] = field(default_factory=set)
    keys: dict[bytes, int] = field(default_factory=dict)  # digest of (space, post key) -> times seen
    files_checked: set[str] = field(default_factory=set)

    # -- the archive ------------------------------------------------------------------------------
    def scalar(self, sql: str, params: tuple[Any, ...]) -> Any:
        return self.archive.store.scalar(sql, params)

    def row(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        rows = self.archive.store.query(sql, params)
        return rows[0] if rows else None

    def differ(self, tally: Tally, where: str, what: str) -> None:
        tally.unexplained += 1
        self.report.problem(f"{where}: {what}")

    def conversation(self, native: str, name: str, kind: str) -> ConversationRow:
        return self.report.conversation(native, name, kind)

    # -- lines ------------------------------------------------------------------------------------
    def check_entry(self, entry: str) -> None:
        tally = self.report.tally("lines")
        if self.dropped(entry, "entry"):  # refused by the reader (too large, unreadable…): not opened
            self.account(tally, entry, "entry refused", False, "entry")
            return
        # Where the reader says the file breaks off: the lines from there are lost, and said so.
        broken = self.archive.store.query(
            'SELECT "where" FROM diagnostics WHERE source_id = ? AND code = ? AND dropped = ?'
            ' AND substr("where", 1, ?) = ?',
            (self.source_id, "mattermost.truncated", "lines", len(entry) + 1, entry + "#"),
        )
        stop = min((int(w.rpartition("#")[2]) for (w,) in broken), default=None)
        number = 0
        try:
            with self.export.open(entry) as handle:
                for data in handle:
                    number += 1
                    if stop is not None and number >= stop:
                        break
                    self.check_line(entry, number, data.rstrip(b"\r\n"))
        except _READ_ERRORS as exc:
            if stop is None:
                self.differ(tally, f"{entry}#{number + 1}", f"unreadable ({exc}) and not said so")
            return
        if number == 0 and not self.said(f"{entry}#1", "mattermost.bad_version"):
            self.differ(tally, f"{entry}#1", "an empty file without a version line, not said so")

    def check_line(self, entry: str, number: int, data: bytes) -> None:
        where = f"{entry}#{number}"
        tally = self.report.tally("lines")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            if not self.said(where, "source.not_utf8"):
                self.differ(tally, where, "a line that is not UTF-8, not said so")
            text = _cp1252_where_not_utf8(data)
        try:
            record = _loads(text) if text.strip() else None
        except ValueError:
            record = None
        kind = record.get("type") if isinstance(record, dict) else None
        if number == 1 and kind != "version" and not self.said(where, "mattermost.bad_version"):
            self.differ(tally, where, "the export does not begin with a version line, not said so")
        if not isinstance(record, dict):
            if text.strip():
                self.account(tally, where, "a line that is not a JSON object", False, "line")
            return
        if kind == "version":
            version = record.get("version")
            if (number != 1 or type(version) is not int or version != 1) and not self.said(
                where, "mattermost.bad_version"
            ):
                self.differ(tally, where, f"version line ({version!r}, line {number}) not said to be wrong")
            if record.keys() - {"type", "version"}:
                self.account(tally, where, "the version line's info not kept", False, "version")
        elif kind in _UNMODELLED:
            self.account(tally, where, f"{kind} line not kept", False, kind)
        elif kind in ("user", "bot"):
            self.check_person(kind, record, where)
        elif kind == "team":
            self.check_team(record, where)
        elif kind == "channel":
            self.check_channel(record, where)
        elif kind == "emoji":
            self.check_emoji(record, where)
        elif kind == "direct_channel":
            self.check_direct_channel(record, where)
        elif kind in ("post", "direct_post"):
            self.check_post(kind, record, where)
        else:
            self.account(tally, where, f"a line of type {kind!r} not kept", False, "line")

    # -- definitions -------------------------------------------------------------------------------------
    def check_person(self, kind: str, line: dict[str, Any], where: str) -> None:
        tally = self.report.tally("users")
        record = line.get(kind)
        name = _name(record.get("username")) if isinstance(record, dict) else None
        if name is None or name in self.users:
            self.account(tally, where, f"{kind} {name!r} not kept", False, kind)
            return
        assert isinstance(record, dict)
        self.users[name] = where
        person = ids.person_id(PLATFORM, name)
        row = self.row("SELECT native_id, is_bot, is_placeholder, raw FROM persons WHERE id = ?", (person,))
        found = row is not None and row[0] == name and not row[2]
        self.account(tally, where, f"{kind} {name} missing", found, kind)
        if row is not None and found:
            if bool(row[1]) != (kind == "bot"):
                self.differ(tally, where, f"{kind} {name} stored with is_bot={row[1]}")
            if not self.raw_kept(person, row[3], line):
                self.differ(tally, where, f"the raw record of {kind} {name} differs from the export")
        if kind == "user":
            self.check_memberships(record, name, where)

    def check_memberships(self, user: dict[str, Any], name: str, where: str) -> None:
        teams = _elements(user.get("teams"))
        if teams is None:
            self.account(
                self.report.tally("memberships"), f"{where}/teams", "teams not a list", False, "membership"
            )
            return
        for i, team in enumerate(teams):
            at = f"{where}/teams/{i}"
            team_name = _name(team.get("name")) if isinstance(team, dict) else None
            if team_name is None:
                self.account(
                    self.report.tally("memberships"), at, "team membership not kept", False, "membership"
                )
                continue
            assert isinstance(team, dict)
            row = self.conversation(team_name, team_name, "team")
            role = "admin" if "team_admin" in _roles(team) else "member"
            self.check_member(row.tally("members"), at, team_name, name, role)
            channels = _elements(team.get("channels"))
            if channels is None:
                self.account(
                    row.tally("members"), f"{at}/channels", "channels not a list", False, "membership"
                )
                continue
            for j, channel in enumerate(channels):
                cat = f"{at}/channels/{j}"
                channel_name = _name(channel.get("name")) if isinstance(channel, dict) else None
                if channel_name is None:
                    self.account(
                        row.tally("members"), cat, "channel membership not kept", False, "membership"
                    )
                    continue
                assert isinstance(channel, dict)
                key = f"{team_name}/{channel_name}"
                crow = self.conversation(key, channel_name, "channel")
                role = "admin" if "channel_admin" in _roles(channel) else "member"
                self.check_member(crow.tally("members"), cat, key, name, role)

    def check_member(self, tally: Tally, where: str, space: str, username: str, role: str | None) -> None:
        stored = self.scalar(
            "SELECT role FROM memberships WHERE space_id = ? AND person_id = ?",
            (ids.space_id(PLATFORM, space), ids.person_id(PLATFORM, username)),
        )
        self.account(tally, where, f"{username} not a member of {space}", stored is not None, "membership")
        if stored is not None and role is not None and stored != role:
            self.differ(tally, where, f"{username} is {stored} of {space}, the export says {role}")

    def check_space(
        self, tally: Tally, where: str, native: str, kind: str | None, line: Any, dropped: str
    ) -> None:
        space = ids.space_id(PLATFORM, native)
        row = self.row("SELECT kind, raw FROM spaces WHERE id = ?", (space,))
        self.account(tally, where, f"space {native} missing", row is not None, dropped)
        if row is None:
            return
        if kind is not None and row[0] != kind:
            self.differ(tally, where, f"space {native} stored as {row[0]}, the export says {kind}")
        if not self.raw_kept(space, row[1], line):
            self.differ(tally, where, f"the raw record of space {native} differs from the export")

    def check_team(self, line: dict[str, Any], where: str) -> None:
        tally = self.report.tally("conversations")
        record = line.get("team")
        name = _name(record.get("name")) if isinstance(record, dict) else None
        if name is None or name in self.teams:
            self.account(tally, where, f"team {name!r} not kept", False, "team")
            return
        self.teams.add(name)
        self.conversation(name, name, "team")
        self.check_space(tally, where, name, "workspace", line, "team")

    def check_channel(self, line: dict[str, Any], where: str) -> None:
        tally = self.report.tally("conversations")
        record = line.get("channel")
        team = _name(record.get("team")) if isinstance(record, dict) else None
        name = _name(record.get("name")) if isinstance(record, dict) else None
        key = f"{team}/{name}"
        if team is None or name is None or key in self.channels:
            self.account(tally, where, f"channel {key!r} not kept", False, "channel")
            return
        assert isinstance(record, dict)
        self.channels.add(key)
        kind = "public_channel" if record.get("type") == "O" else "private_channel"
        self.conversation(key, name, kind)
        self.check_space(tally, where, key, kind, line, "channel")

    def check_direct_channel(self, line: dict[str, Any], where: str) -> None:
        tally = self.report.tally("conversations")
        record = line.get("direct_channel")
        members = _channel_members(record) if isinstance(record, dict) else None
        native = "direct:" + ",".join(members) if members else ""
        if members is None or native in self.directs:
            self.account(tally, where, f"direct channel {native!r} not kept", False, "direct_channel")
            return
        self.directs.add(native)
        kind = "direct_message" if len(members) <= 2 else "group_message"
        row = self.conversation(native, native, kind)
        self.check_space(tally, where, native, kind, line, "direct_channel")
        for member in members:
            self.check_member(row.tally("members"), where, native, member, None)
        self.direct_members_checked.add(native)

    def check_emoji(self, line: dict[str, Any], where: str) -> None:
        tally = self.report.tally("emoji")
        record = line.get("emoji")
        name = _name(record.get("name")) if isinstance(record, dict) else None
        if name is None or name in self.emoji:
            self.account(tally, where, f"emoji {name!r} not kept", False, "emoji")
            return
        assert isinstance(record, dict)
        self.emoji.add(name)
        native = f"emoji:{name}"
        file = ids.file_id(PLATFORM, native)
        row = self.row("SELECT raw FROM files WHERE id = ?", (file,))
        self.account(tally, where, f"emoji {name} missing", row is not None, "emoji")
        if row is not None and not self.raw_kept(file, row[0], line):
            self.differ(tally, where, f"the raw record of emoji {name} differs from the export")
        self.check_bytes(native, _name(record.get("image")))

    def check_bytes(self, native: str, path: str | None) -> None:
        """The file's bytes are in the blob store, or the archive says why they are not."""
        if native in self.files_checked:
            return
        self.files_checked.add(native)
        tally = self.report.tally("file bytes")
        tally.source += 1
        row = self.row(
            "SELECT sha256, missing_reason FROM files WHERE id = ?", (ids.file_id(PLATFORM, native),)
        )
        entry = None
        if path is not None:
            entry = next((e for e in (path, f"data/{path}") if e in self.export.entries), None)
        sha = None
        if entry is not None and not self.dropped(entry, "entry"):
            with contextlib.suppress(*_READ_ERRORS):
                sha = self.export.sha256(entry)
        if row is None:
            self.differ(tally, native, f"no file record for {native}")
        elif sha is not None and row[0] == sha and self.archive.blobs.has(sha):
            tally.archive += 1
        elif sha is None and row[0] is None and row[1]:
            tally.explained += 1
        else:
            self.differ(tally, native, f"bytes of {native} not kept (export {sha}, archive {row[0]})")

    # -- posts -------------------------------------------------------------------------------------------
    def check_post(self, kind: str, line: dict[str, Any], where: str) -> None:
        record = line.get(kind)
        space: str | None = None
        team: str | None = None
        members: list[str] | None = None
        if _message_ok(record):
            assert isinstance(record, dict)
            if kind == "post":
                team, channel = _name(record.get("team")), _name(record.get("channel"))
                space = f"{team}/{channel}" if team and channel else None
            else:
                members = _distinct_members(record.get("channel_members"))
                space = "direct:" + ",".join(members) if members else None
        if space is None:
            tally = self.report.tally("invalid posts")
            self.account(tally, where, f"{kind} not kept", False, kind)
            return
        assert isinstance(record, dict)
        if members is not None:
            kind_name = "direct_message" if len(members) <= 2 else "group_message"
            row = self.conversation(space, space, kind_name)
            if space not in self.direct_members_checked:
                self.direct_members_checked.add(space)
                for member in members:
                    self.check_member(row.tally("members"), where, space, member, None)
        else:
            defined = "channel" if space in self.channels else "undefined channel"
            row = self.conversation(space, space.partition("/")[2], defined)
        root = self.check_item(row, space, record, line, where, None)
        replies = _elements(record.get("replies"))
        if replies is None:
            self.account(row.tally("replies"), f"{where}/replies", "replies not a list", False, "reply")
            return
        for i, reply in enumerate(replies):
            at = f"{where}/replies/{i}"
            if not _message_ok(reply):
                self.account(row.tally("replies"), at, "reply not kept", False, "reply")
                continue
            self.check_item(row, space, reply, reply, at, root)

    def _native(self, space: str, record: dict[str, Any]) -> str:
        key = f"{record['create_at']}:{record['user']}"
        digest = hashlib.blake2b(f"{space}\x1f{key}".encode(), digest_size=16).digest()
        n = self.keys.get(digest, 0) + 1
        self.keys[digest] = n
        return key if n == 1 else f"{key}#{n}"

    def check_item(
        self,
        row: ConversationRow,
        space: str,
        record: dict[str, Any],
        raw_record: Any,
        where: str,
        root: str | None,
    ) -> str:
        native = self._native(space, record)
        item = ids.item_id(PLATFORM, space, native)
        subtype: str = record["type"] if isinstance(record.get("type"), str) else ""
        tally = row.tally("replies" if root is not None else "messages")
        stored = self.row(
            "SELECT space_id, native_id, created_native, author_id, subtype, thread_root_id, raw FROM items"
            " WHERE id = ?",
            (item,),
        )
        kind = "reply" if root is not None else ("direct_post" if space.startswith("direct:") else "post")
        self.account(row.subtype(subtype), where, f"{kind} {native} missing", stored is not None, kind)
        self.account(tally, where, f"{kind} {native} missing", stored is not None, kind)
        if stored is None:
            return item
        expected = (
            ids.space_id(PLATFORM, space),
            native,
            str(record["create_at"]),
            ids.person_id(PLATFORM, record["user"]),
            subtype or None,
            root,
        )
        if tuple(stored[:6]) != expected:
            self.differ(tally, where, f"{kind} {native} stored as {stored[:6]}, the export says {expected}")
        if not self.raw_kept(item, stored[6], raw_record):
            self.differ(tally, where, f"the raw record of {kind} {native} differs from the export")
        self.check_reactions(row, item, record, where)
        self.check_attachments(row, item, record, where)
        return item

    def check_reactions(self, row: ConversationRow, item: str, record: dict[str, Any], where: str) -> None:
        tally = row.tally("reactions")
        reactions = _elements(record.get("reactions"))
        if reactions is None:
            self.account(tally, f"{where}/reactions", "reactions not a list", False, "reaction")
            return
        stored = set(
            self.archive.store.query(
                "SELECT r.emoji, p.native_id FROM reactions r JOIN persons p ON p.id = r.person_id"
                " WHERE r.item_id = ?",
                (item,),
            )
        )
        seen: set[tuple[str, str]] = set()
        for i, reaction in enumerate(reactions):
            at = f"{where}/reactions/{i}"
            user = _name(reaction.get("user")) if isinstance(reaction, dict) else None
            emoji = _name(reaction.get("emoji_name")) if isinstance(reaction, dict) else None
            if user is None or emoji is None:
                self.account(tally, at, "reaction not kept", False, "reaction")
                continue
            if (emoji, user) in seen:
                continue  # the same person's same emoji twice is one reaction
            seen.add((emoji, user))
            self.account(tally, at, f":{emoji}: by {user} missing", (emoji, user) in stored, "reaction")

    def check_attachments(self, row: ConversationRow, item: str, record: dict[str, Any], where: str) -> None:
        tally = row.tally("files")
        attachments = _elements(record.get("attachments"))
        if attachments is None:
            self.account(tally, f"{where}/attachments", "attachments not a list", False, "attachment")
            return
        stored = {
            native
            for (native,) in self.archive.store.query(
                "SELECT f.native_id FROM item_files x JOIN files f ON f.id = x.file_id WHERE x.item_id = ?",
                (item,),
            )
        }
        for i, attachment in enumerate(attachments):
            at = f"{where}/attachments/{i}"
            path = _name(attachment.get("path")) if isinstance(attachment, dict) else None
            if path is None:
                self.account(tally, at, "attachment not kept", False, "attachment")
                continue
            self.account(tally, at, f"attachment {path} missing", path in stored, "attachment")
            self.check_bytes(path, path)

    # -- other entries ----------------------------------------------------------------------------------
    def check_other_entries(self, names: list[str]) -> None:
        """Every other entry's bytes are in the blob store: a file's under its file record,
        anything else with a diagnostic at its name saying it was kept uninterpreted."""
        tally = self.report.tally("other entries")
        blobs = self.archive.blobs
        for name in names:
            if self.dropped(name, "entry"):  # refused by the reader: not opened
                self.account(tally, name, "entry refused", False, "entry")
                continue
            try:
                sha = self.export.sha256(name)
            except _READ_ERRORS as exc:
                self.account(tally, name, f"unreadable ({exc})", False, "entry")
                continue
            kept = blobs.has(sha) and (
                self.scalar("SELECT 1 FROM files WHERE platform = ? AND sha256 = ? LIMIT 1", (PLATFORM, sha))
                is not None
                or self.said_anything(name)
            )
            self.account(tally, name, f"bytes (sha256 {sha[:12]}…) not kept", kept, "entry")


def _exports(export: ExportFiles) -> list[str]:
    """The JSON Lines files: top-level .jsonl or .json entries whose first line is a version line."""
    found: list[str] = []
    for name in sorted(export.entries):
        if "/" in name or not name.lower().endswith(_SUFFIXES):
            continue
        with contextlib.suppress(*_READ_ERRORS), export.open(name) as handle:
            if _starts_with_version(handle):
                found.append(name)
    return found


def verify_mattermost(archive: Archive, source: Path) -> VerifyReport:
    export = ExportFiles(source, what="Mattermost export (zip, folder or .jsonl)", single_file=True)
    report, ingested = open_report(archive, source, export.fingerprint(), PLATFORM, "mattermost")
    if not ingested:
        return report
    checker = _Checker(archive, report.source_id, report, export=export)
    names = sorted(export.entries)
    unsafe = set(unsafe_names(names))
    for name in sorted(unsafe):
        checker.account(report.tally("other entries"), name, "unsafe entry not diagnosed", False, "entry")
    entries = [n for n in _exports(export) if n not in unsafe]
    for entry in entries:
        checker.check_entry(entry)
    checker.check_other_entries([n for n in names if n not in unsafe and n not in entries])
    return report
