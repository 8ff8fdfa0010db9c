"""The link check: broken internal links and missing files of wiki pages, resolved in the
same wiki (current bodies), reported by source verification without failing it."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from passerelle.archive import Archive
from passerelle.verify import verify
from passerelle.verify.links import broken_links, check_links, file_key
from passerelle.verify.report import VerifyReport
from tests.helpers import ingest_verified, sample

_REVISION = (
    "<revision><id>{rid}</id><timestamp>2024-01-0{day}T00:00:00Z</timestamp>"
    "<contributor><username>A</username><id>1</id></contributor>"
    '<model>wikitext</model><format>text/x-wiki</format><text xml:space="preserve">{text}</text></revision>'
)


def _dump(path: Path) -> Path:
    main = (
        "[[help:contents|help]] [[Missing page]] [[main_Page#Top]] [[Special:RecentChanges]] "
        "[[File:Present.png|thumb]] [[File:Absent.png]] [[Media:Present.png]] [[fr:Page]] http://example.com"
    )
    pages = [
        (
            "Main Page",
            0,
            1,
            [_REVISION.format(rid=1, day=1, text="Old [[Gone]]"), _REVISION.format(rid=2, day=2, text=main)],
        ),
        ("Help:Contents", 12, 2, [_REVISION.format(rid=3, day=1, text="[[Main Page]]; [[Help:Nothing]]")]),
        ("File:Present.png", 6, 3, [_REVISION.format(rid=4, day=1, text="")]),
    ]
    upload = (
        "<upload><timestamp>2024-01-01T00:00:00Z</timestamp><contributor><username>A</username><id>1</id>"
        "</contributor><comment>up</comment><filename>Present.png</filename><src>http://x/Present.png</src>"
        f'<size>3</size><rel>a/ab/Present.png</rel><contents encoding="base64">{base64.b64encode(b"abc").decode()}'
        "</contents></upload>"
    )
    body = "".join(
        f"<page><title>{t}</title><ns>{ns}</ns><id>{i}</id>{''.join(revs)}{upload if i == 3 else ''}</page>"
        for t, ns, i, revs in pages
    )
    path.write_text(
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="en">'
        "<siteinfo><sitename>Test</sitename><dbname>testwiki</dbname><case>first-letter</case><namespaces>"
        '<namespace key="0" case="first-letter" /><namespace key="6" case="first-letter">File</namespace>'
        '<namespace key="12" case="first-letter">Help</namespace></namespaces></siteinfo>'
        f"{body}</mediawiki>",
        encoding="utf-8",
    )
    return path


def _broken(archive: Path) -> list[tuple[str, str, str, str]]:
    with Archive.open(archive) as opened:
        return sorted((b.page, b.kind, b.target, b.reason) for b in broken_links(opened))


def test_mediawiki_links_resolve_by_mediawiki_rules(tmp_path: Path) -> None:
    archive = ingest_verified(tmp_path, _dump(tmp_path / "wiki.xml"))
    with Archive.open(archive) as opened:
        report = check_links(opened)
    # Main Page: help:contents (found: namespaces are case-insensitive), Missing page,
    # main_Page (itself: "_" is a space, the first letter is case-insensitive); Special: is
    # not checked, fr: is an interlanguage link, the old revision's [[Gone]] is not current.
    assert (report.pages, report.page_links, report.broken_page_links) == (3, 5, 2)
    assert (report.file_links, report.missing_files) == (3, 1)
    assert _broken(archive) == [
        ("Help:Contents", "page", "Help:Nothing", "not found"),
        ("Main Page", "file", "File:Absent.png", "not found"),
        ("Main Page", "page", "Missing page", "not found"),
    ]


def test_source_verification_lists_them_without_failing(tmp_path: Path) -> None:
    source = _dump(tmp_path / "wiki.xml")
    archive = ingest_verified(tmp_path, source)
    with Archive.open(archive) as opened:
        report = verify(opened, source)
    assert isinstance(report, VerifyReport) and report.ok
    assert report.links is not None
    links = json.loads(json.dumps(report.as_json()))["links"]
    assert (links["broken_page_links"], links["missing_files"]) == (2, 1)
    assert {"page": "Main Page", "kind": "page", "target": "Missing page", "reason": "not found"} in links[
        "broken"
    ]


def test_dokuwiki_relative_links_and_media(tmp_path: Path) -> None:
    data = tmp_path / "dw" / "data"
    (data / "pages" / "ns").mkdir(parents=True)
    (data / "media" / "ns").mkdir(parents=True)
    (data / "pages" / "ns" / "a.txt").write_text(
        "[[b]] [[:ns:c]] [[.:missing]] [[:top]] [[ns:B#x]] {{ns:pic.png}} {{ :ns:Pic.png?20 }} {{gone.png}}\n"
    )
    (data / "pages" / "ns" / "b.txt").write_text("Back [[a]] [[..:top]]\n")
    (data / "pages" / "top.txt").write_text("Top [[ns:a]]\n")
    (data / "media" / "ns" / "pic.png").write_bytes(b"PNG")
    archive = ingest_verified(tmp_path, tmp_path / "dw")
    with Archive.open(archive) as opened:
        report = check_links(opened)
    assert (report.pages, report.page_links, report.broken_page_links) == (3, 8, 2)
    assert (report.file_links, report.missing_files) == (3, 1)
    assert _broken(archive) == [
        ("ns:a", "file", "gone.png", "not found"),
        ("ns:a", "page", ".:missing", "not found"),
        ("ns:a", "page", ":ns:c", "not found"),
    ]


def test_the_real_xwiki_export_and_the_real_wikipedia_pages(tmp_path: Path) -> None:
    xar = sample("xwiki/factharbor-organisation/FactHarbor_Organisation_20.Jan.26.xar")
    with Archive.open(ingest_verified(tmp_path, xar, "xwiki")) as opened:
        report = check_links(opened)
    # The Organisation space was exported alone: its links into Specification are broken.
    assert (report.pages, report.page_links, report.broken_page_links) == (83, 131, 16)
    assert sum("FactHarbor.Specification." in b.target for b in report.broken) == 14
    enwiki = sample("mediawiki/camchenry/enwiki-articles-partial.xml")
    with Archive.open(ingest_verified(tmp_path, enwiki, "enwiki")) as opened:
        report = check_links(opened, limit=5)
    # 11 unrelated articles: none links to another (and Wikipedia: is a namespace, not interwiki)
    assert (report.pages, report.page_links, report.broken_page_links) == (11, 141, 141)
    assert len(report.broken) == 5


def test_file_keys() -> None:
    assert file_key("mediawiki", "File:my_pic.png") == "My pic.png"
    assert file_key("dokuwiki", ":NS:Pic.png") == "ns:pic.png"
    assert file_key("xwiki", "pic.png") == "pic.png"
