"""Helpers shared by the tests: paths to ../shared/samples, running the CLI, dumping an archive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from passerelle.archive import Archive
from passerelle.cli import cli

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
