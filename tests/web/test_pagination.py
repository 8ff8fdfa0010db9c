"""Keyset pagination: the pages of a space cover every top-level item exactly once, in order,
both ways, through the HTML pages, the JSON API and the query itself."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from passerelle.ingest import ingest
from passerelle.web import queries
from passerelle.web.access import Viewer
from passerelle.web.app import create_app
from tests.mattermost_builder import build_export, generated_lines
from tests.web.conftest import log_in, make_accounts

Client = Callable[[str], FlaskClient]


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("web-big")
    lines, files = generated_lines(posts=400, users=6)
    ingest([build_export(base / "export", lines, files)], base / "archive")
    make_accounts(base / "archive", "user000", admin=("user000",))
    return base / "archive"


def _top_level(db: sqlite3.Connection, space: str, newest: bool) -> list[str]:
    order = "DESC" if newest else "ASC"
    return [
        r[0]
        for r in db.execute(
            "SELECT id FROM items WHERE space_id = ? AND (thread_root_id IS NULL OR thread_root_id = id)"
            f" ORDER BY created_at {order}, id {order}",
            (space,),
        )
    ]


def test_the_query_pages_cover_every_item_once(big: Path) -> None:
    db = sqlite3.connect(big / "archive.sqlite")
    db.row_factory = sqlite3.Row
    viewer = Viewer("nobody", is_admin=True)
    spaces = [r[0] for r in db.execute("SELECT id FROM spaces")]
    for space in spaces:
        for newest in (True, False):
            seen: list[str] = []
            cursor = None
            while True:
                rows, cursor = queries.timeline(db, viewer, space, newest_first=newest, after=cursor, limit=7)
                seen += [r["id"] for r in rows]
                if cursor is None:
                    break
            assert seen == _top_level(db, space, newest)
    assert sum(len(_top_level(db, s, True)) for s in spaces) > 300


def test_the_api_and_the_pages_cover_every_item_once(big: Path) -> None:
    app = create_app(big, secret="s", testing=True)
    client = app.test_client()
    assert log_in(client, "user000") == 302
    db = sqlite3.connect(big / "archive.sqlite")
    space = db.execute("SELECT space_id FROM items GROUP BY space_id ORDER BY count(*) DESC").fetchone()[0]
    expected = _top_level(db, space, False)
    assert len(expected) > queries.PAGE_SIZE
    seen: list[str] = []
    url = f"/api/spaces/{space}/items"
    while True:
        page = client.get(url).get_json()
        seen += [item["id"] for item in page["items"]]
        if page["next"] is None:
            break
        url = f"/api/spaces/{space}/items?after={page['next']}"
    assert seen == expected
    seen = []
    url = f"/spaces/{space}?order=newest"
    while True:
        html = client.get(url).get_data(as_text=True)
        seen += re.findall(r'<article class="item [^"]*" id="item-([^"]+)"', html)
        more = re.search(r'class="next" rel="next" href="([^"]+)"', html)
        if more is None:
            break
        url = f"/spaces/{space}" + more.group(1).replace("&amp;", "&")
    assert seen == list(reversed(expected))


def test_null_times_and_ties_are_paged_too(tmp_path: Path) -> None:
    from passerelle.archive import Archive

    Archive.open(tmp_path / "a", create=True).close()
    db = sqlite3.connect(tmp_path / "a" / "archive.sqlite")
    db.row_factory = sqlite3.Row
    times = [None, None, None, 5, 5, 5, 5, 1, 9, 9, None, 2, 7, 7, 7, 3]
    db.executemany(
        "INSERT INTO items (id, platform, native_id, kind, space_id, created_at, deleted, also_in_channel,"
        " pinned, source_id) VALUES (?, 'x', ?, 'message', 'spc', ?, 0, 0, 0, 'src')",
        [(f"itm_{n:02d}", str(n), at) for n, at in enumerate(times)],
    )
    viewer = Viewer("nobody", is_admin=True)
    for newest in (True, False):
        for size in (1, 2, 3, 5, 16, 17):
            seen: list[str] = []
            cursor = None
            while True:
                rows, cursor = queries.timeline(
                    db, viewer, "spc", newest_first=newest, after=cursor, limit=size
                )
                seen += [r["id"] for r in rows]
                if cursor is None:
                    break
            expected = sorted(
                (f"itm_{n:02d}" for n in range(len(times))),
                key=lambda i: (times[int(i[4:])] is not None, times[int(i[4:])] or 0, i),
                reverse=newest,
            )
            assert seen == expected, (newest, size)


def test_a_reply_also_sent_to_the_channel_shows_in_the_timeline(tmp_path: Path) -> None:
    from passerelle.archive import Archive

    Archive.open(tmp_path / "a", create=True).close()
    db = sqlite3.connect(tmp_path / "a" / "archive.sqlite")
    db.row_factory = sqlite3.Row
    rows = [("itm_root", 1, None, 0), ("itm_r1", 2, "itm_root", 0), ("itm_r2", 3, "itm_root", 1)]
    db.executemany(
        "INSERT INTO items (id, platform, native_id, kind, space_id, created_at, thread_root_id, deleted,"
        " also_in_channel, pinned, source_id) VALUES (?, 'x', ?, 'message', 'spc', ?, ?, 0, ?, 0, 'src')",
        [(i, i, at, root, also) for i, at, root, also in rows],
    )
    page, _ = queries.timeline(db, Viewer("x", is_admin=True), "spc", newest_first=False, after=None)
    assert [(r["id"], r["replies"]) for r in page] == [("itm_root", 2), ("itm_r2", 0)]


def test_a_thread_is_paged_too(tmp_path: Path) -> None:
    from passerelle.archive import Archive

    Archive.open(tmp_path / "a", create=True).close()
    db = sqlite3.connect(tmp_path / "a" / "archive.sqlite")
    db.row_factory = sqlite3.Row
    db.execute(
        "INSERT INTO spaces (id, platform, native_id, kind, visibility, is_archived, source_id)"
        " VALUES ('spc', 'x', 'spc', 'public_channel', 'public', 0, 'src')"
    )
    rows = [("itm_root", 1, None), *((f"itm_r{n:02d}", 10 - n % 3, "itm_root") for n in range(11))]
    db.executemany(
        "INSERT INTO items (id, platform, native_id, kind, space_id, created_at, thread_root_id, deleted,"
        " also_in_channel, pinned, source_id) VALUES (?, 'x', ?, 'message', 'spc', ?, ?, 0, 0, 0, 'src')",
        [(i, i, at, root) for i, at, root in rows],
    )
    viewer = Viewer("someone")  # public: no membership needed
    seen: list[str] = []
    cursor = None
    while True:
        root, replies, cursor = queries.thread(db, viewer, "itm_root", cursor, limit=4)
        assert root is not None and root["id"] == "itm_root"
        seen += [r["id"] for r in replies]
        if cursor is None:
            break
    assert seen == [i for i, _, _ in sorted(rows[1:], key=lambda r: (r[1], r[0]))]
