"""The embedded store: SQLite with WAL, foreign keys and FTS5.

Rows are written by upsert, so writing the same entity twice changes nothing and a
later export's newer version of a record replaces the older one (its earlier body
being kept as a revision by a trigger in ``schema.sql``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from passerelle.model.entities import MODEL_VERSION

SCHEMA_VERSION = "1"

# Upsert rules per table: which rows may replace an existing one.
_NEWER_ITEM = (
    "items.raw IS NOT excluded.raw AND coalesce(excluded.edited_at, excluded.created_at, 0)"
    " >= coalesce(items.edited_at, items.created_at, 0)"
)
_UPSERT_WHERE: dict[str, str | None] = {
    # A placeholder (known only by id) never replaces a person the source defined.
    "persons": "excluded.is_placeholder = 0 AND (persons.is_placeholder = 1 OR persons.raw IS NOT excluded.raw)",
    "spaces": "spaces.raw IS NOT excluded.raw",
    "items": _NEWER_ITEM,
    "files": "files.raw IS NOT excluded.raw OR (files.sha256 IS NULL AND excluded.sha256 IS NOT NULL)",
    "revisions": "revisions.raw IS NOT excluded.raw",
}
# Tables whose rows are facts keyed by their whole identity: insert once, never update.
_INSERT_ONCE = {"memberships", "reactions", "item_files", "refs", "diagnostics", "source_units"}


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


class SQLiteStore:
    """The SQLite implementation of the archive's store."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.conn.execute("PRAGMA cache_size = -65536")
        self._init_schema()
        self._statements: dict[str, str] = {}

    def _init_schema(self) -> None:
        sql = resources.files("passerelle.archive").joinpath("schema.sql").read_text(encoding="utf-8")
        self.conn.executescript(sql)
        self.conn.execute(
            "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?), ('model_version', ?)",
            (SCHEMA_VERSION, MODEL_VERSION),
        )

    def close(self) -> None:
        self.conn.close()

    # -- writing ------------------------------------------------------------------
    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def columns(self, table: str) -> list[str]:
        return _columns(self.conn, table)

    def _statement(self, table: str) -> str:
        stmt = self._statements.get(table)
        if stmt is None:
            cols = self.columns(table)
            names = ", ".join(f'"{c}"' for c in cols)
            marks = ", ".join("?" for _ in cols)
            if table in _INSERT_ONCE:
                stmt = f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({marks})"
            else:
                sets = ", ".join(f'"{c}" = excluded."{c}"' for c in cols if c != "id")
                stmt = (
                    f"INSERT INTO {table} ({names}) VALUES ({marks}) "
                    f"ON CONFLICT (id) DO UPDATE SET {sets} WHERE {_UPSERT_WHERE[table]}"
                )
            self._statements[table] = stmt
        return stmt

    def write_rows(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.conn.executemany(self._statement(table), rows)

    # -- reading ------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()

    def iterate(self, sql: str, params: Sequence[Any] = ()) -> Iterable[tuple[Any, ...]]:
        yield from self.conn.execute(sql, params)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]
