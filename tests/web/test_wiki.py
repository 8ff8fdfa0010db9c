"""A wiki page: its current body, its revision history and a diff between two revisions."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from passerelle.ingest import ingest
from passerelle.web.app import create_app
from tests.mediawiki_builder import Page, Rev, write_dump
from tests.web.conftest import log_in, make_accounts


def test_page_history_and_diff(tmp_path: Path) -> None:
    pages = [
        Page(
            "Plan",
            [
                Rev(1, "line one\nline two", timestamp="2021-01-01T00:00:00Z", comment="first"),
                Rev(
                    2,
                    "line one\nline <script>2</script> changed",
                    parentid=1,
                    timestamp="2021-01-02T00:00:00Z",
                ),
            ],
        )
    ]
    ingest([write_dump(tmp_path / "dump.xml", pages=pages)], tmp_path / "archive")
    archive = tmp_path / "archive"
    with sqlite3.connect(archive / "archive.sqlite") as db:
        item = db.execute("SELECT id FROM items WHERE kind = 'page'").fetchone()[0]
        revisions = [
            r[0]
            for r in db.execute("SELECT id FROM revisions WHERE item_id = ? ORDER BY created_at", (item,))
        ]
        someone = db.execute("SELECT name FROM persons LIMIT 1").fetchone()[0]
    assert len(revisions) == 2
    make_accounts(archive, someone)
    client = create_app(archive, secret="s", testing=True).test_client()
    assert log_in(client, someone) == 302
    page = client.get(f"/items/{item}").get_data(as_text=True)
    assert "changed" in page and "first" in page
    assert len(re.findall(r'name="b" value="', page)) == 2
    diff = client.get(f"/items/{item}/diff?a={revisions[0]}&b={revisions[1]}").get_data(as_text=True)
    assert "-line two" in diff and "+line &lt;script&gt;2&lt;/script&gt; changed" in diff
    assert "<script>2" not in diff
    assert client.get(f"/items/{item}/diff?a={revisions[0]}&b=rev_nope").status_code == 404
