"""convert(): wiki markup to another wiki's syntax with pandoc, a fallback, and every
construct that does not survive said (a loss naming the page).

Golden files: the inputs are in ``golden/inputs/<name>.<ext>`` (the extension names the
source: .wiki MediaWiki, .dokuwiki, .xwiki XWiki 2.1, .md Markdown, .html); the expected
output of each direction in ``golden/<from>-to-<to>/<name>.<ext>``, its losses in
``<name>.losses`` (one ``code construct`` per line) and its method in the first line of the
losses file. ``UPDATE_GOLDEN=1`` writes them anew (then read the diff).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from passerelle.diagnostics import CODES
from passerelle.markup import TARGETS, Page, convert, convert_many, pandoc
from passerelle.markup.convert import Conversion

GOLDEN = Path(__file__).parent / "golden"
FORMAT_OF = {
    ".wiki": "mediawiki",
    ".dokuwiki": "dokuwiki",
    ".xwiki": "xwiki/2.1",
    ".md": "markdown",
    ".html": "html",
}
EXT_OF = {"mediawiki": "wiki", "dokuwiki": "dokuwiki", "xwiki/2.1": "xwiki", "markdown": "md"}
SHORT = {
    "mediawiki": "mediawiki",
    "dokuwiki": "dokuwiki",
    "xwiki/2.1": "xwiki",
    "markdown": "markdown",
    "html": "html",
}
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _cases() -> list[tuple[Path, str, str]]:
    cases = []
    for path in sorted((GOLDEN / "inputs").iterdir()):
        source = FORMAT_OF[path.suffix]
        for target in sorted(TARGETS):
            if target != source:
                cases.append((path, source, target))
    return cases


def _losses_text(c: Conversion) -> str:
    return c.method + "\n" + "".join(f"{loss.code} {loss.construct}\n" for loss in c.losses)


@pytest.mark.parametrize(
    ("path", "source", "target"),
    _cases(),
    ids=[f"{SHORT[s]}-to-{SHORT[t]}-{p.stem}" for p, s, t in _cases()],
)
def test_golden(path: Path, source: str, target: str) -> None:
    page = path.stem.capitalize()
    result = convert(path.read_text(encoding="utf-8"), source, target, page=page)
    folder = GOLDEN / f"{SHORT[source]}-to-{SHORT[target]}"
    expected = folder / f"{path.stem}.{EXT_OF[target]}"
    expected_losses = folder / f"{path.stem}.losses"
    if UPDATE:
        folder.mkdir(exist_ok=True)
        expected.write_text(result.text, encoding="utf-8")
        expected_losses.write_text(_losses_text(result), encoding="utf-8")
    assert result.text == expected.read_text(encoding="utf-8")
    assert _losses_text(result) == expected_losses.read_text(encoding="utf-8")
    for loss in result.losses:
        assert loss.code in CODES
        assert repr(page) in loss.detail  # every loss names its page


def test_the_pear_table_goes_through_the_fallback_with_its_loss() -> None:
    text = (GOLDEN / "inputs" / "pear.wiki").read_text(encoding="utf-8")
    for target in sorted(TARGETS - {"mediawiki"}):
        result = convert(text, "mediawiki", target, page="Pear")
        assert result.method == "fallback"
        assert result.losses[0].code == "markup.pandoc_failed"
        assert "Pear" in result.losses[0].detail and "unexpected 's'" in result.losses[0].detail
        assert "Pyrus communis" in result.text and "East Asia" in result.text and "Cultivation" in result.text


def test_one_failing_page_does_not_take_its_batch_down() -> None:
    pear = (GOLDEN / "inputs" / "pear.wiki").read_text(encoding="utf-8")
    pages = [Page(f"Page '''{i}'''", "mediawiki", f"P{i}") for i in range(10)]
    pages.insert(5, Page(pear, "mediawiki", "Pear"))
    results = list(convert_many(pages, "markdown"))
    assert [r.method for r in results] == ["pandoc"] * 5 + ["fallback"] + ["pandoc"] * 5
    assert results[0].text == "Page **0**\n"


def test_templates_and_macros_are_losses_naming_the_page() -> None:
    result = convert("{{Infobox|a=1}}\n{{stub}} {{stub}}\ntext", "mediawiki", "dokuwiki", page="Fruit")
    assert [(loss.code, loss.construct) for loss in result.losses] == [
        ("markup.template", "{{Infobox}}"),
        ("markup.template", "{{stub}}"),
    ]
    assert result.losses[1].detail.startswith("page 'Fruit': {{stub}} (2 times)")
    result = convert("{{info}}x{{/info}}", "xwiki/2.1", "mediawiki", page="Main.WebHome")
    assert [(loss.code, loss.construct) for loss in result.losses] == [("markup.macro", "{{info}}")]


def test_links_and_images_are_renamed() -> None:
    pages = {"Main Page": "start", "Help:Contents": "help:contents"}
    result = convert(
        "[[Main Page|home]] [[Help:Contents#Top]] [[Unknown]] [[File:A b.png|x]] [http://e.org e]",
        "mediawiki",
        "dokuwiki",
        page="P",
        link=pages.get,
        file=lambda name: "media:" + name.lower().replace(" ", "_"),
    )
    assert result.text == (
        "[[start|home]] [[help:contents#Top|Help:Contents#Top]] [[Unknown]] {{media:a_b.png|x}} "
        "[[http://e.org|e]]\n"
    )
    default = convert("[[Main Page]] [[Help:Contents]]", "mediawiki", "xwiki/2.1", page="P")
    assert default.text == "[[Main Page>>Main Page]] [[Help:Contents>>Help.Contents]]\n"


def test_identity_keeps_the_text_and_renames_only_what_the_functions_change() -> None:
    text = "{{T}} [[Main Page|x]] [[File:A.png|thumb]] [[Other]]"
    assert convert(text, "mediawiki", "mediawiki", page="P") == Conversion(text, "identity")
    renamed = convert(
        text, "mediawiki", "mediawiki", page="P", link={"Main Page": "Home"}.get, file=lambda n: None
    )
    assert renamed.text == "{{T}} [[Home|x]] [[File:A.png|thumb]] [[Other]]"
    assert (
        convert("[[a>>B.C]]", "xwiki/2.0", "xwiki/2.1", page="P", link=lambda n: "X.Y").text == "[[a>>X.Y]]"
    )
    assert convert("[[ns:a|b]]", "dokuwiki", "dokuwiki", page="p", link=lambda n: "ns:z").text == "[[ns:z|b]]"


def test_without_pandoc_every_page_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulates a machine without pandoc (it is a dependency, so always there in tests).
    monkeypatch.setenv("PASSERELLE_PANDOC", "/nonexistent/pandoc")
    pandoc.pandoc_path.cache_clear()
    try:
        result = convert("== H ==\n'''b''' [[Link]]", "mediawiki", "dokuwiki", page="P")
    finally:
        monkeypatch.delenv("PASSERELLE_PANDOC")
        pandoc.pandoc_path.cache_clear()
    assert result.method == "fallback"
    assert "pandoc is not installed" in result.losses[0].detail
    assert result.text == "===== H =====\n\n**b** [[link|Link]]\n"


def test_unknown_target_is_refused_and_unknown_source_kept_readable() -> None:
    with pytest.raises(ValueError, match="no conversion"):
        convert("x", "mediawiki", "confluence", page="P")
    result = convert("a { color: red }", "css", "mediawiki", page="Style.css")
    assert result.method == "fallback" and result.losses[0].code == "markup.unknown_format"
    assert result.text == "<pre>a { color: red }</pre>\n"


@settings(max_examples=12, deadline=None)
@given(
    st.lists(st.text(max_size=300), min_size=1, max_size=12),
    st.sampled_from(["mediawiki", "dokuwiki", "xwiki/2.1", "markdown", "html"]),
    st.sampled_from(sorted(TARGETS)),
)
def test_convert_never_raises_and_always_returns_text(texts: list[str], source: str, target: str) -> None:
    results = list(convert_many([Page(t, source, f"P{i}") for i, t in enumerate(texts)], target))
    assert len(results) == len(texts)
    for result in results:
        assert isinstance(result.text, str)
        assert result.method in ("identity", "pandoc", "fallback")


_TOKENS = st.sampled_from(
    [
        "[[", "]]", "{{", "}}", "{|", "|}", "|-", "||", "!!", "\n", "\n\n", "'''", "''", "==", "=", "* ", "# ",
        ": ", "; ", "<ref>", "</ref>", '<ref name="a"/>', "<nowiki>", "</nowiki>", "<pre>", "<gallery>",
        "File:", "Category:", "a", "b c", " ", "http://x.org/a", "~~", "//", "**", "^", "|", ">>", "{{{",
        "}}}", "(%", "%)", "((", "))", "%%", "<code>", "</code>", "```", "`", "> ", "image:", "attach:",
        "__TOC__", "#if:", "  * ", "  - ", "----", "\\\\", "~",
    ]
)  # fmt: skip
_WIKIISH = st.lists(_TOKENS, max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    _WIKIISH,
    st.sampled_from(["mediawiki", "dokuwiki", "xwiki/2.1", "xwiki/1.0", "markdown", "html", "text"]),
    st.sampled_from(sorted(TARGETS)),
)
def test_the_fallback_never_raises(text: str, source: str, target: str) -> None:
    from passerelle.markup.fallback import fallback

    assert isinstance(fallback(text, source, target, lambda n: n, lambda n: n), str)


@settings(max_examples=10, deadline=None)
@given(
    st.lists(_WIKIISH, min_size=1, max_size=16),
    st.sampled_from(["mediawiki", "dokuwiki", "xwiki/2.1", "markdown"]),
    st.sampled_from(sorted(TARGETS)),
)
def test_wiki_like_text_converts_without_raising(texts: list[str], source: str, target: str) -> None:
    results = list(convert_many([Page(t, source, f"P{i}") for i, t in enumerate(texts)], target))
    assert len(results) == len(texts) and all(isinstance(r.text, str) for r in results)


def test_a_batch_that_dies_is_halved_down_to_its_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real pandoc, given a time limit no process can keep: every batch dies, is halved,
    # and each page ends alone in the fallback, saying why.
    monkeypatch.setattr(pandoc, "_timeout", lambda jobs: 0.001)
    calls: list[int] = []
    real = pandoc._run_once

    def counted(jobs: list[dict[str, str]]) -> list[pandoc.Answer] | str:
        calls.append(len(jobs))
        return real(jobs)

    monkeypatch.setattr(pandoc, "_run_once", counted)
    filler = "''a'' " * 20_000  # 100 KB: more than a millisecond's work, even for a warm pandoc
    pages = [Page(f"'''{i}'''\n\n{filler}", "mediawiki", f"P{i}") for i in range(4)]
    results = list(convert_many(pages, "markdown"))
    assert [r.method for r in results] == ["fallback"] * 4
    assert [r.text.split("\n", 1)[0] for r in results] == ["**0**", "**1**", "**2**", "**3**"]
    assert "pandoc took more than 0 s" in results[0].losses[0].detail
    assert sorted(calls, reverse=True) == [4, 2, 2, 1, 1, 1, 1]


def test_a_large_page_converts() -> None:
    text = (GOLDEN / "inputs" / "basics.wiki").read_text(encoding="utf-8") * 400  # ~300 KB
    result = convert(text, "mediawiki", "dokuwiki", page="Large")
    assert result.method == "pandoc"
    assert result.text.count("===== Heading two =====") == 400
