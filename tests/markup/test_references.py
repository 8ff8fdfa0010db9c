"""references(): page links, files and URLs of wiki bodies, in order of appearance."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from passerelle.markup import references
from passerelle.model.entities import Reference, RefKind
from tests.helpers import sample

P, F, L = RefKind.PAGE, RefKind.FILE, RefKind.LINK


def refs(fmt: str, text: str) -> list[tuple[str, str, str | None]]:
    return [(r.kind.value, r.target, r.label) for r in references(fmt, text)]


def test_mediawiki_links_files_categories_and_urls_in_order() -> None:
    text = (
        "See [[Help:Contents#top|help]] and [[Main Page]]. [[File:Pic.png|thumb|200px|A [[caption link]]]]\n"
        "* [http://example.com Example] and http://bare.example.org/x.\n"
        "{{Infobox|a=[[Inside template]]}} <nowiki>[[not a link]]</nowiki> <!-- [[hidden]] -->\n"
        "[[Category:Fruit|Pear]] [[:File:X.png]] [[fr:Poire]] [[Media:Doc.pdf|doc]] [[#Section]]\n"
        "<pre>[[not either]]</pre><ref>[[Ref page]]</ref>\n"
        "<gallery>\nFile:G1.jpg|Caption one\nG2.png\n</gallery>\n"
    )
    assert refs("mediawiki", text) == [
        ("page", "Help:Contents", "help"),
        ("page", "Main Page", None),
        ("file", "File:Pic.png", "A [[caption link]]"),
        ("page", "caption link", None),
        ("link", "http://example.com", "Example"),
        ("link", "http://bare.example.org/x", None),
        ("page", "Inside template", None),
        ("page", "Category:Fruit", "Pear"),
        ("page", "File:X.png", None),
        ("link", "fr:Poire", None),
        ("file", "Media:Doc.pdf", "doc"),
        ("page", "Ref page", None),
        ("file", "File:G1.jpg", "Caption one"),
        ("file", "File:G2.png", None),
    ]
    assert all(isinstance(r, Reference) and r.target_id is None for r in references("mediawiki", text))


def test_dokuwiki() -> None:
    text = (
        "[[ns:page#sec|Label]] [[http://x.org|X]] {{ns:img.png?200|Img title}} [[wp>Foo]]\n"
        "http://bare.org {{ tag>a b }} [[.:rel]] <code>[[not]]</code> %%[[nor]]%% "
        "[[page|{{logo.png}}]] <me@example.com> www.example.com\n"
    )
    assert refs("dokuwiki", text) == [
        ("page", "ns:page", "Label"),
        ("link", "http://x.org", "X"),
        ("file", "ns:img.png", "Img title"),
        ("link", "wp>Foo", None),
        ("link", "http://bare.org", None),
        ("page", ".:rel", None),
        ("page", "page", "{{logo.png}}"),
        ("file", "logo.png", None),
        ("link", "mailto:me@example.com", None),
        ("link", "www.example.com", None),
    ]


def test_xwiki() -> None:
    text = (
        "[[Label>>Space.Page]] [[doc:Other.WebHome]] [[attach:file.png]] "
        '[[image:Space.Page@pic.png||width="100"]] [[url:http://x.org]] http://y.org/a\n'
        '{{code language="python"}}\n[[no>>link]]\n{{/code}} {{{[[verbatim]]}}} ~[~[escaped]]\n'
        'image:pic2.png [[label>>Page||anchor="H1"]] [[Sp.Page#anchor]] [[mailto:a@b.c]]'
    )
    assert refs("xwiki/2.1", text) == [
        ("page", "Space.Page", "Label"),
        ("page", "Other.WebHome", None),
        ("file", "file.png", None),
        ("file", "Space.Page@pic.png", None),
        ("link", "http://x.org", None),
        ("link", "http://y.org/a", None),
        ("file", "pic2.png", None),
        ("page", "Page", "label"),
        ("page", "Sp.Page", None),
        ("link", "mailto:a@b.c", None),
    ]


def test_markdown_and_html() -> None:
    assert refs(
        "markdown", "[a](Page) ![i](x.png) <http://z.org> http://w.org `[c](d)`\n```\n[e](f)\n```"
    ) == [
        ("page", "Page", "a"),
        ("file", "x.png", "i"),
        ("link", "http://z.org", None),
        ("link", "http://w.org", None),
    ]
    assert refs("html", '<a href="Page">x</a> <img src="f.png" alt="F"> <a href="https://e.org">e</a>') == [
        ("page", "Page", None),
        ("file", "f.png", "F"),
        ("link", "https://e.org", None),
    ]


def test_unknown_format() -> None:
    assert references("slack-mrkdwn", "[[Page]]") == ()


def _sample_texts() -> list[tuple[str, str]]:
    pages = []
    title = ""
    for _, elem in ET.iterparse(sample("mediawiki/camchenry/enwiki-articles-partial.xml")):
        if elem.tag.endswith("}title"):
            title = elem.text or ""
        elif elem.tag.endswith("}text"):
            pages.append((title, elem.text or ""))
    return pages


def test_references_on_real_wikipedia_pages() -> None:
    pages = dict(_sample_texts())
    assert len(pages) == 11
    counts = {
        title: (
            sum(r.kind is P for r in references("mediawiki", text)),
            sum(r.kind is L for r in references("mediawiki", text)),
        )
        for title, text in pages.items()
    }
    assert counts["Konica Minolta Cup"] == (3, 0)
    assert counts["Archer (typeface)"] == (27, 4)
    assert counts["Ricky Minard"] == (79, 23)
    assert counts["Wikipedia:Articles for deletion/Katisha"] == (19, 0)  # Wikipedia: is a namespace
    assert sum(p for p, _ in counts.values()) == 141
    konica = [r.target for r in references("mediawiki", pages["Konica Minolta Cup"])]
    assert konica == ["Japan LPGA Championship", "WRU Challenge Cup", "Konica Cup (football)"]


def test_fast_on_a_megabyte() -> None:
    text = "\n".join(t for _, t in _sample_texts())
    while len(text) < 1_000_000:
        text += text
    start = time.perf_counter()
    references("mediawiki", text)
    assert time.perf_counter() - start < 1.0


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["mediawiki", "dokuwiki", "xwiki/2.1", "xwiki/1.0", "markdown", "html"]), st.text())
def test_never_raises(fmt: str, text: str) -> None:
    for ref in references(fmt, text):
        assert ref.kind in (P, F, L)
        assert ref.target
