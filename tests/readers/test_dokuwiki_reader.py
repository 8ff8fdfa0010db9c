"""The DokuWiki reader on data folders written as DokuWiki writes them (tests/dokuwiki_builder.py):
exact counts of pages, revisions, files and diagnostics, the history in order, mtimes through
zips, hostile input, resumption."""

from __future__ import annotations

import gzip
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

from passerelle.archive import Archive
from passerelle.archive.writer import ArchiveWriter
from passerelle.errors import BadInputError
from passerelle.ingest import ingest, ingest_source, open_source
from passerelle.readers import dokuwiki
from passerelle.readers.dokuwiki import decode_name, safe_decode
from passerelle.readers.source_tree import Limits, SourceTree
from tests.dokuwiki_builder import (
    ACL,
    GONE,
    LOGO_1,
    LOGO_2,
    PASSWORD_HASHES,
    T0,
    USERS,
    Media,
    Page,
    Rev,
    Wiki,
    feature_wiki,
    write_generated,
    write_wiki,
    zip_folder,
)
from tests.helpers import canonical_dump, diagnostics, ingest_verified, item_by_native, rows

FEATURE_DIAGNOSTICS = [
    ("dokuwiki.attic_missing", "data/meta/projects/gap.changes#2", None),
    ("dokuwiki.changelog_missing", "data/attic/projects/orphan_attic.1699526284.txt.gz", None),
    ("dokuwiki.config_file", "conf/dokuwiki.php", None),
    ("dokuwiki.config_file", "conf/local.php", None),
    ("dokuwiki.external_edit", "data/pages/projects/external.txt", None),
    ("dokuwiki.global_changelog", "data/meta/_dokuwiki.changes", None),
    ("dokuwiki.global_changelog", "data/meta/_media.changes", None),
    ("dokuwiki.internal_file", "data/.htaccess", None),
    ("dokuwiki.internal_file", "data/_dummy", None),
    ("dokuwiki.internal_file", "data/attic/_dummy", None),
    ("dokuwiki.internal_file", "data/deleted.files", None),
    ("dokuwiki.internal_file", "data/media_attic/_dummy", None),
    ("dokuwiki.internal_file", "data/media_meta/_dummy", None),
    ("dokuwiki.internal_file", "data/meta/_dummy", None),
    ("dokuwiki.internal_file", "data/meta/_htcookiesalt2", None),
    ("dokuwiki.internal_file", "data/security.png", None),
    ("dokuwiki.media_deleted", "data/media_meta/wiki/gone.gif.changes#2", "changelog entry"),
    ("dokuwiki.not_data", "doku.php", None),
    ("dokuwiki.not_data", "inc/", None),
    ("dokuwiki.not_data", "lib/", None),
    ("dokuwiki.not_utf8", "data/pages/latin1.txt", None),
    ("dokuwiki.page_acl", "conf/acl.auth.php#12", "acl rule"),
    ("dokuwiki.password_hashes_dropped", "conf/users.auth.php", None),
    ("dokuwiki.regenerated", "data/cache/", None),
    ("dokuwiki.regenerated", "data/index/", None),
    ("dokuwiki.regenerated", "data/locks/", None),
    ("dokuwiki.regenerated", "data/log/", None),
    ("dokuwiki.regenerated", "data/meta/*.indexed", None),
    ("dokuwiki.regenerated", "data/tmp/", None),
    ("dokuwiki.size_mismatch", "data/meta/projects/sizes.changes#2", None),
]


def history(archive: Path, page: str) -> list[tuple[Any, ...]]:
    """(native id, author's native id, comment, body) of a page's revisions, in time order."""
    return rows(
        archive,
        "SELECT r.native_id, p.native_id, r.comment, r.body_source FROM revisions r"
        " JOIN items i ON i.id = r.item_id LEFT JOIN persons p ON p.id = r.author_id"
        " WHERE i.native_id = ? ORDER BY r.created_at",
        (page,),
    )


@pytest.fixture(scope="module")
def feature(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("feature")
    return ingest_verified(tmp, write_generated(tmp / "wiki"))


def test_feature_wiki_counts(feature: Path) -> None:
    count = {t: rows(feature, f"SELECT count(*) FROM {t}")[0][0] for t in ("items", "revisions", "files")}
    assert count == {"items": 10, "revisions": 20, "files": 4}
    assert rows(feature, "SELECT kind, count(*) FROM items GROUP BY kind") == [("page", 10)]
    assert rows(feature, "SELECT native_id, is_placeholder, is_guest FROM persons ORDER BY native_id") == [
        ("alice", 0, 0),
        ("bob", 0, 0),
        ("carol", 0, 0),
        ("ip:198.51.100.7", 0, 1),
    ]
    assert diagnostics(feature) == FEATURE_DIAGNOSTICS


def test_namespaces_are_nested_spaces_private_by_acl(feature: Path) -> None:
    spaces = rows(
        feature,
        "SELECT s.kind, s.native_id, s.name, s.visibility, p.native_id FROM spaces s"
        " LEFT JOIN spaces p ON p.id = s.parent_id ORDER BY s.native_id",
    )
    assert spaces == [
        ("workspace", "dokuwiki", "dokuwiki", "public", None),
        ("wiki_space", "ns:", "(root)", "public", "dokuwiki"),
        ("wiki_space", "ns:private", "private", "private", "ns:"),
        ("wiki_space", "ns:projects", "projects", "public", "ns:"),
        ("wiki_space", "ns:wiki", "wiki", "public", "ns:"),
    ]
    assert rows(feature, "SELECT display_name FROM spaces WHERE native_id = 'dokuwiki'") == [
        ("Example Wiki",)
    ]
    members = rows(
        feature,
        "SELECT p.native_id FROM memberships m JOIN persons p ON p.id = m.person_id ORDER BY 1",
    )
    assert members == [("alice",), ("carol",)]  # alice by the group @staff, carol by name; not bob
    secret = item_by_native(feature, "private:secret")
    assert rows(feature, "SELECT native_id FROM spaces WHERE id = ?", (secret["space_id"],)) == [
        ("ns:private",)
    ]


def test_history_in_timestamp_order_with_authors_and_summaries(feature: Path) -> None:
    start = history(feature, "start")
    assert [(r[0], r[1], r[2]) for r in start] == [
        (str(T0), "alice", "created"),
        (str(T0 + 100), "bob", "logo"),
        (str(T0 + 200), "bob", "typo"),
    ]
    assert start[-1][3].endswith("Typo fixed.\n")
    item = item_by_native(feature, "start")
    assert item["title"] == "start"
    assert item["body_format"] == "dokuwiki"
    assert item["body_source"] == start[-1][3]
    assert (item["created_native"], item["edited_native"]) == (str(T0), str(T0 + 200))
    raw = json.loads(item["raw"])
    assert raw["title"] == "Welcome"
    assert raw["meta"]["current"]["title"] == "Welcome"
    assert raw["meta"]["persistent"]["contributor"] == {"alice": "Alice Example", "bob": "Bob Example"}
    # gz, bz2 and plain attic files read alike
    assert [r[3] for r in history(feature, "wiki:syntax")] == [
        "====== Syntax ======\n**bold**\n",
        "====== Syntax ======\n**bold** //italic//\n",
    ]
    # an attic file no changelog names comes first, without author
    assert [(r[0], r[1]) for r in history(feature, "projects:orphan_attic")] == [
        (str(T0 + 1), None),
        (str(T0 + 110), "carol"),
    ]
    # a changelog entry without its attic file: a revision without body
    assert [(r[0], r[3] is None) for r in history(feature, "projects:gap")] == [
        (str(T0 + 80), False),
        (str(T0 + 90), True),
        (str(T0 + 95), False),
    ]


def test_bodies_carry_their_page_file_and_link_references(feature: Path) -> None:
    start = item_by_native(feature, "start")
    assert json.loads(start["body_refs"]) == [
        {"kind": "page", "target": "wiki:syntax", "target_id": None, "label": None},
        {"kind": "file", "target": "wiki:logo.png", "target_id": None, "label": "The logo"},
    ]
    assert start["body_text"].startswith("# Welcome")
    [(first_refs,)] = rows(
        feature,
        "SELECT r.body_refs FROM revisions r WHERE r.item_id = ? AND r.native_id = ?",
        (start["id"], str(T0)),
    )
    assert json.loads(first_refs) == [
        {"kind": "page", "target": "wiki:syntax", "target_id": None, "label": None}
    ]


def test_external_edit_deleted_page_and_guests(feature: Path) -> None:
    assert history(feature, "projects:external") == [
        (str(T0 + 40), "alice", "created", "Before the external edit.\n"),
        (str(T0 + 5000), None, "external edit", "Edited on the server with vi.\n"),
    ]
    old = item_by_native(feature, "projects:old")
    assert (old["deleted"], old["deleted_at"]) == (1, (T0 + 70) * 1_000_000)
    assert old["body_source"] == "An old page, edited anonymously.\n"  # the last text it had
    assert [(r[0], r[1], r[3]) for r in history(feature, "projects:old")] == [
        (str(T0 + 50), "alice", "An old page.\n"),
        (str(T0 + 60), "ip:198.51.100.7", "An old page, edited anonymously.\n"),
        (str(T0 + 70), "bob", None),
    ]
    cafe = item_by_native(feature, "wiki:café")  # data/pages/wiki/caf%C3%A9.txt
    assert cafe["origin"] == "data/pages/wiki/caf%C3%A9.txt"
    assert cafe["edited_at"] is None
    latin1 = item_by_native(feature, "latin1")
    assert latin1["body_source"] == "Caf\ufffd cr\ufffdme\n"
    [(raw,)] = rows(feature, "SELECT raw FROM diagnostics WHERE code = 'dokuwiki.not_utf8'")
    import base64

    assert base64.b64decode(json.loads(raw)["base64"]) == "Caf\xe9 cr\xe8me\n".encode("latin-1")


def test_media_and_their_old_versions(feature: Path) -> None:
    files = rows(
        feature,
        "SELECT f.native_id, f.name, f.media_type, f.size, f.sha256, f.created_at, p.native_id"
        " FROM files f LEFT JOIN persons p ON p.id = f.author_id ORDER BY f.native_id",
    )
    import hashlib

    def sha(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    assert files == [
        (
            "report.pdf",
            "report.pdf",
            "application/pdf",
            20,
            sha(b"%PDF-1.4\n% a report\n"),
            (T0 + 160) * 10**6,
            "carol",
        ),
        (
            "wiki:gone.gif@1699526453",
            "gone.gif",
            "image/gif",
            len(GONE),
            sha(GONE),
            (T0 + 170) * 10**6,
            "alice",
        ),
        ("wiki:logo.png", "logo.png", "image/png", len(LOGO_2), sha(LOGO_2), (T0 + 99) * 10**6, "bob"),
        (
            "wiki:logo.png@1699526378",
            "logo.png",
            "image/png",
            len(LOGO_1),
            sha(LOGO_1),
            (T0 + 95) * 10**6,
            "alice",
        ),
    ]
    assert rows(feature, "SELECT count(*) FROM item_files") == [(0,)]  # media are loose files


def test_no_password_hash_anywhere(feature: Path) -> None:
    with Archive.open(feature) as archive:
        for table in ("persons", "diagnostics", "spaces", "items"):
            for (raw,) in archive.store.query(f"SELECT raw FROM {table} WHERE raw IS NOT NULL"):
                assert not any(h.encode() in raw for h in PASSWORD_HASHES), table
    for path in feature.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(h.encode() in data for h in PASSWORD_HASHES), path
    [(raw,)] = rows(feature, "SELECT raw FROM persons WHERE native_id = 'alice'")
    assert json.loads(raw) == {
        "login": "alice",
        "name": "Alice Example",
        "mail": "alice@example.org",
        "groups": ["admin", "user", "staff"],
    }


def test_mtimes_survive_a_zip(tmp_path: Path) -> None:
    folder = ingest_verified(tmp_path, write_generated(tmp_path / "wiki"), "from-folder")
    zipped = ingest_verified(tmp_path, write_generated(tmp_path / "wiki.zip", "zip"), "from-zip")
    query = "SELECT id, native_id, created_at, edited_at, author_id, body_source FROM items ORDER BY id"
    assert rows(folder, query) == rows(zipped, query)
    query = "SELECT id, native_id, created_at, author_id, body_source FROM revisions ORDER BY id"
    assert rows(folder, query) == rows(zipped, query)
    assert diagnostics(zipped) == FEATURE_DIAGNOSTICS


def test_a_zip_with_dos_times_only(tmp_path: Path) -> None:
    """Without extended timestamps a zip's times are 2-second local times: a page whose text is
    its last revision's stays that revision; a real external edit stays one."""
    folder = write_generated(tmp_path / "wiki")
    source = zip_folder(folder, tmp_path / "dos.zip", exact_times=False)
    archive = ingest_verified(tmp_path, source)
    codes = [d for d in diagnostics(archive) if d[0] in ("dokuwiki.external_edit", "dokuwiki.mtime_inexact")]
    assert ("dokuwiki.external_edit", "data/pages/projects/external.txt", None) in codes
    inexact = {d[1] for d in codes if d[0] == "dokuwiki.mtime_inexact"}
    assert "data/pages/start.txt" in inexact
    assert rows(archive, "SELECT count(*) FROM revisions") == [(20,)]


def test_a_data_folder_alone(tmp_path: Path) -> None:
    wiki = feature_wiki()
    wiki.install_root = False
    source = write_wiki(tmp_path / "data", wiki)
    archive = ingest_verified(tmp_path, source)
    assert rows(archive, "SELECT count(*) FROM items") == [(10,)]
    assert rows(archive, "SELECT count(*) FROM spaces WHERE visibility = 'private'") == [(0,)]  # no ACL
    assert rows(archive, "SELECT count(*) FROM persons WHERE is_placeholder = 0 AND is_guest = 0") == [(3,)]
    # no users.auth.php: the .meta files name the contributors (carol's pages all have meta)
    assert rows(archive, "SELECT real_name FROM persons WHERE native_id = 'bob'") == [("Bob Example",)]


def test_unknown_users_are_placeholders(tmp_path: Path) -> None:
    wiki = Wiki(
        pages=[Page("p", [Rev(T0, "dave", "text\n", "C")], meta=False)],
        users=USERS,
        acl=ACL,
        regenerated=False,
    )
    archive = ingest_verified(tmp_path, write_wiki(tmp_path / "wiki", wiki))
    assert rows(
        archive, "SELECT native_id, is_placeholder, origin FROM persons WHERE native_id = 'dave'"
    ) == [("dave", 1, "data/meta/p.changes#1")]
    assert ("dokuwiki.unknown_user", "data/meta/p.changes#1", None) in diagnostics(archive)


def test_hostile_and_broken_files(tmp_path: Path) -> None:
    wiki = Wiki(
        pages=[
            Page("a", [Rev(T0, "alice", "one\n", "C"), Rev(T0 + 10, "alice", "two\n")]),
            Page("b", [Rev(T0, "alice", "b\n", "C")]),
            Page("gone", [Rev(T0, "alice", "was here\n", "C")]),
        ],
        users=[*USERS, "broken-line-without-fields", "eve:SECRETHASH:Eve"],
        acl=[*ACL, "this is not an acl line"],
        regenerated=False,
    )
    root = write_wiki(tmp_path / "wiki", wiki)
    data = root / "data"
    # a corrupt gzip attic file, and a bomb (a small limit makes one out of 1 MiB of zeros)
    (data / "attic" / "a.1699526283.txt.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    (data / "attic" / "b.1699526283.txt.gz").write_bytes(gzip.compress(b"\0" * (1 << 20)))
    os.utime(data / "pages" / "b.txt", (T0 + 99, T0 + 99))  # the current one is an external edit
    # a changelog with a broken line, a duplicate and a line out of order
    with (data / "meta" / "a.changes").open("a") as log:
        log.write("garbage\n")
        log.write(f"{T0 + 10}\t::1\tE\ta\tbob\tagain\t\t0\n")
        log.write(f"{T0 + 5}\t::1\te\ta\tbob\tearlier\t\t0\n")
    # a .meta with a PHP object, an orphan .meta, an unknown file
    (data / "meta" / "b.meta").write_bytes(b'O:8:"stdClass":1:{s:1:"a";i:1;}')
    (data / "meta" / "nopage.meta").write_bytes(b'a:1:{s:5:"title";s:2:"No";}')
    (data / "pages" / "notes.md").write_bytes(b"# not a page")
    # a page deleted by hand: its last entry is not D
    (data / "pages" / "gone.txt").unlink()
    limits = Limits(ratio_floor=1 << 10, max_ratio=20)
    tree = SourceTree.open(root, limits)
    opened = open_source(root, "dokuwiki", tree=tree)
    with Archive.open(tmp_path / "archive", create=True) as archive:
        ingest_source(archive, opened)
    tree.close()
    found = [
        d
        for d in diagnostics(tmp_path / "archive")
        if not d[0].startswith(("dokuwiki.config", "dokuwiki.not_data"))
    ]
    assert found == [
        ("dokuwiki.attic_missing", "data/meta/a.changes#5", None),
        ("dokuwiki.attic_unreadable", "data/attic/a.1699526283.txt.gz", None),
        ("dokuwiki.attic_unreadable", "data/attic/b.1699526283.txt.gz", None),
        ("dokuwiki.changelog_out_of_order", "data/meta/a.changes#5", None),
        ("dokuwiki.duplicate_changelog_entry", "data/meta/a.changes#4", "changelog entry"),
        ("dokuwiki.external_edit", "data/pages/b.txt", None),
        ("dokuwiki.invalid_acl_line", "conf/acl.auth.php#13", "acl rule"),
        ("dokuwiki.invalid_changelog_line", "data/meta/a.changes#3", "changelog entry"),
        ("dokuwiki.invalid_meta", "data/meta/b.meta", "meta"),
        ("dokuwiki.invalid_user_line", "conf/users.auth.php#15", "user"),
        ("dokuwiki.invalid_user_line", "conf/users.auth.php#16", "user"),
        ("dokuwiki.orphan_meta", "data/meta/nopage.meta", "meta"),
        ("dokuwiki.page_acl", "conf/acl.auth.php#12", "acl rule"),
        ("dokuwiki.page_file_missing", "data/meta/gone.changes", None),
        ("dokuwiki.password_hashes_dropped", "conf/users.auth.php", None),
        ("dokuwiki.regenerated", "data/meta/*.indexed", None),
        ("dokuwiki.unknown_entry", "data/pages/notes.md", None),
    ]
    archive_path = tmp_path / "archive"
    assert [(r[0], r[1], r[3]) for r in history(archive_path, "a")] == [
        (str(T0), "alice", None),  # the corrupt attic: no body
        (str(T0 + 5), "bob", None),  # out of order, no attic: put in its place
        (str(T0 + 10), "alice", "two\n"),
    ]
    assert item_by_native(archive_path, "gone")["deleted"] == 1
    assert not any(
        b"SECRETHASH" in (raw or b"") for (raw,) in rows(archive_path, "SELECT raw FROM diagnostics")
    )
    with Archive.open(archive_path) as archive:
        from passerelle.verify import verify

        report = verify(archive, root)
    assert report.ok, report.problems


def test_safe_and_url_encoded_names() -> None:
    assert decode_name("caf%C3%A9") == "café"
    assert decode_name("a+b") == "a b"
    assert safe_decode("caf%5s]") == "caf" + chr(32 + int("5s", 36))
    assert safe_decode("%1a]b") == chr(32 + int("1a", 36)) + "b"
    assert decode_name("plain_name") == "plain_name"


def test_a_tar_archive_is_refused_with_how_to_unpack_it(tmp_path: Path) -> None:
    folder = write_generated(tmp_path / "wiki")
    tgz = tmp_path / "wiki.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(folder, arcname="wiki")
    with pytest.raises(BadInputError, match="tar -xpf"):
        ingest([tgz], tmp_path / "a")
    with pytest.raises(BadInputError, match="tar -xpf"):
        ingest([tgz], tmp_path / "b", format="dokuwiki")
    assert not (tmp_path / "b" / "archive.sqlite").exists() or rows(
        tmp_path / "b", "SELECT count(*) FROM items"
    ) == [(0,)]


def test_resumes_across_page_units(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wiki = Wiki(
        pages=[
            Page(
                f"ns{n % 3}:page{n}",
                [Rev(T0 + n, "alice", f"v1 {n}\n", "C"), Rev(T0 + 1000 + n, "bob", f"v2 {n}\n")],
            )
            for n in range(25)
        ],
        media=[Media(f"m:file{n}.txt", [(T0 + n, "carol", b"x" * n)]) for n in range(7)],
        users=USERS,
        regenerated=False,
    )
    source = write_wiki(tmp_path / "wiki", wiki)
    monkeypatch.setattr(dokuwiki, "BLOCK", 4)
    ingest([source], tmp_path / "clean")
    monkeypatch.setattr(ArchiveWriter.__init__, "__kwdefaults__", {"batch_size": 10_000, "commit_every": 1})
    original = ArchiveWriter.add_row
    written = 0

    def crash(self: ArchiveWriter, table: str, row: tuple[Any, ...]) -> None:
        nonlocal written
        written += 1
        if written > 60:
            raise KeyboardInterrupt
        original(self, table, row)

    monkeypatch.setattr(ArchiveWriter, "add_row", crash)
    with pytest.raises(KeyboardInterrupt):
        ingest([source], tmp_path / "resumed")
    monkeypatch.setattr(ArchiveWriter, "add_row", original)
    [again] = ingest([source], tmp_path / "resumed")
    assert again.status == "resumed"
    assert canonical_dump(tmp_path / "resumed") == canonical_dump(tmp_path / "clean")
    assert rows(tmp_path / "clean", "SELECT count(*) FROM revisions") == [(50,)]
    assert rows(tmp_path / "clean", "SELECT count(*) FROM source_units") == [(1 + 1 + 7 + 2 + 1 + 1,)]


def test_a_copy_that_lost_its_mtimes_is_another_source(tmp_path: Path) -> None:
    source = write_generated(tmp_path / "wiki")
    [first] = ingest([source], tmp_path / "a")
    os.utime(source / "data" / "pages" / "start.txt", (T0 + 9999, T0 + 9999))
    [second] = ingest([source], tmp_path / "a")
    assert second.status == "ingested" and second.source_id != first.source_id
    # the page now ends with an external edit; the earlier reading stays in the archive
    assert history(tmp_path / "a", "start")[-1][:3] == (str(T0 + 9999), None, "external edit")
    with Archive.open(tmp_path / "a") as archive:
        from passerelle.verify import verify

        assert verify(archive, source).ok


def test_a_page_longer_than_a_write_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The item is written before its revisions: a batch boundary inside a page's history
    must not break the revisions' foreign key (found with a page of 20,000 revisions)."""
    monkeypatch.setattr(ArchiveWriter.__init__, "__kwdefaults__", {"batch_size": 3, "commit_every": 500_000})
    archive = ingest_verified(tmp_path, write_generated(tmp_path / "wiki"))
    assert rows(archive, "SELECT count(*) FROM revisions") == [(20,)]


@pytest.mark.parametrize("fnencode", ["safe", "utf-8"])
def test_other_file_name_encodings(tmp_path: Path, fnencode: str) -> None:
    wiki = Wiki(
        pages=[
            Page("wiki:café", [Rev(T0, "alice", "un café\n", "C"), Rev(T0 + 5, "bob", "deux cafés\n")]),
            Page("straße:übersicht", [Rev(T0 + 1, "carol", "Übersicht\n", "C")]),
        ],
        media=[Media("straße:plan.png", [(T0 + 2, "carol", LOGO_1), (T0 + 3, "carol", LOGO_2)])],
        users=USERS,
        fnencode=fnencode,
        regenerated=False,
    )
    source = write_wiki(tmp_path / "wiki", wiki)
    if fnencode == "safe":
        assert (source / "data" / "pages" / "wiki" / "caf%5l].txt").exists()
    archive = ingest_verified(tmp_path, source)
    assert rows(archive, "SELECT native_id FROM items ORDER BY 1") == [("straße:übersicht",), ("wiki:café",)]
    assert rows(archive, "SELECT native_id FROM files ORDER BY 1") == [
        ("straße:plan.png",),
        ("straße:plan.png@1699526285",),
    ]
    assert rows(archive, "SELECT name FROM spaces WHERE kind = 'wiki_space' ORDER BY 1") == [
        ("(root)",),
        ("straße",),
        ("wiki",),
    ]


def test_a_zip_with_entries_climbing_out(tmp_path: Path) -> None:
    import zipfile

    source = write_generated(tmp_path / "wiki.zip", "zip")
    with zipfile.ZipFile(source, "a") as zf:
        zf.writestr("../../etc/evil.txt", b"outside")
        zf.writestr("data/pages/../../../escape.txt", b"outside too")
    archive = ingest_verified(tmp_path, source)
    unsafe = [d for d in diagnostics(archive) if d[0] == "source.unsafe_path"]
    assert unsafe == [
        ("source.unsafe_path", "../../etc/evil.txt", "entry"),
        ("source.unsafe_path", "data/pages/../../../escape.txt", "entry"),
    ]
    assert rows(archive, "SELECT count(*) FROM items") == [(10,)]


def test_an_acl_dokuwiki_does_not_apply(tmp_path: Path) -> None:
    wiki = feature_wiki()
    wiki.useacl = False
    archive = ingest_verified(tmp_path, write_wiki(tmp_path / "wiki", wiki))
    assert rows(archive, "SELECT count(*) FROM spaces WHERE visibility = 'private'") == [(0,)]
    assert rows(archive, "SELECT count(*) FROM memberships") == [(0,)]
    assert ("dokuwiki.acl_disabled", "conf/acl.auth.php", None) in diagnostics(archive)


def test_a_truncated_changelog_and_an_older_mtime(tmp_path: Path) -> None:
    wiki = Wiki(
        pages=[
            Page("cut", [Rev(T0, "alice", "one\n", "C"), Rev(T0 + 10, "bob", "two\n")]),
            Page("older", [Rev(T0, "alice", "one\n", "C"), Rev(T0 + 10, "bob", "two\n")], mtime=T0 + 5),
        ],
        users=USERS,
        regenerated=False,
    )
    root = write_wiki(tmp_path / "wiki", wiki)
    changes = root / "data" / "meta" / "cut.changes"
    changes.write_bytes(changes.read_bytes()[:-20])  # the second line cut inside its user field
    archive = ingest_verified(tmp_path, root)
    assert ("dokuwiki.invalid_changelog_line", "data/meta/cut.changes#2", "changelog entry") in diagnostics(
        archive
    )
    # the cut entry's attic file is still a revision (without author), and the current one
    assert [(r[0], r[1]) for r in history(archive, "cut")] == [(str(T0), "alice"), (str(T0 + 10), None)]
    # an mtime older than the last entry: DokuWiki's external edit one second after it
    assert [(r[0], r[1], r[2]) for r in history(archive, "older")] == [
        (str(T0), "alice", None),
        (str(T0 + 10), "bob", None),
        (str(T0 + 11), None, "external edit"),
    ]


def test_a_folder_that_is_no_dokuwiki_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("hello")
    with pytest.raises(BadInputError, match="no DokuWiki data folder"):
        ingest([tmp_path / "notes"], tmp_path / "a", format="dokuwiki")


def test_bounded_decompression() -> None:
    import bz2 as bz2_module

    from passerelle.readers.dokuwiki import _decompress, _TooLarge

    assert _decompress(bz2_module.compress(b"text"), "bz2", 100) == b"text"
    with pytest.raises(_TooLarge):
        _decompress(bz2_module.compress(b"\0" * 10_000), "bz2", 1000)
    with pytest.raises(OSError):
        _decompress(bz2_module.compress(b"text")[:-4], "bz2", 100)
    with pytest.raises(_TooLarge):
        _decompress(gzip.compress(b"\0" * 10_000), "gz", 1000)
    assert _decompress(b"plain", None, 10) == b"plain"


def test_an_install_root_inside_a_zip_folder(tmp_path: Path) -> None:
    wiki = feature_wiki()
    wiki.acl = [*ACL, "private:*       dave          1"]  # a reader the users file does not list
    write_wiki(tmp_path / "top" / "dokuwiki", wiki)
    source = zip_folder(tmp_path / "top", tmp_path / "wiki.zip")
    archive = ingest_verified(tmp_path, source)
    assert rows(archive, "SELECT count(*) FROM items") == [(10,)]
    assert rows(archive, "SELECT count(*) FROM revisions") == [(20,)]
    assert ("dokuwiki.not_data", "dokuwiki/inc/", None) in diagnostics(archive)
    assert ("dokuwiki.unknown_user", "dokuwiki/conf/acl.auth.php", None) in diagnostics(archive)
    members = rows(
        archive,
        "SELECT p.native_id, p.is_placeholder FROM memberships m JOIN persons p ON p.id = m.person_id",
    )
    assert sorted(members) == [("alice", 0), ("carol", 0), ("dave", 1)]


def test_two_attic_files_for_one_revision(tmp_path: Path) -> None:
    wiki = Wiki(
        pages=[Page("p", [Rev(T0, "alice", "text\n", "C", compression="")])], users=USERS, regenerated=False
    )
    root = write_wiki(tmp_path / "wiki", wiki)
    (root / "data" / "attic" / f"p.{T0}.txt.gz").write_bytes(gzip.compress(b"text\n"))
    archive = ingest_verified(tmp_path, root)
    assert ("dokuwiki.duplicate_attic", f"data/attic/p.{T0}.txt.gz", None) in diagnostics(archive)
    assert history(archive, "p") == [(str(T0), "alice", None, "text\n")]


def test_source_tree_mtimes(tmp_path: Path) -> None:
    """SourceTree.mtime: a folder's files; a zip's Info-ZIP (UT) and NTFS time fields, exact;
    its DOS time alone, inexact (2-second steps)."""
    import struct
    import time
    import zipfile

    folder = tmp_path / "f"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "x.txt").write_bytes(b"x")
    os.utime(folder / "a" / "x.txt", (T0, T0))
    tree = SourceTree.open(folder)
    assert tree.mtime("a/x.txt") == (T0, True)
    assert tree.mtime("missing") is None
    ntfs_ticks = (T0 + 7 + 11_644_473_600) * 10_000_000
    ntfs = struct.pack("<HHIHHQQQ", 0x000A, 32, 0, 1, 24, ntfs_ticks, ntfs_ticks, ntfs_ticks)
    with zipfile.ZipFile(tmp_path / "t.zip", "w") as zf:
        for name, extra in (
            ("ut.txt", struct.pack("<HHBl", 0x5455, 5, 1, T0 + 3)),
            ("ntfs.txt", ntfs),
            ("dos.txt", b""),
        ):
            info = zipfile.ZipInfo(name, date_time=time.gmtime(T0)[:6])
            info.extra = extra
            zf.writestr(info, b"data")
    tree = SourceTree.open(tmp_path / "t.zip")
    assert tree.mtime("ut.txt") == (T0 + 3, True)
    assert tree.mtime("ntfs.txt") == (T0 + 7, True)
    assert tree.mtime("dos.txt") == (T0 - T0 % 2, False)
    tree.close()
