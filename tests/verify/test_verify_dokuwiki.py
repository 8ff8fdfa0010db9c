"""verify catches what it exists to catch in DokuWiki data folders: pages, revisions, attic
files, media bytes, users or privacy lost without a word, records dropped without a
diagnostic at their place, and a password hash that reached the archive."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from passerelle.archive import Archive
from passerelle.ingest import ingest
from passerelle.model import ids
from passerelle.verify import verify, verify_source
from passerelle.verify.dokuwiki import is_dokuwiki_source, page_id_of
from tests.dokuwiki_builder import PASSWORD_HASHES, T0, write_generated

P = "dokuwiki"


@pytest.fixture(params=["zip", "folder"])
def ingested(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    layout: str = request.param
    source = write_generated(tmp_path / ("wiki.zip" if layout == "zip" else "wiki"), layout)
    ingest([source], tmp_path / "passerelle")
    return source, tmp_path / "passerelle"


def problems(archive: Path, source: Path) -> list[str]:
    with Archive.open(archive) as opened:
        report = verify(opened, source)
    assert report.ok == (not report.problems)
    return report.problems


def execute(archive: Path, sql: str, *params: str) -> None:
    with sqlite3.connect(archive / "archive.sqlite") as db:
        db.execute(sql, params)
    db.close()


def item(page: str) -> str:
    return ids.item_id(P, "dokuwiki", page)


def test_everything_is_accounted_for(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    assert is_dokuwiki_source(source)
    with Archive.open(archive) as opened:
        report = verify_source(opened, source)
    assert report.ok, report.problems
    totals = {name: (t.source, t.archive, t.explained) for name, t in report.overall().items()}
    assert totals == {
        "pages": (9, 9, 0),
        "deleted pages": (1, 1, 0),
        "changelog entries": (18, 18, 0),
        "attic files": (17, 17, 0),
        "meta files": (9, 9, 0),
        "media": (2, 2, 0),
        "media versions": (2, 2, 0),
        "media changelog entries": (5, 4, 1),
        "users": (3, 3, 0),
        "acl rules": (1, 1, 0),
        "other entries": (33, 33, 0),
    }


def test_a_lost_revision_is_found(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(
        archive, "DELETE FROM revisions WHERE item_id = ? AND native_id = ?", item("start"), str(T0 + 100)
    )
    found = problems(archive, source)
    assert any(p.startswith("data/meta/start.changes#2:") for p in found), found
    assert any(p.startswith("data/attic/start.1699526383.txt.gz:") for p in found), found


def test_a_revision_credited_to_someone_else_is_found(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(
        archive,
        "UPDATE revisions SET author_id = ? WHERE item_id = ? AND native_id = ?",
        ids.person_id(P, "carol"),
        item("start"),
        str(T0),
    )
    assert any(p.startswith("data/meta/start.changes#1:") for p in problems(archive, source))


def test_a_revision_at_another_time_is_found(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(
        archive,
        "UPDATE revisions SET created_at = created_at + 1000000 WHERE item_id = ? AND native_id = ?",
        item("wiki:syntax"),
        str(T0 + 20),
    )
    assert any(p.startswith("data/meta/wiki/syntax.changes#2:") for p in problems(archive, source))


def test_a_deleted_page_shown_as_alive_is_found(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "UPDATE items SET deleted = 0, deleted_at = NULL WHERE id = ?", item("projects:old"))
    assert any(p.startswith("data/meta/projects/old.changes:") for p in problems(archive, source))


def test_a_lost_page_or_changed_text_is_found(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "UPDATE items SET body_source = 'other' WHERE id = ?", item("wiki:syntax"))
    execute(archive, "DELETE FROM items WHERE id = ?", item("wiki:café"))
    found = problems(archive, source)
    assert any(p.startswith("data/pages/wiki/syntax.txt:") for p in found), found
    assert any(p.startswith("data/pages/wiki/caf%C3%A9.txt:") for p in found), found


def test_media_bytes_and_versions_are_checked(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "UPDATE files SET sha256 = ? WHERE native_id = 'wiki:logo.png'", "0" * 64)
    execute(archive, "DELETE FROM files WHERE native_id = 'wiki:logo.png@1699526378'")
    found = problems(archive, source)
    assert any(p.startswith("data/media/wiki/logo.png:") for p in found), found
    assert any(p.startswith("data/media_attic/wiki/logo.1699526378.png:") for p in found), found
    assert any(p.startswith("data/media_meta/wiki/logo.png.changes#1:") for p in found), found


def test_a_dropped_record_needs_its_diagnostic(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "DELETE FROM diagnostics WHERE code = 'dokuwiki.media_deleted'")
    execute(
        archive, "DELETE FROM diagnostics WHERE code = 'dokuwiki.regenerated' AND \"where\" = 'data/cache/'"
    )
    found = problems(archive, source)
    assert any(p.startswith("data/media_meta/wiki/gone.gif.changes#2:") for p in found), found
    assert any(p.startswith("data/cache/a/a1b2c3.xhtml:") for p in found), found


def test_privacy_and_users_are_checked(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(archive, "UPDATE spaces SET visibility = 'public' WHERE native_id = 'ns:private'")
    execute(archive, "DELETE FROM persons WHERE native_id = 'bob'")
    found = problems(archive, source)
    assert any(p.startswith("conf/acl.auth.php#9:") for p in found), found
    assert any(p.startswith("conf/users.auth.php#13:") for p in found), found


def test_a_password_hash_in_the_archive_is_found(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    execute(
        archive,
        "UPDATE persons SET raw = CAST(? AS BLOB) WHERE native_id = 'alice'",
        '{"login":"alice","hash":"' + PASSWORD_HASHES[0] + '"}',
    )
    assert any("password hash of alice" in p for p in problems(archive, source))


def test_names_are_decoded_independently() -> None:
    assert page_id_of("wiki/caf%C3%A9") == "wiki:café"
    assert page_id_of("a+b") == "a b"
    assert page_id_of("caf%5s]") == "caf" + chr(32 + int("5s", 36))
