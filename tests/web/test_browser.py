"""The web archive in a real browser: Debian's Chromium, driven by Playwright, against the app
served by waitress (see browser.py). Logging in through the form, a space, a thread unfolded,
search, a file; a person kept out of a private channel by every road (page, search, file URL,
JSON API); a message's script never running."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from passerelle.ingest import ingest
from passerelle.web import accounts, audit
from passerelle.web.app import create_app
from tests.mattermost_builder import (
    FEATURE_FILES,
    T0,
    build_export,
    feature_lines,
    post,
    reply,
)
from tests.mediawiki_builder import Page, Rev, user, write_dump
from tests.web.browser import (
    Served,
    chromium_page,
    requires_chromium,
    serve,
    take_screenshots,
    take_wiki_screenshots,
)

pytestmark = requires_chromium

PASSWORD = "correct horse battery staple"
SECRET_WORD = "zanzibarquux"  # only in the private channel "ops" (ada is in it, gus is not)
XSS_WORD = "xsscanary"
# Every road a message's text could take to run script: raw HTML, an event handler, a
# javascript: link in Markdown and in an autolink, an SVG, a style with a URL.
XSS_BODY = (
    f"{XSS_WORD} <script>window.__xss = 'script'</script>"
    ' <img src="x" onerror="window.__xss = \'img\'; alert(1)">'
    " [click me](javascript:window.__xss='link') <javascript:window.__xss='autolink'>"
    " <svg onload=\"window.__xss = 'svg'\"></svg>"
    " <a href=\"javascript:window.__xss='a'\">raw link</a>"
    " <div style=\"background:url(javascript:window.__xss='style')\">styled</div>"
)
SECRET_FILE = b"the private runbook"


def browser_lines() -> list[Any]:
    return [
        *feature_lines(),
        post(
            "acme", "town-square", "bob", T0 + 8000, XSS_BODY, replies=[reply("gus", T0 + 8100, "no script")]
        ),
        post(
            "acme",
            "ops",
            "ada",
            T0 + 9000,
            f"the {SECRET_WORD} runbook",
            attachments=[{"path": "files/runbook.txt"}],
        ),
    ]


def build_archive(base: Path) -> Path:
    """The feature export, a script-laden message and a private runbook, ingested under base;
    accounts with passwords for ada, bob, gus and deploybot (an administrator)."""
    files = {**FEATURE_FILES, "data/files/runbook.txt": SECRET_FILE}
    export = build_export(base / "export", browser_lines(), files)
    ingest([export], base / "archive")
    web = accounts.connect(base / "archive")
    try:
        with sqlite3.connect(base / "archive" / "archive.sqlite") as db:
            for name in ("ada", "bob", "gus", "deploybot"):
                pid = accounts.find_person(db, name)
                assert pid is not None
                accounts.set_password(web, pid, PASSWORD)
                accounts.set_admin(web, pid, name == "deploybot")  # in no private space
    finally:
        web.close()
    return base / "archive"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(tmp_path_factory.mktemp("web-browser"))


@pytest.fixture(scope="module")
def served(archive: Path) -> Iterator[Served]:
    server = serve(create_app(archive, secret="browser-test-secret", testing=True))
    yield server
    server.close()


@pytest.fixture
def browser_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium_page(tmp_path_factory.mktemp("chromium-profile")) as page:
        yield page


@pytest.fixture(params=["with the CSP", "without the CSP"])
def xss_page(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A page that obeys the app's Content-Security-Policy, then one that ignores it (the
    sanitiser on its own)."""
    bypass = request.param == "without the CSP"
    with chromium_page(tmp_path_factory.mktemp("chromium-profile"), bypass_csp=bypass) as page:
        yield page


def one(archive: Path, sql: str, *params: Any) -> str:
    with sqlite3.connect(archive / "archive.sqlite") as db:
        row = db.execute(sql, params).fetchone()
    assert row is not None, (sql, params)
    return str(row[0])


def space_id(archive: Path, name: str) -> str:
    return one(archive, "SELECT id FROM spaces WHERE name = ?", name)


def log_in(page: Any, served: Served, login: str, password: str = PASSWORD) -> None:
    """Through the form, as a person would: every page first sends to it."""
    page.goto(served.url("/"))
    assert "/login" in page.url
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("form.login button[type=submit]")
    page.wait_for_load_state()


def test_log_in_open_a_space_and_unfold_a_thread(browser_page: Any, served: Served) -> None:
    page = browser_page
    log_in(page, served, "bob", "not the password")
    assert "/login" in page.url
    assert page.locator("p.error").is_visible()
    page.fill("input[name=login]", "bob")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url
    # The session cookie is HttpOnly: no script on the page can read it.
    assert "session" not in page.evaluate("document.cookie")
    spaces = page.locator("ul.spaces").inner_text()
    assert "Town-Square" in spaces and "Ops" not in spaces
    page.click("ul.spaces a:text('Town-Square')")
    page.wait_for_load_state()
    assert "/spaces/" in page.url
    timeline = page.locator("section.timeline").inner_text()
    assert "Hello" in timeline and "3 replies" in timeline
    assert "second reply" not in timeline  # folded under the root
    page.click("a.replies:text('3 replies')")
    page.wait_for_load_state()
    assert "/threads/" in page.url
    thread = page.locator("section.thread").inner_text()
    assert "first reply" in thread and "second reply" in thread and "before the root" in thread


def test_language_buttons_and_logging_out(browser_page: Any, served: Served) -> None:
    """The FR/EN buttons and the logout button are POST forms (CSRF token included): they work
    from the real page, and logging out ends the session."""
    page = browser_page
    log_in(page, served, "gus")
    assert page.locator("main h1").inner_text() == "Spaces"
    page.click("form.lang button[value=fr]")
    page.wait_for_load_state()
    assert page.locator("main h1").inner_text() == "Espaces"
    assert page.evaluate("document.documentElement.lang") == "fr"
    page.reload()
    assert page.locator("main h1").inner_text() == "Espaces"  # the cookie keeps the choice
    page.click("form.lang button[value=en]")
    page.wait_for_load_state()
    assert page.locator("main h1").inner_text() == "Spaces"
    page.click("nav form button[type=submit]")
    page.wait_for_load_state()
    assert "/login" in page.url
    page.goto(served.url("/"))
    assert "/login" in page.url  # the session is gone


def test_search_and_open_a_file(browser_page: Any, served: Served, tmp_path: Path) -> None:
    page = browser_page
    log_in(page, served, "ada")
    page.fill("header input[name=q]", SECRET_WORD)
    page.press("header input[name=q]", "Enter")
    page.wait_for_load_state()
    results = page.locator("li.result")
    assert results.count() == 1
    assert SECRET_WORD in results.inner_text()
    results.locator("a").first.click()
    page.wait_for_load_state()
    assert "/items/" in page.url
    assert "runbook" in page.locator("article.item").inner_text()
    with page.expect_download() as download_info:
        page.click("ul.files a:text('runbook.txt')")
    saved = tmp_path / "runbook.txt"
    download_info.value.save_as(saved)
    assert saved.read_bytes() == SECRET_FILE


def test_a_person_cannot_reach_a_private_channel_by_any_road(
    browser_page: Any, served: Served, archive: Path
) -> None:
    """gus is not in "ops": not by the spaces list, its page, an item or a thread of it,
    search, the file's URL, nor the JSON API -- while ada, who is, reaches each (the same
    URLs answer, so their refusal is the access control and not a wrong URL)."""
    ops = space_id(archive, "ops")
    secret_item = one(archive, "SELECT id FROM items WHERE body_text LIKE ?", f"%{SECRET_WORD}%")
    secret_file = one(archive, "SELECT id FROM files WHERE name = 'runbook.txt'")
    page = browser_page
    roads = {
        "page": f"/spaces/{ops}",
        "item": f"/items/{secret_item}",
        "thread": f"/spaces/{ops}/threads/{secret_item}",
        "file": f"/files/{secret_file}",
        "api items": f"/api/spaces/{ops}/items",
    }

    def fetch(path: str) -> tuple[int, str]:
        """A fetch() from the page, with its cookies, as the page's own script would."""
        result: dict[str, Any] = page.evaluate(
            "async (p) => { const r = await fetch(p); return {status: r.status, text: await r.text()}; }",
            path,
        )
        return int(result["status"]), str(result["text"])

    log_in(page, served, "ada")
    for road, path in roads.items():
        if road == "file":
            assert fetch(path) == (200, SECRET_FILE.decode()), road
        elif road != "thread":  # the item is its own thread's root only when it has replies
            assert fetch(path)[0] == 200, road
    assert SECRET_WORD in fetch(f"/api/search?q={SECRET_WORD}")[1]

    page.context.clear_cookies()
    log_in(page, served, "gus")
    assert "Ops" not in page.locator("ul.spaces").inner_text()
    for road, path in roads.items():
        response = page.goto(served.url(path))
        assert response is not None and response.status == 404, road
        assert SECRET_WORD not in page.content() and "runbook" not in page.content(), road
    page.goto(served.url("/"))
    for road, path in roads.items():
        status, text = fetch(path)
        assert status == 404 and SECRET_WORD not in text, road
    page.goto(served.url(f"/search?q={SECRET_WORD}"))
    assert page.locator("li.result").count() == 0
    assert SECRET_WORD not in page.locator("ol.results").inner_text()
    status, text = fetch(f"/api/search?q={SECRET_WORD}")
    assert status == 200 and SECRET_WORD not in text
    status, text = fetch("/api/spaces")
    assert status == 200 and ops not in text
    page.goto(served.url(f"/search?q={SECRET_WORD}&space={ops}"))
    assert page.locator("li.result").count() == 0


def test_an_administrator_sees_a_private_channel_and_is_audited(
    browser_page: Any, served: Served, archive: Path
) -> None:
    ops = space_id(archive, "ops")
    secret_file = one(archive, "SELECT id FROM files WHERE name = 'runbook.txt'")
    admin = one(archive, "SELECT id FROM persons WHERE name = 'deploybot'")

    def audited() -> list[tuple[str, str]]:
        web = accounts.connect(archive)
        try:
            return [(action, target) for _, who, action, target in audit.entries(web) if who == admin]
        finally:
            web.close()

    before = audited()
    page = browser_page
    log_in(page, served, "deploybot")
    assert "Ops" in page.locator("ul.spaces").inner_text()
    page.click("ul.spaces a:text('Ops')")
    page.wait_for_load_state()
    assert SECRET_WORD in page.locator("section.timeline").inner_text()
    with page.expect_download() as download_info:
        page.click("ul.files a:text('runbook.txt')")
    assert download_info.value.failure() is None
    new = audited()[len(before) :]
    assert ("view space", ops) in new
    assert ("download file", secret_file) in new
    page.goto(served.url(f"/spaces/{space_id(archive, 'town-square')}"))  # public: not audited
    assert audited()[len(before) + len(new) :] == []


def test_a_script_in_a_message_never_runs(xss_page: Any, served: Served, archive: Path) -> None:
    """Neither with the app's Content-Security-Policy nor without it (the sanitiser alone)."""
    page = xss_page
    log_in(page, served, "bob")
    town = space_id(archive, "town-square")
    item = one(archive, "SELECT id FROM items WHERE body_text LIKE ?", f"{XSS_WORD}%")
    pages = [f"/spaces/{town}", f"/spaces/{town}/threads/{item}", f"/items/{item}", f"/search?q={XSS_WORD}"]
    for path in pages:
        page.goto(served.url(path))
        page.wait_for_load_state("load")
        assert XSS_WORD in page.locator("main").inner_text(), path  # the message is there, as text
        assert page.evaluate("typeof window.__xss") == "undefined", path  # no script of it ran
        assert page.dialogs == [], path
        # Every link of the message, clicked: none may run its javascript: URL.
        links = page.locator(f"article:has-text('{XSS_WORD}') a")
        for index in range(links.count()):
            link = links.nth(index)
            href = link.get_attribute("href") or ""
            assert not href.strip().lower().startswith("javascript:"), (path, href)
        assert page.locator("main script").count() == 0, path
        assert page.locator("main [onerror], main [onload], main [style], main svg").count() == 0, path
    for text in ("click me", "raw link"):
        found = page.locator(f"article a:text('{text}')")
        if found.count():
            found.first.click()
    page.wait_for_timeout(200)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.dialogs == []


def test_screenshots_of_the_main_pages(
    browser_page: Any, served: Served, archive: Path, tmp_path: Path
) -> None:
    log_in(browser_page, served, "ada")
    shots = take_screenshots(
        browser_page,
        served,
        tmp_path,
        space=space_id(archive, "town-square"),
        thread=one(archive, "SELECT thread_root_id FROM items WHERE body_text = 'first reply'"),
        search="reply",
    )
    assert [p.name for p in shots] == ["home.png", "space.png", "thread.png", "search.png"]
    for shot in shots:
        data = shot.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5_000, shot


# -- wiki pages ------------------------------------------------------------------------------------
WIKI_LOGIN = "Alice"
RUNBOOK = "Deployment runbook"
HOSTILE = "Visitors book"
WIKI_XSS_WORD = "wikicanary"
RUNBOOK_V1 = """How we ship a release.

== Before ==
* Announce the deployment in the ops channel
* Check the dashboards are green

== Steps ==
# Tag the release
# Run the migration
# Restart the workers
"""
# Bob's edit: the migration first; the workers drained, not restarted; a check at the end.
RUNBOOK_V2 = """How we ship a release.

== Before ==
* Announce the deployment in the ops channel
* Check the dashboards are green

== Steps ==
# Run the migration
# Tag the release
# Drain the queue, then restart the workers
# Check the error rate for ten minutes
"""
RUNBOOK_V3 = (
    RUNBOOK_V2
    + """
== Rollback ==
Redeploy the previous tag; the migration is reversible.
"""
)
# A wiki body that tries every road to run script: raw HTML elements with event handlers and
# styles, a javascript: link in wikitext and in Markdown, an SVG, an iframe.
WIKI_XSS_BODY = f"""Sign here, {WIKI_XSS_WORD}.
<script>window.__xss = 'script'</script>
<img src="x" onerror="window.__xss = 'img'; alert(1)">
<div onmouseover="window.__xss = 'div'" style="background:url(javascript:alert(2))">hover me</div>
<svg onload="window.__xss = 'svg'"></svg>
<iframe src="javascript:window.__xss='iframe'"></iframe>
[javascript:window.__xss='wikilink' wiki link]
[markdown link](javascript:window.__xss='mdlink')
<a href="javascript:window.__xss='a'" onclick="window.__xss='click'">raw link</a>
"""


def build_wiki_archive(base: Path) -> Path:
    """A MediaWiki dump: a runbook with three revisions by Alice and Bob, and a page whose second
    revision is full of script; ingested under base, Alice with a password."""
    alice, bob = user("Alice", 1), user("Bob", 2)
    pages = [
        Page(
            RUNBOOK,
            [
                Rev(
                    1, RUNBOOK_V1, timestamp="2024-03-01T09:00:00Z", contributor=alice, comment="first draft"
                ),
                Rev(
                    2,
                    RUNBOOK_V2,
                    parentid=1,
                    timestamp="2024-03-04T14:30:00Z",
                    contributor=bob,
                    comment="migration before the tag; drain the queue",
                ),
                Rev(
                    3,
                    RUNBOOK_V3,
                    parentid=2,
                    timestamp="2024-03-08T11:15:00Z",
                    contributor=alice,
                    comment="rollback section",
                ),
            ],
        ),
        Page(
            HOSTILE,
            [
                Rev(4, "Sign here.", timestamp="2024-03-02T10:00:00Z", contributor=alice),
                Rev(5, WIKI_XSS_BODY, parentid=4, timestamp="2024-03-03T10:00:00Z", contributor=bob),
            ],
        ),
    ]
    base.mkdir(parents=True, exist_ok=True)
    ingest([write_dump(base / "dump.xml", pages=pages)], base / "archive")
    web = accounts.connect(base / "archive")
    try:
        with sqlite3.connect(base / "archive" / "archive.sqlite") as db:
            pid = accounts.find_person(db, WIKI_LOGIN)
        assert pid is not None
        accounts.set_password(web, pid, PASSWORD)
    finally:
        web.close()
    return base / "archive"


def wiki_page(archive: Path, title: str) -> tuple[str, list[str]]:
    """A wiki page's item id and its revision ids, oldest first."""
    with sqlite3.connect(archive / "archive.sqlite") as db:
        item = db.execute("SELECT id FROM items WHERE kind = 'page' AND title = ?", (title,)).fetchone()[0]
        revisions = [
            r[0]
            for r in db.execute("SELECT id FROM revisions WHERE item_id = ? ORDER BY created_at", (item,))
        ]
    return str(item), revisions


@pytest.fixture(scope="module")
def wiki_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wiki_archive(tmp_path_factory.mktemp("web-wiki"))


@pytest.fixture(scope="module")
def wiki_served(wiki_archive: Path) -> Iterator[Served]:
    server = serve(create_app(wiki_archive, secret="browser-wiki-secret", testing=True))
    yield server
    server.close()


def test_a_wiki_page_its_history_and_a_diff(
    browser_page: Any, wiki_served: Served, wiki_archive: Path
) -> None:
    """From the wiki space, open the runbook; its history lists the three revisions; compare the
    first with the second: Bob's removed lines are shown removed, his added lines added, the rest
    as context -- each in a style of its own."""
    item, revisions = wiki_page(wiki_archive, RUNBOOK)
    page = browser_page
    log_in(page, wiki_served, WIKI_LOGIN)
    page.click("ul.spaces a:text('(main)')")
    page.wait_for_load_state()
    page.click(f"article:has(h3.title:text('{RUNBOOK}')) a.when")
    page.wait_for_load_state()
    assert page.url.endswith(f"/items/{item}")
    body = page.locator("article.item .body").inner_text()
    assert "Rollback" in body and "Drain the queue" in body  # the current revision
    history = page.locator("#revisions li")
    assert history.count() == 3
    assert "first draft" in history.nth(0).inner_text() and "Alice" in history.nth(0).inner_text()
    assert "drain the queue" in history.nth(1).inner_text() and "Bob" in history.nth(1).inner_text()
    assert "rollback section" in history.nth(2).inner_text()

    page.check(f"#revisions input[name=a][value={revisions[0]}]")
    page.check(f"#revisions input[name=b][value={revisions[1]}]")
    page.click("#revisions button[type=submit]")
    page.wait_for_load_state()
    assert f"/items/{item}/diff?a={revisions[0]}&b={revisions[1]}" in page.url
    # the history under the diff says which two are compared
    assert page.is_checked(f"#revisions input[name=a][value={revisions[0]}]")
    assert page.is_checked(f"#revisions input[name=b][value={revisions[1]}]")
    removed = page.locator("section.diff del").all_inner_texts()
    added = page.locator("section.diff ins").all_inner_texts()
    context = page.locator("section.diff span:not(.file):not(.hunk)").all_inner_texts()
    assert any("Restart the workers" in line for line in removed), removed
    assert not any("Drain the queue" in line for line in removed), removed
    assert any("Drain the queue, then restart the workers" in line for line in added), added
    assert any("Check the error rate for ten minutes" in line for line in added), added
    assert not any("Restart the workers" in line for line in added), added
    assert all(line.startswith("-") for line in removed) and all(line.startswith("+") for line in added)
    assert any("Steps" in line for line in context), context  # an unchanged line, as context
    assert not any("Rollback" in line for line in removed + added + context)  # only in the third

    def background(selector: str) -> str:
        return str(page.eval_on_selector(selector, "e => getComputedStyle(e).backgroundColor"))

    styles = {
        background("section.diff del"),
        background("section.diff ins"),
        background("section.diff span:not(.file):not(.hunk)"),
    }
    assert len(styles) == 3, styles  # removed, added and unchanged lines look different


@pytest.fixture(params=["with the CSP", "without the CSP"])
def wiki_xss_page(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    bypass = request.param == "without the CSP"
    with chromium_page(tmp_path_factory.mktemp("chromium-profile"), bypass_csp=bypass) as page:
        yield page


def test_a_hostile_wiki_body_is_inert(wiki_xss_page: Any, wiki_served: Served, wiki_archive: Path) -> None:
    """Script, event handlers, styles and javascript: links in a wiki page's body do nothing:
    on the page, in its diff, and when every link of the page is clicked and the body hovered."""
    item, revisions = wiki_page(wiki_archive, HOSTILE)
    page = wiki_xss_page
    log_in(page, wiki_served, WIKI_LOGIN)
    for path in (f"/items/{item}", f"/items/{item}/diff?a={revisions[0]}&b={revisions[1]}"):
        page.goto(wiki_served.url(path))
        page.wait_for_load_state("load")
        assert WIKI_XSS_WORD in page.locator("main").inner_text(), path  # there, as text
        assert page.evaluate("typeof window.__xss") == "undefined", path
        assert page.dialogs == [], path
        assert page.locator("main script, main iframe, main svg").count() == 0, path
        assert page.locator("main [onerror], main [onload], main [onclick], main [onmouseover]").count() == 0
        assert page.locator("main [style]").count() == 0, path
        for href in page.locator("main a").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
            assert not (href or "").strip().lower().startswith("javascript:"), (path, href)
    assert (
        "onerror" in page.locator("section.diff ins").all_inner_texts().__str__()
    )  # the diff shows it, as text
    page.goto(wiki_served.url(f"/items/{item}"))
    page.hover("article.item .body")
    links = page.locator("article.item .body a")
    for index in range(links.count()):
        links.nth(index).click(no_wait_after=True)
        page.wait_for_timeout(100)
        if page.url != wiki_served.url(f"/items/{item}"):
            page.goto(wiki_served.url(f"/items/{item}"))
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.dialogs == []


def test_screenshots_of_a_wiki_page_and_a_diff(
    browser_page: Any, wiki_served: Served, wiki_archive: Path, tmp_path: Path
) -> None:
    log_in(browser_page, wiki_served, WIKI_LOGIN)
    item, revisions = wiki_page(wiki_archive, RUNBOOK)
    shots = take_wiki_screenshots(
        browser_page, wiki_served, tmp_path, item=item, a=revisions[0], b=revisions[1]
    )
    assert [p.name for p in shots] == ["wiki.png", "wiki-diff.png"]
    for shot in shots:
        data = shot.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5_000, shot


def test_changing_ones_password_ends_the_other_sessions(browser_page: Any, tmp_path: Path) -> None:
    """In the browser: the header names Alice and leads to her account page; she changes her
    password there through the form; her session from before (its cookie put back, as another
    browser would send it) is sent to the login page, while the one that changed it goes on."""
    archive = build_wiki_archive(tmp_path / "wiki")  # an archive of its own: a password changes
    server = serve(create_app(archive, secret="browser-account-secret", testing=True))
    try:
        page = browser_page
        log_in(page, server, WIKI_LOGIN)
        earlier_session = page.context.cookies()
        page.context.clear_cookies()
        log_in(page, server, WIKI_LOGIN)
        me = page.locator("header a.me")
        assert me.inner_text() == "Alice"
        me.click()
        page.wait_for_load_state()
        assert page.url.endswith("/account")
        page.fill("input[name=current_password]", PASSWORD)
        page.fill("input[name=new_password]", "a brand new passphrase")
        page.fill("input[name=new_password_again]", "a brand new passphrase")
        page.click("form.password button[type=submit]")
        page.wait_for_load_state()
        assert page.url.endswith("/account?changed=1")
        assert page.locator("p.notice").is_visible()
        page.goto(server.url("/"))
        assert "/login" not in page.url  # this session goes on

        page.context.clear_cookies()
        page.context.add_cookies(earlier_session)
        page.goto(server.url("/"))
        assert "/login" in page.url  # the earlier one has ended
        log_in(page, server, WIKI_LOGIN)
        assert "/login" in page.url and page.locator("p.error").is_visible()  # the old password
        log_in(page, server, WIKI_LOGIN, "a brand new passphrase")
        assert "/login" not in page.url
    finally:
        server.close()


def test_the_audit_page_from_the_header(browser_page: Any, served: Served, archive: Path) -> None:
    """An administrator opens a private channel, then the audit log from the header: the view is
    its newest row, linked back to the channel. A member has no such link, and the URL is a 404."""
    ops = space_id(archive, "ops")
    page = browser_page
    log_in(page, served, "deploybot")
    page.goto(served.url(f"/spaces/{ops}"))
    page.click("header a:text('Audit log')")
    page.wait_for_load_state()
    assert page.url.endswith("/admin/audit")
    newest = page.locator("table.audit tbody tr").first
    assert "view space" in newest.inner_text() and "Deploy Bot" in newest.inner_text()
    newest.locator(f"a[href='/spaces/{ops}']").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/spaces/{ops}")

    page.context.clear_cookies()
    log_in(page, served, "ada")
    assert page.locator("header a:text('Audit log')").count() == 0
    response = page.goto(served.url("/admin/audit"))
    assert response is not None and response.status == 404
