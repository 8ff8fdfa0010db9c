"""Reconcile an archive with the Slack export it came from, by an independent path.

This module shares no code with the Slack reader: it walks the export with the standard
library's ``zipfile`` and ``json``, works out on its own which records the export holds,
and checks each one against the archive: the message exists under its exact ``ts``,
with its subtype, its thread, the same raw record, every (person, emoji) reaction and
every file; every conversation and its members; every user. A record absent from the
archive is *explained* only by a diagnostic the reader stored at that very place in
the export; anything else is a difference, and ``verify`` fails.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from passerelle.archive import Archive
from passerelle.model import ids
from passerelle.progress import Display, NullDisplay
from passerelle.verify.export_files import ExportFiles
from passerelle.verify.ledger import SourceLedger, open_report, unsafe_names
from passerelle.verify.report import Tally, VerifyReport

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
_TS = re.compile(r"^\d{1,12}\.\d{1,9}$")
_KINDS = {
    "channels.json": "public_channel",
    "groups.json": "private_channel",
    "mpims.json": "group_message",
    "dms.json": "direct_message",
}
_LISTS = tuple(_KINDS)
_USERS = ("users.json", "org_users.json")
_BATCH = 400


@dataclass
class _Conv:
    native_id: str
    name: str
    kind: str
    members: list[str] | None = None
    where: str = ""


@dataclass
class _Checker(SourceLedger):
    explained_at: set[str] = field(default_factory=set)


def verify_slack(archive: Archive, source: Path, display: Display | None = None) -> VerifyReport:
    export = ExportFiles(source, what="Slack export (zip or folder)")
    report, ingested = open_report(archive, source, export.fingerprint(), "slack", "slack")
    if not ingested:
        return report
    checker = _Checker(archive, report.source_id, report)
    names = sorted(export.entries)
    unsafe = set(unsafe_names(names))
    for name in sorted(unsafe):
        checker.account(report.tally("entries"), name, "unsafe entry not diagnosed", False, "entry")

    # Workspace roots: the top level, and each teams/<id>/ of an Enterprise Grid export.
    roots = sorted(
        {
            folder
            for folder, _, fname in (n.rpartition("/") for n in names)
            if fname in _LISTS + _USERS and (folder == "" or re.fullmatch(r"teams/[^/]+", folder))
        }
    )
    _check_users(export, roots, checker)
    folders = _conversations(export, roots, checker)
    day_files: dict[str, list[str]] = {}
    for name in names:
        folder, _, fname = name.rpartition("/")
        if folder and _DAY.match(fname) and name not in unsafe and "__uploads" not in folder.split("/"):
            day_files.setdefault(folder, []).append(name)
    for folder, conv in folders.items():
        _check_members(conv, checker)
        if folder not in day_files:
            report.conversation(conv.native_id, conv.name, conv.kind)
    task = (display or NullDisplay()).task("Verifying conversations", total=len(day_files))
    for folder, entries in day_files.items():
        task.advance()
        conv = folders.get(folder) or _unlisted(folder)
        _check_conversation(export, conv, entries, checker)
    read_as_records = {f"{root}/{f}" if root else f for root in roots for f in _LISTS + _USERS}
    read_as_records |= {e for entries in day_files.values() for e in entries}
    _check_other_entries(export, [n for n in names if n not in read_as_records and n not in unsafe], checker)
    return report


_UPLOAD = re.compile(r"^(?:.*/)?__uploads/([A-Z0-9]+)/[^/]+$|^.+/attachments/([A-Z0-9]+)-[^/]+$")


def _check_other_entries(export: ExportFiles, names: list[str], checker: _Checker) -> None:
    """Every other entry's bytes are in the blob store: a file's bytes under its file record,
    anything else with a diagnostic at its name saying it was kept uninterpreted."""
    tally = checker.report.tally("other entries")
    store, blobs = checker.archive.store, checker.archive.blobs
    for name in names:
        if checker.dropped(name, "entry"):  # refused by the reader (too large, unreadable…): not opened
            checker.account(tally, name, "entry refused", False, "entry")
            continue
        try:
            sha = export.sha256(name)
        except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
            checker.account(tally, name, f"unreadable ({exc})", False, "entry")
            continue
        upload = _UPLOAD.match(name)
        kept = blobs.has(sha) and (
            (upload is not None and store.scalar(
                "SELECT 1 FROM files WHERE platform = 'slack' AND native_id = ? AND sha256 = ?",
                (upload.group(1) or upload.group(2), sha),
            ) is not None)
            or checker.said_anything(name)
        )  # fmt: skip
        checker.account(tally, name, f"bytes (sha256 {sha[:12]}…) not kept", kept, "entry")


def _json(export: ExportFiles, name: str, checker: _Checker, tally: Tally) -> Any:
    # An entry the reader refused (unsafe path, zip bomb, unreadable) is not opened here either.
    if checker.dropped(name, "entry"):
        checker.account(tally, name, "entry refused", False, "entry")
        return None
    try:
        data = export.read(name)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            if not checker.said(name, "source.not_utf8"):
                raise
            text = _cp1252_where_not_utf8(data)
        return json.loads(text)
    except (ValueError, zipfile.BadZipFile, OSError, EOFError) as exc:
        checker.account(tally, name, f"unreadable ({exc})", False, "file")
        return None


def _cp1252_where_not_utf8(data: bytes) -> str:
    """Text whose bytes that are not UTF-8 are read as cp1252, as the reader says it did."""
    text = data.decode("utf-8", "surrogateescape")
    return re.sub(
        "[\udc80-\udcff]+",
        lambda m: m.group().encode("utf-8", "surrogateescape").decode("cp1252", "replace"),
        text,
    )


def _records(
    export: ExportFiles, name: str, checker: _Checker, tally: Tally, kind: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    data = _json(export, name, checker, tally)
    if data is None:
        return
    if not isinstance(data, list):
        checker.account(tally, name, "file is not a JSON array", False, "file")
        return
    for index, record in enumerate(data):
        where = f"{name}#{index}"
        if isinstance(record, dict):
            yield where, record
        else:
            checker.account(tally, where, "record is not an object", False, kind)


def _check_users(export: ExportFiles, roots: list[str], checker: _Checker) -> None:
    tally = checker.report.tally("users")
    for root in roots:
        for fname in _USERS:
            name = f"{root}/{fname}" if root else fname
            if name not in export.entries:
                continue
            for where, user in _records(export, name, checker, tally, "user"):
                uid = user.get("id")
                found = (
                    isinstance(uid, str)
                    and checker.archive.store.scalar(
                        "SELECT raw FROM persons WHERE id = ?", (ids.person_id("slack", uid),)
                    )
                    is not None
                )
                checker.account(tally, where, f"user {uid} missing", found, "user")


def _conversations(export: ExportFiles, roots: list[str], checker: _Checker) -> dict[str, _Conv]:
    tally = checker.report.tally("conversations")
    folders: dict[str, _Conv] = {}
    for root in roots:
        prefix = f"{root}/" if root else ""
        for fname in _LISTS:
            if prefix + fname not in export.entries:
                continue
            for where, record in _records(export, prefix + fname, checker, tally, "conversation"):
                cid, name = record.get("id"), record.get("name")
                if not isinstance(cid, str):
                    checker.account(tally, where, "conversation without id", False, "conversation")
                    continue
                found = (
                    checker.archive.store.scalar(
                        "SELECT 1 FROM spaces WHERE id = ?", (ids.space_id("slack", cid),)
                    )
                    is not None
                )
                checker.account(tally, where, f"conversation {cid} missing", found, "conversation")
                folder = prefix + (cid if fname == "dms.json" or not isinstance(name, str) else name)
                members = record.get("members")
                folders[folder] = _Conv(
                    cid,
                    name if isinstance(name, str) else cid,
                    _KINDS[fname],
                    members if isinstance(members, list) else None,
                    where,
                )
    return folders


def _unlisted(folder: str) -> _Conv:
    name = folder.rpartition("/")[2]
    native = name if re.fullmatch(r"D[A-Z0-9]{6,}", name) else f"folder:{folder}"
    return _Conv(native, name, "unlisted")


def _check_members(conv: _Conv, checker: _Checker) -> None:
    row = checker.report.conversation(conv.native_id, conv.name, conv.kind)
    tally = row.tally("members")
    if conv.members is None:
        return
    stored = {
        r[0]
        for r in checker.archive.store.query(
            "SELECT p.native_id FROM memberships m JOIN persons p ON p.id = m.person_id WHERE m.space_id = ?",
            (ids.space_id("slack", conv.native_id),),
        )
    }
    seen: set[str] = set()
    for member in conv.members:
        if isinstance(member, str) and member in seen:
            continue
        seen.add(member if isinstance(member, str) else "")
        found = isinstance(member, str) and member in stored
        checker.account(tally, conv.where, f"{member!r} not a member of {conv.name}", found, "membership")


def _check_conversation(export: ExportFiles, conv: _Conv, entries: list[str], checker: _Checker) -> None:
    row = checker.report.conversation(conv.native_id, conv.name, conv.kind)
    thread_roots: set[str] = set()
    seen: set[str] = set()
    for entry in entries:
        batch: list[tuple[str, dict[str, Any]]] = []
        for where, message in _records(export, entry, checker, row.tally("messages"), "message"):
            ts = message.get("ts")
            if not isinstance(ts, str) or not _TS.match(ts) or ts in seen:
                checker.account(row.tally("messages"), where, f"message {ts!r} not kept", False, "message")
                continue
            seen.add(ts)
            batch.append((where, message))
            if len(batch) >= _BATCH:
                _check_batch(conv, batch, checker, row, thread_roots)
                batch = []
        _check_batch(conv, batch, checker, row, thread_roots)
    # A thread is rebuilt when its root is in the archive; a root absent from the export
    # itself is explained by the reader's slack.thread_root_missing diagnostic.
    tally = row.tally("thread_roots")
    for root_ts in sorted(thread_roots):
        root = ids.item_id("slack", conv.native_id, root_ts)
        tally.source += 1
        if checker.archive.store.scalar("SELECT 1 FROM items WHERE id = ?", (root,)):
            tally.archive += 1
        elif checker.archive.store.scalar(
            "SELECT 1 FROM diagnostics WHERE source_id = ? AND code = 'slack.thread_root_missing' AND entity_id = ?",
            (checker.source_id, root),
        ):
            tally.explained += 1
        else:
            tally.unexplained += 1
            checker.report.problem(f"{conv.name}: thread {root_ts} has replies but no root and no diagnostic")


def _check_batch(
    conv: _Conv, batch: list[tuple[str, dict[str, Any]]], checker: _Checker, row: Any, thread_roots: set[str]
) -> None:
    if not batch:
        return
    store = checker.archive.store
    wanted = {ids.item_id("slack", conv.native_id, m["ts"]): (where, m) for where, m in batch}
    marks = ",".join("?" * len(wanted))
    items = {
        r[0]: r[1:]
        for r in store.query(
            f"SELECT id, native_id, subtype, thread_root_id, raw FROM items WHERE id IN ({marks})",
            list(wanted),
        )
    }
    reactions: dict[str, set[tuple[str, str]]] = {}
    for item, emoji, person in store.query(
        f"SELECT r.item_id, r.emoji, p.native_id FROM reactions r JOIN persons p ON p.id = r.person_id"
        f" WHERE r.item_id IN ({marks})",
        list(wanted),
    ):
        reactions.setdefault(item, set()).add((emoji, person))
    files: dict[str, set[str]] = {}
    for item, native in store.query(
        f"SELECT x.item_id, f.native_id FROM item_files x JOIN files f ON f.id = x.file_id WHERE x.item_id IN ({marks})",
        list(wanted),
    ):
        files.setdefault(item, set()).add(native)

    for item, (where, m) in wanted.items():
        ts = m["ts"]
        subtype = m.get("subtype") if isinstance(m.get("subtype"), str) else ""
        stored = items.get(item)
        found = stored is not None
        checker.account(row.subtype(subtype), where, f"message {ts} missing", found, "message")
        checker.account(row.tally("messages"), where, f"message {ts} missing", found, "message")
        if stored is None:
            continue
        native, stored_subtype, root, raw = stored
        thread_ts = m.get("thread_ts")
        expected_root = None
        if isinstance(thread_ts, str) and thread_ts != ts and _TS.match(thread_ts):
            expected_root = ids.item_id("slack", conv.native_id, thread_ts)
            thread_roots.add(thread_ts)
            checker.account(
                row.tally("replies"),
                where,
                f"reply {ts} not in its thread {thread_ts}",
                root == expected_root,
                "reply",
            )
        if (
            native != ts
            or (stored_subtype or "") != subtype
            or (root != expected_root and expected_root is None)
        ):
            checker.report.problem(f"{where}: message {ts} stored as ts={native} subtype={stored_subtype}")
            row.tally("messages").unexplained += 1
        if not checker.raw_kept(item, raw, m):
            checker.report.problem(f"{where}: the raw record of message {ts} differs from the export")
            row.tally("messages").unexplained += 1
        for index, reaction in enumerate(m["reactions"] if isinstance(m.get("reactions"), list) else []):
            name = reaction.get("name") if isinstance(reaction, dict) else None
            users = reaction.get("users") if isinstance(reaction, dict) else None
            if not isinstance(name, str) or not isinstance(users, list):
                checker.account(
                    row.tally("reactions"),
                    f"{where}/reactions/{index}",
                    "invalid reaction",
                    False,
                    "reaction",
                )
                continue
            for user in dict.fromkeys(u for u in users if isinstance(u, str) and u):
                checker.account(
                    row.tally("reactions"),
                    f"{where}/reactions/{index}",
                    f":{name}: by {user} missing",
                    (name, user) in reactions.get(item, set()),
                    "reaction",
                )
        message_files: list[Any] = m["files"] if isinstance(m.get("files"), list) else []
        if not message_files and isinstance(m.get("file"), dict):
            message_files = [m["file"]]
        for index, f in enumerate(message_files):
            fid = f.get("id") if isinstance(f, dict) else None
            checker.account(
                row.tally("files"),
                f"{where}/files/{index}",
                f"file {fid} missing",
                isinstance(fid, str) and fid in files.get(item, set()),
                "file",
            )
