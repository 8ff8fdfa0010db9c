"""The web archive's pages: login required, the spaces list, a space's timeline, threads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import log_in, person_id

Client = Callable[[str], FlaskClient]


def space_id(archive: Path, name: str) -> str:
    import sqlite3

    with sqlite3.connect(archive / "archive.sqlite") as db:
        row = db.execute("SELECT id FROM spaces WHERE name = ?", (name,)).fetchone()
    assert row, name
    return str(row[0])


def test_every_page_asks_for_a_login(app: Flask, mm_archive: Path) -> None:
    client = app.test_client()
    town = space_id(mm_archive, "town-square")
    for path in ("/", f"/spaces/{town}", "/search?q=hello"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    assert client.get("/api/spaces").status_code == 401


def test_login_then_the_spaces_list(app: Flask, mm_archive: Path) -> None:
    client = app.test_client()
    assert log_in(client, "ada", "not the password") == 200
    assert client.get("/").status_code == 302
    assert log_in(client, "ada@example.org") == 302
    page = client.get("/").get_data(as_text=True)
    assert "Town-Square" in page and "Ops" in page


def test_space_timeline_folds_threads(client_as: Client, mm_archive: Path) -> None:
    client = client_as("bob")
    town = space_id(mm_archive, "town-square")
    page = client.get(f"/spaces/{town}").get_data(as_text=True)
    assert "Hello" in page
    assert "3 replies" in page  # the thread's replies are folded under their root
    assert "second reply" not in page
    root = page.split('class="replies" href="')[1].split('"')[0]
    thread = client.get(root).get_data(as_text=True)
    assert "first reply" in thread and "second reply" in thread and "before the root" in thread


def test_session_cookie_flags(mm_archive: Path) -> None:
    from passerelle.web.app import create_app

    app = create_app(mm_archive, secret="s")  # not testing: Secure
    client = app.test_client()
    log_in(client, "ada")
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert cookie.http_only and cookie.secure and cookie.same_site == "Lax"


def test_person_lookup(mm_archive: Path) -> None:
    assert person_id(mm_archive, "ada") == person_id(mm_archive, "ada@example.org")


def test_a_message_shows_its_reactions_edit_pin_and_files(client_as: Client, mm_archive: Path) -> None:
    client = client_as("bob")
    town = space_id(mm_archive, "town-square")
    page = client.get(f"/spaces/{town}?order=oldest").get_data(as_text=True)
    hello = next(article for article in page.split("<article")[1:] if "Hello" in article)
    assert "(edited)" in hello and "pinned" in hello
    assert ":+1: 1" in hello and ":tada: 1" in hello
    assert "report.pdf" in hello and 'alt="logo.png"' in hello  # the image inline, the PDF a link
    assert "missing.txt" in hello and 'href="/files/' in hello


def test_home_page_pictures_show_only_what_the_viewer_may_see(client_as: Client, mm_archive: Path) -> None:
    eve = client_as("eve").get("/").get_data(as_text=True)
    ada = client_as("ada").get("/").get_data(as_text=True)
    assert "<svg" in eve and "<polyline" in eve and "Town-Square" in eve
    assert eve.count("<polyline") < ada.count("<polyline")  # ada's private spaces are drawn for her only
    assert "Ops" in ada and "Ops" not in eve
    assert "Most active people" in eve


def test_french_pages(client_as: Client, mm_archive: Path) -> None:
    client = client_as("bob")
    town = space_id(mm_archive, "town-square")
    page = client.get(f"/spaces/{town}", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Plus récents d&#39;abord" in page and "3 réponses" in page
