"""normalise(): a readable CommonMark rendering of wiki bodies, fast and never failing."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from passerelle.markup import normalise


def test_mediawiki() -> None:
    text = (
        "== Heading ==\n'''Bold''' and ''italic'' [[Help:Contents#top|help]] [[Main Page]]"
        " [[File:Pic.png|thumb|A caption]] [http://e.com E]\n"
        "* item\n** nested\n# one\n{{Infobox|a=1}}__TOC__\n"
        '{| class="wikitable"\n! A !! B\n|-\n| 1 || 2\n|-\n| style="x" | 3 || [[Four|4]]\n|}\n'
        'Text<ref name="a">Note [[Ref]]</ref> again<ref name="a"/>.\n'
        ' pre line\n<syntaxhighlight lang="python">print(1)</syntaxhighlight>\n'
        "[[Category:Fruit]]"
    )
    assert normalise("mediawiki", text) == (
        "## Heading\n\n"
        "**Bold** and *italic* [help](<Help:Contents#top>) [Main Page](<Main Page>)"
        " ![A caption](<Pic.png>) [E](<http://e.com>)\n"
        "- item\n  - nested\n1. one\n\n"
        "| A | B |\n|---|---|\n| 1 | 2 |\n| 3 | [4](<Four>) |\n\n"
        "Text[^1] again[^1].\n\n```\npre line\n```\n\n```python\nprint(1)\n```\n\n"
        "[^1]: Note [Ref](<Ref>)"
    )


def test_dokuwiki() -> None:
    text = (
        "====== Title ======\n**b** //i// ''m'' [[ns:page|Label]] {{img.png?200|Alt}}\n"
        "  * item\n    - sub\n^ H ^ I ^\n| a | b |\n<code python>\nx = 1\n</code>\nNote((fn))\n"
    )
    assert normalise("dokuwiki", text) == (
        "# Title\n\n**b** *i* `m` [Label](<ns:page>) ![Alt](<img.png>)\n- item\n   1. sub\n\n"
        "| H | I |\n|---|---|\n| a | b |\n\n```python\nx = 1\n```\n\nNote[^1]\n\n[^1]: fn\n"
    )


def test_xwiki() -> None:
    text = (
        "= Title =\n**b** //i// ##m## [[Label>>Space.Page]] [[image:pic.png]]\n* a\n** b\n1. c\n"
        '|=H|=I\n|a|b\n{{code language="java"}}\nx();\n{{/code}}\n{{toc/}}{{info}}Note{{/info}} ~**\n'
    )
    assert normalise("xwiki/2.1", text) == (
        "# Title\n\n**b** *i* `m` [Label](<Space.Page>) ![](<pic.png>)\n- a\n  - b\n1. c\n\n"
        "| H | I |\n|---|---|\n| a | b |\n\n```java\nx();\n```\n\nNote **\n"
    )


def test_unknown_and_markdown_unchanged() -> None:
    assert normalise("markdown", "# x\n") == "# x\n"
    assert normalise("css", "a { b: c }") == "a { b: c }"


def test_fast_on_a_megabyte() -> None:
    page = "== H ==\n'''b''' [[Link|l]] {{T|x}} <ref>n</ref>\n* i\n{|\n| a || b\n|}\n" * 20
    text = page * (1_000_000 // len(page))
    for fmt in ("mediawiki", "dokuwiki", "xwiki/2.1", "html"):
        start = time.perf_counter()
        normalise(fmt, text)
        assert time.perf_counter() - start < 1.0, fmt


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["mediawiki", "dokuwiki", "xwiki/2.1", "xwiki/1.0", "markdown", "html"]), st.text())
def test_never_raises(fmt: str, text: str) -> None:
    assert isinstance(normalise(fmt, text), str)
