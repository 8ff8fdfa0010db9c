"""The access matrix: a member, a non-member and the administrator request every page,
thread, item, file, search and API endpoint touching the private content (a private
channel, a DM, a group DM); the non-member gets 404 and no trace of it anywhere."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from passerelle.web import accounts
from passerelle.web.audit import entries as audit_entries
from tests.web.conftest import person_id

Client = Callable[[str], FlaskClient]


def _db(archive: Path) -> sqlite3.Connection:
    db = sqlite3.connect(archive / "archive.sqlite")
    db.row_factory = sqlite3.Row
    return db


@dataclass
class Private:
    members: set[str]
    items: list[str]
    roots: list[str]
    bodies: list[str]
    files: list[str]


def private_spaces(archive: Path) -> dict[str, Private]:
    """Each private space with messages: its members, items, thread roots, bodies, files
    (those no public message holds)."""
    out: dict[str, Private] = {}
    with _db(archive) as db:
        for (sid,) in db.execute(
            "SELECT id FROM spaces WHERE visibility = 'private' AND kind != 'workspace'"
        ):
            items = db.execute(
                "SELECT id, body_text, thread_root_id FROM items WHERE space_id = ?", (sid,)
            ).fetchall()
            if not items:
                continue
            members = db.execute("SELECT person_id FROM memberships WHERE space_id = ?", (sid,))
            files = db.execute(
                "SELECT x.file_id FROM item_files x JOIN items i ON i.id = x.item_id JOIN files f"
                " ON f.id = x.file_id WHERE i.space_id = ? AND f.sha256 IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM item_files y JOIN items j ON j.id = y.item_id"
                " JOIN spaces s ON s.id = j.space_id WHERE y.file_id = x.file_id AND s.visibility = 'public')",
                (sid,),
            )
            out[sid] = Private(
                members={r[0] for r in members},
                items=[r["id"] for r in items],
                roots=sorted({r["thread_root_id"] for r in items if r["thread_root_id"]}),
                bodies=[r["body_text"] for r in items if r["body_text"]],
                files=[r[0] for r in files],
            )
    return out


def urls(space: str, info: Private) -> list[str]:
    items, roots, files = info.items, info.roots, info.files
    return [
        f"/spaces/{space}",
        f"/spaces/{space}?order=oldest",
        f"/api/spaces/{space}/items",
        *(f"/spaces/{space}/threads/{root}" for root in roots),
        *(f"/items/{item}" for item in items),
        *(f"/files/{file}" for file in files),
    ]


def search_words(info: Private) -> list[str]:
    return [max(body.split(), key=len).strip(".,!") for body in info.bodies]


def test_the_private_content_is_covered(mm_archive: Path) -> None:
    spaces = private_spaces(mm_archive)
    kinds = dict(_db(mm_archive).execute("SELECT id, kind FROM spaces"))
    assert {kinds[s] for s in spaces} == {"private_channel", "direct_message", "group_message"}
    assert any(info.files for info in spaces.values())  # a file only private content holds
    assert any(info.roots for info in spaces.values())  # a private thread


@pytest.mark.parametrize("login", ["ada", "bob", "gus", "eve"])
def test_members_see_and_non_members_get_404(client_as: Client, mm_archive: Path, login: str) -> None:
    client = client_as(login)
    me = person_id(mm_archive, login)
    home = client.get("/").get_data(as_text=True)
    api_spaces = client.get("/api/spaces").get_json()
    listed = {s["id"] for s in api_spaces}
    checked = 0
    for space, info in private_spaces(mm_archive).items():
        member = me in info.members
        assert (space in listed) is member
        assert (space in home) is member
        for url in urls(space, info):
            response = client.get(url)
            assert response.status_code == (200 if member else 404), (login, url)
            checked += 1
        for word in search_words(info):
            for url in (f"/search?q={word}", f"/api/search?q={word}"):
                response = client.get(url)
                assert response.status_code == 200
                text = response.get_data(as_text=True)
                found = any(item in text for item in info.items)
                assert found is member, (login, url)
                if not member:
                    assert space not in text
    assert checked > 10


def test_counts_and_person_pages_leak_nothing(client_as: Client, mm_archive: Path) -> None:
    eve = client_as("eve")
    ada = person_id(mm_archive, "ada")
    page = eve.get(f"/people/{ada}").get_data(as_text=True)
    assert "zanzibar" not in page and "the plan" not in page and "hi bob" not in page
    assert "Hello" in page  # ada's public post
    home = eve.get("/").get_data(as_text=True)
    ops_items = (
        _db(mm_archive)
        .execute("SELECT count(*) FROM items i JOIN spaces s ON s.id = i.space_id WHERE s.name = 'ops'")
        .fetchone()[0]
    )
    assert ops_items == 2 and "Ops" not in home
    # ada's activity on the home page counts only what eve may see
    assert "zanzibar" not in home


def test_the_administrator_sees_everything_and_is_audited(client_as: Client, mm_archive: Path) -> None:
    root = client_as("root")
    before = len(audit(mm_archive))
    spaces = private_spaces(mm_archive)
    for space, info in spaces.items():
        for url in urls(space, info):
            assert root.get(url).status_code == 200, url
    log = audit(mm_archive)[before:]
    admin = person_id(mm_archive, "root")
    assert {entry[1] for entry in log} == {admin}
    targets = {entry[3] for entry in log}
    for space, info in spaces.items():
        assert space in targets
        assert set(info.files) <= targets
    before = len(audit(mm_archive))
    assert "zanzibar" in root.get("/search?q=zanzibar").get_data(as_text=True)
    assert [entry[2] for entry in audit(mm_archive)[before:]] == ["search result"]
    # public content is not audited
    town = _db(mm_archive).execute("SELECT id FROM spaces WHERE name = 'town-square'").fetchone()[0]
    root.get(f"/spaces/{town}")
    assert town not in {entry[3] for entry in audit(mm_archive)}


def audit(archive: Path) -> list[tuple[float, str, str, str]]:
    web = accounts.connect(archive)
    try:
        return audit_entries(web)
    finally:
        web.close()


def test_files_are_served_safely(client_as: Client, mm_archive: Path) -> None:
    ada = client_as("ada")
    with _db(mm_archive) as db:
        files = {r["name"]: r["id"] for r in db.execute("SELECT id, name FROM files")}
    png = ada.get(f"/files/{files['logo.png']}")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.headers["Content-Disposition"].startswith("inline")
    pdf = ada.get(f"/files/{files['budget.pdf']}")
    assert pdf.data == b"%PDF-1.4 the secret budget"
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    assert ada.get(f"/files/{files['missing.txt']}").status_code == 404  # no blob
    assert ada.get("/files/fil_nonexistent").status_code == 404


def test_a_member_viewing_private_content_is_not_audited(client_as: Client, mm_archive: Path) -> None:
    ada = client_as("ada")
    before = len(audit(mm_archive))
    for space, info in private_spaces(mm_archive).items():
        if person_id(mm_archive, "ada") in info.members:
            for url in urls(space, info):
                assert ada.get(url).status_code == 200
    assert len(audit(mm_archive)) == before
