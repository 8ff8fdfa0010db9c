"""Search: FTS5 joined with the visibility condition, filters, highlighted snippets."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from flask.testing import FlaskClient

from tests.web.conftest import person_id

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
