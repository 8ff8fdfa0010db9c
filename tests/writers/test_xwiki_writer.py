"""The XAR writer: XWiki archives written back as they were (round trip), history as JRCS,
attachments streamed, comments with replies; other wikis' pages named, kept in their markup,
and verified; what has no place in a XAR said."""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from pathlib import Path

from passerelle.archive import Archive
from passerelle.export import export
from passerelle.ingest import ingest
from passerelle.readers.xwiki_jrcs import versions
from passerelle.verify import verify
from passerelle.verify.fidelity import FidelityReport
from passerelle.writers.xwiki import reference_for
from tests.helpers import rows, sample
from tests.xwiki_builder import PDF_V1, write_feature


def _fidelity(archive: Path, output: Path) -> FidelityReport:
    with Archive.open(archive) as opened:
        report = verify(opened, output)
    assert isinstance(report, FidelityReport)
    return report


def test_feature_package_round_trips_with_history_attachments_and_comments(tmp_path: Path) -> None:
    ingest([write_feature(tmp_path / "f.xar")], tmp_path / "a")
    result = export(tmp_path / "a", "xar", tmp_path / "out.xar")
    assert result.log.codes() == {}  # an XWiki archive is carried exactly
    with zipfile.ZipFile(tmp_path / "out.xar") as zf:
        package = zf.read("package.xml").decode()
        assert (
            "<backupPack>true</backupPack>" in package
            and "<preserveVersion>true</preserveVersion>" in package
        )
        projects = zf.read("Projects/WebHome.xml").decode()
        alpha = zf.read("Projects/Alpha/WebHome.xml").decode()
        assert "Projects/WebHome.fr.xml" in zf.namelist()
    assert projects.startswith("<?xml version='1.1' encoding='UTF-8'?>")
    history = re.search(r"<versions>(.*)</versions>", projects, re.S)
    assert history is not None
    text = history.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert [v.version for v in versions(text)] == ["2.1", "1.2", "1.1"]
    # the older version of report.pdf, in <revisions>, its bytes in base64
    assert base64.b64encode(PDF_V1).decode() in alpha
    assert alpha.count("<className>XWiki.XWikiComments</className>") == 3
    report = _fidelity(tmp_path / "a", tmp_path / "out.xar")
    assert report.ok, report.problems
    assert report.entities["revision"].carried == 16 and report.entities["file"].carried == 5


def test_factharbor_round_trip_is_exact(tmp_path: Path) -> None:
    ingest([sample("xwiki/factharbor-organisation/FactHarbor_Organisation_20.Jan.26.xar")], tmp_path / "a")
    export(tmp_path / "a", "xar", tmp_path / "out.xar")
    report = _fidelity(tmp_path / "a", tmp_path / "out.xar")
    assert report.ok, report.problems
    assert report.entities["item"].carried == 83 and report.entities["person"].carried == 23
    with zipfile.ZipFile(tmp_path / "out.xar") as zf:
        assert len([n for n in zf.namelist() if n.endswith(".xml") and n != "package.xml"]) == 83


def test_other_wikis_pages_are_named_and_verified(tmp_path: Path) -> None:
    source = sample("mediawiki/camchenry/simplewiki.xml")
    ingest([source], tmp_path / "a")
    result = export(tmp_path / "a", "xar", tmp_path / "out.xar")
    report = _fidelity(tmp_path / "a", tmp_path / "out.xar")
    assert report.ok, report.problems
    codes = result.log.codes()
    assert codes["xwiki.export_reference"] >= 7 and codes["xwiki.export_markup"] >= 7
    with zipfile.ZipFile(tmp_path / "out.xar") as zf:
        documents = [n for n in zf.namelist() if n.endswith("/WebHome.xml")]
        some = zf.read(documents[0]).decode()
    assert len(documents) == 7
    # converted to XWiki 2.1 by passerelle.markup (pandoc), links renamed to the new references
    assert "<syntaxId>xwiki/2.1</syntaxId>" in some
    second = tmp_path / "second"
    ingest([tmp_path / "out.xar"], second)
    pages = rows(second, "SELECT count(*), count(DISTINCT body_format) FROM items WHERE kind = 'page'")
    assert pages == [(7, 1)]
    assert report.links["broken_by_export"] == 0
    assert reference_for("mediawiki", "Help:Contents", True) == "Help.Contents.WebHome"
    assert reference_for("mediawiki", "A/B", False) == "A.B.WebHome"
    assert reference_for("dokuwiki", "ns:sub:page", True) == "ns.sub.page.WebHome"
    assert reference_for("mediawiki", "Version 1.2", False) == "Version 1\\.2.WebHome"


def test_chat_items_are_lost_with_a_note(tmp_path: Path) -> None:
    ingest([sample("slack/slack-export-viewer-testarchive/testarchive.zip")], tmp_path / "a")
    result = export(tmp_path / "a", "xar", tmp_path / "out.xar")
    with Archive.open(tmp_path / "a") as opened:
        items = opened.store.scalar("SELECT count(*) FROM items")
    assert result.log.tally["item"]["lost"] == items
    report = _fidelity(tmp_path / "a", tmp_path / "out.xar")
    assert report.ok, report.problems


def test_output_is_deterministic_and_attachment_bytes_stream(tmp_path: Path) -> None:
    ingest([write_feature(tmp_path / "f.xar")], tmp_path / "a")
    export(tmp_path / "a", "xar", tmp_path / "one.xar")
    export(tmp_path / "a", "xar", tmp_path / "two.xar")
    assert (tmp_path / "one.xar").read_bytes() == (tmp_path / "two.xar").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.xar") as zf:
        alpha = zf.read("Projects/Alpha/WebHome.xml").decode()
    contents = re.findall(r"<content>([A-Za-z0-9+/=]+)</content>", alpha)
    digests = {hashlib.sha256(base64.b64decode(c)).hexdigest() for c in contents}
    stored = {sha for (sha,) in rows(tmp_path / "a", "SELECT sha256 FROM files")}
    assert digests <= stored and len(digests) == 5


def test_private_space_of_another_wiki_becomes_view_rights(tmp_path: Path) -> None:
    from tests.dokuwiki_builder import write_generated

    ingest([write_generated(tmp_path / "wiki")], tmp_path / "a")
    private = rows(
        tmp_path / "a", "SELECT id, name FROM spaces WHERE visibility = 'private' AND kind = 'wiki_space'"
    )
    assert private, "the generated DokuWiki has a private namespace"
    result = export(tmp_path / "a", "xar", tmp_path / "out.xar")
    name = private[0][1]
    assert f"{name}.WebPreferences" in result.log.structure
    with zipfile.ZipFile(tmp_path / "out.xar") as zf:
        preferences = zf.read(f"{name}/WebPreferences.xml").decode()
    assert (
        "<className>XWiki.XWikiGlobalRights</className>" in preferences
        and "<levels>view</levels>" in preferences
    )
    report = _fidelity(tmp_path / "a", tmp_path / "out.xar")
    assert report.ok, report.problems
    ingest([tmp_path / "out.xar"], tmp_path / "b")
    assert rows(tmp_path / "b", "SELECT visibility FROM spaces WHERE native_id = ?", (name,)) == [
        ("private",)
    ]


def test_xml_11_control_characters_survive_the_round_trip(tmp_path: Path) -> None:
    from tests.xwiki_builder import Xar

    text = (
        "<?xml version='1.1' encoding='UTF-8'?>\n"
        '<xwikidoc version="1.6" reference="Main.Ctl" locale="">\n'
        "  <web>Main</web>\n  <name>Ctl</name>\n  <creator>XWiki.Alice</creator>\n"
        "  <version>1.1</version>\n  <syntaxId>xwiki/2.1</syntaxId>\n"
        "  <content>bell&#7;here &#x1B;[0m</content>\n</xwikidoc>\n"
    )
    ingest(
        [Xar([], entries={"Main/Ctl.xml": text.encode()}, package=False).write(tmp_path / "c.xar")],
        tmp_path / "a",
    )
    export(tmp_path / "a", "xar", tmp_path / "out.xar")
    ingest([tmp_path / "out.xar"], tmp_path / "b")
    query = "SELECT raw, body_source FROM items"
    assert rows(tmp_path / "b", query) == rows(tmp_path / "a", query)
    assert rows(tmp_path / "b", "SELECT body_source FROM items") == [("bell\x07here \x1b[0m",)]


def test_each_construct_that_does_not_survive_is_a_note_naming_its_page(tmp_path: Path) -> None:
    """A MediaWiki page's templates and magic words have no XWiki form: each is said, with the page."""
    from tests.mediawiki_builder import Page, Rev, write_dump

    text = "{{Infobox|a=1}}\n__NOTOC__\n'''Bold''' and [[Other]].\n"
    pages = [Page("Plan", [Rev(1, text)], id=1), Page("Other", [Rev(2, "x")], id=2)]
    ingest([write_dump(tmp_path / "dump.xml", pages=pages)], tmp_path / "a")
    result = export(tmp_path / "a", "xar", tmp_path / "out.xar")
    said = sorted((n.code, n.message) for n in result.log.notes if n.code.startswith("markup."))
    assert said == [
        ("markup.magic_word", "page 'Plan': __NOTOC__: magic word with no equivalent in xwiki/2.1"),
        (
            "markup.template",
            "page 'Plan': {{Infobox}}: template not expanded (the target has no such template) in xwiki/2.1",
        ),
    ]
    assert _fidelity(tmp_path / "a", tmp_path / "out.xar").ok
