"""The conformance suite every reader passes, on every one of its cases (cases.py).

- deterministic: the same source gives the same archive, row for row;
- accounted: verify, by its independent path, finds every source record as data or
  explained by a diagnostic at its place; every diagnostic is in the catalogue;
- idempotent: ingesting the same source again changes nothing;
- raw kept: every entity made from a source record holds that record, verbatim (a JSON
  or an XML document, as the source had it);
- consistent: SQLite's integrity and foreign-key checks pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from passerelle.archive import Archive
from passerelle.diagnostics import CODES
from passerelle.info import table_counts
from passerelle.ingest import ingest
from passerelle.verify import verify
from tests.conformance.cases import READER_CASES, ReaderCase
from tests.helpers import canonical_dump, parse_raw


@pytest.fixture(params=READER_CASES, ids=[c.id for c in READER_CASES])
def case(request: pytest.FixtureRequest) -> ReaderCase:
    param: ReaderCase = request.param
    return param


def test_reader_is_deterministic(case: ReaderCase, tmp_path: Path) -> None:
    source = case.make(tmp_path)
    ingest([source], tmp_path / "one", format=case.reader)
    ingest([source], tmp_path / "two", format=case.reader)
    assert canonical_dump(tmp_path / "one") == canonical_dump(tmp_path / "two")


def test_every_record_is_accounted_for(case: ReaderCase, tmp_path: Path) -> None:
    source = case.make(tmp_path)
    ingest([source], tmp_path / "a", format=case.reader)
    with Archive.open(tmp_path / "a") as archive:
        report = verify(archive, source)
        diagnostics = archive.store.query('SELECT code, severity, "where", message FROM diagnostics')
    assert report.ok, report.problems[:20]
    for code, severity, where, message in diagnostics:
        assert code in CODES and CODES[code].severity == severity
        assert where and message


def test_reingest_is_idempotent(case: ReaderCase, tmp_path: Path) -> None:
    source = case.make(tmp_path)
    ingest([source], tmp_path / "a", format=case.reader)
    before = canonical_dump(tmp_path / "a")
    [again] = ingest([source], tmp_path / "a", format=case.reader)
    assert again.status == "already ingested"
    assert canonical_dump(tmp_path / "a") == before


def test_rereading_the_same_content_adds_no_entity(case: ReaderCase, tmp_path: Path) -> None:
    """A source whose bytes differ (another copy) but whose records are the same adds nothing."""
    source = case.make(tmp_path)
    ingest([source], tmp_path / "a", format=case.reader)
    with Archive.open(tmp_path / "a") as archive:
        # Forget the source so the same content is read again as if it were a new export.
        archive.store.conn.execute("DELETE FROM source_units")
        archive.store.conn.execute("DELETE FROM diagnostics")
        archive.store.conn.execute("DELETE FROM sources")
        before = table_counts(archive.store)
    ingest([source], tmp_path / "a", format=case.reader)
    with Archive.open(tmp_path / "a") as archive:
        after = table_counts(archive.store)
    assert {k: v for k, v in after.items() if k != "diagnostics"} == {
        k: v for k, v in before.items() if k != "diagnostics"
    }


def test_raw_records_are_kept(case: ReaderCase, tmp_path: Path) -> None:
    source = case.make(tmp_path)
    ingest([source], tmp_path / "a", format=case.reader)
    with Archive.open(tmp_path / "a") as archive:
        store = archive.store
        for table in ("persons", "spaces", "items", "files"):
            condition = {"persons": "is_placeholder = 0", "spaces": "kind != 'workspace'"}.get(table, "1")
            missing = store.scalar(
                f"SELECT count(*) FROM {table} WHERE {condition} AND origin NOT LIKE '%:builtin'"
                " AND raw IS NULL"
            )
            assert missing == 0, table
            for (raw,) in store.query(f"SELECT raw FROM {table} WHERE raw IS NOT NULL LIMIT 200"):
                parse_raw(raw)


def test_archive_is_consistent(case: ReaderCase, tmp_path: Path) -> None:
    source = case.make(tmp_path)
    ingest([source], tmp_path / "a", format=case.reader)
    with Archive.open(tmp_path / "a") as archive:
        assert archive.store.query("PRAGMA integrity_check") == [("ok",)]
        assert archive.store.query("PRAGMA foreign_key_check") == []
        assert archive.store.scalar("SELECT count(*) FROM sources WHERE status != 'complete'") == 0


def test_a_run_interrupted_midway_finishes_when_run_again(
    case: ReaderCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resumable: a crash halfway through (after some units were committed) and a second run
    give the archive a clean run gives."""
    from passerelle.archive.writer import ArchiveWriter

    source = case.make(tmp_path)
    ingest([source], tmp_path / "clean", format=case.reader)
    with Archive.open(tmp_path / "clean") as clean:
        rows = sum(table_counts(clean.store).values())
    monkeypatch.setattr(ArchiveWriter.__init__, "__kwdefaults__", {"batch_size": 10_000, "commit_every": 1})
    original = ArchiveWriter.add_row
    written = 0

    def crash_halfway(self: ArchiveWriter, table: str, row: tuple[Any, ...]) -> None:
        nonlocal written
        written += 1
        if written > rows // 2:
            raise KeyboardInterrupt
        original(self, table, row)

    monkeypatch.setattr(ArchiveWriter, "add_row", crash_halfway)
    with pytest.raises(KeyboardInterrupt):
        ingest([source], tmp_path / "resumed", format=case.reader)
    monkeypatch.setattr(ArchiveWriter, "add_row", original)
    [again] = ingest([source], tmp_path / "resumed", format=case.reader)
    assert again.status == "resumed"
    assert canonical_dump(tmp_path / "resumed") == canonical_dump(tmp_path / "clean")
