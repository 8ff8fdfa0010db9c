"""The real Slack exports in ../shared/samples/slack: exact counts, and verify finds everything accounted.

The expected numbers were counted from the exports with plain ``json`` (see the
comment on each case), not by passerelle.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from passerelle.archive import Archive
from passerelle.info import archive_info
from passerelle.ingest import ingest
from passerelle.verify import verify_source
from tests.helpers import sample

CASES = {
    # 2 channels, 4 users, 158 messages (94 bot_message, 49 plain, 8 channel_join, 3 bot_add,
    # 3 file_share, 1 file_comment), no threads, 1 reaction by 1 user, 3 distinct files in 4 uses.
    "slack/slack-export-viewer-testarchive/testarchive.zip": {
        "items": 158, "thread_roots": 0, "thread_replies": 0, "reactions": 1, "files": 3,
        "files_with_content": 0, "spaces": 3, "memberships": 8,
    },
    # 1 channel, 10 users (+1 undefined author), 16 messages, 3 threads with 4 replies across
    # day files, 1 tombstone root, 2 files without bytes.
    "slack/slackdump-fixtures/source_export.zip": {
        "items": 16, "thread_roots": 3, "thread_replies": 4, "reactions": 0, "files": 2,
        "files_with_content": 0, "spaces": 2, "memberships": 3, "persons": 11,
    },
    # Workspace metadata only: 2 channels, 8 DMs, 2 group DMs (12 conversations + the workspace).
    "slack/slackdump-fixtures/export": {
        "items": 0, "spaces": 13, "memberships": 21, "persons": 8,
    },
    # slackdump's chunk recording (read by the slackdump reader): 1 private channel, 909 distinct
    # messages in 1039 copies, 60 threads with 365 replies, 934 (emoji, user) reactions, 73
    # files, 52 channel members, no users chunk: 55 user ids used; counted in test_slackdump.py.
    "slack/slackdump-fixtures/chunks.jsonl.gz": {
        "items": 909, "thread_roots": 60, "thread_replies": 365, "reactions": 934, "files": 73,
        "files_with_content": 0, "spaces": 2, "memberships": 52, "persons": 55,
    },
    # slackdump converter dumps: a channel of 2 messages (one a thread root), named by its file.
    "slack/slackdump-fixtures/converter_chan1.json": {
        "items": 2, "thread_roots": 0, "thread_replies": 0, "spaces": 2, "memberships": 0, "persons": 1,
    },
    # ... and that thread's 2 replies alone (the root is in the other file).
    "slack/slackdump-fixtures/converter_chan1_thread_1736478630.905399.json": {
        "items": 2, "thread_roots": 1, "thread_replies": 2, "spaces": 2, "memberships": 0, "persons": 2,
    },
}  # fmt: skip


@pytest.mark.parametrize("relative", sorted(CASES))
def test_sample_ingests_with_exact_counts_and_verifies(relative: str, tmp_path: Path) -> None:
    source = sample(relative)
    [report] = ingest([source], tmp_path / "archive")
    assert report.diagnostics.get("error", 0) == 0
    with Archive.open(tmp_path / "archive") as archive:
        counts = archive_info(archive.store)["counts"]
        for key, expected in CASES[relative].items():
            assert counts[key] == expected, key
        result = verify_source(archive, source)
    assert result.ok, result.problems
    totals = result.overall()
    assert totals.get("messages") is None or totals["messages"].unexplained == 0


def test_thread_replies_across_day_files_are_attached_to_their_root(tmp_path: Path) -> None:
    source = sample("slack/slackdump-fixtures/source_export.zip")
    ingest([source], tmp_path / "a")
    with Archive.open(tmp_path / "a") as archive:
        rows = archive.store.query(
            "SELECT r.created_native, t.created_native, r.origin, t.origin FROM items r"
            " JOIN items t ON t.id = r.thread_root_id ORDER BY r.created_native"
        )
    assert len(rows) == 4
    # At least one reply lives in a later day file than its root.
    assert any(r_origin.split("#")[0] != t_origin.split("#")[0] for _, _, r_origin, t_origin in rows)
    assert all(reply_ts > root_ts for reply_ts, root_ts, _, _ in rows)


def test_testarchive_keeps_subtypes_bots_and_file_metadata(tmp_path: Path) -> None:
    source = sample("slack/slack-export-viewer-testarchive/testarchive.zip")
    ingest([source], tmp_path / "a")
    with Archive.open(tmp_path / "a") as archive:
        subtypes = dict(archive.store.query("SELECT coalesce(subtype, ''), count(*) FROM items GROUP BY 1"))
        missing = archive.store.query("SELECT missing_reason FROM files")
        bots = archive.store.scalar("SELECT count(*) FROM persons WHERE is_bot = 1")
    assert subtypes == {"": 49, "bot_message": 94, "channel_join": 8, "bot_add": 3, "file_share": 3,
                        "file_comment": 1}  # fmt: skip
    assert all(reason and "not in the export" in reason for (reason,) in missing)
    assert bots >= 3
