"""The slack-export-viewer test archive served whole: every space, item, thread, person and
file page answers (never a server error), and its bodies render."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from passerelle.ingest import ingest
from passerelle.web.app import create_app
from tests.helpers import sample
from tests.web.conftest import log_in, make_accounts


def test_every_page_of_a_real_export_answers(tmp_path: Path) -> None:
    ingest([sample("slack/slack-export-viewer-testarchive/testarchive.zip")], tmp_path / "archive")
    archive = tmp_path / "archive"
    db = sqlite3.connect(archive / "archive.sqlite")
    name = db.execute("SELECT name FROM persons WHERE name IS NOT NULL ORDER BY id LIMIT 1").fetchone()[0]
    make_accounts(archive, name)
    client = create_app(archive, secret="s", testing=True).test_client()
    assert log_in(client, name) == 302
    urls = ["/", "/api/spaces", "/search?q=the", "/api/search?q=the"]
    urls += [f"/spaces/{s}" for (s,) in db.execute("SELECT id FROM spaces")]
    urls += [f"/items/{i}" for (i,) in db.execute("SELECT id FROM items")]
    urls += [f"/people/{p}" for (p,) in db.execute("SELECT id FROM persons")]
    urls += [f"/files/{f}" for (f,) in db.execute("SELECT id FROM files WHERE sha256 IS NOT NULL")]
    roots = db.execute("SELECT DISTINCT space_id, thread_root_id FROM items WHERE thread_root_id IS NOT NULL")
    urls += [f"/spaces/{s}/threads/{r}" for s, r in roots]
    statuses = {url: client.get(url).status_code for url in urls}
    assert len(statuses) > 150
    hidden = {
        f"/spaces/{s}"
        for (s,) in db.execute(
            "SELECT id FROM spaces WHERE visibility != 'public' AND id NOT IN"
            " (SELECT space_id FROM memberships JOIN persons p ON p.id = person_id WHERE p.name = ?)",
            (name,),
        )
    }
    assert {url for url, status in statuses.items() if status != 200} == hidden  # 404, the rest 200
    assert all(statuses[url] == 404 for url in hidden)
