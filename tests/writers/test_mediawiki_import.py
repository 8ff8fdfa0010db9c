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

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from passerelle.export import export
from tests.mediawiki_server import Wiki, installed_wiki, missing
from tests.writers.wiki_archives import build_mediawiki_archive, build_other_wiki_archive

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


def _stamp(iso: str) -> str:
    return iso.replace("-", "").replace(":", "").replace("T", "").replace("Z", "")


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
    import re

    for sha1 in re.findall(r"<sha1>(\w+)</sha1>", written):
        assert f"<sha1>{sha1}</sha1>" in back
    for ts in re.findall(r"<timestamp>([^<]+)</timestamp>", written):
        assert f"<timestamp>{ts}</timestamp>" in back
    assert "<username>imported&gt;Alice</username>" in back
    assert "<ip>10.0.0.7</ip>" in back
    assert _stamp("2021-11-08T08:26:40Z") == "20211108082640"
