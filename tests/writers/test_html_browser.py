"""The static site in a real browser: Debian's Chromium (driven by Playwright, see
tests/web/browser.py) opening ``file://…/index.html`` with no server. The site's CSP meta
holds (no violation reported, its own style and script load), a space, a thread, search
(a highlighted result, filters, pages), a file link; a message's script never runs; the
private channel is not found in the public site and is in a member's.

``python -m tests.writers.test_html_browser [DIR]`` takes the screenshots of docs/screenshots/
(static-home.png, static-search.png)."""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from passerelle.export import export
from passerelle.writers import html
from tests.web.browser import chromium_page, requires_chromium
from tests.web.conftest import WEB_FILES
from tests.writers.test_html_writer import build_archive

pytestmark = requires_chromium

PDF = WEB_FILES["data/files/report.pdf"]


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("html-browser")
    archive = build_archive(base)
    mp = pytest.MonkeyPatch()
    mp.setattr(html, "RESULTS_PAGE", 2)  # search results on three pages
    # Many shards and document files, so that search.js must hash a word as the writer did
    # and find a document in the right file.
    mp.setattr(html, "POSTINGS_PER_SHARD", 16)
    mp.setattr(html, "DOCS_PER_CHUNK", 3)
    try:
        export(archive, "html", base / "public")
        export(archive, "html", base / "ada", options={"as": "ada"})
    finally:
        mp.undo()
    return {"public": base / "public", "ada": base / "ada", "archive": archive}


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    with chromium_page(tmp_path / "profile") as p:
        problems: list[str] = []
        p.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        p.on("pageerror", lambda e: problems.append(str(e)))
        p.problems = problems
        yield p


def url(site: Path, path: str = "index.html") -> str:
    """The file: URL of a page of the site, with its query (as_uri would escape the '?')."""
    page, mark, query = path.partition("?")
    return (site / page).as_uri() + mark + query


def test_the_home_page_opens_from_disk_under_its_policy(sites: dict[str, Path], page: Any) -> None:
    page.goto(url(sites["public"]))
    assert page.title() == "Archive · passerelle"
    # The site's own stylesheet applied: 'self' matched the file: URL.
    colour = page.evaluate("getComputedStyle(document.querySelector('body > header')).backgroundColor")
    assert colour == "rgb(36, 52, 71)"
    assert page.locator("svg.activity-chart polyline").count() >= 1
    assert page.locator("ul.spaces li").count() == 3
    assert page.problems == []


def test_a_space_then_a_thread(sites: dict[str, Path], page: Any) -> None:
    page.goto(url(sites["public"]))
    page.get_by_role("link", name="Town-Square").first.click()
    assert "/spaces/" in page.url
    assert page.locator("article.item").count() >= 3
    page.locator("a.replies", has_text="5 replies").click()
    assert "/threads/" in page.url
    assert page.locator("article.item").count() == 6
    texts = page.locator("article .body").all_inner_texts()
    assert texts[0].strip() == "a long thread" and texts[-1].strip() == "answer number 4"
    assert page.problems == []


def test_search_finds_a_word_highlights_it_and_pages(sites: dict[str, Path], page: Any) -> None:
    page.goto(url(sites["public"]))
    page.fill("header input[name=q]", "Answer")
    page.keyboard.press("Enter")
    page.wait_for_selector("li.result")
    assert "search.html?q=Answer" in page.url
    assert page.locator("#status").inner_text() == "5 results"
    assert page.locator("li.result").count() == 2  # RESULTS_PAGE
    marks = page.locator("li.result mark").all_inner_texts()
    assert marks and all(m == "answer" for m in marks)
    assert page.locator("li.result .snippet").first.inner_text() == "answer number 4"  # newest first
    page.locator("#pager a.next").click()
    page.wait_for_selector("li.result")
    assert page.locator("li.result .snippet").first.inner_text() == "answer number 2"
    page.locator("li.result a").first.click()
    assert "/threads/" in page.url and page.url.endswith(
        page.url.split("#")[1] and "#" + page.url.split("#")[1]
    )
    target = page.url.split("#")[1]
    assert page.locator(f"article#{target}").count() == 1
    assert page.problems == []


def test_search_filters_by_author(sites: dict[str, Path], page: Any) -> None:
    with sqlite3.connect(sites["archive"] / "archive.sqlite") as db:
        (gus,) = db.execute("SELECT id FROM persons WHERE name = 'gus'").fetchone()
    page.goto(url(sites["public"], f"search.html?q=thread&author={gus}"))
    page.wait_for_selector("li.result")
    assert page.locator("#status").inner_text() == "1 results"
    assert page.locator("#author").input_value() == gus
    page.goto(url(sites["public"], "search.html?q=answer&author=" + gus))
    page.wait_for_function("document.getElementById('status').textContent === 'No results.'")


def test_the_private_channel_is_found_only_in_a_members_site(sites: dict[str, Path], page: Any) -> None:
    page.goto(url(sites["public"], "search.html?q=zanzibar"))
    page.wait_for_function("document.getElementById('status').textContent === 'No results.'")
    page.goto(url(sites["ada"], "search.html?q=zanzibar"))
    page.wait_for_selector("li.result")
    assert page.locator("li.result mark").all_inner_texts() == ["zanzibar"]
    page.locator("li.result a").first.click()
    assert page.locator("article .body", has_text="zanzibar budget").count() == 1
    assert page.problems == []


def test_a_file_link_opens_the_file(sites: dict[str, Path], page: Any) -> None:
    page.goto(url(sites["public"]))
    page.get_by_role("link", name="Town-Square").first.click()
    link = page.locator("a.file", has_text="report.pdf").first
    href = link.get_attribute("href")
    assert href is not None and href.endswith("/report.pdf") and not href.startswith("/")
    with page.expect_download() as download:
        link.click(modifiers=["Alt"])  # Alt-click: the browser saves the link's target
    saved = download.value.path()
    assert Path(saved).read_bytes() == PDF


def test_a_message_script_never_runs_even_without_the_policy(sites: dict[str, Path], tmp_path: Path) -> None:
    for bypass in (False, True):
        with chromium_page(tmp_path / f"profile-{bypass}", bypass_csp=bypass) as page:
            page.goto(url(sites["public"]))
            page.get_by_role("link", name="Town-Square").first.click()
            assert page.locator("article .body", has_text="<script>alert('xss')</script>").count() == 1
            page.wait_for_timeout(300)
            assert page.dialogs == []  # no alert() from the message's payloads
            assert (
                page.locator("article .body script, article .body [onerror], article .body [onclick]").count()
                == 0
            )


def test_the_index_words_are_the_browsers_words(sites: dict[str, Path], page: Any) -> None:
    """search.js splits and hashes a query as the writer split and hashed the messages: every
    character Python's Unicode database knows, between two letters, splits or joins words the
    same in both (characters newer than that database may not: Chromium's is newer)."""
    page.goto(url(sites["public"], "search.html"))
    known = [
        chr(c)
        for c in range(0x20, 0x30000)
        if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c)) != "Cn"
    ]
    texts = [f"a{ch}b" for ch in known] + ["Éléphant café_au-lait 42", "Straße ÇA ﬁn", "日本語のテキスト"]
    js_words = page.evaluate(
        """texts => texts.map(text => text.toLowerCase().normalize("NFKD").replace(/\\p{M}/gu, "")
             .match(/[\\p{L}\\p{N}_]+/gu) || [])""",
        texts,
    )
    differ = [(t, w) for t, w in zip(texts, js_words, strict=True) if w != html.words(t)]
    assert differ == []
    sample = sorted({w for ws in js_words[-3:] for w in ws} | {"space:spc_1", "author:per_é"})
    js_hashes = page.evaluate(
        """words => words.map(w => { let h = 0x811c9dc5; for (const b of new TextEncoder().encode(w)) {
             h ^= b; h = Math.imul(h, 0x01000193) >>> 0; } return h >>> 0; })""",
        sample,
    )
    assert js_hashes == [html.fnv1a(w) for w in sample]


def take_static_screenshots(out: Path) -> list[Path]:
    """The public site's home and a search, as a person opening it from disk sees them."""
    import tempfile

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        archive = build_archive(Path(tmp))
        site = Path(tmp) / "site"
        export(archive, "html", site)
        shots = []
        with chromium_page(Path(tmp) / "profile") as page:
            for name, path in (("static-home", "index.html"), ("static-search", "search.html?q=reply")):
                page.goto(url(site, path))
                page.wait_for_load_state("load")
                if "search" in path:
                    page.wait_for_selector("li.result")
                shot = out / f"{name}.png"
                page.screenshot(path=str(shot))
                shots.append(shot)
    return shots


if __name__ == "__main__":
    import sys

    for shot in take_static_screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")):
        print(shot)
