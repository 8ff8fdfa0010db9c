"""Reading the archive for the web: keyset pagination on (created_at, id), search; every
query filtered by access.visible."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from passerelle.archive.sqlite_store import SQLiteStore
from passerelle.web.access import Viewer, visible

PAGE_SIZE = 50


@dataclass(frozen=True)
class Cursor:
    created_at: int | None
    id: str

    def encode(self) -> str:
        return f"{'n' if self.created_at is None else self.created_at}:{self.id}"

    @staticmethod
    def decode(text: str | None) -> Cursor | None:
        if not text or ":" not in text:
            return None
        at, _, ident = text.partition(":")
        if at == "n":
            return Cursor(None, ident)
        try:
            return Cursor(int(at), ident)
        except ValueError:
            return None


def keyset(cursor: Cursor | None, newest_first: bool, alias: str = "i") -> list[tuple[str, list[Any]]]:
    """The conditions "comes after cursor" in (created_at, id) order, NULL times first
    ascending: segments read one after the other, each a range the (space_id, created_at)
    index serves (an OR across NULL and non-NULL times would make SQLite scan from the top)."""
    c, i = f"{alias}.created_at", f"{alias}.id"
    nulls, timed = f"{c} IS NULL", f"{c} IS NOT NULL"
    if cursor is None:
        return [(timed, []), (nulls, [])] if newest_first else [(nulls, []), (timed, [])]
    if cursor.created_at is None:
        if newest_first:
            return [(f"{nulls} AND {i} < ?", [cursor.id])]
        return [(f"{nulls} AND {i} > ?", [cursor.id]), (timed, [])]
    at = cursor.created_at
    if newest_first:
        return [(f"{c} <= ? AND ({c} < ? OR {i} < ?)", [at, at, cursor.id]), (nulls, [])]
    return [(f"{c} >= ? AND ({c} > ? OR {i} > ?)", [at, at, cursor.id])]


def _pages(
    db: sqlite3.Connection, sql: str, params: list[Any], after: Cursor | None, newest_first: bool, limit: int
) -> tuple[list[sqlite3.Row], Cursor | None]:
    """Run sql (with a {keyset} placeholder in its WHERE and ORDER BY/LIMIT appended) segment
    by segment until limit + 1 rows are read: one page, and the next page's cursor."""
    rows: list[sqlite3.Row] = []
    for cond, kparams in keyset(after, newest_first):
        if len(rows) > limit:
            break
        rows += db.execute(
            sql.format(keyset=cond) + f" ORDER BY {order(newest_first)} LIMIT ?",
            [*params, *kparams, limit + 1 - len(rows)],
        ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (Cursor(rows[-1]["created_at"], rows[-1]["id"]) if more and rows else None)


def order(newest_first: bool, alias: str = "i") -> str:
    d = "DESC" if newest_first else "ASC"
    return f"{alias}.created_at {d}, {alias}.id {d}"


SPACE_COLUMNS = (
    "s.id, s.kind, s.visibility, coalesce(s.display_name, s.name, (SELECT group_concat(coalesce("
    " p.display_name, p.name, p.id), ', ') FROM memberships m JOIN persons p ON p.id = m.person_id"
    " WHERE m.space_id = s.id), s.id) AS title, s.topic, s.purpose,"
    " s.is_archived, s.platform"
)
ITEM_COLUMNS = (
    "i.id, i.kind, i.space_id, i.subtype, i.author_id, i.created_at, i.edited_at, i.deleted, i.thread_root_id,"
    " i.pinned, i.title, i.body_text, i.body_refs, i.also_in_channel,"
    " coalesce(p.display_name, p.real_name, p.name, i.author_id) AS author,"
    " (SELECT visibility FROM spaces WHERE id = i.space_id) AS visibility"
)


def spaces(db: sqlite3.Connection, viewer: Viewer) -> list[sqlite3.Row]:
    cond, params = visible(viewer, "s.id")
    return db.execute(
        f"SELECT {SPACE_COLUMNS} FROM spaces s WHERE {cond} ORDER BY s.kind, title, s.id",
        params,
    ).fetchall()


def space(db: sqlite3.Connection, viewer: Viewer, space_id: str) -> sqlite3.Row | None:
    cond, params = visible(viewer, "s.id")
    row: sqlite3.Row | None = db.execute(
        f"SELECT {SPACE_COLUMNS} FROM spaces s WHERE s.id = ? AND {cond}", [space_id, *params]
    ).fetchone()
    return row


def timeline(
    db: sqlite3.Connection,
    viewer: Viewer,
    space_id: str,
    *,
    newest_first: bool,
    after: Cursor | None,
    limit: int = PAGE_SIZE,
) -> tuple[list[sqlite3.Row], Cursor | None]:
    """One page of a space's top-level items (threads folded, with their reply counts), and
    the cursor of the next page (None at the end)."""
    cond, params = visible(viewer, "i.space_id")
    return _pages(
        db,
        f"SELECT {ITEM_COLUMNS},"
        " (SELECT count(*) FROM items r WHERE r.thread_root_id = i.id AND r.id != i.id) AS replies"
        " FROM items i LEFT JOIN persons p ON p.id = i.author_id"
        f" WHERE i.space_id = ? AND (i.thread_root_id IS NULL OR i.thread_root_id = i.id OR i.also_in_channel = 1) AND {cond}"
        " AND {keyset}",
        [space_id, *params],
        after,
        newest_first,
        limit,
    )


def item(db: sqlite3.Connection, viewer: Viewer, item_id: str) -> sqlite3.Row | None:
    cond, params = visible(viewer, "i.space_id")
    row: sqlite3.Row | None = db.execute(
        f"SELECT {ITEM_COLUMNS} FROM items i LEFT JOIN persons p ON p.id = i.author_id"
        f" WHERE i.id = ? AND {cond}",
        [item_id, *params],
    ).fetchone()
    return row


def thread(
    db: sqlite3.Connection, viewer: Viewer, root_id: str, after: Cursor | None = None, limit: int = PAGE_SIZE
) -> tuple[sqlite3.Row | None, list[sqlite3.Row], Cursor | None]:
    """A thread's root and one page of its replies, oldest first (keyset), and the next cursor."""
    root = item(db, viewer, root_id)
    if root is None:
        return None, [], None
    cond, params = visible(viewer, "i.space_id")
    rows, nxt = _pages(
        db,
        f"SELECT {ITEM_COLUMNS}, 0 AS replies FROM items i LEFT JOIN persons p ON p.id = i.author_id"
        f" WHERE i.thread_root_id = ? AND i.id != ? AND {cond} AND {{keyset}}",
        [root_id, root_id, *params],
        after,
        False,
        limit,
    )
    return root, rows, nxt


def person(db: sqlite3.Connection, person_id: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute(
        "SELECT id, coalesce(display_name, real_name, name, id) AS title, name, real_name, title AS job,"
        " is_bot, is_deleted FROM persons WHERE id = ?",
        (person_id,),
    ).fetchone()
    return row


def person_items(
    db: sqlite3.Connection, viewer: Viewer, person_id: str, after: Cursor | None, limit: int = PAGE_SIZE
) -> tuple[list[sqlite3.Row], Cursor | None]:
    cond, params = visible(viewer, "i.space_id")
    return _pages(
        db,
        f"SELECT {ITEM_COLUMNS}, 0 AS replies FROM items i LEFT JOIN persons p ON p.id = i.author_id"
        f" WHERE i.author_id = ? AND {cond} AND {{keyset}}",
        [person_id, *params],
        after,
        True,
        limit,
    )


def file(db: sqlite3.Connection, viewer: Viewer, file_id: str) -> sqlite3.Row | None:
    """A file, when it is attached to at least one item the viewer may see."""
    cond, params = visible(viewer, "i.space_id")
    row: sqlite3.Row | None = db.execute(
        "SELECT f.id, f.name, f.media_type, f.size, f.sha256, f.missing_reason,"
        " (SELECT s.visibility FROM item_files x JOIN items i2 ON i2.id = x.item_id"
        "  JOIN spaces s ON s.id = i2.space_id WHERE x.file_id = f.id ORDER BY s.visibility = 'public' DESC"
        "  LIMIT 1) AS visibility"
        " FROM files f WHERE f.id = ? AND EXISTS (SELECT 1 FROM item_files x JOIN items i ON i.id = x.item_id"
        f" WHERE x.file_id = f.id AND {cond})",
        [file_id, *params],
    ).fetchone()
    return row


def item_files(db: sqlite3.Connection, item_ids: list[str]) -> dict[str, list[sqlite3.Row]]:
    out: dict[str, list[sqlite3.Row]] = {}
    if not item_ids:
        return out
    marks = ",".join("?" * len(item_ids))
    for row in db.execute(
        "SELECT x.item_id, f.id, f.name, f.media_type, f.size, f.missing_reason FROM item_files x"
        f" JOIN files f ON f.id = x.file_id WHERE x.item_id IN ({marks}) ORDER BY x.item_id, x.position",
        item_ids,
    ):
        out.setdefault(row["item_id"], []).append(row)
    return out


def reactions(db: sqlite3.Connection, item_ids: list[str]) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    if not item_ids:
        return out
    marks = ",".join("?" * len(item_ids))
    for row in db.execute(
        f"SELECT item_id, emoji, count(*) FROM reactions WHERE item_id IN ({marks})"
        " GROUP BY item_id, emoji ORDER BY item_id, min(coalesce(created_at, 0)), emoji",
        item_ids,
    ):
        out.setdefault(row[0], []).append((row[1], row[2]))
    return out


def revisions(db: sqlite3.Connection, item_id: str) -> list[sqlite3.Row]:
    return db.execute(
        "SELECT r.id, r.created_at, r.comment, r.body_text,"
        " coalesce(p.display_name, p.real_name, p.name, r.author_id) AS author"
        " FROM revisions r LEFT JOIN persons p ON p.id = r.author_id WHERE r.item_id = ?"
        " ORDER BY r.created_at, r.id",
        (item_id,),
    ).fetchall()


MARK_START, MARK_END = "\x02", "\x03"


@dataclass(frozen=True)
class SearchCursor:
    """Where a page of search results ends: its last item's time (None: no time) and rowid.
    Results run newest first, then the later row first, and items without a time last."""

    created_at: int | None
    rowid: int

    def encode(self) -> str:
        return f"{'n' if self.created_at is None else self.created_at}:{self.rowid}"

    @staticmethod
    def decode(text: str | None) -> SearchCursor | None:
        at, _, rowid = (text or "").partition(":")
        try:
            return SearchCursor(None if at == "n" else int(at), int(rowid))
        except ValueError:
            return None

    def after(self) -> list[tuple[str, list[Any]]]:
        """The conditions "comes after this cursor", in result order: ranges that the time
        index (alone or after the space's or author's id) serves one after the other."""
        if self.created_at is None:
            return [("i.created_at IS NULL AND i.rowid < ?", [self.rowid])]
        return [
            ("i.created_at = ? AND i.rowid < ?", [self.created_at, self.rowid]),
            ("i.created_at < ?", [self.created_at]),
            ("i.created_at IS NULL", []),
        ]


def search(
    db: sqlite3.Connection,
    viewer: Viewer,
    q: str,
    *,
    space_id: str | None = None,
    author_id: str | None = None,
    since: int | None = None,
    until: int | None = None,
    after: SearchCursor | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[sqlite3.Row], SearchCursor | None]:
    """Items matching q (FTS5; the query is quoted word by word), visible to viewer: one
    page of them after the cursor, newest first, with their highlighted snippets; and the
    cursor of the next page (None at the end)."""
    words = [w.replace('"', '""') for w in q.split()]
    if not words:
        return [], None
    match = " ".join(f'"{w}"' for w in words)
    filters = [
        (f"{column} {op} ?", value)
        for column, op, value in (
            ("i.space_id", "=", space_id),
            ("i.author_id", "=", author_id),
            ("i.created_at", ">=", since),
            ("i.created_at", "<", until),
        )
        if value
    ]
    found = _search_rowids(db, viewer, match, filters, after, limit + 1)
    page = found[:limit]
    if not page:
        return [], None
    marks = ",".join("?" * len(page))
    # Columns and snippets for this page only: in one query with the ORDER BY, SQLite would
    # compute them for every match before sorting (0.5 s for a word in 100,000 messages).
    rows = {
        row["rid"]: row
        for row in db.execute(
            f"SELECT {ITEM_COLUMNS}, 0 AS replies, items_fts.rowid AS rid,"
            f" snippet(items_fts, 0, '{MARK_START}', '{MARK_END}', '…', 16) AS snippet,"
            " coalesce(s.display_name, s.name, s.id) AS space_title"
            " FROM items_fts JOIN items i ON i.rowid = items_fts.rowid"
            " JOIN spaces s ON s.id = i.space_id LEFT JOIN persons p ON p.id = i.author_id"
            f" WHERE items_fts MATCH ? AND items_fts.rowid IN ({marks})",
            [match, *(rowid for rowid, _ in page)],
        )
    }
    last_rowid, last_time = page[-1]
    return [rows[r] for r, _ in page if r in rows], (
        SearchCursor(last_time, last_rowid) if len(found) > limit else None
    )


# A word in more messages than this may be looked for by walking the messages newest first
# and keeping those among its matches, rather than by sorting all its matches by time.
WALK_ABOVE_MATCHES = 20_000
# The walk reads at least this many messages, or WALK_MARGIN times what the word's frequency
# says a page needs; when that is more than the word's matches, sorting them is cheaper.
WALK_AT_LEAST = 2_000
WALK_MARGIN = 3
# The walk either lists the word's matches first (about 0.2 µs a match) or tests each item it
# reads against the full-text index (about 25 µs an item, and it reads need * items / matches
# of them): it tests when matches² > PROBE_RATIO * need * items (measured on 1M messages).
PROBE_RATIO = 125


def _search_rowids(
    db: sqlite3.Connection,
    viewer: Viewer,
    match: str,
    filters: list[tuple[str, Any]],
    after: SearchCursor | None,
    need: int,
) -> list[tuple[int, int | None]]:
    """(rowid, created_at) of the first need matching items after the cursor, visible to
    viewer under filters, newest first.

    Sorting every match costs time in proportion to the number of matches (0.12 s for
    100,000). For a common word, walking the items newest first through an index (of times,
    of the space's times, or of the author's) and keeping those among the word's matches
    finds a page after a few hundred. Both give the same order."""
    matches = db.execute("SELECT count(*) FROM items_fts WHERE items_fts MATCH ?", [match]).fetchone()[0]
    if not matches:
        return []
    segments = after.after() if after else [("i.created_at IS NOT NULL", []), ("i.created_at IS NULL", [])]

    def where(space_column: str, unindexed_filters: bool) -> tuple[str, list[Any]]:
        cond, params = visible(viewer, space_column)
        terms = [("+" if unindexed_filters else "") + term for term, _ in filters]
        return " AND ".join([cond, *terms]), [*params, *(value for _, value in filters)]

    # "+" keeps a term off the indexes, so that SQLite takes the path chosen here: for the walk,
    # the visibility test (else SQLite reads every visible item through the space index and
    # sorts them); for the sort, every filter (else it walks a whole space, testing each item).
    if matches > WALK_ABOVE_MATCHES and _has_time_index(db):
        items = db.execute("SELECT max(rowid) FROM items").fetchone()[0] or 0
        budget = max(WALK_AT_LEAST, WALK_MARGIN * need * items // matches)
        if budget < matches:
            cond, params = where("+i.space_id", unindexed_filters=False)
            probe = matches * matches > PROBE_RATIO * need * items
            walked = _walk(db, match, cond, params, segments, budget, need, probe=probe)
            if walked is not None:
                return walked
    cond, params = where("i.space_id", unindexed_filters=True)
    keyset = " OR ".join(f"({c})" for c, _ in segments).replace("i.", "+i.")
    return [
        (r[0], r[1])
        for r in db.execute(
            "SELECT i.rowid, i.created_at FROM items_fts JOIN items i ON i.rowid = items_fts.rowid"
            f" WHERE items_fts MATCH ? AND {cond} AND ({keyset})"
            " ORDER BY i.created_at DESC, i.rowid DESC LIMIT ?",
            [match, *params, *(v for _, values in segments for v in values), need],
        )
    ]


def _walk(
    db: sqlite3.Connection,
    match: str,
    where: str,
    params: list[Any],
    segments: list[tuple[str, list[Any]]],
    budget: int,
    need: int,
    *,
    probe: bool,
) -> list[tuple[int, int | None]] | None:
    """The first need matching (rowid, created_at), newest first, from a walk of at most
    budget items through the segments in turn; or None when the walk read its budget before
    finding them (the rest may be older than anything it read). Each item read is tested
    against the full-text index (probe), or against the word's matches listed first."""
    found: list[tuple[int, int | None]] = []
    read = 0
    for segment, values in segments:
        walk = (
            f"SELECT i.rowid AS rid, i.created_at AS at FROM items i WHERE {where} AND {segment}"
            " ORDER BY i.created_at DESC, i.rowid DESC LIMIT ?"
        )
        if probe:
            sql = (
                "SELECT c.rid, c.at, EXISTS (SELECT 1 FROM items_fts f WHERE items_fts MATCH ?"
                f" AND f.rowid = c.rid) FROM ({walk}) AS c"
            )
        else:
            sql = (
                "WITH m(rid) AS MATERIALIZED (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)"
                f" SELECT c.rid, c.at, c.rid IN m FROM ({walk}) AS c"
            )
        left = budget - read
        for rid, at, hit in db.execute(sql, [match, *params, *values, left]):
            read += 1
            if hit:
                found.append((rid, at))
                if len(found) == need:
                    return found
        if read >= budget:
            return None
    # Every item under the filters after the cursor was read: what was found is all there is.
    return found


def _has_time_index(db: sqlite3.Connection) -> bool:
    """Whether the archive has the index on items' times (a read-only archive written before
    it existed is served by sorting)."""
    return _has_index(db, "items_time")


def visible_space_ids(db: sqlite3.Connection, viewer: Viewer) -> list[str]:
    cond, params = visible(viewer, "s.id")
    return [r[0] for r in db.execute(f"SELECT s.id FROM spaces s WHERE {cond}", params)]


def person_titles(db: sqlite3.Connection, person_ids: list[str]) -> dict[str, str]:
    marks = ",".join("?" * len(person_ids))
    return {
        r[0]: r[1]
        for r in db.execute(
            f"SELECT id, coalesce(display_name, real_name, name, id) FROM persons WHERE id IN ({marks})",
            person_ids,
        )
    }


def revision_pair(
    db: sqlite3.Connection, item_id: str, a: str, b: str
) -> tuple[sqlite3.Row, sqlite3.Row] | None:
    rows = {
        r["id"]: r
        for r in db.execute(
            "SELECT id, created_at, body_text FROM revisions WHERE item_id = ? AND id IN (?, ?)",
            (item_id, a, b),
        )
    }
    return (rows[a], rows[b]) if a in rows and b in rows else None


# The indexes that serve reading newest first (search) and by person (person pages).
READING_INDEXES = ("items_time", "items_author_time")


def add_reading_indexes(archive_sqlite: Path) -> list[str]:
    """Give an archive written before the reading indexes existed the ones it lacks (a
    second or so per million items), by opening it as any later ingest would. The indexes it
    still lacks (a read-only archive: served, only slower): returned."""
    with closing(sqlite3.connect(f"file:{archive_sqlite}?mode=ro", uri=True)) as db:
        missing = [name for name in READING_INDEXES if not _has_index(db, name)]
    if missing:
        try:
            SQLiteStore(archive_sqlite).close()  # brings the schema up to date, indexes included
        except sqlite3.OperationalError:
            return missing
    return []


def _has_index(db: sqlite3.Connection, name: str) -> bool:
    return (
        db.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)).fetchone()
        is not None
    )
