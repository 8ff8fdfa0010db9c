"""The MediaWiki writer's dumps imported into a real MediaWiki (Debian's 1.39 on SQLite).

Each test exports an archive with ``export --to mediawiki``, runs
``maintenance/importDump.php --uploads --image-base-path=OUT/images OUT/dump.xml`` on a fresh
throwaway wiki (tests/mediawiki_server.py), then reads the wiki's own database: every page
and every revision arrived with its text (sha1), its timestamp and its author.

What MediaWiki does on import, asserted here and said in docs/wikis.md:
- it gives revisions (and pages that clash with its own) new ids: revisions are matched by
  page title, time and sha1, not by id;
- users it does not know get the interwiki prefix: ``imported>Alice``; IP editors stay
  addresses; a hidden contributor becomes ``imported>Unknown user``;
- each upload adds a null revision to its File: page (same text, the time of the import,
  comment "… uploaded [[File:…]]"), beside the dump's revisions.
Skipped only when php or /usr/share/mediawiki is absent (scripts/install-test-deps.sh
installs them; CI runs it).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from passerelle.export import export
from tests import mediawiki_builder as b
from tests.mediawiki_builder import sha1_base36
from tests.mediawiki_server import Wiki, installed_wiki, missing
from tests.writers.wiki_archives import (
    build_mediawiki_archive,
    build_other_wiki_archive,
    build_titles_archive,
)

_WHY = missing()
pytestmark = pytest.mark.skipif(_WHY is not None, reason=f"no real MediaWiki: {_WHY}")


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Wiki:
    return installed_wiki(tmp_path_factory.mktemp("mediawiki") / "base")


@pytest.fixture
def wiki(installed: Wiki, tmp_path: Path) -> Iterator[Wiki]:
    yield installed.copy(tmp_path / "wiki")


def _imported(wiki: Wiki, output: Path) -> list[tuple[Any, ...]]:
    """The revisions the import added (those of the freshly installed wiki left out)."""
    before = {row[2] for row in wiki.revisions()}
    wiki.import_dump(output / "dump.xml", images=output / "images")
    return [row for row in wiki.revisions() if row[2] not in before]


def test_every_page_and_revision_of_a_mediawiki_archive_arrives(wiki: Wiki, tmp_path: Path) -> None:
    archive = build_mediawiki_archive(tmp_path / "archive")
    output = tmp_path / "out"
    export(archive, "mediawiki", output)
    rows = _imported(wiki, output)
    # (namespace, title, timestamp, actor, comment, sha1) of each dump revision, in order.
    from_dump = [
        (0, "Alpha", "20211108082640", "imported>Alice", "first", "pdh9ikb0iy3x7ut5pf7oo55rvigo9o6"),
        (0, "Alpha", "20211108092640", "10.0.0.7", "", "8qm5qt9ihwov9cr3ybik9czfg5yrq6q"),
        (0, "Alpha", "20211108102640", "imported>Unknown user", "hidden", "owhyk6za4db06cw77yl33w6846r6gff"),
        (0, "Beta", "20211112122640", "imported>Bob", "beta", "lyyjmuc1kb5u1rac3pl1gok3f6au3to"),
        (6, "Red dot.png", "20211116162640", "imported>Alice", "upload", "4zlh413u8bomtb45p55sdhwdnx77e4a"),
    ]
    got = [(ns, title, ts, actor, comment, sha1) for ns, title, _rev, ts, actor, comment, sha1, _text in rows]
    assert got[:5] == from_dump
    # The upload's null revision: same text, MediaWiki's own comment.
    assert len(rows) == 6
    assert rows[5][1] == "Red dot.png" and rows[5][6] == from_dump[4][5]
    assert rows[5][5] == "Imported>Alice uploaded [[File:Red dot.png]]"
    texts = {(r[1], r[6]): r[7] for r in rows}
    assert texts[("Beta", from_dump[3][5])] == "Beta. Ünïcödé & <b>tags</b>"
    # The file's bytes, as MediaWiki stores them.
    images = wiki.query("SELECT img_name, img_size, img_sha1 FROM image")
    assert [(n.decode() if isinstance(n, bytes) else n, s) for n, s, _ in images] == [("Red_dot.png", 19)]
    stored = list((wiki.root / "images").rglob("Red_dot.png"))
    assert [p.read_bytes() for p in stored] == [b"\x89PNG\r\n\x1a\n fake image"]


def test_pages_of_another_wiki_arrive_with_their_history(wiki: Wiki, tmp_path: Path) -> None:
    archive = build_other_wiki_archive(tmp_path / "archive")
    output = tmp_path / "out"
    report = export(archive, "mediawiki", output)
    rows = _imported(wiki, output)
    dump_revisions = [r for r in rows if "uploaded [[File:" not in r[5]]
    got = [(ns, title, ts, actor) for ns, title, _rev, ts, actor, _c, _s, _t in dump_revisions]
    assert got == [
        (0, "Start", "20200913122640", "imported>Admin-example"),
        (0, "Start", "20200913122740", "imported>Carl"),
        (0, "Wiki/gone", "20200913124640", "imported>Carl"),
        (0, "Wiki/gone", "20200913124740", "imported>Carl"),
        (0, "Wiki/syntax", "20200913123640", "imported>Carl"),
        (0, "Wiki/syntax", "20200913123740", "imported>Admin-example"),
        (6, "Dot.png", "20200913122640", "imported>Admin-example"),
        (6, "Manual.pdf", "20200913122640", "imported>Unknown user"),
    ]
    # Every text arrived: the sha1 MediaWiki computed is the dump's.
    dump = (output / "dump.xml").read_text(encoding="utf-8")
    for row in dump_revisions:
        assert f"<sha1>{row[6]}</sha1>" in dump
    assert sorted(
        (n.decode() if isinstance(n, bytes) else n, s)
        for n, s in wiki.query("SELECT img_name, img_size FROM image")
    ) == [("Dot.png", 10), ("Manual.pdf", 14)]
    # The two uploads' null revisions are MediaWiki's, not the dump's.
    assert len(rows) - len(dump_revisions) == 2
    assert report.log.tally["revision"]["adapted"] == 6


def test_the_wiki_dumps_back_what_it_imported(wiki: Wiki, tmp_path: Path) -> None:
    """dumpBackup.php --full of the wiki holds the dump's texts, times and contributors."""
    archive = build_mediawiki_archive(tmp_path / "archive")
    output = tmp_path / "out"
    export(archive, "mediawiki", output)
    wiki.import_dump(output / "dump.xml", images=output / "images")
    back = wiki.dump_full(tmp_path / "back.xml").read_text(encoding="utf-8")
    written = (output / "dump.xml").read_text(encoding="utf-8")
    for sha1 in re.findall(r"<sha1>(\w+)</sha1>", written):
        assert f"<sha1>{sha1}</sha1>" in back
    for ts in re.findall(r"<timestamp>([^<]+)</timestamp>", written):
        assert f"<timestamp>{ts}</timestamp>" in back
    assert "<username>imported&gt;Alice</username>" in back
    assert "<ip>10.0.0.7</ip>" in back


def _pages(archive: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Each page's revisions as (time, sha1 of the text, author's name, comment), oldest first,
    and each file as (name, sha256), from an archive."""
    from passerelle.archive import Archive

    with Archive.open(archive) as opened:
        rows = opened.store.query(
            "SELECT i.title, r.created_at, r.body_source, p.name, r.comment FROM revisions r"
            " JOIN items i ON i.id = r.item_id LEFT JOIN persons p ON p.id = r.author_id"
            " WHERE i.kind = 'page' ORDER BY i.title, r.created_at, length(r.native_id), r.native_id"
        )
        files = opened.store.query(
            "SELECT name, sha256 FROM files WHERE sha256 IS NOT NULL ORDER BY name, sha256"
        )
    pages: dict[str, list[tuple[Any, ...]]] = {}
    for title, at, text, author, comment in rows:
        pages.setdefault(title, []).append((at, sha1_base36((text or "").encode()), author, comment or ""))
    # MediaWiki's own dumps name files with underscores (the builder, like the pages, with spaces).
    pages["(files)"] = sorted({(name.replace("_", " "), sha256) for name, sha256 in files})
    return pages


def test_dump_archive_dump_mediawiki_dump_archive_keeps_pages_revisions_texts_authors_times(
    wiki: Wiki, tmp_path: Path
) -> None:
    """A dump → archive → the writer's dump → the real wiki → dumpBackup --full → archive: the
    same pages, revisions, texts, authors and times (the wiki really holds what was written)."""
    from passerelle.ingest import ingest
    from passerelle.readers import available_readers

    if "mediawiki" not in available_readers():
        pytest.fail("the MediaWiki reader is not registered")
    source = tmp_path / "source"
    source.mkdir()
    red = b.Upload("Red dot.png", data=b"\x89PNG red", comment="red")  # bytes inside the XML
    blue = b.Upload("Blue.png", data=b"\x89PNG blue", contents=False, comment="blue")  # in images/
    pages = [
        b.Page(
            "Main Page",
            id=1,
            revisions=[
                b.Rev(1, "Hello", contributor=b.user("Alice", 1), comment="c", minor=True),
                b.Rev(
                    2,
                    "Hello [[World]]",
                    parentid=1,
                    timestamp="2020-01-02T00:00:00Z",
                    contributor=b.ip("10.1.1.1"),
                ),
                b.Rev(3, "Hidden ü", parentid=2, timestamp="2020-01-03T00:00:00Z", contributor=b.HIDDEN),
            ],
        ),
        b.Page(
            "Talk:Main Page", ns=1, id=2, revisions=[b.Rev(4, "talk & <more>", contributor=b.user("Bob", 2))]
        ),
        b.Page("Redir", id=3, redirect="Main Page", revisions=[b.Rev(5, "#REDIRECT [[Main Page]]")]),
        b.Page("File:Red dot.png", ns=6, id=4, revisions=[b.Rev(6, "dot")], uploads=[red]),
        b.Page("File:Blue.png", ns=6, id=5, revisions=[b.Rev(7, "blue")], uploads=[blue]),
    ]
    b.write_dump(source / "dump.xml", pages)
    b.write_files(source / "images", [blue])
    first = tmp_path / "first"
    ingest([source], first, format="mediawiki")
    output = tmp_path / "out"
    export(first, "mediawiki", output)
    wiki.import_dump(output / "dump.xml", images=output / "images")
    back = tmp_path / "back"
    back.mkdir()
    wiki.dump_full(back / "dump.xml")
    shutil.copytree(wiki.root / "images", back / "images", ignore=shutil.ignore_patterns("thumb", "lockdir"))
    second = tmp_path / "second"
    ingest([back], second, format="mediawiki")

    before, after = _pages(first), _pages(second)
    # The installed wiki's own revision of its Main Page (at the time of the install) is there too.
    assert [r[2] for r in after["Main Page"]].count("MediaWiki default") == 1
    after["Main Page"] = [r for r in after["Main Page"] if r[2] != "MediaWiki default"]

    def as_imported(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        # Users the wiki does not know get the interwiki prefix; a hidden one is "Unknown user".
        out = []
        for at, sha1, author, comment in rows:
            name = author if author is None or re.fullmatch(r"[\d.]+", author) else f"imported>{author}"
            out.append((at, sha1, name or "imported>Unknown user", comment))
        return out

    for title in ("Main Page", "Talk:Main Page", "Redir"):
        assert after[title] == as_imported(before[title]), title
    for title in ("File:Red dot.png", "File:Blue.png"):
        # The upload's null revision (MediaWiki's, at the time of the import) follows the dump's.
        assert after[title][:1] == as_imported(before[title]), title
        assert len(after[title]) == 2 and after[title][1][3].endswith(f"uploaded [[{title}]]")
    assert after["(files)"] == before["(files)"]  # the same files with the same bytes


@pytest.mark.parametrize(
    ("relative", "pages", "revisions"),
    [
        ("mediawiki/camchenry/enwiki-articles-partial.xml", 11, 11),
        ("mediawiki/camchenry/simplewiki.xml", 7, 7),
        ("mediawiki/macbre/dump.xml", 2, 4),
        ("mediawiki/mwxml/dump.xml", 2, 3),
    ],
)
def test_real_dumps_written_again_import_whole(
    wiki: Wiki, tmp_path: Path, relative: str, pages: int, revisions: int
) -> None:
    """The shared real dumps (Wikipedia, Wikia, mwxml's), through an archive and the writer,
    import into the real wiki: every revision of every page with its text (sha1) and time."""
    from passerelle.archive import Archive
    from passerelle.ingest import ingest
    from tests.helpers import sample

    archive = tmp_path / "archive"
    ingest([sample(relative)], archive, format="mediawiki")
    output = tmp_path / "out"
    export(archive, "mediawiki", output)
    with Archive.open(archive) as opened:
        expected = sorted(
            (at // 1_000_000, sha1_base36((text or "").encode()))
            for at, text in opened.store.query(
                "SELECT r.created_at, r.body_source FROM revisions r JOIN items i ON i.id = r.item_id"
                " WHERE i.kind = 'page'"
            )
        )
        titles = {t for (t,) in opened.store.query("SELECT title FROM items WHERE kind = 'page'")}
    assert (len(titles), len(expected)) == (pages, revisions)
    rows = _imported(wiki, output)
    got = sorted(
        (int(datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()), sha1)
        for _ns, _title, _rev, ts, _actor, _comment, sha1, _text in rows
    )
    assert got == expected
    imported_pages = {(ns, title) for ns, title, *_ in rows}
    assert len(imported_pages) == pages


@pytest.mark.parametrize(
    "reader_case", ["dokuwiki-generated-folder", "xwiki-feature-zip", "xwiki-factharbor"]
)
def test_other_wikis_written_as_mediawiki_import_whole(wiki: Wiki, tmp_path: Path, reader_case: str) -> None:
    """DokuWiki and XWiki archives (the conformance cases), written as MediaWiki dumps, import
    into the real wiki: every revision the dump holds arrives with its text (sha1), its time
    and its title; every upload with its bytes."""
    from passerelle.ingest import ingest
    from tests.conformance.cases import READER_CASES

    case = next(c for c in READER_CASES if c.id == reader_case)
    archive = tmp_path / "archive"
    ingest([case.make(tmp_path)], archive, format=case.reader)
    output = tmp_path / "out"
    export(archive, "mediawiki", output)
    root = etree.parse(str(output / "dump.xml")).getroot()
    ns = root.nsmap[None]
    written = sorted(
        (
            page.findtext(f"{{{ns}}}title"),
            rev.findtext(f"{{{ns}}}timestamp"),
            rev.findtext(f"{{{ns}}}sha1"),
        )
        for page in root.iter(f"{{{ns}}}page")
        for rev in page.iter(f"{{{ns}}}revision")
    )
    uploads = sorted(u.findtext(f"{{{ns}}}filename") or "" for u in root.iter(f"{{{ns}}}upload"))
    assert written and len({t for t, _, _ in written}) > 1
    rows = [r for r in _imported(wiki, output) if not r[5].endswith("]]") or "uploaded [[" not in r[5]]
    names = {0: "", 6: "File:"}
    got = sorted(
        (
            names.get(ns_key, f"{ns_key}:") + title,
            datetime.strptime(ts, "%Y%m%d%H%M%S").strftime("%Y-%m-%dT%H:%M:%SZ"),
            sha1,
        )
        for ns_key, title, _rev, ts, _actor, _comment, sha1, _text in rows
    )
    assert got == written
    images = sorted(
        (n.decode() if isinstance(n, bytes) else n) for (n,) in wiki.query("SELECT img_name FROM image")
    )
    assert images == uploads


HOSTILE_TITLES = [
    "Main.WebHome",
    "Sales.Q1\\.2024.Notes",
    "A.B[c]|{d}#e",
    "Docs.a%20b",
    "Docs.Tom &amp; Jerry",
    "Docs.x/../y",
    "Docs.~~~~sig",
    "Docs.Über_straße",
    "Docs." + "é" * 200,
    "lower.case",
    "Docs.Main",
    "Main",  # the same MediaWiki title as Main.WebHome: a conflict
]


def test_titles_mediawiki_refuses_are_made_valid(wiki: Wiki, tmp_path: Path) -> None:
    """Titles from another wiki that MediaWiki would refuse or read otherwise (forbidden
    characters, escapes, entities, relative segments, signatures, too long, the same title
    twice) are adapted so that every page arrives under the title the dump gives it."""
    archive = build_titles_archive(tmp_path / "archive", HOSTILE_TITLES)
    output = tmp_path / "out"
    report = export(archive, "mediawiki", output)
    root = etree.parse(str(output / "dump.xml")).getroot()
    ns = root.nsmap[None]
    titles = sorted(t or "" for t in (p.findtext(f"{{{ns}}}title") for p in root.iter(f"{{{ns}}}page")))
    assert len(titles) == len(HOSTILE_TITLES) and "Main (2)" in titles
    rows = _imported(wiki, output)
    assert sorted(title for _ns, title, *_ in rows) == titles
    assert report.log.codes()["mediawiki.title_characters"] == 4  # [|{}#, %20, &amp;, ~~~ (../ is a path)
    assert report.log.codes()["mediawiki.title_conflict"] == 1
    assert report.log.codes()["mediawiki.title_too_long"] == 1


def test_carriage_returns_and_control_characters_arrive_as_written(wiki: Wiki, tmp_path: Path) -> None:
    texts = {
        "Crlf": ("mediawiki", "line one\r\nline two\r"),
        "Control": ("mediawiki", "bell \x07 and \x1b esc"),
    }
    archive = build_titles_archive(tmp_path / "archive", list(texts), platform="dokuwiki", bodies=texts)
    output = tmp_path / "out"
    export(archive, "mediawiki", output)
    rows = _imported(wiki, output)
    got = {title: (sha1, text) for _ns, title, _rev, _ts, _actor, _comment, sha1, text in rows}
    assert got["Control"] == (
        sha1_base36("bell \ufffd and \ufffd esc".encode()),
        "bell \ufffd and \ufffd esc",
    )
    # MediaWiki stores the carriage returns as they came.
    assert got["Crlf"] == (sha1_base36(b"line one\r\nline two\r"), "line one\r\nline two\r")


def test_two_mediawikis_in_one_archive_become_one_wiki(wiki: Wiki, tmp_path: Path) -> None:
    """Two dumps (simplewiki, 7 pages; a Wikia dump, 2 pages) in one archive: the first keeps
    its ids, the other's pages and revisions get free ones (noted); verify finds everything,
    and the real wiki gets all 9 pages and 11 revisions."""
    from passerelle.archive import Archive
    from passerelle.ingest import ingest
    from passerelle.verify import verify
    from passerelle.verify.fidelity import FidelityReport
    from tests.helpers import sample

    archive = tmp_path / "archive"
    ingest([sample("mediawiki/camchenry/simplewiki.xml")], archive, format="mediawiki")
    ingest([sample("mediawiki/macbre/dump.xml")], archive, format="mediawiki")
    output = tmp_path / "out"
    report = export(archive, "mediawiki", output)
    assert dict(report.log.tally["item"]) == {"carried": 7, "adapted": 2}
    assert report.log.codes()["mediawiki.page_id_changed"] == 2
    assert report.log.codes()["mediawiki.revision_id_changed"] == 4
    with Archive.open(archive) as opened:
        fidelity = verify(opened, output)
    assert isinstance(fidelity, FidelityReport) and fidelity.ok, fidelity.problems
    rows = _imported(wiki, output)
    assert len(rows) == 11 and len({(ns, title) for ns, title, *_ in rows}) == 9


def test_edits_go_to_local_users_where_they_exist(wiki: Wiki, tmp_path: Path) -> None:
    """importDump.php credits an edit to the wiki's own user of that name when there is one
    (create the accounts first to have edits under plain names); the others get the prefix."""
    wiki.create_user("Alice")
    archive = build_mediawiki_archive(tmp_path / "archive")
    output = tmp_path / "out"
    export(archive, "mediawiki", output)
    actors = {actor for *_, actor, _comment, _sha1, _text in _imported(wiki, output)}
    assert "Alice" in actors and "imported>Alice" not in actors
    assert "imported>Bob" in actors


def test_the_install_script_is_quiet_when_the_packages_are_there() -> None:
    """scripts/install-test-deps.sh (make test runs it) does nothing, silently, once Debian's
    mediawiki and php-sqlite3 are installed."""
    import subprocess

    installed = all(
        subprocess.run(["dpkg", "-s", p], capture_output=True, check=False).returncode == 0
        for p in ("mediawiki", "php-sqlite3")
    )
    if not installed:
        pytest.skip("the packages were not installed by dpkg here")
    script = Path(__file__).resolve().parents[2] / "scripts" / "install-test-deps.sh"
    done = subprocess.run(["sh", str(script)], capture_output=True, text=True, check=False, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
