"""Fixtures of the web tests: a Mattermost archive (private channels, a DM, a group DM)
built at test time, accounts for its persons, logged-in Flask test clients."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from passerelle.ingest import ingest
from passerelle.web import accounts
from passerelle.web.app import create_app
from tests.mattermost_builder import FEATURE_FILES, build_export, feature_lines, membership, post, user

PASSWORD = "correct horse battery staple"


def person_id(archive: Path, name: str) -> str:
    with sqlite3.connect(archive / "archive.sqlite") as db:
        found = accounts.find_person(db, name)
    assert found is not None, name
    return found


def make_accounts(archive: Path, *names: str, admin: tuple[str, ...] = ()) -> None:
    web = accounts.connect(archive)
    try:
        for name in names:
            pid = person_id(archive, name)
            accounts.set_password(web, pid, PASSWORD)
            accounts.set_admin(web, pid, name in admin)
    finally:
        web.close()


XSS = (
    "<script>alert('xss')</script> <img src=x onerror=alert(1)> [click](javascript:alert(2))"
    ' <a href="https://example.org" style="color:red" onclick="alert(3)">styled</a>'
)


def web_lines() -> list[Any]:
    """The Mattermost feature export (private channels ops and plans, a DM ada-bob, a group
    DM ada-bob-gus), plus eve (member of town-square only), root (no membership: the
    administrator), a post carrying an XSS payload and, in ops, a post with a file of its own."""
    lines = feature_lines()
    at = next(i for i, line in enumerate(lines) if line.get("type") == "bot")
    lines[at:at] = [user("eve", membership("acme", "town-square")), user("root")]
    lines.append(post("acme", "town-square", "eve", 1_600_000_010_000, XSS))
    lines.append(
        post(
            "acme",
            "ops",
            "ada",
            1_600_000_011_000,
            "zanzibar budget",
            attachments=[{"path": "files/budget.pdf"}],
        )
    )
    return lines


WEB_FILES = {**FEATURE_FILES, "data/files/budget.pdf": b"%PDF-1.4 the secret budget"}


@pytest.fixture(scope="session")
def mm_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The archive of web_lines(); accounts: ada, bob, gus, eve, root (administrator)."""
    base = tmp_path_factory.mktemp("web-mm")
    export = build_export(base / "export", web_lines(), WEB_FILES)
    ingest([export], base / "archive")
    make_accounts(base / "archive", "ada", "bob", "gus", "eve", "root", admin=("root",))
    return base / "archive"


@pytest.fixture(scope="session")
def app(mm_archive: Path) -> Flask:
    return create_app(mm_archive, secret="test-secret", testing=True)


def csrf(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def log_in(client: FlaskClient, login: str, password: str = PASSWORD) -> int:
    token = csrf(client)
    response = client.post("/login", data={"login": login, "password": password, "csrf_token": token})
    return response.status_code


@pytest.fixture
def client_as(app: Flask) -> Iterator[Callable[[str], FlaskClient]]:
    clients: list[FlaskClient] = []

    def make(login: str) -> FlaskClient:
        client = app.test_client()
        assert log_in(client, login) == 302
        clients.append(client)
        return client

    yield make
