"""The embedded store: SQLite with WAL, foreign keys and FTS5.

Rows are inserted, and upserted only where they met rows already there: writing the
same entity twice changes nothing, and a later export's newer version of a record
replaces the older one, which triggers in ``schema.sql`` keep (as ``superseded``, and
its body as a revision). Merge rules per table are below.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
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
_UPSERT_WHERE: dict[str, str] = {
    # A placeholder (known only by id) never replaces a person the source defined.
    "persons": "excluded.is_placeholder = 0 AND (persons.is_placeholder = 1 OR persons.raw IS NOT excluded.raw)",
    "spaces": "spaces.raw IS NOT excluded.raw",
    "items": _NEWER_ITEM,
    "files": "files.raw IS NOT excluded.raw OR (files.sha256 IS NULL AND excluded.sha256 IS NOT NULL)",
    "revisions": "revisions.raw IS NOT excluded.raw",
}
# Columns whose merged value is not simply the incoming one.
_SET_OVERRIDES: dict[str, dict[str, str]] = {
    # A later export without a file's bytes does not unlink the bytes the archive holds.
    "files": {
        "sha256": "coalesce(excluded.sha256, files.sha256)",
        "missing_reason": "CASE WHEN excluded.sha256 IS NULL AND files.sha256 IS NOT NULL THEN NULL"
        " ELSE excluded.missing_reason END",
    },
}
# An incoming item the rule above rejects (an older export, ingested after a newer one) is
# still a record of its source: it is kept in 'superseded' instead of being lost.
_KEEP_REJECTED_ITEMS = (
    "INSERT OR IGNORE INTO superseded (entity_id, source_id, raw, replaced_by)"
    " SELECT items.id, :source_id, :raw, items.source_id FROM items WHERE items.id = :id"
    " AND :raw IS NOT NULL AND items.raw IS NOT :raw"
    " AND coalesce(:edited_at, :created_at, 0) < coalesce(items.edited_at, items.created_at, 0)"
)
# Tables whose rows are facts keyed by their whole identity: insert once, never update.
_INSERT_ONCE = {"memberships", "reactions", "item_files", "diagnostics", "source_units"}


# Columns added since model 1.0, for archives written before them.
_ADDED_COLUMNS = (("spaces", "display_name"),)


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


class SQLiteStore:
    """The SQLite implementation of the archive's store."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # Rows carry their raw record (about 1 KB for a message): larger pages write faster.
        # Only takes effect on a new, empty database, so it must precede WAL.
        self.conn.execute("PRAGMA page_size = 16384")
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.conn.execute("PRAGMA cache_size = -32768")
        self._init_schema()
        self._statements: dict[tuple[str, tuple[str, ...]], tuple[str, str | None]] = {}
        self._columns: dict[str, list[str]] = {}

    def _init_schema(self) -> None:
        sql = resources.files("passerelle.archive").joinpath("schema.sql").read_text(encoding="utf-8")
        self.conn.executescript(sql)
        self.conn.execute(
            "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?), ('model_version', ?)",
            (SCHEMA_VERSION, MODEL_VERSION),
        )
        self._migrate()

    def _migrate(self) -> None:
        """Bring an archive written by an earlier model up to this one (columns are only added)."""
        for table, column in _ADDED_COLUMNS:
            if column not in _columns(self.conn, table):
                self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
        self.conn.execute("UPDATE meta SET value = ? WHERE key = 'model_version'", (MODEL_VERSION,))

    def close(self) -> None:
        self.conn.close()

    # -- writing ------------------------------------------------------------------
    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.index_search()
        self.conn.execute("COMMIT")

    def index_search(self) -> None:
        """Index the items written since the last call, in one statement (much faster than a
        trigger per row)."""
        mark = int(self.scalar("SELECT value FROM meta WHERE key = 'fts_rowid'"))
        top = self.scalar("SELECT max(rowid) FROM items") or 0
        if top > mark:
            self.conn.execute(
                "INSERT INTO items_fts (rowid, body_text, title) SELECT rowid, body_text, title FROM items"
                " WHERE rowid > ? ORDER BY rowid",
                (mark,),
            )
            self.conn.execute("UPDATE meta SET value = ? WHERE key = 'fts_rowid'", (str(top),))

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def columns(self, table: str) -> list[str]:
        if table not in self._columns:
            self._columns[table] = _columns(self.conn, table)
        return self._columns[table]

    def _statements_for(self, table: str, cols: Sequence[str]) -> tuple[str, str | None]:
        """(insert-or-ignore, upsert or None for tables of facts that never change)."""
        key = (table, tuple(cols))
        cached = self._statements.get(key)
        if cached is None:
            names = ", ".join(f'"{c}"' for c in cols)
            marks = ", ".join("?" for _ in cols)
            insert = f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({marks})"
            upsert = None
            if table not in _INSERT_ONCE:
                overrides = _SET_OVERRIDES.get(table, {})
                sets = ", ".join(f'"{c}" = {overrides.get(c, f"excluded.{c}")}' for c in cols if c != "id")
                upsert = (
                    f"INSERT INTO {table} ({names}) VALUES ({marks}) "
                    f"ON CONFLICT (id) DO UPDATE SET {sets} WHERE {_UPSERT_WHERE[table]}"
                )
            cached = self._statements[key] = (insert, upsert)
        return cached

    def write_rows(
        self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str] | None = None
    ) -> None:
        """Write rows whose values are in the order of ``columns`` (the table's own by default)."""
        if not rows:
            return
        cols = columns or self.columns(table)
        insert, upsert = self._statements_for(table, cols)
        # Most rows are new: a plain insert is much cheaper than an upsert. Only when some
        # rows were already there (a re-read or a later export) is the batch upserted; the
        # rows just inserted are then unchanged by it. No table written here has an insert
        # trigger, so total_changes counts exactly the rows inserted.
        before = self.conn.total_changes
        self.conn.executemany(insert, rows)
        if upsert is not None and self.conn.total_changes - before < len(rows):
            if table == "items":
                at = {c: i for i, c in enumerate(cols)}
                self.conn.executemany(
                    _KEEP_REJECTED_ITEMS,
                    (
                        {k: row[at[k]] for k in ("id", "raw", "source_id", "edited_at", "created_at")}
                        for row in rows
                    ),
                )
            self.conn.executemany(upsert, rows)

    # -- reading ------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]
