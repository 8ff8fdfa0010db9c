"""verify catches what it exists to catch: bytes or records lost without a word."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from passerelle.archive import Archive
from passerelle.ingest import ingest
from passerelle.verify import verify
from tests.slack_builder import build_export, message

PDF = b"%PDF-1.4 quarterly report"
LOGS = b'[{"user_id": "U1", "change_type": "added", "service_type": "GitHub"}]'


@pytest.fixture
def ingested(tmp_path: Path) -> tuple[Path, Path]:
    files = [{"id": "F1", "name": "report.pdf", "size": len(PDF)}]
    export = build_export(tmp_path / "export.zip", {
        "general/2020-09-13.json": [message("1600000000.000001", files=files),
                                    message("1600000001.000001", reactions=[{"name": "eyes", "users": ["U2"]}])],
        "__uploads/F1/report.pdf": PDF,
        "integration_logs.json": LOGS,
    }, as_zip=True)  # fmt: skip
    ingest([export], tmp_path / "archive")
    return export, tmp_path / "archive"


def report_problems(archive: Path, export: Path) -> list[str]:
    with Archive.open(archive) as opened:
        report = verify(opened, export)
    assert report.ok == (not report.problems)
    return report.problems


def test_intact_archive_verifies(ingested: tuple[Path, Path]) -> None:
    assert report_problems(ingested[1], ingested[0]) == []


@pytest.mark.parametrize("lost", [PDF, LOGS])
def test_a_lost_blob_is_a_difference(ingested: tuple[Path, Path], lost: bytes) -> None:
    export, archive = ingested
    with Archive.open(archive) as opened:
        opened.blobs.path(hashlib.sha256(lost).hexdigest()).unlink()
    assert any("not kept" in p for p in report_problems(archive, export))


def test_a_lost_reaction_is_a_difference(ingested: tuple[Path, Path]) -> None:
    export, archive = ingested
    with sqlite3.connect(archive / "archive.sqlite") as db:
        db.execute("DELETE FROM reactions")
    assert report_problems(archive, export) == ["general/2020-09-13.json#1/reactions/0: :eyes: by U2 missing"]


def test_a_changed_raw_record_is_a_difference(ingested: tuple[Path, Path]) -> None:
    export, archive = ingested
    with sqlite3.connect(archive / "archive.sqlite") as db:
        db.execute("UPDATE items SET raw = CAST('{}' AS BLOB) WHERE native_id = '1600000000.000001'")
        # The archive keeps a replaced record in 'superseded' (by a trigger): lose it there too.
        db.execute("DELETE FROM superseded")
    assert report_problems(archive, export) == [
        "general/2020-09-13.json#0: the raw record of message 1600000000.000001 differs from the export"
    ]


def test_a_thread_moved_is_a_difference(ingested: tuple[Path, Path]) -> None:
    export, archive = ingested
    with sqlite3.connect(archive / "archive.sqlite") as db:
        db.execute("UPDATE items SET thread_root_id = 'itm_elsewhere' WHERE native_id = '1600000001.000001'")
    assert report_problems(archive, export)
