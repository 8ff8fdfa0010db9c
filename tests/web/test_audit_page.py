"""The audit-log page `/admin/audit`: administrators only (404 for anyone else), newest first,
paged by keyset, filtered by administrator; viewing it writes nothing to the log."""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from passerelle.web import accounts, audit
from passerelle.web.app import create_app
from tests.web.conftest import log_in, person_id

Client = Callable[[str], FlaskClient]


def audit_rows(mm_archive: Path) -> int:
    web = accounts.connect(mm_archive)
    try:
        return int(web.execute("SELECT count(*) FROM audit").fetchone()[0])
    finally:
        web.close()


def test_only_administrators_reach_the_audit_page(client_as: Client, app: Flask) -> None:
    for name in ("ada", "eve"):  # ada is an administrator of her Mattermost team, not of the site
        client = client_as(name)
        assert client.get("/admin/audit").status_code == 404, name
        assert client.get("/admin/audit?before=10&admin=root").status_code == 404, name
        assert "/admin/audit" not in client.get("/").get_data(as_text=True), name
    assert app.test_client().get("/admin/audit").status_code == 302  # to the login page
    root = client_as("root")
    assert root.get("/admin/audit").status_code == 200
    assert 'href="/admin/audit"' in root.get("/").get_data(as_text=True)


def test_an_administrators_view_shows_on_the_page_and_the_page_is_not_audited(
    client_as: Client, mm_archive: Path
) -> None:
    with sqlite3.connect(mm_archive / "archive.sqlite") as db:
        ops = db.execute("SELECT id FROM spaces WHERE name = 'ops'").fetchone()[0]
    root = client_as("root")
    assert root.get(f"/spaces/{ops}").status_code == 200
    before = audit_rows(mm_archive)
    page = root.get("/admin/audit").get_data(as_text=True)
    rows = re.findall(r"<tr>\s*<td><time>.*?</tr>", page, re.S)
    assert rows, page
    newest = rows[0]
    assert "view space" in newest and f'href="/spaces/{ops}"' in newest
    assert f'href="/people/{person_id(mm_archive, "root")}">root</a>' in newest
    root.get("/admin/audit?admin=root")
    assert audit_rows(mm_archive) == before  # viewing the log is not itself audited


def test_pages_newest_first_each_entry_once_and_the_filter(tmp_path: Path, mm_archive: Path) -> None:
    """150 entries of two administrators: following "Older" from the first page shows each once,
    newest first; the filter by administrator (login name or id) shows theirs only."""
    archive = tmp_path / "archive"
    shutil.copytree(mm_archive, archive)
    root, ada = person_id(archive, "root"), person_id(archive, "ada")
    web = accounts.connect(archive)
    try:
        web.execute("DELETE FROM audit")
        accounts.set_admin(web, ada, True)
        for n in range(150):
            audit.record(web, root if n % 3 else ada, "view item", f"itm_{n:03d}")
    finally:
        web.close()
    client = create_app(archive, secret="audit-secret", testing=True).test_client()
    assert log_in(client, "root") == 302

    def walk(url: str) -> list[str]:
        seen: list[str] = []
        while url:
            page = client.get(url).get_data(as_text=True)
            seen += re.findall(r'<a href="/items/(itm_\d+)">', page)
            found = re.search(r'<a class="next" rel="next" href="([^"]+)"', page)
            url = found.group(1).replace("&amp;", "&") if found else ""
        return seen

    everything = walk("/admin/audit")
    assert everything == [f"itm_{n:03d}" for n in reversed(range(150))]
    assert len(re.findall(r"<tr>\s*<td><time>", client.get("/admin/audit").get_data(as_text=True))) == (
        audit.PAGE_SIZE
    )  # it did page
    theirs = [f"itm_{n:03d}" for n in reversed(range(150)) if n % 3 == 0]
    assert walk("/admin/audit?admin=ada") == theirs
    assert walk(f"/admin/audit?admin={ada}") == theirs
    assert walk("/admin/audit?admin=nobody-such") == []
    # a cursor that is not one (too big for SQLite, not a number) reads as the first page
    for cursor in ("9" * 40, "abc", "-5", "١٢"):
        assert client.get(f"/admin/audit?before={cursor}").status_code == 200, cursor
    assert walk("/admin/audit?before=" + "9" * 40) == everything


def test_target_paths() -> None:
    assert audit.target_path("view space", "spc_1") == "/spaces/spc_1"
    assert audit.target_path("view thread", "itm_1") == "/items/itm_1"
    assert audit.target_path("download file", "fil_1") is None
    assert audit.target_path("view item", "a/b?c") == "/items/a%2Fb%3Fc"
