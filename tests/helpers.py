"""Helpers shared by the tests: paths to ../shared/samples, running the CLI, dumping an archive."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from passerelle.archive import Archive
from passerelle.cli import cli
from passerelle.ingest import ingest
from passerelle.verify import verify

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SAMPLES = SHARED / "samples"


def sample(relative: str) -> Path:
    """A path under ../shared/samples; the test is skipped, saying why, when it is absent."""
    path = SAMPLES / relative
    if not path.exists():
        pytest.skip(f"shared sample {relative} is absent: ../shared/samples must sit beside the project")
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def run_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def canonical_dump(archive_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted; what differs between runs by nature (when) is left out."""
    with Archive.open(archive_path) as archive:
        store = archive.store
        tables = [
            r[0]
            for r in store.query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'items_fts%'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        dump: dict[str, list[tuple[Any, ...]]] = {}
        for table in tables:
            columns = [c for c in store.columns(table) if (table, c) != ("sources", "ingested_at")]
            if table == "sources":
                columns = [c for c in columns if c != "path"]
            names = ", ".join(f'"{c}"' for c in columns)
            dump[table] = sorted(store.query(f"SELECT {names} FROM {table}"), key=repr)
    blobs = archive_path / "blobs" / "sha256"
    dump["blobs"] = sorted((p.name,) for p in blobs.rglob("*") if p.is_file()) if blobs.exists() else []
    return dump


def ingest_verified(tmp_path: Path, source: Path, name: str = "archive") -> Path:
    """Ingest a source (format detected) and check that verify accounts for all of it."""
    ingest([source], tmp_path / name)
    with Archive.open(tmp_path / name) as archive:
        report = verify(archive, source)
    assert report.ok, report.problems
    return tmp_path / name


def rows(archive: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with Archive.open(archive) as opened:
        return opened.store.query(sql, params)


def item_by_native(archive: Path, native: str) -> dict[str, Any]:
    """The one item with this native id, column by column."""
    with Archive.open(archive) as opened:
        cursor = opened.store.conn.execute("SELECT * FROM items WHERE native_id = ?", (native,))
        row = cursor.fetchone()
        assert row is not None, native
        return dict(zip([d[0] for d in cursor.description], row, strict=True))


def diagnostics(archive: Path) -> list[tuple[str, str, str | None]]:
    """Every diagnostic as (code, where, dropped), sorted."""
    return sorted(rows(archive, 'SELECT code, "where", dropped FROM diagnostics'))


def parse_raw(raw: bytes) -> Any:
    """A raw record as a value to compare: a JSON document parsed, an XML one (a wiki's
    record) canonicalised (C14N 2.0), so two copies of one record compare equal."""
    if raw.lstrip().startswith(b"<"):
        return ElementTree.canonicalize(raw.decode())
    return json.loads(raw)
