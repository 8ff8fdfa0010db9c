"""The MediaWiki writer on small archives: what the dump holds, every entity accounted once,
byte-identical output, the title and user-name rules. (Reading the output back and the
fidelity check run in the writer conformance suite once the MediaWiki reader is there; the
real MediaWiki import is tests/writers/test_mediawiki_import.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lxml import etree

from passerelle.archive import Archive
from passerelle.export import MANIFEST, export
from passerelle.info import table_counts
from passerelle.model.entities import Person
from passerelle.verify import verify
from passerelle.verify.fidelity import FidelityReport
from passerelle.writers.base import ENTITY_TABLES
from passerelle.writers.mediawiki import image_path, sha1_base36, title_for, user_name
from tests.mediawiki_builder import sha1_base36 as builder_sha1
from tests.writers.wiki_archives import (
    build_mediawiki_archive,
    build_other_wiki_archive,
    build_titles_archive,
)

NS = "{http://www.mediawiki.org/xml/export-0.11/}"


def _dump(output: Path) -> etree._Element:
    return etree.parse(str(output / "dump.xml")).getroot()


def test_a_mediawiki_archive_is_written_from_its_raw_records(tmp_path: Path) -> None:
    archive = build_mediawiki_archive(tmp_path / "archive")
    report = export(archive, "mediawiki", tmp_path / "out")
    root = _dump(tmp_path / "out")
    pages = root.findall(f"{NS}page")
    assert [(p.findtext(f"{NS}title"), p.findtext(f"{NS}id")) for p in pages] == [
        ("Alpha", "101"),
        ("Beta", "102"),
        ("File:Red dot.png", "103"),
    ]
    revisions = [r.findtext(f"{NS}id") for p in pages for r in p.findall(f"{NS}revision")]
    assert revisions == ["1001", "1002", "1003", "1004", "1005"]
    for rev in root.iter(f"{NS}revision"):
        text = rev.findtext(f"{NS}text") or ""
        assert rev.findtext(f"{NS}sha1") == builder_sha1(text)
        assert rev.find(f"{NS}text").get("bytes") == str(len(text.encode()))  # type: ignore[union-attr]
    upload = pages[2].find(f"{NS}upload")
    assert upload is not None and upload.findtext(f"{NS}rel") == "7/78/Red_dot.png"
    assert (tmp_path / "out" / "images" / "7" / "78" / "Red_dot.png").read_bytes().startswith(b"\x89PNG")
    assert {e: dict(c) for e, c in report.log.tally.items() if c} == {
        "person": {"carried": 3},
        "space": {"carried": 3},
        "item": {"carried": 3},
        "file": {"carried": 1},
        "revision": {"carried": 5},
    }
    # Pages and revisions keep their ids: the manifest lists none (verify pairs them by id).
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert "items" not in manifest and "revisions" not in manifest


def test_another_wiki_gets_titles_ids_and_file_pages(tmp_path: Path) -> None:
    archive = build_other_wiki_archive(tmp_path / "archive")
    report = export(archive, "mediawiki", tmp_path / "out")
    root = _dump(tmp_path / "out")
    titles = [p.findtext(f"{NS}title") for p in root.findall(f"{NS}page")]
    assert titles == ["Start", "Wiki/gone", "Wiki/syntax", "File:Dot.png", "File:Manual.pdf"]
    ids = [r.findtext(f"{NS}id") for r in root.iter(f"{NS}revision")]
    assert ids == [str(n) for n in range(1, 9)]
    parents = [r.findtext(f"{NS}parentid") for r in root.iter(f"{NS}revision")]
    assert parents == [None, "1", None, "3", None, "5", None, None]
    users = [r.findtext(f"{NS}contributor/{NS}username") for r in root.iter(f"{NS}revision")]
    assert users[:2] == ["Admin-example", "Carl"]
    codes = report.log.codes()
    assert codes["mediawiki.not_a_page"] == 1  # the message
    # 6 revisions and 3 pages in DokuWiki markup; each page and revision sub-second times.
    assert codes["mediawiki.markup_unconverted"] + codes["mediawiki.markup_converted"] == 9
    assert codes["mediawiki.time_seconds"] == 12
    assert codes["mediawiki.deleted_page"] == 1
    assert codes["mediawiki.user_no_edits"] == 1
    assert codes["mediawiki.space_as_path"] == 6  # 3 spaces, and the 3 pages not in them any more
    assert codes["mediawiki.membership_lost"] == 1
    assert sorted(p.name for p in (tmp_path / "out" / "images").rglob("*.*")) == ["Dot.png", "Manual.pdf"]
    # Pages, revisions and file pages with new ids: the manifest maps each to its output id.
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert sorted(manifest["items"].values()) == ["1", "2", "3"]
    assert sorted(manifest["revisions"].values(), key=int) == [str(n) for n in range(1, 7)]
    assert sorted(manifest["files"].values()) == ["4", "5"]


def test_every_entity_is_accounted_once_and_the_output_is_deterministic(tmp_path: Path) -> None:
    for build in (build_mediawiki_archive, build_other_wiki_archive):
        archive = build(tmp_path / build.__name__)
        one = export(archive, "mediawiki", tmp_path / f"{build.__name__}-1.zip")
        export(archive, "mediawiki", tmp_path / f"{build.__name__}-2.zip")
        dry = export(archive, "mediawiki", tmp_path / f"{build.__name__}-dry.zip", dry_run=True)
        a = (tmp_path / f"{build.__name__}-1.zip").read_bytes()
        assert a == (tmp_path / f"{build.__name__}-2.zip").read_bytes()
        assert dry.log.tally == one.log.tally
        with Archive.open(archive) as opened:
            counts = table_counts(opened.store)
        for entity, table in ENTITY_TABLES.items():
            assert sum(one.log.tally[entity].values()) == counts[table], entity


def test_title_and_user_name_rules() -> None:
    assert title_for("dokuwiki", "wiki:sub:my_page") == (
        "Wiki/sub/my page",
        [("mediawiki.title_path", "wiki:sub:my_page -> wiki/sub/my page")],
    )
    assert title_for("xwiki", "Main.WebHome")[0] == "Main"
    assert title_for("xwiki", "Sales.Q1\\.2024.Notes")[0] == "Sales/Q1.2024/Notes"
    title, changes = title_for("xwiki", "A.B[c]|{d}#e")
    assert title == "A/B-c---d--e" and ("mediawiki.title_characters", "A.B[c]|{d}#e") in changes
    long, changes = title_for("dokuwiki", "é" * 300)
    assert len(long.encode()) <= 255 and changes[-1][0] == "mediawiki.title_too_long"
    assert user_name(Person(id="p", platform="x", native_id="x", name="ada@example.org")) == "Ada-example.org"
    assert user_name(Person(id="p", platform="x", native_id="u1", display_name="Ada L/ove")) == "Ada L-ove"


def test_sha1_and_image_path_are_mediawikis() -> None:
    assert sha1_base36(b"") == "phoiac9h4m842xq45sp7s6u21eteeq1"  # MediaWiki's sha1 of an empty text
    assert sha1_base36(b"Beta") == builder_sha1("Beta")
    assert image_path("Red dot.png") == "7/78/Red_dot.png"  # md5("Red_dot.png") starts 78


def _verify(archive: Path, output: Path) -> FidelityReport:
    with Archive.open(archive) as opened:
        report = verify(opened, output)
    assert isinstance(report, FidelityReport)
    return report


def test_verify_reads_the_dump_back_and_finds_every_entity(tmp_path: Path) -> None:
    for build in (build_mediawiki_archive, build_other_wiki_archive):
        archive = build(tmp_path / build.__name__)
        output = tmp_path / f"{build.__name__}-out"
        export(archive, "mediawiki", output)
        report = _verify(archive, output)
        assert report.ok, report.problems
        assert (
            report.entities["revision"].total
            == report.entities["revision"].carried + report.entities["revision"].adapted
        )


def test_verify_finds_a_revision_lost_or_changed_in_the_dump(tmp_path: Path) -> None:
    archive = build_mediawiki_archive(tmp_path / "archive")
    output = tmp_path / "out"
    export(archive, "mediawiki", output)
    dump = output / "dump.xml"
    original = dump.read_text(encoding="utf-8")

    # A revision taken out of the dump.
    cut = re.sub(r"<revision><id>1002</id>.*?</revision>", "", original, flags=re.S)
    assert cut != original
    dump.write_text(cut, encoding="utf-8")
    report = _verify(archive, output)
    assert not report.ok and report.entities["revision"].unexplained == 1

    # A text changed (its sha1 made to agree, so only the comparison can tell).
    text = "Alpha is [[Beta]], said an IP."
    changed = original.replace(text, "Alpha is [[Gamma]], said an IP.").replace(
        sha1_base36(text.encode()), sha1_base36(b"Alpha is [[Gamma]], said an IP.")
    )
    dump.write_text(changed, encoding="utf-8")
    report = _verify(archive, output)
    assert not report.ok
    assert any("body" in p for p in report.problems)

    # An author changed.
    swapped = original.replace(
        "<contributor><username>Bob</username><id>2</id></contributor>",
        "<contributor><username>Alice</username><id>1</id></contributor>",
    )
    dump.write_text(swapped, encoding="utf-8")
    report = _verify(archive, output)
    assert not report.ok
    assert any("author_id" in p for p in report.problems)


def test_verify_finds_links_the_export_broke(tmp_path: Path) -> None:
    archive = build_other_wiki_archive(tmp_path / "archive")
    output = tmp_path / "out"
    export(archive, "mediawiki", output)
    report = _verify(archive, output)
    if not report.links:
        pytest.skip("the link check (passerelle.verify.links) is not there")
    assert report.ok and report.links["broken_by_export"] == 0
    # The page the start page links to, renamed in the dump: its link no longer leads anywhere.
    dump = output / "dump.xml"
    dump.write_text(
        dump.read_text(encoding="utf-8").replace("<title>Wiki/syntax</title>", "<title>Wiki/other</title>"),
        encoding="utf-8",
    )
    report = _verify(archive, output)
    assert not report.ok
    assert report.links["broken_by_export"] >= 1
    assert any("broken by the export" in p for p in report.problems)


def test_two_persons_never_share_a_user_name(tmp_path: Path) -> None:
    archive = build_titles_archive(tmp_path / "archive", ["A", "B", "C"], authors=("ada@x", "Ada-x", "ada_x"))
    report = export(archive, "mediawiki", tmp_path / "out")
    root = _dump(tmp_path / "out")
    ns = root.nsmap[None]
    users = [
        r.findtext(f"{{{ns}}}contributor/{{{ns}}}username") or "" for r in root.iter(f"{{{ns}}}revision")
    ]
    # "Ada-x" is a user name as it is: it keeps it; "ada@x" would be the same, "ada_x" is "Ada x".
    assert sorted(users) == ["Ada x", "Ada-x", "Ada-x (2)"]
    assert report.log.codes()["mediawiki.user_renamed"] == 2
    assert _verify(archive, tmp_path / "out").ok


def test_texts_xml_cannot_carry_as_such_are_written_so_the_sha1_holds(tmp_path: Path) -> None:
    """A carriage return stays one (``&#13;``: a parser reads a literal one as a line feed);
    control characters XML 1.0 cannot carry become U+FFFD, with a note; the sha1 and bytes
    are those of the text written."""
    texts = {
        "Crlf": ("mediawiki", "line one\r\nline two\r"),
        "Control": ("mediawiki", "bell \x07 and \x1b esc"),
    }
    archive = build_titles_archive(tmp_path / "archive", list(texts), platform="dokuwiki", bodies=texts)
    report = export(archive, "mediawiki", tmp_path / "out")
    root = _dump(tmp_path / "out")
    ns = root.nsmap[None]
    got = {
        p.findtext(f"{{{ns}}}title"): (
            p.findtext(f"{{{ns}}}revision/{{{ns}}}text"),
            p.findtext(f"{{{ns}}}revision/{{{ns}}}sha1"),
        )
        for p in root.iter(f"{{{ns}}}page")
    }
    assert got["Crlf"] == ("line one\r\nline two\r", builder_sha1("line one\r\nline two\r"))
    assert got["Control"] == ("bell \ufffd and \ufffd esc", builder_sha1("bell \ufffd and \ufffd esc"))
    assert report.log.codes()["mediawiki.text_characters"] == 2  # the revision and the page
    assert _verify(tmp_path / "archive", tmp_path / "out").ok


def test_the_command_line_exports_and_verifies(tmp_path: Path) -> None:
    from tests.helpers import run, run_json, sample

    archive = tmp_path / "archive"
    assert run("ingest", str(sample("mediawiki/camchenry/simplewiki.xml")), "-o", str(archive)).exit_code == 0
    done = run("export", str(archive), "--to", "mediawiki", "-o", str(tmp_path / "out.zip"))
    assert done.exit_code == 0, done.output
    report = run_json("verify", str(archive), "--against", str(tmp_path / "out.zip"))
    assert report["ok"] and report["entities"]["revision"]["carried"] == 7
    formats = run("formats")
    assert "mediawiki" in formats.output


def test_each_construct_that_does_not_survive_is_a_note_naming_its_page(tmp_path: Path) -> None:
    """A DokuWiki page's macros and plugins have no MediaWiki form: each is said, with the page."""
    from passerelle.ingest import ingest
    from tests.dokuwiki_builder import Page, Rev, Wiki, write_wiki

    text = "~~NOTOC~~\n====== Plan ======\n{{tag>ops}}\nSee [[start]].\n"
    wiki = Wiki(
        pages=[
            Page("ops:plan", [Rev(1_600_000_000, text=text, type="C")]),
            Page("start", [Rev(1_600_000_001, text="x", type="C")]),
        ]
    )
    ingest([write_wiki(tmp_path / "wiki", wiki)], tmp_path / "a")
    result = export(tmp_path / "a", "mediawiki", tmp_path / "out")
    said = [n for n in result.log.notes if n.code.startswith("markup.")]
    assert {n.code for n in said} == {"markup.macro"}
    assert sorted(n.message for n in said if n.entity == "revision") == [
        "page 'ops:plan': {{tag>}}: macro or plugin not carried in mediawiki",
        "page 'ops:plan': ~~NOTOC~~: macro or plugin not carried in mediawiki",
    ]
    with Archive.open(tmp_path / "a") as archive:
        report = verify(archive, tmp_path / "out")
    assert isinstance(report, FidelityReport) and report.ok, report.problems
