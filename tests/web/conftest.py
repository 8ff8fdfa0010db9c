"""Fixtures of the web tests: a Mattermost archive (private channels, a DM, a group DM)
built at test time, accounts for its persons, logged-in Flask test clients."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from passerelle.ingest import ingest
from passerelle.web import accounts
from passerelle.web.app import create_app
from tests.mattermost_builder import FEATURE_FILES, build_export, feature_lines

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


@pytest.fixture(scope="session")
def mm_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Mattermost feature export ingested; accounts: ada, bob, gus, deploybot (admin)."""
    base = tmp_path_factory.mktemp("web-mm")
    export = build_export(base / "export", feature_lines(), FEATURE_FILES)
    ingest([export], base / "archive")
    make_accounts(base / "archive", "ada", "bob", "gus", "deploybot", admin=("deploybot",))
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
