"""Counts of what an archive holds, as ``passerelle info`` prints them."""

from __future__ import annotations

from typing import Any

from passerelle.archive.sqlite_store import SQLiteStore

_TABLES = (
    "persons",
    "spaces",
    "memberships",
    "items",
    "reactions",
    "files",
    "revisions",
    "diagnostics",
)


def table_counts(store: SQLiteStore) -> dict[str, int]:
    return {table: int(store.scalar(f"SELECT count(*) FROM {table}")) for table in _TABLES}


def archive_info(store: SQLiteStore) -> dict[str, Any]:
    def count(sql: str) -> int:
        return int(store.scalar(sql) or 0)

    severities = dict(store.query("SELECT severity, count(*) FROM diagnostics GROUP BY severity"))
    return {
        "counts": {
            "persons": count("SELECT count(*) FROM persons"),
            "spaces": count("SELECT count(*) FROM spaces"),
            "memberships": count("SELECT count(*) FROM memberships"),
            "items": count("SELECT count(*) FROM items"),
            "thread_roots": count(
                "SELECT count(DISTINCT thread_root_id) FROM items WHERE thread_root_id IS NOT NULL"
            ),
            "thread_replies": count("SELECT count(*) FROM items WHERE thread_root_id IS NOT NULL"),
            "reactions": count("SELECT count(*) FROM reactions"),
            "files": count("SELECT count(*) FROM files"),
            "files_with_content": count("SELECT count(*) FROM files WHERE sha256 IS NOT NULL"),
            "revisions": count("SELECT count(*) FROM revisions"),
            "references": count("SELECT sum(json_array_length(body_refs)) FROM items"),
        },
        "diagnostics": {s: int(severities.get(s, 0)) for s in ("error", "warning", "info")},
        "by_code": dict(store.query("SELECT code, count(*) FROM diagnostics GROUP BY code ORDER BY code")),
        "sources": [
            dict(zip(("id", "platform", "path", "sha256", "reader", "status"), row, strict=True))
            for row in store.query(
                "SELECT id, platform, path, sha256, reader, status FROM sources ORDER BY rowid"
            )
        ],
    }
