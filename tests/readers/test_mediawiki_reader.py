"""The MediaWiki reader: the shared samples with exact counts, every schema, encoding and
compression, uploads, log entries, everything a dump can hide or break, hostile XML."""

from __future__ import annotations

import base64
import socket
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passerelle.archive import Archive
from passerelle.errors import BadInputError
from passerelle.ingest import ingest
from passerelle.model import ids
from passerelle.verify import verify
from tests.helpers import canonical_dump, ingest_verified, rows, sample
from tests.mediawiki_builder import (
    HIDDEN,
    SCHEMAS,
    LogItem,
    Page,
    Rev,
    SiteInfo,
    Slot,
    Upload,
    ip,
    storage_path,
    truncate,
    user,
    write_dump,
    write_files,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def count(archive: Path, table: str, where: str = "1") -> int:
    [(n,)] = rows(archive, f"SELECT count(*) FROM {table} WHERE {where}")
    return int(n)


def codes(archive: Path) -> dict[str, int]:
    return dict(rows(archive, "SELECT code, count(*) FROM diagnostics GROUP BY code"))


def page_item(archive: Path, wiki: str, native: str) -> dict[str, object]:
    ident = ids.item_id("mediawiki", wiki, native)
    with Archive.open(archive) as opened:
        cursor = opened.store.conn.execute("SELECT * FROM items WHERE id = ?", (ident,))
        names = [d[0] for d in cursor.description]
        row = cursor.fetchone()
    assert row is not None, native
    return dict(zip(names, row, strict=True))


# -- the shared samples (counts by grep: <page>, <revision>, <ip>, <redirect) -----------------------


def test_enwiki_articles_partial(tmp_path: Path) -> None:
    archive = ingest_verified(tmp_path, sample("mediawiki/camchenry/enwiki-articles-partial.xml"))
    assert count(archive, "items", "kind = 'page'") == 11
    assert count(archive, "revisions") == 11
    assert count(archive, "items", "subtype = 'redirect'") == 4
    spaces = dict(rows(archive, "SELECT native_id, name FROM spaces WHERE kind = 'wiki_space'"))
    assert spaces == {"ns:0": "(main)", "ns:4": "Wikipedia", "ns:14": "Category"}
    assert rows(archive, "SELECT native_id FROM spaces WHERE kind = 'workspace'") == [("enwiki",)]
    assert codes(archive) == {}


@pytest.mark.parametrize("name", ["simplewiki.xml", "simplewiki.xml.bz2"])
def test_simplewiki(tmp_path: Path, name: str) -> None:
    archive = ingest_verified(tmp_path, sample(f"mediawiki/camchenry/{name}"))
    assert count(archive, "items", "kind = 'page'") == 7
    assert count(archive, "revisions") == 7
    assert count(archive, "items", "space_id = ?".replace("?", f"'{ids.space_id('mediawiki', 'ns:4')}'")) == 1
    assert codes(archive) == {}


def test_macbre_dump_without_ids_or_namespaces(tmp_path: Path) -> None:
    archive = ingest_verified(tmp_path, sample("mediawiki/macbre/dump.xml"))
    assert count(archive, "items", "kind = 'page'") == 2
    assert count(archive, "revisions") == 4
    # No <id>: the title is the page's id, the position the revision's.
    page = page_item(archive, "plwiki", "Page title")
    assert page["title"] == "Page title"
    natives = rows(
        archive,
        "SELECT native_id, comment FROM revisions WHERE item_id = ? ORDER BY native_id",
        (page["id"],),
    )
    assert natives == [("@1", "I have just one thing to say!"), ("@2", "new!")]
    # First revision in source order is the creation, even when its time is later.
    assert (
        page["created_native"] == "2001-01-15T13:15:00Z" and page["edited_native"] == "2001-01-15T13:10:27Z"
    )
    assert page["body_source"] == "An earlier [[Special:MyLanguage/revision|revision]]."
    talk = page_item(archive, "plwiki", "Talk:Page title")
    assert talk["space_id"] == ids.space_id("mediawiki", "ns:1")  # from the canonical names
    assert codes(archive) == {"mediawiki.default_namespaces": 1}
    assert count(archive, "persons", "is_guest = 1") == 1  # 10.0.0.2, three edits
    assert count(archive, "persons") == 2


def test_mwxml_dump_sha1_mismatches(tmp_path: Path) -> None:
    archive = ingest_verified(tmp_path, sample("mediawiki/mwxml/dump.xml"))
    assert count(archive, "items", "kind = 'page'") == 2
    assert count(archive, "revisions") == 3
    # Every revision states the same sha1, which is none of theirs: three warnings, texts kept.
    assert codes(archive) == {"mediawiki.sha1_mismatch": 3}
    assert count(archive, "persons", "is_guest = 1") == 2
    assert rows(archive, "SELECT native_id, name FROM persons WHERE is_guest = 0") == [("92182", "Gen0cide")]
    assert [r[0] for r in rows(archive, "SELECT body_source FROM revisions ORDER BY native_id")] == [
        "Revision 1 text",
        "Revision 2 text",
        "Revision 3 text",
    ]


# -- generated dumps ---------------------------------------------------------------------------------


def small_wiki() -> list[Page]:
    return [
        Page(
            "Main Page",
            [
                Rev(1, "first [[Help:Contents]]", timestamp="2020-01-01T00:00:00Z", comment="new"),
                Rev(
                    2,
                    "second é ✓ 𝄞 & <tags>",
                    parentid=1,
                    timestamp="2020-01-02T00:00:00Z",
                    contributor=ip("10.1.2.3"),
                    minor=True,
                ),
                Rev(3, "third", parentid=2, timestamp="2020-01-03T00:00:00Z", contributor=user("Bob", 2)),
            ],
            id=1,
        ),
        Page("Help:Contents", [Rev(4, "help text", timestamp="2020-02-01T10:00:00Z")], ns=12, id=2),
        Page("Old name", [Rev(5, "#REDIRECT [[Main Page]]")], id=3, redirect="Main Page"),
        Page("Talk:Main Page", [Rev(6, "talk", contributor=user("Carol", 3))], ns=1, id=4),
    ]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_every_schema_version(tmp_path: Path, schema: str) -> None:
    dump = write_dump(tmp_path / "dump.xml", small_wiki(), schema=schema)
    archive = ingest_verified(tmp_path, dump)
    assert count(archive, "items", "kind = 'page'") == 4
    assert count(archive, "revisions") == 6
    wiki = "testwiki" if schema >= "0.9" or schema == "0.10" or schema == "0.11" else "Test Wiki"
    if schema in ("0.3", "0.4", "0.5", "0.6", "0.7", "0.8"):
        wiki = "Test Wiki"  # no <dbname> before 0.9: the sitename
    main = page_item(archive, wiki, "1")
    assert main["title"] == "Main Page" and main["body_source"] == "third"
    assert main["created_at"] == 1577836800_000000 and main["edited_at"] == 1578009600_000000
    assert main["author_id"] == ids.person_id("mediawiki", "1")
    assert main["edited_by_id"] == ids.person_id("mediawiki", "2")
    help_page = page_item(archive, wiki, "2")
    assert help_page["space_id"] == ids.space_id("mediawiki", "ns:12")  # <ns> or the title's prefix
    assert help_page["edited_at"] is None
    redirect = page_item(archive, wiki, "3")
    assert redirect["subtype"] == ("redirect" if schema >= "0.4" or schema in ("0.10", "0.11") else None)
    [(refs,)] = rows(archive, "SELECT body_refs FROM revisions WHERE native_id = '1'")
    assert '"target":"Help:Contents"' in refs  # passerelle.markup's references, per revision
    [(redirect_refs,)] = rows(archive, "SELECT body_refs FROM items WHERE native_id = '3'")
    assert '"target":"Main Page"' in redirect_refs
    second = rows(archive, "SELECT author_id, body_source FROM revisions WHERE native_id = '2'")
    assert second == [(ids.person_id("mediawiki", "ip:10.1.2.3"), "second é ✓ 𝄞 & <tags>")]
    assert codes(archive) == {}


def test_a_redirect_names_its_target_once(tmp_path: Path) -> None:
    """The text writes the target as the editor typed it, the attribute normalised: one reference."""
    pages = [
        Page("Main Page", [Rev(1, "text")], id=1),
        Page("Old name", [Rev(2, "#REDIRECT [[main_Page]]")], id=2, redirect="Main Page"),
        Page("Bare", [Rev(3, "#REDIRECT")], id=3, redirect="Main Page"),
    ]
    archive = ingest_verified(tmp_path, write_dump(tmp_path / "dump.xml", pages=pages))
    refs = dict(rows(archive, "SELECT native_id, body_refs FROM items WHERE subtype = 'redirect'"))
    assert refs["2"].count('"kind":"page"') == 1 and '"target":"main_Page"' in refs["2"]
    assert refs["3"].count('"kind":"page"') == 1 and '"label":"redirect"' in refs["3"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "iso-8859-1", "utf-8-sig"])
def test_any_declared_encoding(tmp_path: Path, encoding: str) -> None:
    pages = [Page("Café", [Rev(1, "crème brûlée")], id=1)]
    dump = write_dump(tmp_path / "dump.xml", pages, encoding=encoding, declaration=True)
    archive = ingest_verified(tmp_path, dump)
    assert rows(archive, "SELECT title, body_source FROM items WHERE kind = 'page'") == [
        ("Café", "crème brûlée")
    ]


@pytest.mark.parametrize("compression", ["bz2", "gz"])
def test_compressed_dumps_and_a_zip_of_them(tmp_path: Path, compression: str) -> None:
    dump = write_dump(tmp_path / f"wiki.xml.{compression}", small_wiki(), compression=compression)  # type: ignore[arg-type]
    archive = ingest_verified(tmp_path, dump)
    assert count(archive, "revisions") == 6
    bundle = tmp_path / "dumps.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.write(dump, f"dumps/{dump.name}")
    archive = ingest_verified(tmp_path, bundle, "from-zip")
    assert count(archive, "revisions") == 6
    with zipfile.ZipFile(bundle, "a") as zf:
        zf.writestr("passerelle-export.json", "{}")  # the MediaWiki writer's manifest: not a record
    ingest([bundle], tmp_path / "with-manifest")
    assert count(tmp_path / "with-manifest", "revisions") == 6
    assert count(tmp_path / "with-manifest", "files") == 0


def test_namespaces_from_titles_in_old_schemas(tmp_path: Path) -> None:
    pages = [Page("User talk:Ann", [Rev(1, "hi")], ns=3, id=1), Page("Nowhere:Thing", [Rev(2, "x")], id=2)]
    archive = ingest_verified(tmp_path, write_dump(tmp_path / "d.xml", pages, schema="0.4"))
    assert page_item(archive, "Test Wiki", "1")["space_id"] == ids.space_id("mediawiki", "ns:3")
    assert page_item(archive, "Test Wiki", "2")["space_id"] == ids.space_id("mediawiki", "ns:0")


def test_uploads_with_contents_and_older_versions(tmp_path: Path) -> None:
    old = Upload(
        "Logo.png", b"old bytes", archivename="20190101000000!Logo.png", timestamp="2019-01-01T00:00:00Z"
    )
    new = Upload("Logo.png", PNG, contributor=user("Bob", 2), comment="better")
    pages = [Page("File:Logo.png", [Rev(1, "a logo")], ns=6, id=1, uploads=[old, new])]
    archive = ingest_verified(tmp_path, write_dump(tmp_path / "d.xml", pages))
    files = rows(
        archive,
        "SELECT native_id, size, sha256 IS NOT NULL, missing_reason, author_id FROM files ORDER BY native_id",
    )
    assert files == [
        ("Logo.png", len(PNG), 1, None, ids.person_id("mediawiki", "2")),
        ("Logo.png@20190101000000", 9, 1, None, ids.person_id("mediawiki", "1")),
    ]
    assert count(archive, "item_files") == 2
    with Archive.open(archive) as opened:
        [(sha,)] = opened.store.query("SELECT sha256 FROM files WHERE native_id = 'Logo.png'")
        with opened.blobs.open(sha) as handle:
            assert handle.read() == PNG
        [(raw,)] = opened.store.query("SELECT raw FROM files WHERE native_id = 'Logo.png'")
    assert base64.b64encode(PNG)[:40] not in raw  # the bytes are in the blob store, not in raw
    assert codes(archive) == {}


@pytest.mark.parametrize("layout", ["hashed", "flat"])
def test_uploads_from_an_images_folder(tmp_path: Path, layout: str) -> None:
    ups = [
        Upload("A picture.png", PNG, contents=False),
        Upload("A picture.png", b"v1", contents=False, archivename="20180101000000!A_picture.png"),
        Upload("Gone.pdf", b"%PDF", contents=False),
    ]
    source = tmp_path / "export"
    source.mkdir()
    write_dump(source / "dump.xml", [Page("File:A picture.png", [Rev(1, "pic")], ns=6, id=1, uploads=ups)])
    write_files(source / "images", ups[:2], layout="hashed" if layout == "hashed" else "flat")
    (source / "images" / "stray.txt").write_bytes(b"nobody uploaded me")
    archive = ingest_verified(tmp_path, source)
    files = dict(rows(archive, "SELECT native_id, sha256 IS NOT NULL FROM files"))
    assert files == {
        "A picture.png": 1,
        "A picture.png@20180101000000": 1,
        "Gone.pdf": 0,
        "file:images/stray.txt": 1,
    }
    assert codes(archive) == {"mediawiki.upload_missing": 1, "mediawiki.unlisted_file": 1}
    assert storage_path("A picture.png").endswith("/A_picture.png")


def test_upload_bytes_that_disagree_with_the_dump(tmp_path: Path) -> None:
    ups = [Upload("Bad.png", PNG, size=5, sha1="0" * 31)]
    archive = ingest_verified(
        tmp_path,
        write_dump(tmp_path / "d.xml", [Page("File:Bad.png", [Rev(1, "x")], ns=6, id=1, uploads=ups)]),
    )
    assert codes(archive) == {"mediawiki.upload_size_mismatch": 1, "mediawiki.upload_sha1_mismatch": 1}
    assert rows(archive, "SELECT size FROM files") == [(5,)]  # the size the source declares


def test_log_items(tmp_path: Path) -> None:
    logs = [
        LogItem(1, "upload", "upload", comment="uploaded a logo", logtitle="File:Logo.png"),
        LogItem(
            2,
            "delete",
            "delete",
            contributor=HIDDEN,
            comment_deleted=True,
            text_deleted=True,
            logtitle="Spam",
        ),
        LogItem(
            3, "block", "block", contributor=ip("10.0.0.9"), params='a:1:{s:8:"duration";s:8:"infinite";}'
        ),
    ]
    archive = ingest_verified(tmp_path, write_dump(tmp_path / "d.xml", small_wiki(), logitems=logs))
    events = rows(
        archive,
        "SELECT native_id, subtype, title, body_source, author_id FROM items WHERE kind = 'event' ORDER BY native_id",
    )
    assert events == [
        ("1", "upload/upload", "File:Logo.png", "uploaded a logo", ids.person_id("mediawiki", "1")),
        ("2", "delete/delete", "Spam", None, None),
        ("3", "block/block", "File:Example.png", None, ids.person_id("mediawiki", "ip:10.0.0.9")),
    ]
    assert rows(archive, "SELECT name FROM spaces WHERE native_id = 'log'") == [("(log)",)]
    assert codes(archive) == {"mediawiki.contributor_hidden": 1, "mediawiki.comment_deleted": 1}


def test_hidden_and_deleted_parts_and_ip_editors(tmp_path: Path) -> None:
    pages = [
        Page(
            "Secret",
            [
                Rev(1, "visible", contributor=HIDDEN),
                Rev(2, None, comment_deleted=True, contributor=ip("2001:db8::1")),
                Rev(3, "stub", stub_location="tt:123"),
                Rev(4, "last"),
            ],
            id=1,
        )
    ]
    archive = ingest_verified(tmp_path, write_dump(tmp_path / "d.xml", pages))
    revs = rows(
        archive, "SELECT native_id, author_id, body_source, comment FROM revisions ORDER BY native_id"
    )
    assert revs == [
        ("1", None, "visible", None),
        ("2", ids.person_id("mediawiki", "ip:2001:db8::1"), None, None),
        ("3", ids.person_id("mediawiki", "1"), None, None),
        ("4", ids.person_id("mediawiki", "1"), "last", None),
    ]
    assert page_item(archive, "testwiki", "1")["author_id"] is None  # the first revision's: hidden
    assert codes(archive) == {
        "mediawiki.contributor_hidden": 1,
        "mediawiki.text_deleted": 1,
        "mediawiki.comment_deleted": 1,
        "mediawiki.text_stub": 1,
    }


def test_sha1_and_bytes_mismatches_are_said_and_the_text_kept(tmp_path: Path) -> None:
    pages = [Page("P", [Rev(1, "text", sha1="x" * 31), Rev(2, "héllo", bytes=5), Rev(3, "fine")], id=1)]
    for schema in ("0.10", "0.11"):
        archive = ingest_verified(
            tmp_path, write_dump(tmp_path / f"{schema}.xml", pages, schema=schema), schema
        )
        expected = {"mediawiki.sha1_mismatch": 2 if schema == "0.11" else 1, "mediawiki.bytes_mismatch": 1}
        assert codes(archive) == expected  # 0.11 has the text's own sha1 attribute as well
        assert rows(archive, "SELECT body_source FROM revisions WHERE native_id = '1'") == [("text",)]
        [(where, entity)] = rows(
            archive, "SELECT \"where\", entity_id FROM diagnostics WHERE code = 'mediawiki.bytes_mismatch'"
        )
        assert where.startswith(f"{schema}.xml#") and entity == ids.revision_id(
            ids.item_id("mediawiki", "testwiki", "1"), "2"
        )


def test_slots_are_kept_in_raw_and_said_once(tmp_path: Path) -> None:
    slot = Slot("mediainfo", '{"labels":{}}')
    pages = [Page("File:X.jpg", [Rev(1, "main", slots=[slot]), Rev(2, "main 2", slots=[slot])], ns=6, id=1)]
    archive = ingest_verified(tmp_path, write_dump(tmp_path / "d.xml", pages))
    assert codes(archive) == {
        "mediawiki.slots_not_modelled": 1
    }  # the revision sha1 folds the slots: no mismatch
    [(raw,)] = rows(archive, "SELECT raw FROM revisions WHERE native_id = '1'")
    assert b"<role>mediainfo</role>" in raw


def test_unknown_elements(tmp_path: Path) -> None:
    pages = [
        Page(
            "A",
            [Rev(1, "x", extra_xml="<flagged>yes</flagged>\n"), Rev(2, "y", extra_xml="<flagged/>")],
            id=1,
            extra_xml="<lqt>1</lqt>",
        ),
    ]
    dump = write_dump(tmp_path / "d.xml", pages)
    text = dump.read_text().replace("</siteinfo>", "</siteinfo>\n<custom a='1'>kept</custom>")
    dump.write_text(text)
    archive = ingest_verified(tmp_path, dump)
    assert codes(archive) == {"mediawiki.unknown_element": 3}
    [(raw,)] = rows(archive, "SELECT raw FROM diagnostics WHERE dropped = 'element'")
    assert raw.startswith(b"<custom xmlns=") and raw.endswith(b'a="1">kept</custom>')
    [(page_raw,)] = rows(archive, "SELECT raw FROM items")
    assert b"<lqt>1</lqt>" in page_raw and b"<revision" not in page_raw


def test_duplicate_revision_is_kept_in_a_diagnostic(tmp_path: Path) -> None:
    pages = [Page("A", [Rev(1, "x"), Rev(1, "x again"), Rev(2, "y")], id=1)]
    archive = ingest_verified(tmp_path, write_dump(tmp_path / "d.xml", pages))
    assert count(archive, "revisions") == 2
    [(raw,)] = rows(archive, "SELECT raw FROM diagnostics WHERE code = 'mediawiki.duplicate_revision'")
    assert b"x again" in raw


@pytest.mark.parametrize("compression", [None, "gz"])
def test_a_truncated_dump_keeps_everything_before_the_break(tmp_path: Path, compression: str | None) -> None:
    pages = [
        Page(f"P{n}", [Rev(10 * n + k, f"text {n}.{k} " * 50) for k in range(5)], id=n) for n in range(1, 5)
    ]
    full = write_dump(tmp_path / "full.xml", pages)
    data = full.read_bytes()
    cut = data.index(b"text 4.3")  # inside page 4's fourth revision
    if compression:
        import gzip

        dump = tmp_path / "cut.xml.gz"
        packed = gzip.compress(data)
        dump.write_bytes(packed[: len(packed) - 200])  # a download that stopped: a broken stream
        archive = ingest_verified(tmp_path, dump)
        assert codes(archive)["mediawiki.truncated"] == 1
        [(message,)] = rows(archive, "SELECT message FROM diagnostics WHERE code = 'mediawiki.truncated'")
        assert "the gzip stream ends before its end marker" in message
        assert count(archive, "items") == 4
        return
    dump = tmp_path / "cut.xml"
    dump.write_bytes(data[:cut])
    archive = ingest_verified(tmp_path, dump)
    assert count(archive, "items") == 4
    assert count(archive, "revisions") == 3 * 5 + 3  # page 4: its three complete revisions
    [(where, message)] = rows(
        archive, "SELECT \"where\", message FROM diagnostics WHERE code = 'mediawiki.truncated'"
    )
    line = data[:cut].count(b"\n") + 1
    assert where == f"cut.xml#{line}"
    assert "page 'P4' was being read (3 complete revisions kept)" in message
    assert page_item(archive, "testwiki", "4")["body_source"] == ("text 4.2 " * 50)


def test_a_cut_at_every_place_still_verifies(tmp_path: Path) -> None:
    pages = [
        Page("P", [Rev(1, "a"), Rev(2, "b")], id=1, uploads=[Upload("U.png", b"u")]),
        Page("Q", [Rev(3, "c")], id=2),
    ]
    data = write_dump(tmp_path / "full.xml", pages, logitems=[LogItem(1)]).read_bytes()
    for n, keep in enumerate(range(300, len(data), 97)):
        dump = tmp_path / f"cut{n}.xml"
        truncate(dump, keep) if dump.exists() else dump.write_bytes(data[:keep])
        ingest_verified(tmp_path, dump, f"a{n}")


# -- hostile XML -----------------------------------------------------------------------------------


def test_billion_laughs_refused_before_the_archive_is_touched(tmp_path: Path) -> None:
    lol = "".join(f'<!ENTITY lol{i + 1} "{("&lol" + str(i) + ";") * 10}">' for i in range(9))
    dump = tmp_path / "lol.xml"
    dump.write_text(
        f'<?xml version="1.0"?><!DOCTYPE mediawiki [<!ENTITY lol0 "lol">{lol}]><mediawiki><page><title>&lol9;</title></page></mediawiki>'
    )
    with pytest.raises(BadInputError, match="DOCTYPE"):
        ingest([dump], tmp_path / "archive")
    assert not (tmp_path / "archive").exists()


def test_xxe_reads_no_file_and_touches_no_network(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    dump = tmp_path / "xxe.xml"
    dump.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<!DOCTYPE mediawiki [ <!ENTITY xxe SYSTEM "file://{secret}"> <!ENTITY net SYSTEM "http://127.0.0.1:{port}/x"> ]>\n'
        "<mediawiki><page><title>&xxe;&net;</title><revision><id>1</id><text>&xxe;</text></revision></page></mediawiki>\n"
    )
    with pytest.raises(BadInputError, match="refused"):
        ingest([dump], tmp_path / "archive", format="mediawiki")
    with pytest.raises(TimeoutError):
        listener.accept()  # nobody called
    listener.close()
    assert not (tmp_path / "archive").exists()
    # Inside a zip, and compressed: refused all the same.
    bundle = tmp_path / "xxe.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.write(dump, "dump.xml")
    with pytest.raises(BadInputError):
        ingest([bundle], tmp_path / "archive2")
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != secret:
            assert b"TOP-SECRET" not in path.read_bytes()


# -- resumption and properties -----------------------------------------------------------------------


def test_resumed_in_units_equals_a_clean_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from passerelle.archive.writer import ArchiveWriter
    from passerelle.readers import mediawiki

    monkeypatch.setattr(mediawiki, "UNIT", 3)
    pages = [
        Page(f"P{n}", [Rev(100 * n + k, f"t{k}", contributor=user(f"U{k}", k + 1)) for k in range(3)], id=n)
        for n in range(1, 12)
    ]
    dump = write_dump(tmp_path / "d.xml", pages, logitems=[LogItem(n) for n in range(1, 5)])
    ingest([dump], tmp_path / "clean")
    original = ArchiveWriter.add_row
    written = 0

    def crash(self: ArchiveWriter, table: str, row: tuple[object, ...]) -> None:
        nonlocal written
        written += 1
        if written > 30:
            raise KeyboardInterrupt
        original(self, table, row)

    monkeypatch.setattr(ArchiveWriter.__init__, "__kwdefaults__", {"batch_size": 10_000, "commit_every": 1})
    monkeypatch.setattr(ArchiveWriter, "add_row", crash)
    with pytest.raises(KeyboardInterrupt):
        ingest([dump], tmp_path / "resumed")
    monkeypatch.setattr(ArchiveWriter, "add_row", original)
    [again] = ingest([dump], tmp_path / "resumed")
    assert again.status == "resumed"
    assert canonical_dump(tmp_path / "resumed") == canonical_dump(tmp_path / "clean")


def test_a_long_history_is_written_as_it_comes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from passerelle.readers import mediawiki

    monkeypatch.setattr(mediawiki, "PAGE_BUFFER_REVISIONS", 10)
    pages = [
        Page(
            "Long",
            [Rev(k, f"v{k}", timestamp=f"2020-01-{1 + k % 28:02d}T00:00:00Z") for k in range(1, 60)],
            id=1,
            uploads=[Upload("F.png", b"f")],
        )
    ]
    archive = ingest_verified(tmp_path, write_dump(tmp_path / "d.xml", pages))
    page = page_item(archive, "testwiki", "1")
    assert (
        page["body_source"] == "v59"
        and page["raw"] is not None
        and page["created_native"] == "2020-01-02T00:00:00Z"
    )
    assert count(archive, "revisions") == 59 and count(archive, "item_files") == 1
    assert count(archive, "superseded") == 0


_text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn")), max_size=30)
_contributors = st.one_of(
    st.builds(user, st.text("abcXYZ é", min_size=1, max_size=8), st.integers(1, 50)),
    st.builds(ip, st.ip_addresses().map(str)),
    st.just(HIDDEN),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.lists(
        st.tuples(
            _text,
            st.lists(
                st.tuples(st.one_of(_text, st.none()), _contributors, st.one_of(_text, st.none())),
                min_size=0,
                max_size=4,
            ),
        ),
        min_size=1,
        max_size=5,
    ),
    schema=st.sampled_from(SCHEMAS),
)
def test_any_generated_dump_ingests_and_verifies(
    tmp_path_factory: pytest.TempPathFactory,
    data: list[tuple[str, list[tuple[str | None, object, str | None]]]],
    schema: str,
) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    rev_id = 0
    pages = []
    for n, (title, revs) in enumerate(data):
        made = []
        for text, who, comment in revs:
            rev_id += 1
            made.append(Rev(rev_id, text, contributor=who, comment=comment))  # type: ignore[arg-type]
        pages.append(Page(f"T{n} {title}".strip(), made, id=n + 1))
    dump = write_dump(tmp / "d.xml", pages, schema=schema, siteinfo=SiteInfo(dbname="prop"))
    archive = ingest_verified(tmp, dump)
    assert count(archive, "items", "kind = 'page'") == len(pages)
    assert count(archive, "revisions") == rev_id
    with Archive.open(archive) as opened:
        assert verify(opened, dump).ok


def test_bytes_that_are_not_utf8_are_read_as_cp1252_and_said(tmp_path: Path) -> None:
    pages = [
        Page("Caf\u00e9", [Rev(1, "na\u00efve"), Rev(2, "MARKER1 ok")], id=1),
        Page("Q", [Rev(3, "MARKER2 fine")], id=2),
    ]
    dump = write_dump(tmp_path / "d.xml", pages)
    data = dump.read_bytes().replace(b"MARKER1", b"caf\xe9 \x80").replace(b"MARKER2", b"\xff")
    dump.write_bytes(data)
    archive = ingest_verified(tmp_path, dump)
    assert count(archive, "revisions") == 3  # nothing lost: not a break
    texts = [r[0] for r in rows(archive, "SELECT body_source FROM revisions ORDER BY native_id")]
    assert texts == ["na\u00efve", "caf\u00e9 \u20ac ok", "\u00ff fine"]
    said = rows(
        archive, 'SELECT "where", raw FROM diagnostics WHERE code = \'source.not_utf8\' ORDER BY "where"'
    )
    assert len(said) == 2 and all(b"\xe9" in raw or b"\xff" in raw for _, raw in said)
    # Declared in another encoding, the same bytes are that encoding's.
    latin = tmp_path / "latin.xml"
    latin.write_bytes(
        b'<?xml version="1.0" encoding="ISO-8859-1"?>\n' + data.replace("na\u00efve".encode(), b"naive")
    )
    archive = ingest_verified(tmp_path, latin, "latin")
    assert "source.not_utf8" not in codes(archive)  # (the texts were edited: sha1 mismatches are said)
    assert rows(archive, "SELECT body_source FROM revisions WHERE native_id = '3'") == [("\u00ff fine",)]


def test_timestamps_as_written(tmp_path: Path) -> None:
    stamps = ["2020-01-01T00:00:00Z", "2020-01-01T00:00:00", "2020-01-01T02:00:00+02:00", "yesterday"]
    pages = [Page("P", [Rev(n + 1, f"v{n}", timestamp=t) for n, t in enumerate(stamps)], id=1)]
    archive = ingest_verified(tmp_path, write_dump(tmp_path / "d.xml", pages))
    times = [r[0] for r in rows(archive, "SELECT created_at FROM revisions ORDER BY native_id")]
    assert times == [1577836800_000000] * 3 + [None]
    assert codes(archive) == {"mediawiki.bad_timestamp": 1}
    assert page_item(archive, "testwiki", "1")["edited_native"] == "yesterday"
