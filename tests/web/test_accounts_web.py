"""The viewer's name in the header, the account page, changing one's password from the web
(every other session ends), and the failed-login limit per client address."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from passerelle.ingest import ingest
from passerelle.web import accounts
from passerelle.web.app import create_app
from tests.mattermost_builder import build_export
from tests.web.conftest import PASSWORD, WEB_FILES, csrf, log_in, make_accounts, person_id, web_lines

Client = Callable[[str], FlaskClient]
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """An archive of its own (these tests change passwords and count failures)."""
    ingest([build_export(tmp_path / "export", web_lines(), WEB_FILES)], tmp_path / "archive")
    make_accounts(tmp_path / "archive", "ada", "bob", "gus", "eve", "root", admin=("root",))
    return tmp_path / "archive"


@pytest.fixture
def own_app(archive: Path) -> Flask:
    return create_app(archive, secret="accounts-secret", testing=True)


def header(client: FlaskClient) -> str:
    page = client.get("/").get_data(as_text=True)
    found = re.search(r"<header>(.*?)</header>", page, re.S)
    assert found, page
    return found.group(1)


def test_the_header_names_the_viewer_and_links_to_their_account(client_as: Client, mm_archive: Path) -> None:
    ada = person_id(mm_archive, "ada")
    top = header(client_as("ada"))
    # ada's display name (her Mattermost nickname), as her person page titles her; not her id
    assert re.search(r'<a href="/account" class="me"[^>]*>Countess</a>', top), top
    assert ada not in top
    assert re.search(r'class="me"[^>]*>eve</a>', header(client_as("eve")))  # no display name: her name


def test_the_account_page(client_as: Client, app: Flask) -> None:
    page = client_as("ada").get("/account").get_data(as_text=True)
    assert "Countess" in page and "ada" in page
    assert 'name="current_password"' in page and 'name="new_password_again"' in page
    assert 'name="csrf_token"' in page
    assert app.test_client().get("/account").status_code == 302  # to the login page


def change(
    client: FlaskClient, current: str, new: str, again: str | None = None, **extra: str
) -> tuple[int, str]:
    data = {
        "current_password": current,
        "new_password": new,
        "new_password_again": new if again is None else again,
        "csrf_token": csrf(client, "/account"),
        **extra,
    }
    response = client.post("/account", data=data)
    return response.status_code, response.get_data(as_text=True)


def test_a_password_change_ends_every_other_session(own_app: Flask) -> None:
    here, elsewhere = own_app.test_client(), own_app.test_client()
    assert log_in(here, "ada") == 302 and log_in(elsewhere, "ada") == 302
    old_cookie = here.get_cookie("session")
    assert old_cookie is not None
    assert elsewhere.get("/").status_code == 200

    status, page = change(here, "not my password", NEW_PASSWORD)
    assert status == 400 and "Wrong current password." in page
    status, page = change(here, PASSWORD, NEW_PASSWORD, "another passphrase!")
    assert status == 400 and "The two new passwords differ." in page
    status, page = change(here, PASSWORD, "too short", "too short")
    assert status == 400 and "at least 12 characters" in page
    # no CSRF token: refused before anything
    response = here.post(
        "/account",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
    )
    assert response.status_code == 400
    assert elsewhere.get("/").status_code == 200  # nothing changed so far

    response = here.post(
        "/account",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
            "csrf_token": csrf(here, "/account"),
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/account?changed=1")
    assert "other sessions are logged out" in here.get("/account?changed=1").get_data(as_text=True)
    assert here.get("/").status_code == 200  # this session lives on
    assert elsewhere.get("/").status_code == 302  # the other one has ended
    assert elsewhere.get("/api/spaces").status_code == 401
    replayed = own_app.test_client()  # the session cookie from before the change, replayed
    replayed.set_cookie("session", old_cookie.value)
    assert replayed.get("/").status_code == 302

    assert log_in(own_app.test_client(), "ada", PASSWORD) == 200  # the old password is refused
    assert log_in(own_app.test_client(), "ada", NEW_PASSWORD) == 302


def test_the_old_cookie_was_good_before_the_change(own_app: Flask) -> None:
    """The control for the replay above: the same cookie, replayed before any change, works."""
    here = own_app.test_client()
    assert log_in(here, "ada") == 302
    cookie = here.get_cookie("session")
    assert cookie is not None
    replayed = own_app.test_client()
    replayed.set_cookie("session", cookie.value)
    assert replayed.get("/").status_code == 200


def test_wrong_current_passwords_count_as_failed_logins(own_app: Flask) -> None:
    """Someone holding a stolen session cannot guess the current password without limit."""
    client = own_app.test_client()
    assert log_in(client, "bob") == 302
    for _ in range(accounts.MAX_FAILURES):
        assert change(client, "a wrong guess", NEW_PASSWORD)[0] == 400
    status, page = change(client, PASSWORD, NEW_PASSWORD)
    assert status == 429 and "Too many attempts" in page
    assert log_in(own_app.test_client(), "bob", NEW_PASSWORD) == 200  # unchanged


def test_a_login_link_works_once_after_a_password_change(own_app: Flask, archive: Path) -> None:
    web = accounts.connect(archive)
    try:
        token = accounts.make_link_token(web, person_id(archive, "gus"))
    finally:
        web.close()
    client = own_app.test_client()
    assert log_in(client, "gus") == 302
    assert change(client, PASSWORD, NEW_PASSWORD)[0] == 302
    by_link = own_app.test_client()
    assert by_link.get(f"/login/{token}").status_code == 302
    assert by_link.get("/").status_code == 200
    assert own_app.test_client().get(f"/login/{token}").status_code == 404


def test_an_account_without_a_password_sets_one(own_app: Flask, archive: Path) -> None:
    """A person logged in by a one-time link, who has no password yet, sets one without a current one."""
    with sqlite3.connect(archive / "archive.sqlite") as db:
        nobody = db.execute("SELECT id FROM persons WHERE name = 'deploybot'").fetchone()[0]
    web = accounts.connect(archive)
    try:
        token = accounts.make_link_token(web, nobody)
    finally:
        web.close()
    client = own_app.test_client()
    assert client.get(f"/login/{token}").status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert 'name="current_password"' not in page
    assert change(client, "", NEW_PASSWORD)[0] == 302
    assert log_in(own_app.test_client(), "deploybot", NEW_PASSWORD) == 302
    # now it has one, the current password is asked
    assert 'name="current_password"' in client.get("/account").get_data(as_text=True)
    assert change(client, "", "yet another passphrase")[0] == 400


def from_address(app: Flask, address: str) -> FlaskClient:
    """A client whose requests come from address (the WSGI REMOTE_ADDR, the TCP peer's)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _attempt(client: FlaskClient, login: str, password: str, **headers: str) -> tuple[int, str]:
    token = csrf(client)
    response = client.post(
        "/login", data={"login": login, "password": password, "csrf_token": token}, headers=headers
    )
    return response.status_code, response.get_data(as_text=True)


def test_failed_logins_from_one_address_across_accounts_are_refused(own_app: Flask, archive: Path) -> None:
    attacker = from_address(own_app, "203.0.113.7")
    logins = ["ada", "bob", "gus", "eve", "nobody-at-all"]
    for n in range(accounts.MAX_ADDRESS_FAILURES):
        # at most 4 failures per account: the per-account limit alone never trips
        status, page = _attempt(attacker, logins[n % len(logins)], f"guess {n}")
        assert status == 200 and "Wrong login or password." in page, n
    status, page = _attempt(attacker, "root", PASSWORD)  # even the right password, now
    assert status == 429 and "Too many failed logins from your address" in page
    assert attacker.get("/").status_code == 302
    # X-Forwarded-For is not believed: a forged one does not make another address
    status, _ = _attempt(attacker, "root", PASSWORD, **{"X-Forwarded-For": "198.51.100.1"})
    assert status == 429
    # another process (or thread) serving the same archive refuses it too: kept in web.sqlite
    again = create_app(archive, secret="accounts-secret", testing=True)
    assert _attempt(from_address(again, "203.0.113.7"), "root", PASSWORD)[0] == 429
    # another address is not held back, and the accounts themselves are not locked
    neighbour = from_address(own_app, "203.0.113.8")
    assert log_in(neighbour, "root") == 302
    assert log_in(from_address(own_app, "203.0.113.9"), "ada") == 302
    # once the window has passed, the address may try again
    web = accounts.connect(archive)
    try:
        web.execute("UPDATE failed_logins_by_address SET at = at - ?", (accounts.ADDRESS_WINDOW + 1,))
    finally:
        web.close()
    assert log_in(attacker, "root") == 302


def test_one_failure_short_of_the_address_limit_still_logs_in(own_app: Flask) -> None:
    """The control: the limit is the limit, not one less."""
    client = from_address(own_app, "203.0.113.10")
    logins = ["ada", "bob", "gus", "eve", "nobody-at-all"]
    for n in range(accounts.MAX_ADDRESS_FAILURES - 1):
        assert _attempt(client, logins[n % len(logins)], f"guess {n}")[0] == 200
    assert log_in(client, "root") == 302


def test_behind_trusted_proxies_the_forwarded_address_is_counted(archive: Path) -> None:
    """create_app(trusted_proxies=1): clients come through one proxy (the TCP peer), which adds
    the client's address to X-Forwarded-For; only that last entry is believed."""
    proxied = create_app(archive, secret="accounts-secret", testing=True, trusted_proxies=1)
    proxy = from_address(proxied, "10.0.0.1")
    logins = ["ada", "bob", "gus", "eve", "nobody-at-all"]
    for n in range(accounts.MAX_ADDRESS_FAILURES):
        forwarded = {"X-Forwarded-For": "203.0.113.50"}
        assert _attempt(proxy, logins[n % len(logins)], f"guess {n}", **forwarded)[0] == 200
    assert _attempt(proxy, "root", PASSWORD, **{"X-Forwarded-For": "203.0.113.50"})[0] == 429
    # what the client wrote before the proxy's entry is not believed
    assert _attempt(proxy, "root", PASSWORD, **{"X-Forwarded-For": "203.0.113.51, 203.0.113.50"})[0] == 429
    # another client behind the same proxy logs in
    assert _attempt(proxy, "root", PASSWORD, **{"X-Forwarded-For": "203.0.113.51"})[0] == 302


def test_the_account_and_audit_pages_in_french(client_as: Client) -> None:
    ada, root = client_as("ada"), client_as("root")
    for client in (ada, root):
        client.set_cookie("lang", "fr")
    page = ada.get("/account").get_data(as_text=True)
    assert "Changer le mot de passe" in page and "Mot de passe actuel" in page and "Compte" in page
    page = root.get("/admin/audit").get_data(as_text=True)
    assert "Journal d&#39;audit" in page and "Administrateur" in page
    # (the right current password: no failed login counted against the shared archive)
    status, page = change(ada, PASSWORD, NEW_PASSWORD, "another passphrase!")
    assert status == 400 and "Les deux nouveaux mots de passe diffèrent." in page


def test_a_web_sqlite_from_before_session_epochs_is_brought_up_to_date(tmp_path: Path) -> None:
    """A web.sqlite whose accounts table has no session_epoch gets one (0 for everyone),
    passwords kept; changing a password then moves it on."""
    old = sqlite3.connect(tmp_path / "web.sqlite")
    old.execute(
        "CREATE TABLE accounts (person_id TEXT PRIMARY KEY, password_hash TEXT,"
        " is_admin INTEGER NOT NULL DEFAULT 0) STRICT"
    )
    old.execute("INSERT INTO accounts VALUES ('per_1', 'a hash', 1)")
    old.commit()
    old.close()
    web = accounts.connect(tmp_path)
    try:
        assert accounts.get(web, "per_1") == accounts.Account("per_1", True, True, 0)
        assert accounts.set_password(web, "per_1", NEW_PASSWORD) == 1
        assert accounts.check_password(web, "per_1", NEW_PASSWORD)
    finally:
        web.close()
    accounts.connect(tmp_path).close()  # again: nothing to add, no error
