"""The pieces both the served site and the static one show: times and revision diffs."""

from __future__ import annotations

import sqlite3

from passerelle.web.render import revision_diff, when


def _revision(rev_id: str, at: int | None, text: str) -> sqlite3.Row:
    db = sqlite3.connect(":memory:")
    db.row_factory = sqlite3.Row
    row: sqlite3.Row = db.execute(
        "SELECT ? AS id, ? AS created_at, ? AS body_text", (rev_id, at, text)
    ).fetchone()
    return row


def test_times_out_of_the_calendar_show_as_nothing() -> None:
    assert when(1_600_000_000_000_000) == "2020-09-13 12:26"
    assert when(None) == ""
    assert when(10**20) == "" and when(-(10**20)) == ""  # a hostile export may hold any number


def test_a_diff_marks_each_line_by_its_kind() -> None:
    old = _revision("r1", 1_600_000_000_000_000, "same\n-- a line that starts with dashes\ngone")
    new = _revision("r2", None, "same\n++ new\nadded")
    lines = revision_diff(old, new)
    kinds = [(line["kind"], line["text"]) for line in lines]
    assert kinds[:2] == [("file", "--- r1 2020-09-13 12:26"), ("file", "+++ r2 ")]
    assert kinds[2][0] == "hunk"
    assert ("del", "--- a line that starts with dashes") in kinds  # not taken for a header
    assert ("add", "+++ new") in kinds and ("add", "+added") in kinds and ("del", "-gone") in kinds
    assert ("same", " same") in kinds
