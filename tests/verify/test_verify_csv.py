"""verify catches what it exists to catch in CSV sources: rows, members, threads, privacy,
bytes or explanations lost without a word; and finds the source however it was given."""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

import pytest

from passerelle.archive import Archive
from passerelle.ingest import ingest
from passerelle.model import ids
from passerelle.readers.csv import ITEMS
from passerelle.verify import verify
from passerelle.verify.csv import holds_mapping, is_csv_source
from passerelle.verify.report import VerifyReport
from tests.csv_builder import DIALECTS, MAPPING_NAME, write_export
from tests.readers.test_csv_reader import HOSTILE, HOSTILE_MAPPING

P = "intranet"


@pytest.fixture(params=["folder", "zip"])
def ingested(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    layout: str = request.param
    source = write_export(
        tmp_path / ("export.zip" if layout == "zip" else "export"), DIALECTS[1], layout=layout
    )
    ingest([source], tmp_path / "archive", format="csv")
    return source, tmp_path / "archive"


def problems(archive: Path, source: Path) -> list[str]:
    with Archive.open(archive) as opened:
        report = verify(opened, source)
    assert report.ok == (not report.problems)
    return report.problems


def execute(archive: Path, sql: str, *params: str | bytes) -> None:
    with sqlite3.connect(archive / "archive.sqlite") as db:
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute(sql, params)
        db.execute("DELETE FROM superseded")


def test_intact_sources_verify(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    assert problems(archive, source) == []
    with Archive.open(archive) as opened:
        report = verify(opened, source)
    assert isinstance(report, VerifyReport) and report.kind == "csv"
    totals = report.overall()
    assert (totals["messages"].source, totals["replies"].source) == (5, 2)
    assert (totals["persons"].archive, totals["spaces"].archive, totals["files"].archive) == (4, 2, 2)
    assert totals["members"].archive == 11 and totals["reactions"].archive == 4
    assert totals["file bytes"].archive == 2 and totals["attachments"].archive == 2


def test_sniffing(tmp_path: Path, ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    assert holds_mapping(source)
    with Archive.open(archive) as opened:
        assert is_csv_source(source, opened)
        lone = tmp_path / "lone.csv"
        lone.write_text("a,b\n")
        assert is_csv_source(lone, opened)  # an archive that holds CSV sources
        slack = tmp_path / "slack"
        slack.mkdir()
        (slack / "channels.json").write_text("[]")
        (slack / "x.csv").write_text("a\n")
        assert not is_csv_source(slack, opened)
    assert not holds_mapping(tmp_path / "lone.csv")


def test_a_lost_item_is_named_at_its_line(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "DELETE FROM items WHERE native_id = 'm4'")
    assert problems(archive, source) == ["messages.csv#6: item 'm4' missing"]


def test_a_changed_raw_record_is_caught(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "UPDATE persons SET raw = ? WHERE native_id = 'u2'", b'"u2;bruno;Bruno;;non\\r\\n"')
    assert problems(archive, source) == ["utilisateurs.csv#3: person 'u2' missing"]


def test_a_lost_member_or_reaction_or_attachment_is_caught(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "DELETE FROM memberships WHERE space_id = ?", ids.space_id(P, "direct:u1,u3"))
    execute(archive, "DELETE FROM reactions WHERE emoji = 'tada'")
    execute(archive, "DELETE FROM item_files WHERE item_id = ?", ids.item_id(P, ITEMS, "m4"))
    found = problems(archive, source)
    assert len(found) == 4
    assert sum("member" in p and p.startswith("messages.csv#7") for p in found) == 2
    assert any(p.startswith("réactions.csv#4: reaction 'tada'") for p in found)
    assert any(p.startswith("fichiers.csv#3: file") and "missing" in p for p in found)  # its row attaches it


def test_a_thread_or_a_privacy_broken_is_caught(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "UPDATE items SET parent_id = NULL, thread_root_id = NULL WHERE native_id = 'm3'")
    execute(archive, "UPDATE items SET space_id = ? WHERE native_id = 'm5'", ids.space_id(P, "s1"))
    found = problems(archive, source)
    assert len(found) == 3
    assert found[0].startswith("messages.csv#5: item 'm3': parent None")
    assert found[1] == "messages.csv#5: item 'm3' replies but is in no thread"
    assert found[2].startswith(f"messages.csv#7: item 'm5' in space {ids.space_id(P, 's1')}")


def test_bytes_lost_are_caught(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "UPDATE files SET sha256 = NULL, missing_reason = 'gone' WHERE native_id = 'f1'")
    [found] = problems(archive, source)
    assert found.startswith("fichiers.csv#2: the bytes of pièces/rapport.pdf are not the file's")


def test_rows_dropped_need_their_diagnostic(tmp_path: Path) -> None:
    source = tmp_path / "export"
    source.mkdir()
    for name, data in HOSTILE.items():
        (source / name).write_bytes(data)
    (source / MAPPING_NAME).write_text(HOSTILE_MAPPING)
    ingest([source], tmp_path / "a", format="csv")
    assert problems(tmp_path / "a", source) == []
    for where in ("messages.csv#6", "users.csv#7", "messages.csv#9", "reactions.csv#2"):
        execute(tmp_path / "a", 'DELETE FROM diagnostics WHERE "where" = ? AND dropped IS NOT NULL', where)
    execute(tmp_path / "a", "DELETE FROM diagnostics WHERE code = 'source.unrecognised_entry'")
    found = problems(tmp_path / "a", source)
    assert [p.split(":")[0] for p in found] == [
        "users.csv#7",
        "messages.csv#6",
        "messages.csv#9",
        "reactions.csv#2",
        "notes.txt",
    ]


def test_files_never_ingested_are_a_problem(ingested: tuple[Path, Path], tmp_path: Path) -> None:
    _, archive = ingested
    other = write_export(tmp_path / "other", DIALECTS[0])
    [found] = problems(archive, other)
    assert "no CSV source of this archive was read from these files" in found


def test_a_single_file_with_its_mapping_beside(tmp_path: Path) -> None:
    source = write_export(tmp_path / "export", DIALECTS[3], inside=False)
    lone = source / "users.csv"
    mapping = tmp_path / "users.toml"
    text = (tmp_path / "export.toml").read_text()
    mapping.write_text(text.split("\n[[file]]")[0] + "\n[[file]]" + text.split("\n[[file]]")[1])
    ingest([lone], tmp_path / "a", format="csv", options={"mapping": mapping})
    assert problems(tmp_path / "a", lone) == []
    with zipfile.ZipFile(tmp_path / "x.zip", "w") as zf:
        zf.writestr("users.csv", lone.read_bytes())
    assert "no CSV source" in problems(tmp_path / "a", tmp_path / "x.zip")[0]
