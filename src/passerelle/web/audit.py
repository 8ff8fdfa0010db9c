"""The audit log: every view of private content by an administrator, appended to
``web.sqlite``'s ``audit`` table (time, administrator, action, target id)."""

from __future__ import annotations

import sqlite3
import time


def record(web: sqlite3.Connection, admin_id: str, action: str, target: str) -> None:
    web.execute("INSERT INTO audit VALUES (?, ?, ?, ?)", (time.time(), admin_id, action, target))


def entries(web: sqlite3.Connection) -> list[tuple[float, str, str, str]]:
    """The log, oldest first."""
    return [(r[0], r[1], r[2], r[3]) for r in web.execute("SELECT * FROM audit ORDER BY rowid")]
