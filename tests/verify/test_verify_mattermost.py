"""verify catches what it exists to catch, in Mattermost exports: records or bytes lost without a word."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from passerelle.archive import Archive
from passerelle.ingest import ingest
from passerelle.model import ids
from passerelle.verify import verify
from passerelle.verify.mattermost import is_mattermost_source
from tests.helpers import sample
from tests.mattermost_builder import FEATURE_FILES, PDF, T0, build_export, feature_lines


@pytest.fixture(params=["zip", "folder"])
def ingested(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    layout: str = request.param
    lines = [*feature_lines(), b"{broken", {"type": "scheme", "scheme": {"name": "s"}}]
    export = build_export(
        tmp_path / ("export.zip" if layout == "zip" else "export"), lines, FEATURE_FILES, layout=layout
    )
    ingest([export], tmp_path / "archive")
    return export, tmp_path / "archive"


def problems(archive: Path, export: Path) -> list[str]:
    with Archive.open(archive) as opened:
        report = verify(opened, export)
    assert report.ok == (not report.problems)
    return report.problems


def execute(archive: Path, sql: str, *params: str) -> None:
    with sqlite3.connect(archive / "archive.sqlite") as db:
        db.execute(sql, params)
        db.execute("DELETE FROM superseded")  # where the archive keeps a replaced record: lose it too


def test_intact_archive_verifies(ingested: tuple[Path, Path]) -> None:
    assert problems(ingested[1], ingested[0]) == []


def test_the_shared_sample_verifies(tmp_path: Path) -> None:
    source = sample("mattermost/zulip-fixtures/export.json")
    ingest([source], tmp_path / "archive")
    assert problems(tmp_path / "archive", source) == []


def test_sniffing(tmp_path: Path, ingested: tuple[Path, Path]) -> None:
    assert is_mattermost_source(ingested[0])
    assert is_mattermost_source(build_export(tmp_path / "bare.jsonl", feature_lines(), layout="jsonl"))
    (tmp_path / "not.json").write_text('[{"id": "U1"}]')
    assert not is_mattermost_source(tmp_path / "not.json")
    assert not is_mattermost_source(tmp_path / "absent")


def test_a_lost_reaction(ingested: tuple[Path, Path]) -> None:
    export, archive = ingested
    execute(archive, "DELETE FROM reactions WHERE emoji = 'eyes'")
    assert problems(archive, export) == ["import.jsonl#13/replies/2/reactions/0: :eyes: by bob missing"]


def test_a_lost_reply(ingested: tuple[Path, Path]) -> None:
    export, archive = ingested
    execute(archive, "PRAGMA foreign_keys = OFF")
    with sqlite3.connect(archive / "archive.sqlite") as db:
        db.execute("DELETE FROM items WHERE native_id = ?", (f"{T0 - 100}:gus",))
    assert problems(archive, export) == [f"import.jsonl#13/replies/1: reply {T0 - 100}:gus missing"] * 2


def test_a_changed_raw_record(ingested: tuple[Path, Path]) -> None:
    export, archive = ingested
    execute(
        archive, "UPDATE items SET raw = CAST('{}' AS BLOB) WHERE native_id = ?", f"{T0 + 2000}:deploybot"
    )
    assert problems(archive, export) == [
        f"import.jsonl#15: the raw record of post {T0 + 2000}:deploybot differs from the export"
    ]


def test_a_reply_moved_out_of_its_thread(ingested: tuple[Path, Path]) -> None:
    export, archive = ingested
    execute(archive, "UPDATE items SET thread_root_id = NULL WHERE native_id = ?", f"{T0 + 300}:bob")
    assert len(problems(archive, export)) == 1


def test_a_lost_membership_person_and_space(ingested: tuple[Path, Path]) -> None:
    export, archive = ingested
    with sqlite3.connect(archive / "archive.sqlite") as db:
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute(
            "DELETE FROM memberships WHERE space_id = ? AND person_id = ?",
            (ids.space_id("mattermost", "acme/ops"), ids.person_id("mattermost", "ada")),
        )
        db.execute("DELETE FROM persons WHERE native_id = 'deploybot'")
        db.execute("DELETE FROM spaces WHERE native_id = 'secret'")
    assert problems(archive, export) == [
        "import.jsonl#4: space secret missing",
        "import.jsonl#9/teams/0/channels/1: ada not a member of acme/ops",
        "import.jsonl#12: bot deploybot missing",
    ]


def test_a_lost_blob(ingested: tuple[Path, Path]) -> None:
    export, archive = ingested
    with Archive.open(archive) as opened:
        opened.blobs.path(hashlib.sha256(PDF).hexdigest()).unlink()
    found = problems(archive, export)
    assert any("files/report.pdf" in p and "not kept" in p for p in found), found


def test_a_lost_diagnostic_leaves_a_dropped_line_unexplained(ingested: tuple[Path, Path]) -> None:
    export, archive = ingested
    execute(
        archive,
        "DELETE FROM diagnostics WHERE code IN ('mattermost.invalid_json', 'mattermost.unmodelled_record')",
    )
    assert problems(archive, export) == [
        "import.jsonl#2: role line not kept",
        "import.jsonl#24: a line that is not a JSON object",
        "import.jsonl#25: scheme line not kept",
    ]


def test_a_source_never_ingested(tmp_path: Path, ingested: tuple[Path, Path]) -> None:
    other = build_export(tmp_path / "other.jsonl", feature_lines()[:3], layout="jsonl")
    assert any("never ingested" in p for p in problems(ingested[1], other))
