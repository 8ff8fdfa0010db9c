"""verify catches what it exists to catch, in Mastodon account archives: records, bytes or
privacy lost without a word."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from passerelle.archive import Archive
from passerelle.ingest import ingest
from passerelle.model import ids
from passerelle.verify import verify
from passerelle.verify.mastodon import is_mastodon_source
from tests.mastodon_builder import (
    ACTOR,
    BOB,
    JPEG,
    ZIP_NAME,
    build_archive,
    build_feature_archive,
    create,
    note,
    outbox_json,
    status_uri,
)
from tests.mattermost_builder import build_export, feature_lines


@pytest.fixture(params=["zip", "folder"])
def ingested(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    layout: str = request.param
    source = build_feature_archive(tmp_path / (ZIP_NAME if layout == "zip" else "archive"), layout=layout)
    ingest([source], tmp_path / "passerelle")
    return source, tmp_path / "passerelle"


def problems(archive: Path, source: Path) -> list[str]:
    with Archive.open(archive) as opened:
        report = verify(opened, source)
    assert report.ok == (not report.problems)
    return report.problems


def execute(archive: Path, sql: str, *params: str) -> None:
    with sqlite3.connect(archive / "archive.sqlite") as db:
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute(sql, params)
        db.execute("DELETE FROM superseded")  # where the archive keeps a replaced record: lose it too


def test_intact_archive_verifies(ingested: tuple[Path, Path]) -> None:
    assert problems(ingested[1], ingested[0]) == []


def test_sniffing(tmp_path: Path, ingested: tuple[Path, Path]) -> None:
    assert is_mastodon_source(ingested[0])
    alone = tmp_path / "outbox.json"
    alone.write_bytes(outbox_json([]))
    assert is_mastodon_source(alone)
    assert not is_mastodon_source(build_export(tmp_path / "mm", feature_lines()))
    assert not is_mastodon_source(build_export(tmp_path / "mm.zip", feature_lines(), layout="zip"))
    (tmp_path / "other.json").write_bytes(outbox_json([]))
    assert not is_mastodon_source(tmp_path / "other.json")  # a collection, but not named outbox.json
    assert not is_mastodon_source(tmp_path / "absent")


def test_a_lost_post(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "DELETE FROM items WHERE native_id = ?", status_uri(2))
    assert problems(archive, source) == [f"outbox.json#1: {status_uri(2)} missing"] * 2


def test_a_direct_post_made_public_is_found(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(
        archive,
        "UPDATE items SET space_id = ? WHERE native_id = ?",
        ids.space_id("mastodon", f"public:{ACTOR}"),
        status_uri(4),
    )
    [found] = problems(archive, source)
    assert found.startswith(f"outbox.json#3: {status_uri(4)} stored as")


def test_a_lost_member_of_a_direct_conversation(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(
        archive,
        "DELETE FROM memberships WHERE space_id = ? AND person_id = ?",
        ids.space_id("mastodon", f"direct:{ACTOR} {BOB}"),
        ids.person_id("mastodon", BOB),
    )
    assert problems(archive, source) == [f"outbox.json#3: {BOB} not a member of direct:{ACTOR} {BOB}"]


def test_a_reply_moved_out_of_its_thread(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "UPDATE items SET thread_root_id = NULL WHERE native_id = ?", status_uri(8))
    [found] = problems(archive, source)
    assert found.startswith(f"outbox.json#7: {status_uri(8)} stored as")


def test_a_changed_raw_record(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "UPDATE items SET raw = CAST('{}' AS BLOB) WHERE native_id = ?", status_uri(12))
    assert problems(archive, source) == [
        f"outbox.json#11: the raw record of {status_uri(12)} differs from the archive's"
    ]


def test_a_lost_attachment_and_a_lost_blob(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(
        archive,
        "DELETE FROM item_files WHERE position = 0 AND item_id = ?",
        ids.item_id("mastodon", "statuses", status_uri(14)),
    )
    with Archive.open(archive) as opened:
        opened.blobs.path(hashlib.sha256(JPEG).hexdigest()).unlink()
    found = problems(archive, source)
    assert (
        "outbox.json#13/attachment/0: attachment media_attachments/files/110/003/000/original/0000000000000003.jpg missing"
        in found
    )
    # the header image shares the JPEG bytes: both files are said to have lost them
    assert sum("not kept" in p for p in found) == 2, found


def test_a_lost_like_and_a_lost_person(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "DELETE FROM items WHERE subtype = 'like' AND native_id LIKE 'https://other.example/%'")
    execute(archive, "DELETE FROM persons WHERE native_id = ?", BOB)
    found = problems(archive, source)
    assert "likes.json#1: like https://other.example/users/dan/statuses/1 missing" in found
    assert f"outbox.json#2: person {BOB} missing" in found


def test_a_lost_diagnostic_leaves_a_dropped_record_unexplained(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(
        archive,
        "DELETE FROM diagnostics WHERE code IN ('mastodon.unknown_activity', 'mastodon.collection_fields')",
    )
    assert problems(archive, source) == [
        "outbox.json#16: activity not kept",
        "outbox.json: the collection's own fields are not kept",
        "likes.json: the collection's own fields are not kept",
        "bookmarks.json: the collection's own fields are not kept",
    ]


def test_a_lost_loose_file(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "DELETE FROM files WHERE native_id = 'notes.txt'")
    [found] = problems(archive, source)
    assert found.startswith("notes.txt: bytes (sha256")


def test_a_broken_outbox_is_explained_only_by_its_diagnostic(tmp_path: Path) -> None:
    whole = outbox_json([create(note(n, f"<p>post {n}</p>")) for n in range(1, 5)])
    source = build_archive(tmp_path / ZIP_NAME, [], outbox=whole[: whole.index(b"post 3")])
    ingest([source], tmp_path / "passerelle")
    assert problems(tmp_path / "passerelle", source) == []
    execute(tmp_path / "passerelle", "DELETE FROM diagnostics WHERE code = 'mastodon.invalid_json'")
    assert problems(tmp_path / "passerelle", source) == [
        "outbox.json#2: the collection breaks off here, not said so"
    ]


def test_a_source_never_ingested(tmp_path: Path, ingested: tuple[Path, Path]) -> None:
    other = build_archive(tmp_path / "other.zip", [create(note(1))])
    assert any("never ingested" in p for p in problems(ingested[1], other))
