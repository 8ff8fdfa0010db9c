"""The Slack reader, feature by feature, on exports built at test time."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from passerelle.archive import Archive
from passerelle.ingest import ingest
from passerelle.model import ids
from passerelle.readers.slack import ts_to_micros
from passerelle.verify import verify
from tests.slack_builder import CHANNELS, build_export, message


def ingest_one(tmp_path: Path, files: dict[str, Any], *, as_zip: bool = False) -> Archive:
    source = build_export(tmp_path / ("export.zip" if as_zip else "export"), files, as_zip=as_zip)
    ingest([source], tmp_path / "archive")
    archive = Archive.open(tmp_path / "archive")
    report = verify(archive, source)
    assert report.ok, report.problems
    return archive


def item(archive: Archive, ts: str, channel: str = "C1") -> dict[str, Any]:
    cursor = archive.store.conn.execute(
        "SELECT * FROM items WHERE id = ?", (ids.item_id("slack", channel, ts),)
    )
    row = cursor.fetchone()
    assert row is not None, ts
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def codes(archive: Archive) -> list[str]:
    return sorted(r[0] for r in archive.store.query("SELECT code FROM diagnostics"))


def test_exact_ts_is_kept_without_float_rounding(tmp_path: Path) -> None:
    ts = "1600000000.000100"
    with ingest_one(tmp_path, {"general/2020-09-13.json": [message(ts)]}) as archive:
        row = item(archive, ts)
    assert row["created_native"] == ts
    assert row["created_at"] == 1_600_000_000_000_100
    assert ts_to_micros("1600000000.1") == 1_600_000_000_100_000


def test_threads_are_rebuilt_from_thread_ts_across_day_files(tmp_path: Path) -> None:
    root, reply, broadcast = "1600000000.000001", "1600090000.000002", "1600090001.000003"
    files = {
        "general/2020-09-13.json": [message(root, thread_ts=root, reply_count=2)],
        "general/2020-09-14.json": [
            message(reply, thread_ts=root, parent_user_id="U1"),
            message(broadcast, subtype="thread_broadcast", thread_ts=root, root={"ts": root}),
        ],
    }
    with ingest_one(tmp_path, files) as archive:
        root_id = ids.item_id("slack", "C1", root)
        assert item(archive, root)["thread_root_id"] is None
        assert item(archive, reply)["thread_root_id"] == root_id
        assert item(archive, reply)["parent_id"] == root_id
        assert item(archive, broadcast)["also_in_channel"] == 1
        assert item(archive, reply)["also_in_channel"] == 0


def test_missing_thread_root_is_reported_and_replies_kept(tmp_path: Path) -> None:
    files = {"general/2020-09-14.json": [message("1600090000.000002", thread_ts="1600000000.000001")]}
    with ingest_one(tmp_path, files) as archive:
        assert "slack.thread_root_missing" in codes(archive)
        assert archive.store.scalar("SELECT count(*) FROM items") == 1


def test_tombstone_edits_and_editor(tmp_path: Path) -> None:
    files = {
        "general/2020-09-13.json": [
            message("1600000000.000001", "This message was deleted.", user="USLACKBOT", subtype="tombstone",
                    thread_ts="1600000000.000001", hidden=True),
            message("1600000001.000001", "fixed typo", edited={"user": "U2", "ts": "1600000100.000009"}),
        ]
    }  # fmt: skip
    with ingest_one(tmp_path, files) as archive:
        assert item(archive, "1600000000.000001")["deleted"] == 1
        edited = item(archive, "1600000001.000001")
        assert edited["edited_native"] == "1600000100.000009"
        assert edited["edited_at"] == 1_600_000_100_000_009
        assert edited["edited_by_id"] == ids.person_id("slack", "U2")
        assert "slack.unknown_user" not in codes(archive)  # USLACKBOT is Slack's own


def test_reactions_keep_every_user_and_skin_tone(tmp_path: Path) -> None:
    reactions = [
        {"name": "thumbsup::skin-tone-3", "users": ["U1", "U2"], "count": 2},
        {"name": "partyparrot", "users": ["U1"], "count": 5},
    ]
    files = {"general/2020-09-13.json": [message("1600000000.000001", reactions=reactions)]}
    with ingest_one(tmp_path, files) as archive:
        rows = sorted(archive.store.query("SELECT emoji, person_id FROM reactions"))
        assert rows == sorted([
            ("thumbsup::skin-tone-3", ids.person_id("slack", "U1")),
            ("thumbsup::skin-tone-3", ids.person_id("slack", "U2")),
            ("partyparrot", ids.person_id("slack", "U1")),
        ])  # fmt: skip
        assert "slack.reaction_users_truncated" in codes(archive)


@pytest.mark.parametrize("as_zip", [False, True])
def test_file_bytes_in_both_slackdump_layouts(tmp_path: Path, as_zip: bool) -> None:
    pdf, png = b"%PDF-1.4 report", b"\x89PNG image bytes"
    files_meta = [
        {"id": "F1", "name": "report.pdf", "mimetype": "application/pdf", "size": len(pdf)},
        {"id": "F2", "name": "img.png", "mimetype": "image/png", "size": 999},
        {"id": "F3", "name": "gone.txt", "mode": "tombstone"},
        {"id": "F4", "name": "old.txt", "mode": "hidden_by_limit"},
    ]
    files = {
        "general/2020-09-13.json": [message("1600000000.000001", files=files_meta, subtype="file_share")],
        "__uploads/F1/report.pdf": pdf,
        "general/attachments/F2-img.png": png,
    }
    with ingest_one(tmp_path, files, as_zip=as_zip) as archive:
        stored = {
            r[0]: r[1:] for r in archive.store.query("SELECT native_id, sha256, missing_reason FROM files")
        }
        assert stored["F1"] == (hashlib.sha256(pdf).hexdigest(), None)
        assert stored["F2"][0] == hashlib.sha256(png).hexdigest()
        assert "deleted" in stored["F3"][1] and "limit" in stored["F4"][1]
        with archive.blobs.open(hashlib.sha256(pdf).hexdigest()) as blob:
            assert blob.read() == pdf
        assert codes(archive).count("slack.file_size_mismatch") == 1
        assert codes(archive).count("slack.file_bytes_missing") == 2
        assert "source.unrecognised_entry" not in codes(archive)


def test_pins_from_channel_list_and_message(tmp_path: Path) -> None:
    channels = [{**CHANNELS[0], "pins": [{"id": "1600000000.000001", "type": "C", "user": "U1"}]}]
    files = {
        "channels.json": channels,
        "general/2020-09-13.json": [
            message("1600000000.000001"),
            message("1600000001.000001", pinned_to=["C1"]),
            message("1600000002.000001"),
        ],
    }
    with ingest_one(tmp_path, files) as archive:
        assert [item(archive, f"160000000{i}.000001")["pinned"] for i in range(3)] == [1, 1, 0]


def test_references_and_normalised_body(tmp_path: Path) -> None:
    text = ("<@U1> see <#C1|general>, <!here> &amp; <!subteam^S9|@ops> "
            "<https://example.org/a?b=1&amp;c=2|the doc> *bold* :tada: :+1::skin-tone-2:")  # fmt: skip
    with ingest_one(tmp_path, {"general/2020-09-13.json": [message("1600000000.000001", text)]}) as archive:
        row = item(archive, "1600000000.000001")
        refs = archive.store.query(
            "SELECT r.value ->> 'kind', r.value ->> 'target', r.value ->> 'target_id', r.value ->> 'label'"
            " FROM items, json_each(items.body_refs) AS r ORDER BY r.key"
        )
    assert row["body_source"] == text
    assert row["body_format"] == "slack-mrkdwn"
    assert row["body_text"] == ("@ada see #general, @here & @ops [the doc](https://example.org/a?b=1&c=2) "
                                "**bold** :tada: :+1::skin-tone-2:")  # fmt: skip
    assert refs == [
        ("person", "U1", ids.person_id("slack", "U1"), None),
        ("space", "C1", ids.space_id("slack", "C1"), "general"),
        ("broadcast", "here", None, None),
        ("group", "S9", None, "@ops"),
        ("link", "https://example.org/a?b=1&c=2", None, "the doc"),
        ("emoji", "tada", None, None),
        ("emoji", "+1::skin-tone-2", None, None),
    ]


def test_bot_messages_map_to_their_bot_user_or_a_placeholder(tmp_path: Path) -> None:
    files = {
        "general/2020-09-13.json": [
            {"type": "message", "subtype": "bot_message", "bot_id": "B3", "text": "beep", "ts": "1600000000.000001"},
            {"type": "message", "subtype": "bot_message", "bot_id": "B9", "username": "ci", "text": "built",
             "ts": "1600000001.000001"},
        ]
    }  # fmt: skip
    with ingest_one(tmp_path, files) as archive:
        assert item(archive, "1600000000.000001")["author_id"] == ids.person_id("slack", "U3")
        assert item(archive, "1600000001.000001")["author_id"] == ids.person_id("slack", "B9")
        assert archive.store.scalar("SELECT is_bot FROM persons WHERE native_id = 'B9'") == 1
        assert "slack.unknown_bot" in codes(archive)


def test_message_changed_events_become_revisions(tmp_path: Path) -> None:
    original = message("1600000000.000001", "first")
    changed = {
        "type": "message", "subtype": "message_changed", "ts": "1600000200.000001", "hidden": True,
        "message": {**message("1600000000.000001", "second"), "edited": {"user": "U1", "ts": "1600000200.000001"}},
        "previous_message": original,
    }  # fmt: skip
    with ingest_one(tmp_path, {"general/2020-09-13.json": [original, changed]}) as archive:
        rows = archive.store.query("SELECT native_id, body_source FROM revisions ORDER BY native_id")
        assert rows == [("1600000000.000001", "first"), ("1600000200.000001", "second")]
        assert item(archive, "1600000200.000001")["kind"] == "event"


def test_enterprise_grid_layout(tmp_path: Path) -> None:
    files = {
        "org_users.json": [{"id": "W1", "name": "org-admin"}],
        "channels.json": [{"id": "C9", "name": "shared", "members": ["W1", "U1"]}],
        "shared/2020-09-13.json": [message("1600000000.000001", user="W1")],
        "teams/T1/users.json": [{"id": "U5", "name": "eve"}],
        "teams/T1/channels.json": [{"id": "C5", "name": "team-room", "members": ["U5"]}],
        "teams/T1/team-room/2020-09-13.json": [message("1600000000.000002", user="U5")],
    }
    with ingest_one(tmp_path, files) as archive:
        assert item(archive, "1600000000.000001", "C9")["author_id"] == ids.person_id("slack", "W1")
        assert item(archive, "1600000000.000002", "C5")["author_id"] == ids.person_id("slack", "U5")
        assert "slack.unlisted_conversation" not in codes(archive)


def test_unlisted_conversation_folder_is_kept(tmp_path: Path) -> None:
    files = {"stray-channel/2020-09-13.json": [message("1600000000.000001")]}
    with ingest_one(tmp_path, files) as archive:
        assert "slack.unlisted_conversation" in codes(archive)
        assert archive.store.scalar("SELECT name FROM spaces WHERE native_id = 'folder:stray-channel'") == (
            "stray-channel"
        )


def test_later_export_adds_only_what_is_new(tmp_path: Path) -> None:
    day1 = [message("1600000000.000001", "root", thread_ts="1600000000.000001"), message("1600000001.000001")]
    later_day1 = [
        message("1600000000.000001", "root, edited", thread_ts="1600000000.000001",
                edited={"user": "U1", "ts": "1600100000.000001"}),
        message("1600000001.000001", reactions=[{"name": "eyes", "users": ["U2"], "count": 1}]),
    ]  # fmt: skip
    day2 = [message("1600090000.000002", "new reply", thread_ts="1600000000.000001")]
    early = build_export(tmp_path / "early", {"general/2020-09-13.json": day1})
    later = build_export(
        tmp_path / "later", {"general/2020-09-13.json": later_day1, "general/2020-09-14.json": day2}
    )
    ingest([early], tmp_path / "merged")
    reports = ingest([later], tmp_path / "merged")
    ingest([later], tmp_path / "later-only")
    assert reports[0].new_rows["items"] == 1
    assert reports[0].new_rows["reactions"] == 1
    with Archive.open(tmp_path / "merged") as merged, Archive.open(tmp_path / "later-only") as alone:
        for table in ("persons", "spaces", "memberships", "items", "reactions"):
            assert merged.store.query(f"SELECT count(*) FROM {table}") == alone.store.query(
                f"SELECT count(*) FROM {table}"
            ), table
        assert item(merged, "1600000000.000001")["body_source"] == "root, edited"
        history = merged.store.query("SELECT body_source FROM revisions ORDER BY created_at")
        assert history == [("root",), ("root, edited",)]
        # The early export's exact records survive the merge, so both exports still verify.
        assert merged.store.scalar("SELECT count(*) FROM superseded") == 2
        assert verify(merged, early).ok and verify(merged, later).ok
        hits = merged.store.query("SELECT rowid FROM items_fts WHERE items_fts MATCH 'edited'")
        assert len(hits) == 1 and not merged.store.query(
            "SELECT rowid FROM items_fts WHERE items_fts MATCH 'xyz'"
        )


def test_an_older_export_never_overwrites_a_newer_record(tmp_path: Path) -> None:
    old = build_export(tmp_path / "old", {"general/2020-09-13.json": [message("1600000000.000001", "v1")]})
    new = build_export(tmp_path / "new", {"general/2020-09-13.json": [
        message("1600000000.000001", "v2", edited={"user": "U1", "ts": "1600000500.000000"})]})  # fmt: skip
    ingest([new], tmp_path / "a")
    ingest([old], tmp_path / "a")
    with Archive.open(tmp_path / "a") as archive:
        assert item(archive, "1600000000.000001")["body_source"] == "v2"
        # The older export's own record is not lost: it is kept as superseded, and verifies.
        assert verify(archive, old).ok and verify(archive, new).ok


def test_records_after_a_duplicate_are_still_accounted(tmp_path: Path) -> None:
    files = {
        "general/2020-09-13.json": [message("1600000000.000001", "first"), message("1600000001.000001")],
        "general/2020-09-14.json": [message("1600000000.000001", "again"), None, {"text": "no ts"},
                                    message("1600090000.000001", "after")],
    }  # fmt: skip
    with ingest_one(tmp_path, files) as archive:
        rows = archive.store.query('SELECT code, "where" FROM diagnostics ORDER BY "where"')
        assert rows == [
            ("slack.duplicate_ts", "general/2020-09-14.json#0"),
            ("slack.invalid_record", "general/2020-09-14.json#1"),
            ("slack.missing_ts", "general/2020-09-14.json#2"),
        ]
        assert item(archive, "1600000000.000001")["body_source"] == "first"
        assert item(archive, "1600090000.000001")["body_source"] == "after"


def test_a_duplicate_that_first_uses_a_user_or_file_leaves_no_dangling_reference(tmp_path: Path) -> None:
    """The duplicate is dropped, but what it is first to mention still exists for later messages."""
    shared = {"id": "F7", "name": "shared.txt"}
    files = {
        "general/2020-09-13.json": [message("1600000000.000001", "first")],
        "general/2020-09-14.json": [
            message("1600000000.000001", "dup", user="U404", files=[shared], **{"odd_field": 1}),
            message("1600090000.000001", "later", user="U404", files=[shared], **{"odd_field": 2}),
        ],
    }
    with ingest_one(tmp_path, files) as archive:
        assert archive.store.query("PRAGMA foreign_key_check") == []
        assert item(archive, "1600090000.000001")["author_id"] == ids.person_id("slack", "U404")
        assert archive.store.scalar("SELECT count(*) FROM item_files") == 1
        assert codes(archive).count("slack.unknown_field") == 1


def test_a_later_export_without_a_files_bytes_keeps_them_linked(tmp_path: Path) -> None:
    pdf = b"%PDF-1.4 minutes"
    with_bytes = build_export(tmp_path / "dump", {
        "general/2020-09-13.json": [message("1600000000.000001", files=[{"id": "F1", "name": "m.pdf"}])],
        "__uploads/F1/m.pdf": pdf,
    })  # fmt: skip
    official = build_export(tmp_path / "official", {
        "general/2020-09-13.json": [message("1600000000.000001",
                                            files=[{"id": "F1", "name": "m.pdf", "url_private": "https://x"}])],
    })  # fmt: skip
    ingest([with_bytes], tmp_path / "a")
    ingest([official], tmp_path / "a")
    with Archive.open(tmp_path / "a") as archive:
        row = archive.store.query("SELECT sha256, missing_reason, url FROM files")
        assert row == [(hashlib.sha256(pdf).hexdigest(), None, "https://x")]
        assert verify(archive, with_bytes).ok and verify(archive, official).ok
