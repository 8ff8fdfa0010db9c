"""The home page's figures: items per space, per space and month, per author and space.

Counting them reads every item (about a second for a million), so they are counted once per
state of the archive and kept; each viewer's figures are then sums over the spaces that
viewer may see, with no further query of the items.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

MONTH = "strftime('%Y-%m', created_at / 1000000, 'unixepoch')"


@dataclass(frozen=True)
class ViewerFigures:
    items_per_space: dict[str, int]
    biggest: list[str]  # the spaces with the most items, most first (then by id)
    # The biggest spaces' items per month ({space id: {"YYYY-MM": n}}), and every month from
    # the first to the last of them (a month without items is a zero, not a gap).
    activity: dict[str, dict[str, int]]
    months: list[str]
    # The most active people: (person id, items), most first.
    people: list[tuple[str, int]]


@dataclass
class ArchiveFigures:
    items_per_space: dict[str, int] = field(default_factory=dict)
    months_per_space: dict[str, dict[str, int]] = field(default_factory=dict)
    authors_per_space: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def count(cls, db: sqlite3.Connection) -> ArchiveFigures:
        figures = cls()
        for space_id, month, n in db.execute(f"SELECT space_id, {MONTH}, count(*) FROM items GROUP BY 1, 2"):
            figures.items_per_space[space_id] = figures.items_per_space.get(space_id, 0) + n
            if month is not None:
                figures.months_per_space.setdefault(space_id, {})[month] = n
        for space_id, author_id, n in db.execute(
            "SELECT space_id, author_id, count(*) FROM items WHERE author_id IS NOT NULL GROUP BY 1, 2"
        ):
            figures.authors_per_space.setdefault(space_id, {})[author_id] = n
        return figures

    def for_spaces(
        self, spaces: Iterable[str], *, top_spaces: int = 5, top_people: int = 10
    ) -> ViewerFigures:
        """The figures over these spaces only (those a viewer may see)."""
        counts = {s: self.items_per_space.get(s, 0) for s in spaces}
        biggest = sorted((s for s, n in counts.items() if n), key=lambda s: (-counts[s], s))[:top_spaces]
        activity = {s: self.months_per_space.get(s, {}) for s in biggest}
        people: Counter[str] = Counter()
        for s in counts:
            people.update(self.authors_per_space.get(s, {}))
        ranked = sorted(people.items(), key=lambda p: (-p[1], p[0]))[:top_people]
        months = sorted({m for per_month in activity.values() for m in per_month})
        return ViewerFigures(counts, biggest, activity, month_range(months), ranked)


def month_range(months: list[str]) -> list[str]:
    """Every month from the first to the last of sorted "YYYY-MM" months (at most 50 years)."""
    if not months:
        return []
    y, m = map(int, months[0].split("-"))
    last = tuple(map(int, months[-1].split("-")))
    out: list[str] = []
    while (y, m) <= last and len(out) < 600:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


class FiguresCache:
    """The archive's figures, counted again only when the archive's file changes (a later
    ingest); one count at a time, whatever the number of server threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: object = None
        self._figures = ArchiveFigures()
        self._per_viewer: dict[frozenset[str], ViewerFigures] = {}

    def get(self, db: sqlite3.Connection, state: object, spaces: Iterable[str]) -> ViewerFigures:
        key = frozenset(spaces)
        with self._lock:
            if state != self._state:
                self._figures = ArchiveFigures.count(db)
                self._state = state
                self._per_viewer.clear()
            if key not in self._per_viewer:
                if len(self._per_viewer) > 1024:
                    self._per_viewer.clear()
                self._per_viewer[key] = self._figures.for_spaces(key)
            return self._per_viewer[key]
