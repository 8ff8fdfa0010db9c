"""verify catches what it exists to catch in Yammer exports: rows, bytes, threads or privacy
lost without a word, and rows dropped without a diagnostic at their line."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from passerelle.archive import Archive
from passerelle.ingest import ingest
from passerelle.model import ids
from passerelle.verify import verify
from passerelle.verify.yammer import is_yammer_source
from tests.mastodon_builder import ZIP_NAME, build_feature_archive
from tests.mattermost_builder import build_export, feature_lines
from tests.yammer_builder import PDF, feature_export

P = "yammer"


@pytest.fixture(params=["zip", "folder"])
def ingested(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    layout: str = request.param
    source = feature_export(tmp_path / ("export.zip" if layout == "zip" else "export"), layout=layout)
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


def item_id(thread: str, native: str) -> str:
    return ids.item_id(P, thread, native)


def test_intact_export_verifies(ingested: tuple[Path, Path]) -> None:
    assert problems(ingested[1], ingested[0]) == []


def test_sniffing(tmp_path: Path, ingested: tuple[Path, Path]) -> None:
    assert is_yammer_source(ingested[0])
    assert is_yammer_source(feature_export(tmp_path / "nested.zip", folder="top"))
    assert not is_yammer_source(build_feature_archive(tmp_path / ZIP_NAME))
    assert not is_yammer_source(build_export(tmp_path / "mm", feature_lines()))
    (tmp_path / "empty").mkdir()
    assert not is_yammer_source(tmp_path / "empty")
    assert not is_yammer_source(tmp_path / "missing.zip")


def test_a_lost_message_is_caught(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "DELETE FROM items WHERE id = ?", item_id("5001", "5002"))
    assert problems(archive, source) == ["Messages.csv#3: message 5002 missing"] * 2  # its space's tallies


def test_a_dropped_row_needs_its_diagnostic(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "DELETE FROM diagnostics WHERE \"where\" = 'Messages.csv#21'")
    execute(archive, "DELETE FROM diagnostics WHERE \"where\" = 'Users.csv#8'")
    assert problems(archive, source) == [
        "Users.csv#8: user 1002 again, not said so",
        "Messages.csv#21: a message row not readable, not said so",
    ]


def test_a_changed_raw_record_or_field_is_caught(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "UPDATE items SET raw = CAST('\"5004,,,5004\"' AS BLOB) WHERE native_id = '5004'")
    execute(archive, "UPDATE items SET created_native = '2021-03-02' WHERE native_id = '5005'")
    execute(archive, "UPDATE persons SET is_deleted = 0 WHERE native_id = '1003'")
    found = problems(archive, source)
    assert "Messages.csv#11: the raw record of message 5004 differs" in found
    assert any(p.startswith("Messages.csv#12: message 5005 stored as") for p in found)
    assert any(p.startswith("Users.csv#4: user 1003 stored as") for p in found)
    assert len(found) == 3


def test_privacy_lost_is_caught(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "UPDATE spaces SET visibility = 'public' WHERE native_id = '2002'")
    execute(
        archive,
        "DELETE FROM memberships WHERE space_id = ? AND person_id = ?",
        ids.space_id(P, "direct:1001,1002,1006"),
        ids.person_id(P, "1006"),
    )
    execute(archive, "UPDATE items SET space_id = ? WHERE native_id = '5005'", ids.space_id(P, "all-company"))
    found = problems(archive, source)
    assert any(p.startswith("Groups.csv#3: group 2002 stored as") for p in found)
    assert "Messages.csv#13: 1006 not a member of direct:1001,1002,1006" in found
    assert any(p.startswith("Messages.csv#12: message 5005 stored as") for p in found)


def test_a_broken_thread_is_caught(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "UPDATE items SET parent_id = thread_root_id WHERE native_id = '5003'")
    [found] = problems(archive, source)
    assert found.startswith("Messages.csv#10: message 5003 stored as")


def test_lost_bytes_files_and_links_are_caught(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    sha = hashlib.sha256(PDF).hexdigest()
    (archive / "blobs" / "sha256" / sha[:2] / sha).unlink()
    execute(archive, "DELETE FROM item_files WHERE file_id = ?", ids.file_id(P, "4004"))
    found = problems(archive, source)
    assert f"Files.csv#2: bytes of file 4001 not kept (export {sha}, archive {sha})" in found
    assert "Messages.csv#19: attachment uploadedfile:4004 not linked" in found
    assert len(found) == 2


def test_lost_versions_topics_admins_and_logs_are_caught(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "DELETE FROM revisions WHERE native_id = '9002'")
    execute(archive, "DELETE FROM diagnostics WHERE code IN ('yammer.topic', 'yammer.export_log')")
    execute(
        archive, "DELETE FROM memberships WHERE role = 'admin' AND person_id = ?", ids.person_id(P, "1002")
    )
    assert sorted(problems(archive, source)) == [
        "Admins.csv#3: admin 1002 missing",
        "MessageVersions.csv#3: version 9002 of message 5018 missing",
        "Topics.csv#2: topic not kept",
        "log.txt: the export's log not kept",
        "request.txt: the export's log not kept",
    ]


def test_a_placeholder_in_place_of_a_user_is_caught(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "UPDATE persons SET is_placeholder = 1 WHERE native_id = '1002'")
    assert problems(archive, source) == ["Users.csv#3: user 1002 missing"]


def test_a_source_never_ingested(tmp_path: Path, ingested: tuple[Path, Path]) -> None:
    other = feature_export(tmp_path / "other.zip", folder="other")
    found = problems(ingested[1], other)
    assert len(found) == 1 and "was never ingested" in found[0]
