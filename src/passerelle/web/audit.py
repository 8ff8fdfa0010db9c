"""The audit log: every view of private content by an administrator, appended to
``web.sqlite``'s ``audit`` table (time, administrator, action, target id), and read back
newest first, a page at a time, for the administrators' page ``/admin/audit``."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from urllib.parse import quote

PAGE_SIZE = 50


@dataclass(frozen=True)
class Entry:
    seq: int  # the row's rowid: rows are appended, so it orders them by time, and is the cursor
    at: float
    admin_id: str
    action: str
    target: str


def record(web: sqlite3.Connection, admin_id: str, action: str, target: str) -> None:
    web.execute("INSERT INTO audit VALUES (?, ?, ?, ?)", (time.time(), admin_id, action, target))


def entries(web: sqlite3.Connection) -> list[tuple[float, str, str, str]]:
    """The log, oldest first."""
    return [(r[0], r[1], r[2], r[3]) for r in web.execute("SELECT * FROM audit ORDER BY rowid")]


def page(
    web: sqlite3.Connection,
    *,
    before: int | None = None,
    admin_id: str | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[Entry], int | None]:
    """A page of the log, newest first: the entries older than ``before`` (a cursor from the
    previous page), of one administrator when ``admin_id`` is given; and the next page's cursor,
    or None on the last page. Keyset on the rowid, so a deep page costs what the first does."""
    conditions: list[str] = []
    params: list[object] = []
    if before is not None:
        conditions.append("rowid < ?")
        params.append(before)
    if admin_id is not None:
        conditions.append("admin_id = ?")
        params.append(admin_id)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = web.execute(
        f"SELECT rowid, at, admin_id, action, target FROM audit {where} ORDER BY rowid DESC LIMIT ?",
        [*params, limit + 1],
    ).fetchall()
    found = [Entry(int(r[0]), float(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows[:limit]]
    return found, (found[-1].seq if len(rows) > limit else None)


_SPACE_ACTIONS = {"view space", "api space items"}


def target_path(action: str, target: str) -> str | None:
    """Where an entry's target is on the site: a space, or an item (thread roots, diffs and
    search results are items); a downloaded file is not linked (following it would download
    it again)."""
    if action in _SPACE_ACTIONS:
        return f"/spaces/{quote(target, safe='')}"
    if action == "download file":
        return None
    return f"/items/{quote(target, safe='')}"
