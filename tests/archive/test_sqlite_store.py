"""The SQLite store's merge rules, at the level of rows."""

from __future__ import annotations

from pathlib import Path

from passerelle.archive import Archive
from passerelle.ingest import ingest
from passerelle.model.entities import MODEL_VERSION
from tests.slack_builder import build_export, message


def test_a_record_rewritten_back_and_forth_keeps_every_version_once(tmp_path: Path) -> None:
    export = build_export(
        tmp_path / "export", {"general/2020-09-13.json": [message("1600000000.000001", "a")]}
    )
    ingest([export], tmp_path / "a")
    with Archive.open(tmp_path / "a") as archive:
        store = archive.store
        columns = store.columns("items")
        row = list(store.query("SELECT * FROM items")[0])
        original = row[columns.index("raw")]
        store.begin()
        # One source writing the same item with alternating content: every write must go
        # through (a trigger's OR IGNORE would yield to the upsert's policy and fail).
        for version in ("1", "2", "1", "2"):
            row[columns.index("raw")] = f'{{"v": {version}}}'.encode()
            row[columns.index("body_source")] = version
            store.write_rows("items", [tuple(row)])
        store.commit()
        kept = sorted(r[0] for r in store.query("SELECT raw FROM superseded"))
        bodies = [r[0] for r in store.query("SELECT body_source FROM revisions ORDER BY id")]
        assert store.scalar("SELECT raw FROM items") == b'{"v": 2}'
    assert kept == sorted([original, b'{"v": 1}', b'{"v": 2}'])
    assert sorted(set(bodies)) == ["1", "2", "a"]


def test_an_archive_of_model_1_0_is_migrated_and_written_by_column_name(tmp_path: Path) -> None:
    export = build_export(
        tmp_path / "export", {"general/2020-09-13.json": [message("1600000000.000001", "a")]}
    )
    # An archive as model 1.0 wrote it: spaces without display_name.
    root = tmp_path / "old"
    with Archive.open(root, create=True) as archive:
        conn = archive.store.conn
        conn.execute("ALTER TABLE spaces DROP COLUMN display_name")
        conn.execute("UPDATE meta SET value = '1.0' WHERE key = 'model_version'")
    ingest([export], root)
    with Archive.open(root) as archive:
        store = archive.store
        assert store.columns("spaces")[-1] == "display_name"  # added at the end
        assert store.scalar("SELECT value FROM meta WHERE key = 'model_version'") == MODEL_VERSION
        # Every value went to its own column despite the new order.
        name, kind, source = store.query("SELECT name, kind, source_id FROM spaces WHERE name = 'general'")[0]
        assert (name, kind) == ("general", "public_channel") and source.startswith("src_")
