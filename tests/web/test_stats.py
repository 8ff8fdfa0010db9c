"""The home page's figures: counted once per state of the archive, summed per viewer over
the spaces they may see, and equal to what the items say."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from passerelle.web import queries
from passerelle.web.access import Viewer
from passerelle.web.stats import ArchiveFigures, FiguresCache, month_range
from tests.web.conftest import person_id


def test_figures_equal_the_items(mm_archive: Path) -> None:
    db = sqlite3.connect(mm_archive / "archive.sqlite")
    figures = ArchiveFigures.count(db)
    rows = db.execute("SELECT space_id, author_id, created_at FROM items").fetchall()
    assert figures.items_per_space == dict(Counter(r[0] for r in rows))
    authors = Counter((r[0], r[1]) for r in rows if r[1] is not None)
    assert {(s, a): n for s, per in figures.authors_per_space.items() for a, n in per.items()} == dict(
        authors
    )
    assert sum(n for per in figures.months_per_space.values() for n in per.values()) == sum(
        1 for r in rows if r[2] is not None
    )


def test_a_viewer_sees_figures_of_their_spaces_only(mm_archive: Path) -> None:
    db = sqlite3.connect(mm_archive / "archive.sqlite")
    eve = person_id(mm_archive, "eve")
    ada = person_id(mm_archive, "ada")
    figures = ArchiveFigures.count(db)
    eve_spaces = queries.visible_space_ids(db, Viewer(eve))
    ada_spaces = queries.visible_space_ids(db, Viewer(ada))
    assert set(eve_spaces) < set(ada_spaces)
    for_eve = figures.for_spaces(eve_spaces)
    assert set(for_eve.items_per_space) == set(eve_spaces)
    assert set(for_eve.activity) <= set(eve_spaces)
    # Every person eve is shown wrote in a space eve may see, and their count is what they wrote there.
    marks = ",".join("?" * len(eve_spaces))
    visible_counts = dict(
        db.execute(
            f"SELECT author_id, count(*) FROM items WHERE space_id IN ({marks}) AND author_id IS NOT NULL"
            " GROUP BY author_id",
            eve_spaces,
        ).fetchall()
    )
    assert for_eve.people and all(visible_counts[p] == n for p, n in for_eve.people)
    assert [n for _, n in for_eve.people] == sorted((n for _, n in for_eve.people), reverse=True)
    assert figures.for_spaces(ada_spaces).items_per_space != for_eve.items_per_space


def test_the_cache_counts_again_when_the_archive_changes(mm_archive: Path) -> None:
    db = sqlite3.connect(mm_archive / "archive.sqlite")
    spaces = queries.visible_space_ids(db, Viewer("x", is_admin=True))
    cache = FiguresCache()
    first = cache.get(db, ("state", 1), spaces)
    assert cache.get(db, ("state", 1), spaces) is first  # kept
    other = sqlite3.connect(":memory:")  # an archive state with no items
    other.execute("CREATE TABLE items (space_id TEXT, author_id TEXT, created_at INTEGER)")
    assert cache.get(other, ("state", 1), spaces) is first  # same state: not counted again
    emptied = cache.get(other, ("state", 2), spaces)
    assert sum(emptied.items_per_space.values()) == 0 and sum(first.items_per_space.values()) > 0


def test_month_range_fills_gaps() -> None:
    assert month_range(["2019-11", "2020-02"]) == ["2019-11", "2019-12", "2020-01", "2020-02"]
    assert month_range([]) == []
