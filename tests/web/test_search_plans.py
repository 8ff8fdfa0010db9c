"""Search finds one page of matches two ways (sorting every match by time, or walking the
items newest first and testing each against the full-text index); both must give exactly
the order of a plain sort of all visible matches, page after page, under every filter."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from passerelle.ingest import ingest
from passerelle.web import queries
from passerelle.web.access import Viewer, visible
from passerelle.web.app import create_app
from tests.mattermost_builder import build_export, generated_lines
from tests.web.conftest import person_id


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("web-search-plans")
    lines, files = generated_lines(posts=400, users=6)
    # Posts at the same millisecond in threes: ties in time, which both plans break alike.
    posts = [line["post"] for line in lines if line.get("type") == "post"]
    for k in range(1, len(posts), 3):
        posts[k]["create_at"] = posts[k - 1]["create_at"]
    ingest([build_export(base / "export", lines, files)], base / "archive")
    # Some items without a time (as some sources have): they come last, in a segment of their own.
    with sqlite3.connect(base / "archive" / "archive.sqlite") as db:
        assert db.execute("UPDATE items SET created_at = NULL WHERE rowid % 17 = 0").rowcount > 10
    return base / "archive"


def _expected(db: sqlite3.Connection, viewer: Viewer, word: str, where: str, params: list[Any]) -> list[str]:
    """Every visible match, sorted here: newest first, then the later row first."""
    cond, vparams = visible(viewer, "i.space_id")
    rows = db.execute(
        "SELECT i.id, i.created_at, i.rowid FROM items_fts JOIN items i ON i.rowid = items_fts.rowid"
        f" WHERE items_fts MATCH ? AND {cond} AND {where}",
        [word, *vparams, *params],
    ).fetchall()
    rows.sort(key=lambda r: (r[1] is not None, r[1] or 0, r[2]), reverse=True)
    return [r[0] for r in rows]


def _all_pages(db: sqlite3.Connection, viewer: Viewer, word: str, **filters: Any) -> list[str]:
    found: list[str] = []
    after = None
    for _ in range(100):
        rows, after = queries.search(db, viewer, word, after=after, limit=7, **filters)
        assert len(rows) == 7 or after is None  # a full page, or the last one
        found += [r["id"] for r in rows]
        if after is None:
            return found
    raise AssertionError("more pages than matches")


@pytest.mark.parametrize("plan", ["sort", "walk-listed", "walk-probed", "walk-then-sort"])
def test_both_plans_give_the_order_of_a_full_sort(
    archive: Path, plan: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # walk-*: every word counts as common, the walk's matches listed first or each item probed;
    # walk-then-sort: the walk reads too few items to fill a page and hands over to the sort.
    monkeypatch.setattr(queries, "WALK_ABOVE_MATCHES", 10**9 if plan == "sort" else 0)
    monkeypatch.setattr(queries, "WALK_AT_LEAST", 1)
    monkeypatch.setattr(queries, "PROBE_RATIO", 0 if plan == "walk-probed" else 10**9)
    if plan == "walk-then-sort":
        monkeypatch.setattr(queries, "WALK_MARGIN", 0)
    walks: list[list[tuple[int, int | None]] | None] = []
    walk = queries._walk

    def recorded(*args: Any, **kwargs: Any) -> list[tuple[int, int | None]] | None:
        walks.append(walk(*args, **kwargs))
        return walks[-1]

    monkeypatch.setattr(queries, "_walk", recorded)
    db = sqlite3.connect(archive / "archive.sqlite")
    db.row_factory = sqlite3.Row
    member = person_id(archive, "user003")  # not in the private channel "sales"
    sales = db.execute("SELECT id FROM spaces WHERE name = 'sales'").fetchone()[0]
    dev = db.execute("SELECT id FROM spaces WHERE name = 'dev'").fetchone()[0]
    times = sorted(r[0] for r in db.execute("SELECT created_at FROM items WHERE created_at IS NOT NULL"))
    middle = times[len(times) // 2]
    checked = 0
    for viewer in (Viewer(member), Viewer(member, is_admin=True)):
        for word in ("coffee", "deploy", "zzznowhere"):
            for filters, where, params in (
                ({}, "1", []),
                ({"space_id": dev}, "i.space_id = ?", [dev]),
                ({"space_id": sales}, "i.space_id = ?", [sales]),
                ({"author_id": member}, "i.author_id = ?", [member]),
                ({"since": middle}, "i.created_at >= ?", [middle]),
                ({"until": middle}, "i.created_at < ?", [middle]),
            ):
                expected = _expected(db, viewer, word, where, params)
                assert _all_pages(db, viewer, word, **filters) == expected, (plan, viewer, word, filters)
                checked += len(expected)
    assert checked > 500
    # Each plan was taken: the walk found pages, or handed every one over to the sort.
    if plan == "sort":
        assert walks == []
    elif plan == "walk-then-sort":
        assert walks and any(w is None for w in walks)
    else:
        assert sum(1 for w in walks if w) > 20
    # The member sees nothing of the private channel, whichever plan.
    assert queries.search(db, Viewer(member), "coffee", space_id=sales) == ([], None)
    assert queries.search(db, Viewer(member, is_admin=True), "coffee", space_id=sales)[0]


def test_the_walk_is_used_only_with_the_time_index(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An archive from before the time index is searched by sorting, with the same results."""
    monkeypatch.setattr(queries, "WALK_ABOVE_MATCHES", 0)
    copy = tmp_path / "archive.sqlite"
    with sqlite3.connect(archive / "archive.sqlite") as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
        dst.execute("DROP INDEX items_time")
    old = sqlite3.connect(copy)
    old.row_factory = sqlite3.Row
    new = sqlite3.connect(archive / "archive.sqlite")
    new.row_factory = sqlite3.Row
    assert queries._has_time_index(new) and not queries._has_time_index(old)
    admin = Viewer("nobody", is_admin=True)
    assert _all_pages(old, admin, "lunch") == _all_pages(new, admin, "lunch")


def test_serving_an_older_archive_adds_the_reading_indexes(archive: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    with sqlite3.connect(archive / "archive.sqlite") as src, sqlite3.connect(old / "archive.sqlite") as dst:
        src.backup(dst)
        for name in queries.READING_INDEXES:
            dst.execute(f"DROP INDEX {name}")
    create_app(old, secret="s", testing=True)
    with sqlite3.connect(old / "archive.sqlite") as db:
        assert all(queries._has_index(db, name) for name in queries.READING_INDEXES)


def test_a_read_only_archive_is_served_without_them(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root here, who may write any file: the refusal a read-only archive meets
    # is stood in for by SQLite's own error.
    with (
        sqlite3.connect(archive / "archive.sqlite") as src,
        sqlite3.connect(tmp_path / "archive.sqlite") as dst,
    ):
        src.backup(dst)
        dst.execute("DROP INDEX items_time")

    def refuse(path: Path) -> None:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(queries, "SQLiteStore", refuse)
    assert queries.add_reading_indexes(tmp_path / "archive.sqlite") == ["items_time"]
    client = create_app(tmp_path, secret="s", testing=True).test_client()
    assert client.get("/login").status_code == 200
