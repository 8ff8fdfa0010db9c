"""The slackdump reader: chunk recordings (gzip or plain JSON Lines) and conversation dumps.

The samples in ../shared/samples/slack/slackdump-fixtures are counted here with plain
``gzip`` and ``json`` (``_count_recording``), independently of passerelle; the rest are
recordings built at test time, one feature or one kind of damage at a time.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from passerelle.archive import Archive
from passerelle.cli import cli
from passerelle.exit_status import ExitStatus
from passerelle.info import archive_info
from passerelle.ingest import ingest
from passerelle.model import ids
from passerelle.readers import available_readers
from passerelle.readers.slack import SlackReader
from passerelle.readers.slackdump import SlackdumpReader
from passerelle.readers.source_tree import SourceTree
from passerelle.verify import verify_source
from tests.helpers import sample
from tests.slack_builder import build_export, message

CHUNKS = "slack/slackdump-fixtures/chunks.jsonl.gz"
CONVERTER = "slack/slackdump-fixtures/converter_chan1.json"
CONVERTER_THREAD = "slack/slackdump-fixtures/converter_chan1_thread_1736478630.905399.json"

KNOWN = ", ".join(available_readers())  # the message names every registered reader


# -- the samples ------------------------------------------------------------------------------------
def _count_recording(path: Path) -> dict[str, int]:
    """What a chunk recording holds, counted with gzip and json only.

    A message is one (channel, ts), whatever the number of its copies (history, a thread's
    parent with its replies, a message with its files); its last copy is the one that counts.
    Persons: the recording has no users chunk, so every user id it uses is one (authors,
    reactors, members, mentions, file owners, editors)."""
    last: dict[tuple[str, str], dict[str, Any]] = {}
    file_records: set[str] = set()
    members: set[str] = set()
    with gzip.open(path) as lines:
        chunks = [json.loads(line) for line in lines]
    for chunk in chunks:
        copies = ([chunk["p"]] if chunk["t"] in (1, 2) and chunk.get("p") else []) + (
            chunk.get("m") or [] if chunk["t"] in (0, 1) else []
        )
        for m in copies:
            last[(chunk["id"], m["ts"])] = m
        file_records |= {f["id"] for f in chunk.get("f") or []}
        members |= set(chunk.get("cu") or [])
    messages = list(last.values())
    replies = [m for m in messages if m.get("thread_ts") not in (None, m["ts"])]
    people = set(members)
    for m in messages:
        people.add(m.get("user") or m["bot_id"])
        people |= {u for r in m.get("reactions") or [] for u in r["users"]}
        people |= set(re.findall(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>", m.get("text") or ""))
        people |= {f["user"] for f in m.get("files") or [] if f.get("user")}
        people |= {m["edited"]["user"]} if isinstance(m.get("edited"), dict) else set()
    return {
        "items": len(messages),
        "thread_replies": len(replies),
        "thread_roots": len({m["thread_ts"] for m in replies}),
        "reactions": sum(len(set(r["users"])) for m in messages for r in m.get("reactions") or []),
        "files": len(file_records | {f["id"] for m in messages for f in m.get("files") or []}),
        "memberships": len(members),
        "persons": len(people),
    }


def test_chunk_recording_sample_ingests_with_exact_counts_and_verifies(tmp_path: Path) -> None:
    source = sample(CHUNKS)
    counted = _count_recording(source)
    # One private channel (059602) and the workspace; 135 lines: 1 channel users, 1 channel
    # info, 6 history pages, 60 threads, 67 file chunks. 1039 message copies of 909 messages.
    assert counted == {
        "items": 909, "thread_replies": 365, "thread_roots": 60, "reactions": 934, "files": 73,
        "memberships": 52, "persons": 55,
    }  # fmt: skip
    [report] = ingest([source], tmp_path / "a")
    assert report.reader == "slackdump"
    assert report.diagnostics.get("error", 0) == 0
    # The fixture is anonymised copy by copy: every repeated message differs from its last copy.
    assert report.codes["slackdump.message_conflict"] == 1039 - 909
    with Archive.open(tmp_path / "a") as archive:
        counts = archive_info(archive.store)["counts"]
        assert {k: counts[k] for k in counted} == counted
        assert counts["spaces"] == 2
        kind, name = archive.store.query("SELECT kind, name FROM spaces WHERE native_id = 'CO73D19AAE17'")[0]
        assert (kind, name) == ("private_channel", "059602")  # from the channel info, not a file chunk's stub
        result = verify_source(archive, source)
    assert result.ok, result.problems
    totals = result.overall()
    assert totals["messages"].source == totals["messages"].archive == 909
    assert totals["message copies"].source == 1039 and totals["message copies"].explained == 130


@pytest.mark.parametrize(
    ("relatives", "expected"),
    [
        # 2 messages, one a thread root (reply_count 2); no channel id: file:converter_chan1.
        ((CONVERTER,), {"items": 2, "thread_roots": 0, "thread_replies": 0, "persons": 1, "spaces": 2}),
        # The thread's 2 replies alone: their root is in the other file.
        (
            (CONVERTER_THREAD,),
            {"items": 2, "thread_roots": 1, "thread_replies": 2, "persons": 2, "spaces": 2},
        ),
        # Both, in one folder: the thread is whole.
        (
            (CONVERTER, CONVERTER_THREAD),
            {"items": 4, "thread_roots": 1, "thread_replies": 2, "persons": 2, "spaces": 2},
        ),
    ],
    ids=["channel", "thread", "folder"],
)
def test_converter_dumps_ingest_and_verify(
    relatives: tuple[str, ...], expected: dict[str, int], tmp_path: Path
) -> None:
    if len(relatives) == 1:
        source = sample(relatives[0])
    else:
        source = tmp_path / "dumps"
        source.mkdir()
        for relative in relatives:
            shutil.copy(sample(relative), source)
    [report] = ingest([source], tmp_path / "a")
    assert report.reader == "slackdump"
    assert report.codes["slackdump.unknown_conversation"] == 1
    assert ("slack.thread_root_missing" in report.codes) == (relatives == (CONVERTER_THREAD,))
    with Archive.open(tmp_path / "a") as archive:
        counts = archive_info(archive.store)["counts"]
        assert {k: counts[k] for k in expected} == expected
        assert archive.store.query("SELECT native_id, kind FROM spaces WHERE kind != 'workspace'") == [
            ("file:converter_chan1", "public_channel")
        ]
        result = verify_source(archive, source)
    assert result.ok, result.problems


def test_converter_files_ingested_one_by_one_make_one_conversation(tmp_path: Path) -> None:
    ingest([sample(CONVERTER_THREAD), sample(CONVERTER)], tmp_path / "a")
    with Archive.open(tmp_path / "a") as archive:
        root = ids.item_id("slack", "file:converter_chan1", "1736478630.905399")
        assert archive.store.scalar("SELECT count(*) FROM items WHERE thread_root_id = ?", (root,)) == 2
        assert archive.store.scalar("SELECT count(*) FROM items") == 4
        for relative in (CONVERTER, CONVERTER_THREAD):
            assert verify_source(archive, sample(relative)).ok


# -- recordings built at test time --------------------------------------------------------------------
RECORDED_AT = 1_700_000_000_000_000_000
ROOT, REPLY, BROADCAST, LONE, EDITED = (
    "1600000000.000100",
    "1600000100.000200",
    "1600000200.000300",
    "1600000300.000400",
    "1600000400.000500",
)
USERS = [
    {"id": "U1", "team_id": "T1", "name": "ada", "profile": {"display_name": "Ada"}},
    {"id": "U2", "team_id": "T1", "name": "bob", "profile": {}},
]
INFO = {"id": "C1", "name": "general", "is_channel": True, "created": 1600000000, "creator": "U1",
        "members": ["U1", "U2"]}  # fmt: skip
FILE = {"id": "F1", "name": "a.txt", "user": "U1", "size": 3}
PARENT = message(ROOT, "a thread", thread_ts=ROOT, reply_count=2, reactions=[
    {"name": "tada", "users": ["U1", "U2"], "count": 2}])  # fmt: skip


def chunk(kind: int, **fields: Any) -> dict[str, Any]:
    return {"t": kind, "ts": RECORDED_AT, **fields}


def recording_lines() -> list[Any]:
    """A small recording: every kind of record, the repetitions slackdump makes, and damage."""
    reply = message(REPLY, "in the thread", user="U2", thread_ts=ROOT, parent_user_id="U1")
    broadcast = message(BROADCAST, "also in the channel", subtype="thread_broadcast", thread_ts=ROOT)
    return [
        chunk(6, w={"team_id": "T1", "team": "Acme", "user_id": "U1"}),
        chunk(3, u=USERS),
        chunk(7, id="C1", cu=["U1", "U2"]),
        chunk(5, id="C1", ci=INFO),
        chunk(0, id="C1", n=4, m=[PARENT, broadcast, message(LONE, "hello <@U2>"), message(EDITED, "first")]),
        # The thread: its parent again (as the replies call returns it, read since), the replies.
        chunk(1, id="C1", n=2, r=ROOT, l=True, p={**PARENT, "last_read": REPLY}, m=[reply, broadcast]),
        # A file chunk: the message again, now with a different text (edited between the calls).
        chunk(2, id="C1", n=1, ci={"id": "C1"}, p=message(EDITED, "second", files=[FILE]), f=[FILE]),
        chunk(8, st=[{"type": "message", "channel": "C1", "message": {"ts": LONE}}]),
        chunk(42, id="C1", whatever=[1, 2, 3]),
        chunk(0, id="C1", m=[message("1600000500.000600", "with an extra field")], x_new=True),
        b'{"t": 0, "id": "C1", "m": [',  # cut off: not JSON
        b"",
    ]


def write_recording(path: Path, lines: list[Any], *, compress: bool = True) -> Path:
    data = b"\n".join(line if isinstance(line, bytes) else json.dumps(line).encode() for line in lines)
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def diagnostics(archive: Archive) -> list[tuple[str, str, str | None]]:
    return sorted(archive.store.query('SELECT code, "where", dropped FROM diagnostics'))


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_built_recording_every_record_is_data_or_a_diagnostic(tmp_path: Path, compress: bool) -> None:
    name = "rec.jsonl.gz" if compress else "rec.jsonl"
    source = write_recording(tmp_path / name, recording_lines(), compress=compress)
    [report] = ingest([source], tmp_path / "a")
    assert report.reader == "slackdump"
    with Archive.open(tmp_path / "a") as archive:
        store = archive.store
        assert diagnostics(archive) == sorted(
            [
                # The parent with its replies differs only in last_read: merged, kept in an info.
                ("slackdump.message_repeated", f"{name}#5/m/0", "version"),
                # Edited between two calls: the last copy is the message, the first kept.
                ("slackdump.message_conflict", f"{name}#5/m/3", "version"),
                # The file chunk's stub of the channel is not its definition.
                ("slackdump.record_repeated", f"{name}#7/ci", "version"),
                ("slack.file_bytes_missing", f"{name}#7/f/0", None),
                ("slackdump.unmodelled_chunk", f"{name}#8", "chunk"),
                ("slackdump.unmodelled_chunk", f"{name}#9", "chunk"),
                ("slackdump.unknown_field", f"{name}#10/x_new", "field"),
                ("slackdump.invalid_line", f"{name}#11", "chunk"),
            ]
        )
        assert report.codes["slackdump.message_repeated"] == 1
        counts = archive_info(store)["counts"]
        # The broadcast's two copies (history, thread) are identical: merged silently.
        assert {k: counts[k] for k in ("items", "thread_replies", "reactions", "files", "persons",
                                       "memberships", "spaces")} == {
            "items": 6, "thread_replies": 2, "reactions": 2, "files": 1, "persons": 2, "memberships": 2,
            "spaces": 2,
        }  # fmt: skip
        edited = ids.item_id("slack", "C1", EDITED)
        assert store.scalar("SELECT body_source FROM items WHERE id = ?", (edited,)) == "second"
        first = store.scalar("SELECT raw FROM diagnostics WHERE code = 'slackdump.message_conflict'")
        assert json.loads(first) == message(EDITED, "first")
        # The channel as its own info says, its workspace from the workspace chunk.
        assert store.query("SELECT kind, name, parent_id FROM spaces WHERE native_id = 'C1'") == [
            ("public_channel", "general", ids.space_id("slack", "T1"))
        ]
        assert store.scalar("SELECT name FROM spaces WHERE native_id = 'T1'") == "Acme"
        stars = store.scalar('SELECT raw FROM diagnostics WHERE "where" = ?', (f"{name}#8",))
        assert json.loads(stars)["st"][0]["channel"] == "C1"
        assert store.scalar("SELECT count(*) FROM item_files WHERE item_id = ?", (edited,)) == 1
        result = verify_source(archive, source)
    assert result.ok, result.problems


def test_a_truncated_gzip_stream_keeps_what_precedes_and_says_what_is_lost(tmp_path: Path) -> None:
    whole = gzip.compress(b"\n".join(json.dumps(line).encode() for line in recording_lines()[:7]), mtime=0)
    source = tmp_path / "cut.jsonl.gz"
    source.write_bytes(whole[: len(whole) * 3 // 4])
    result = CliRunner().invoke(cli, ["ingest", str(source), "-o", str(tmp_path / "a"), "--json"])
    assert result.exit_code == ExitStatus.OK, result.output
    with Archive.open(tmp_path / "a") as archive:
        [(where, dropped, message_text)] = archive.store.query(
            "SELECT \"where\", dropped, message FROM diagnostics WHERE code = 'slackdump.truncated'"
        )
        assert dropped == "lines" and "what follows is lost" in message_text
        line = int(where.rpartition("#")[2])
        assert 1 < line <= 7
        assert archive.store.scalar("SELECT count(*) FROM persons WHERE is_placeholder = 0") == 2
        report = verify_source(archive, source)
    assert report.ok, report.problems
    assert CliRunner().invoke(cli, ["verify", str(tmp_path / "a"), "--against", str(source)]).exit_code == 0


@pytest.mark.parametrize("keep", [0.1, 0.3, 0.5, 0.9, -8, -4, -1])
def test_a_gzip_stream_cut_anywhere_is_a_diagnostic_or_bad_input_never_a_crash(
    tmp_path: Path, keep: float
) -> None:
    whole = gzip.compress(b"\n".join(json.dumps(line).encode() for line in recording_lines()[:7]), mtime=0)
    cut = int(len(whole) * keep) if keep > 0 else len(whole) + int(keep)  # -8..-1: inside the trailer
    source = tmp_path / "cut.jsonl.gz"
    source.write_bytes(whole[:cut])
    result = CliRunner().invoke(cli, ["ingest", str(source), "-o", str(tmp_path / "a")])
    assert result.exit_code in (ExitStatus.OK, ExitStatus.BAD_INPUT), result.output
    if result.exit_code == ExitStatus.OK:
        with Archive.open(tmp_path / "a") as archive:
            codes = {r[0] for r in archive.store.query("SELECT code FROM diagnostics")}
            assert "slackdump.truncated" in codes
            assert verify_source(archive, source).ok


def test_a_recording_cut_before_its_first_line_is_bad_input(tmp_path: Path) -> None:
    whole = gzip.compress(json.dumps(chunk(3, u=USERS * 200)).encode(), mtime=0)
    source = tmp_path / "cut.jsonl.gz"
    source.write_bytes(whole[:12])
    result = CliRunner().invoke(cli, ["ingest", str(source), "-o", str(tmp_path / "a")])
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert result.stderr.strip() == f"error: {source}: not a format passerelle reads (known: {KNOWN})"


def test_a_slackdump_recording_and_an_official_export_merge_without_duplicates(tmp_path: Path) -> None:
    messages = [
        message(ROOT, "a thread", thread_ts=ROOT, reply_count=1),
        message(REPLY, "in the thread", user="U2", thread_ts=ROOT, parent_user_id="U1"),
        message(LONE, "hello"),
    ]
    export = build_export(tmp_path / "export", {"general/2020-09-13.json": messages})
    recording = write_recording(
        tmp_path / "rec.jsonl.gz",
        [
            chunk(5, id="C1", ci={**INFO, "is_private": False}),
            chunk(0, id="C1", m=[messages[0], messages[2]]),
            chunk(1, id="C1", r=ROOT, p=messages[0], m=[messages[1]]),
        ],
    )
    reports = ingest([export, recording], tmp_path / "a")
    assert [r.reader for r in reports] == ["slack", "slackdump"]
    with Archive.open(tmp_path / "a") as archive:
        store = archive.store
        assert store.scalar("SELECT count(*) FROM items") == 3
        assert store.scalar("SELECT count(*) FROM spaces WHERE native_id = 'C1'") == 1
        wanted = {ids.item_id("slack", "C1", m["ts"]) for m in messages}
        assert {r[0] for r in store.query("SELECT id FROM items")} == wanted
        assert store.scalar("SELECT count(*) FROM persons WHERE native_id = 'U1'") == 1
        for source in (export, recording):
            assert verify_source(archive, source).ok, source


def test_a_single_file_is_a_tree_of_one_entry(tmp_path: Path) -> None:
    source = write_recording(tmp_path / "rec.jsonl.gz", recording_lines()[:3])
    tree = SourceTree.open(source)
    try:
        assert tree.names() == ["rec.jsonl.gz"] and not tree.is_zip
        assert tree.read_bytes("rec.jsonl.gz") == source.read_bytes()
        with tree.open_entry("rec.jsonl.gz") as stream:
            assert stream.read(2) == b"\x1f\x8b"
        assert tree.fingerprint() == (hashlib.sha256(source.read_bytes()).hexdigest(), source.stat().st_size)
        assert SlackdumpReader.detect(tree) and not SlackReader.detect(tree)
    finally:
        tree.close()


@pytest.mark.parametrize(
    ("name", "content", "detected"),
    [
        ("rec.jsonl", b'{"t": 0, "id": "C1", "m": []}\n', True),
        ("rec.jsonl", b'{"type": 0}\n', False),  # no integer "t"
        ("rec.jsonl", b'{"t": "0"}\n', False),
        ("dump.json", b'[{"type": "message", "ts": "1.2"}]', True),
        ("dump.json", b'[{"type": "message", "ts": 1.2}]', False),
        ("dump.json", b"[]", False),
        ("notes.txt", b'{"t": 0}\n', False),  # not a name a recording has
    ],
)
def test_detection_is_specific(tmp_path: Path, name: str, content: bytes, detected: bool) -> None:
    (tmp_path / name).write_bytes(content)
    tree = SourceTree.open(tmp_path / name)
    try:
        assert SlackdumpReader.detect(tree) is detected
    finally:
        tree.close()


def test_an_official_export_is_never_taken_for_a_recording(tmp_path: Path) -> None:
    export = build_export(tmp_path / "export", {"general/2020-09-13.json": [message(ROOT)]})
    tree = SourceTree.open(export)
    try:
        assert not SlackdumpReader.detect(tree) and SlackReader.detect(tree)
    finally:
        tree.close()
