"""Page naming per wiki, and the keys links are matched by."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from passerelle.markup import link_keys, page_key, page_name
from passerelle.markup.naming import file_name, xwiki_split


def test_page_name_in_each_wiki() -> None:
    assert page_name("mediawiki", "main_page") == "Main page"
    assert page_name("mediawiki", "help:contents") == "Help:Contents"
    assert page_name("mediawiki", "A [b] {c} #d") == "A -b- -c- -d"
    assert page_name("dokuwiki", "Wiki/Sub:My Page Été") == "wiki:sub:my_page_ete"
    assert page_name("xwiki/2.1", "Help:Contents v1.2") == "Help.Contents v1\\.2"
    assert page_name("markdown", "A  b") == "A b"


def test_page_name_across_wikis_follows_the_writers() -> None:
    assert page_name("mediawiki", "wiki:sub:my_page", "dokuwiki") == "Wiki/sub/my page"
    assert page_name("mediawiki", "Main.WebHome", "xwiki") == "Main"
    assert page_name("mediawiki", "Sales.Q1\\.2024.Notes", "xwiki/2.1") == "Sales/Q1.2024/Notes"
    assert page_name("dokuwiki", "Help:Contents", "mediawiki") == "help:contents"
    assert page_name("xwiki/2.1", "Help:Contents/Sub", "mediawiki") == "Help.Contents.Sub"
    assert page_name("xwiki/2.1", "ns:my_page", "dokuwiki") == "ns.my_page"


def test_file_names() -> None:
    assert file_name("mediawiki", "wiki:logo.png") == "Wiki-logo.png"
    assert file_name("dokuwiki", "Wiki:Logo One.png") == "wiki:logo_one.png"
    assert file_name("xwiki/2.1", "Space.Page@pic.png") == "pic.png"


def test_page_keys_say_when_two_names_are_one_page() -> None:
    assert page_key("mediawiki", "help:main_page") == page_key("mediawiki", "Help:Main page")
    assert page_key("mediawiki", "Image:X.png") == page_key("mediawiki", "file:X.png")
    assert page_key("mediawiki", "foo") == page_key("mediawiki", "Foo") != page_key("mediawiki", "FOO")
    assert page_key("dokuwiki", "NS:My Page") == "ns:my_page"
    assert page_key("xwiki", "Main.WebHome") == page_key("xwiki", "Main") == "Main"
    assert xwiki_split("A\\.B.C") == ["A.B", "C"]


def test_link_keys_resolve_relative_links() -> None:
    assert link_keys("dokuwiki", "page", "ns:sub:current") == ("ns:sub:page",)
    assert link_keys("dokuwiki", ".:page", "ns:sub:current") == ("ns:sub:page",)
    assert link_keys("dokuwiki", "..:page", "ns:sub:current") == ("ns:page",)
    assert link_keys("dokuwiki", ":page", "ns:sub:current") == ("page",)
    assert link_keys("dokuwiki", "other:", "ns:current") == ("other:start",)
    assert link_keys("mediawiki", "/Sub", "Parent") == ("Parent/Sub",)
    assert link_keys("mediawiki", "Main%20Page", None) == ("Main Page",)
    assert link_keys("xwiki", "Sibling", "Space.Page") == ("Sibling", "Space.Sibling")
    assert link_keys("xwiki", "xwiki:Other.WebHome", "Space.WebHome") == ("Other", "Space.Other")


@given(st.sampled_from(["mediawiki", "dokuwiki", "xwiki", "markdown"]), st.text())
def test_keys_are_stable(platform: str, title: str) -> None:
    key = page_key(platform, title)
    assert page_key(platform, key) == key or platform == "xwiki"
    assert isinstance(page_name(platform, title), str)
    assert all(isinstance(k, str) for k in link_keys(platform, title, title))
