"""CSRF, XSS, passwords, one-time links, the failed-login rate limit, i18n."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from passerelle.web import accounts
from passerelle.web.app import create_app
from passerelle.web.render import body_html, sanitise
from tests.web.conftest import PASSWORD, XSS, csrf, log_in, make_accounts, person_id

Client = Callable[[str], FlaskClient]


def test_a_post_without_the_csrf_token_fails(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/login", data={"login": "ada", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # not logged in
    response = client.post("/login", data={"login": "ada", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400
    assert log_in(client, "ada") == 302
    assert client.post("/logout").status_code == 400  # logged in, still no token: refused
    assert client.get("/").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf(client, "/")}).status_code == 302
    assert client.get("/").status_code == 302


class _Elements(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def _inert(html: str) -> None:
    parser = _Elements()
    parser.feed(html)
    assert parser.found, "nothing parsed"
    for tag, attrs in parser.found:
        assert tag not in ("script", "iframe", "object", "embed", "style"), tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert name != "style", tag
            assert not (value or "").strip().lower().startswith(("javascript:", "data:", "vbscript:")), (
                tag,
                value,
            )


def test_the_sanitiser_strips_raw_html_attacks() -> None:
    dirty = (
        '<p onclick="x()">a<script>alert(1)</script><img src="x" onerror="alert(1)" style="x:y">'
        '<a href="javascript:alert(2)">j</a><a href=" JaVaScRiPt:alert(3)">k</a><iframe src="/"></iframe>'
        '<a href="https://example.org" style="color:red">ok</a></p>'
    )
    clean = sanitise(dirty)
    _inert(clean)
    assert "alert(1)" not in clean and 'href="https://example.org"' in clean and ">ok</a>" in clean


def test_an_xss_payload_renders_inert(client_as: Client, mm_archive: Path) -> None:
    rendered = str(body_html(XSS))
    _inert(rendered)
    assert "&lt;script&gt;" in rendered and "styled" in rendered  # raw HTML is shown as text
    with sqlite3.connect(mm_archive / "archive.sqlite") as db:
        town, item = db.execute("SELECT space_id, id FROM items WHERE body_text LIKE '%<script>%'").fetchone()
    client = client_as("bob")
    for url in (f"/spaces/{town}", f"/items/{item}", "/search?q=styled"):
        page = client.get(url).get_data(as_text=True)
        assert "styled" in page, url
        _inert(page)


def test_mentions_link_to_person_and_space_pages(mm_archive: Path) -> None:
    with sqlite3.connect(mm_archive / "archive.sqlite") as db:
        text, refs = db.execute(
            "SELECT body_text, body_refs FROM items WHERE body_text LIKE 'Hello @bob%'"
        ).fetchone()
    html = str(body_html(text, refs))
    assert f'href="/people/{person_id(mm_archive, "bob")}"' in html


def test_passwords_are_argon2id_and_a_wrong_one_fails(app: Flask, mm_archive: Path) -> None:
    web = accounts.connect(mm_archive)
    try:
        stored = web.execute(
            "SELECT password_hash FROM accounts WHERE person_id = ?", (person_id(mm_archive, "gus"),)
        ).fetchone()[0]
    finally:
        web.close()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    client = app.test_client()
    assert log_in(client, "gus", "wrong password") == 200
    assert client.get("/").status_code == 302
    assert not (mm_archive / "archive.sqlite").read_bytes().count(b"$argon2id$")  # never in the archive


def test_failed_logins_are_rate_limited(tmp_path: Path, mm_archive: Path, app: Flask) -> None:
    client = app.test_client()
    for _ in range(accounts.MAX_FAILURES):
        assert log_in(client, "eve", "nope nope") == 200
    # the right password is refused too, for a minute
    token = csrf(client)
    page = client.post("/login", data={"login": "eve", "password": PASSWORD, "csrf_token": token})
    assert page.status_code == 200 and "Too many attempts" in page.get_data(as_text=True)
    web = accounts.connect(mm_archive)
    try:
        web.execute("DELETE FROM failed_logins")
    finally:
        web.close()
    assert log_in(client, "eve") == 302


def test_a_one_time_link_works_once(app: Flask, mm_archive: Path) -> None:
    web = accounts.connect(mm_archive)
    try:
        token = accounts.make_link_token(web, person_id(mm_archive, "bob"))
        stored = [r[0] for r in web.execute("SELECT token_sha256 FROM login_links")]
    finally:
        web.close()
    assert token not in stored  # stored hashed
    client = app.test_client()
    response = client.get(f"/login/{token}")
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    other = app.test_client()
    assert other.get(f"/login/{token}").status_code == 404
    assert other.get("/").status_code == 302


def test_an_expired_link_fails(app: Flask, mm_archive: Path) -> None:
    web = accounts.connect(mm_archive)
    try:
        token = accounts.make_link_token(web, person_id(mm_archive, "bob"))
        web.execute("UPDATE login_links SET expires_at = expires_at - 86401")
    finally:
        web.close()
    assert app.test_client().get(f"/login/{token}").status_code == 404


def test_french_from_accept_language_and_the_switch_persists(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).get_data(as_text=True)
    assert "Se connecter" in page and 'lang="fr"' in page
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Log in" in page and "Se connecter" not in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = client.post("/lang", data={"lang": "fr", "next": "/login", "csrf_token": token.group(1)})
    assert response.status_code == 302
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Se connecter" in page  # the cookie wins over the header


def test_no_open_redirect_after_login(app: Flask) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        client = app.test_client()
        token = csrf(client)
        response = client.post(
            "/login",
            query_string={"next": target},
            data={"login": "ada", "password": PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 302 and response.headers["Location"] == "/", target


def test_pages_carry_security_headers(client_as: Client) -> None:
    response = client_as("bob").get("/")
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'none': no script
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_hostile_file_name_and_type_download_safely(tmp_path: Path) -> None:
    from passerelle.archive import Archive

    with Archive.open(tmp_path / "a", create=True) as archive:
        sha, size = archive.blobs.put_bytes(b"<html><script>alert(1)</script></html>")
        png_sha, png_size = archive.blobs.put_bytes(b"<svg onload=alert(1)>")  # says PNG, is not
    db = sqlite3.connect(tmp_path / "a" / "archive.sqlite")
    db.execute(
        "INSERT INTO spaces (id, platform, native_id, kind, visibility, is_archived, source_id)"
        " VALUES ('spc', 'x', 'spc', 'public_channel', 'public', 0, 'src')"
    )
    db.execute(
        "INSERT INTO persons (id, platform, native_id, name, is_bot, is_deleted, is_guest, is_placeholder,"
        " source_id) VALUES ('per_u', 'x', 'u', 'u', 0, 0, 0, 0, 'src')"
    )
    db.execute(
        "INSERT INTO items (id, platform, native_id, kind, space_id, deleted, also_in_channel, pinned,"
        " source_id) VALUES ('itm', 'x', 'itm', 'message', 'spc', 0, 0, 0, 'src')"
    )
    files = [
        ("fil_html", 'a"\r\nX-Evil: 1;é.html', "text/html", size, sha),
        ("fil_fake", "pic.png", "image/png", png_size, png_sha),
    ]
    db.executemany(
        "INSERT INTO files (id, platform, native_id, name, media_type, size, sha256, source_id)"
        " VALUES (?, 'x', ?, ?, ?, ?, ?, 'src')",
        [(f, f, name, media, n, h) for f, name, media, n, h in files],
    )
    db.executemany("INSERT INTO item_files VALUES ('itm', ?, ?)", [("fil_html", 0), ("fil_fake", 1)])
    db.commit()
    make_accounts(tmp_path / "a", "u")
    client = create_app(tmp_path / "a", secret="s", testing=True).test_client()
    assert log_in(client, "u") == 302
    for file_id in ("fil_html", "fil_fake"):
        response = client.get(f"/files/{file_id}")
        assert response.status_code == 200
        assert response.mimetype == "application/octet-stream"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert "\r" not in disposition and "\n" not in disposition and "X-Evil" not in response.headers
        assert disposition.count('"') == 2


def test_one_login_name_two_persons(tmp_path: Path) -> None:
    from passerelle.archive import Archive

    Archive.open(tmp_path / "a", create=True).close()
    db = sqlite3.connect(tmp_path / "a" / "archive.sqlite")
    db.executemany(
        "INSERT INTO persons (id, platform, native_id, name, is_bot, is_deleted, is_guest, is_placeholder,"
        " source_id) VALUES (?, ?, 'sam', 'sam', 0, 0, 0, 0, 'src')",
        [("per_slack", "slack"), ("per_mm", "mattermost")],
    )
    db.commit()
    web = accounts.connect(tmp_path / "a")
    try:
        accounts.set_password(web, "per_slack", "slack password")
        accounts.set_password(web, "per_mm", "mattermost password")
        candidates = accounts.find_persons(db, "sam")
        assert accounts.log_in(web, candidates, "slack password") == "per_slack"
        assert accounts.log_in(web, candidates, "mattermost password") == "per_mm"
        assert accounts.log_in(web, candidates, "neither") is None
        failed = web.execute("SELECT person_id FROM failed_logins ORDER BY person_id").fetchall()
        assert [r[0] for r in failed] == ["per_mm", "per_slack"]
    finally:
        web.close()
