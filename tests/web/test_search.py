"""Search: FTS5 joined with the visibility condition, filters, highlighted snippets."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from passerelle.ingest import ingest
from passerelle.web.app import create_app
from tests.mattermost_builder import build_export, generated_lines
from tests.web.conftest import log_in, make_accounts, person_id

Client = Callable[[str], FlaskClient]


def _ids(client: FlaskClient, query: str) -> set[str]:
    return {item["id"] for item in client.get(f"/api/search?{query}").get_json()["items"]}


def test_filters_by_space_author_and_dates(client_as: Client, mm_archive: Path) -> None:
    client = client_as("ada")
    with sqlite3.connect(mm_archive / "archive.sqlite") as db:
        town, ops = (
            db.execute("SELECT id FROM spaces WHERE name = ?", (n,)).fetchone()[0]
            for n in ("town-square", "ops")
        )
    everything = _ids(client, "q=reply")
    assert len(everything) == 2  # "first reply", "second reply"
    ada, bob = person_id(mm_archive, "ada"), person_id(mm_archive, "bob")
    assert len(_ids(client, f"q=reply&author={bob}")) == 1
    assert len(_ids(client, f"q=reply&author={ada}")) == 1
    assert _ids(client, "q=reply&author=bob") == _ids(client, f"q=reply&author={bob}")  # by name too
    assert _ids(client, "q=reply&author=nobody-at-all") == set()
    assert _ids(client, f"q=reply&space={town}") == everything
    assert _ids(client, f"q=reply&space={ops}") == set()
    assert _ids(client, "q=reply&from=2020-09-13") == everything  # T0 is 2020-09-13T12:26:40Z
    assert _ids(client, "q=reply&to=2020-09-13") == set()
    assert _ids(client, "q=reply&from=2020-09-14") == set()


def test_snippets_are_escaped_and_highlighted(client_as: Client) -> None:
    client = client_as("eve")
    page = client.get("/search?q=styled").get_data(as_text=True)
    assert "<mark>styled</mark>" in page
    assert "&lt;/a&gt;" in page and 'onclick="' not in page  # the payload's markup is text
    api = client.get("/api/search?q=styled").get_json()["items"]
    assert api and "<mark>styled</mark>" in api[0]["snippet"]


def test_a_query_with_fts_syntax_is_taken_literally(client_as: Client) -> None:
    client = client_as("eve")
    for q in ('"', "NEAR(", "a OR", "*", "hello)"):
        assert client.get(f"/api/search?q={q}").status_code == 200


def test_search_pages_cover_every_match_once(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.mktemp("web-search")
    lines, files = generated_lines(posts=300, users=4)
    ingest([build_export(base / "export", lines, files)], base / "archive")
    make_accounts(base / "archive", "user000", admin=("user000",))
    client = create_app(base / "archive", secret="s", testing=True).test_client()
    assert log_in(client, "user000") == 302
    with sqlite3.connect(base / "archive" / "archive.sqlite") as db:
        expected = {
            r[0]
            for r in db.execute(
                "SELECT i.id FROM items_fts JOIN items i ON i.rowid = items_fts.rowid WHERE items_fts MATCH 'coffee'"
            )
        }
    assert len(expected) > 50
    seen: list[str] = []
    url: str | None = "/api/search?q=coffee"
    while url:
        page = client.get(url).get_json()
        seen += [item["id"] for item in page["items"]]
        url = f"/api/search?q=coffee&after={page['next']}" if page["next"] is not None else None
    assert sorted(seen) == sorted(expected)
    html = client.get("/search?q=coffee&from=2000-01-01").get_data(as_text=True)
    more = re.search(r'class="next" rel="next" href="([^"]+)"', html)
    assert more is not None and "from=2000-01-01" in more.group(1) and "after=" in more.group(1)
