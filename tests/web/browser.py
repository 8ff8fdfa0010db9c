"""Fixtures for the real-browser tests: the web archive served by waitress, driven by Chromium.

The app runs behind **waitress** (the WSGI server ``passerelle serve`` runs) on a free port of
127.0.0.1, in a background thread of the test process. The browser is **Debian's Chromium**
(``/usr/bin/chromium``, installed by ``scripts/install-test-deps.sh``) launched by Playwright
through ``executable_path`` -- never a browser Playwright downloads -- headless, without
network side-traffic, with an empty profile of its own for each test. Without
``/usr/bin/chromium`` the tests skip, saying so; CI installs it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

requires_chromium = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"{CHROMIUM} is absent: run `sh scripts/install-test-deps.sh` (Debian's chromium package)",
)


@dataclass
class Served:
    """A WSGI app served by waitress on 127.0.0.1, in a daemon thread, until ``close``."""

    base_url: str
    _server: Any
    _thread: threading.Thread

    def url(self, path: str) -> str:
        return self.base_url + path

    def close(self) -> None:
        self._server.close()
        self._thread.join(timeout=10)


def serve(app: Any, *, threads: int = 4) -> Served:
    """Serve ``app`` with waitress on a free localhost port (port 0: the kernel picks one)."""
    from waitress import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=threads, ident="passerelle")
    port = server.effective_port
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    return Served(f"http://127.0.0.1:{port}", server, thread)


@contextmanager
def chromium_page(profile: Path, *, bypass_csp: bool = False) -> Iterator[Any]:
    """A Playwright page in Debian's Chromium, with the empty user-data dir ``profile``.

    ``bypass_csp``: the page ignores the app's Content-Security-Policy, so that a test sees
    what the HTML alone lets through (the sanitiser, without the policy behind it).

    Every JavaScript dialog (alert, confirm, prompt) is recorded in ``page.dialogs`` and
    dismissed, so that a test can assert none opened.
    """
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is absent: run `sh scripts/install-test-deps.sh`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 800},
            bypass_csp=bypass_csp,
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            dialogs: list[str] = []

            def on_dialog(dialog: Any) -> None:
                dialogs.append(f"{dialog.type}: {dialog.message}")
                dialog.dismiss()

            page.on("dialog", on_dialog)
            page.dialogs = dialogs  # type: ignore[attr-defined]
            page.set_default_timeout(15_000)
            yield page
        finally:
            context.close()


SCREENSHOTS = ("home", "space", "thread", "search")


def take_screenshots(
    page: Any, served: Served, out: Path, *, space: str, thread: str, search: str
) -> list[Path]:
    """Screenshots of the main pages (the viewport, PNG), as the logged-in page's person sees them."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "home": "/",
        "space": f"/spaces/{space}",
        "thread": f"/spaces/{space}/threads/{thread}",
        "search": f"/search?q={search}",
    }
    shots = []
    for name in SCREENSHOTS:
        page.goto(served.url(paths[name]))
        page.wait_for_load_state("load")
        shot = out / f"{name}.png"
        page.screenshot(path=str(shot))
        shots.append(shot)
    return shots


WIKI_SCREENSHOTS = ("wiki", "wiki-diff")


def take_wiki_screenshots(page: Any, served: Served, out: Path, *, item: str, a: str, b: str) -> list[Path]:
    """Screenshots of a wiki page with its history, and of the diff between its revisions a and b
    (the whole page, so that the history under the body is in the picture)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"wiki": f"/items/{item}", "wiki-diff": f"/items/{item}/diff?a={a}&b={b}"}
    shots = []
    for name in WIKI_SCREENSHOTS:
        page.goto(served.url(paths[name]))
        page.wait_for_load_state("load")
        shot = out / f"{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        shots.append(shot)
    return shots


def main(out: Path) -> None:
    """Regenerate docs/screenshots/ from the browser tests' archives (``python -m tests.web.browser``):
    the main pages of the Mattermost one, a page and a diff of the wiki one."""
    import sqlite3
    import tempfile

    from passerelle.web.app import create_app
    from tests.web import test_browser as t

    with tempfile.TemporaryDirectory() as tmp:
        archive = t.build_archive(Path(tmp))
        server = serve(create_app(archive, secret="screenshots", testing=True))
        try:
            with chromium_page(Path(tmp) / "profile") as page:
                t.log_in(page, server, "ada")
                with sqlite3.connect(archive / "archive.sqlite") as db:
                    space = db.execute("SELECT id FROM spaces WHERE name = 'town-square'").fetchone()[0]
                    thread = db.execute(
                        "SELECT thread_root_id FROM items WHERE body_text = 'first reply'"
                    ).fetchone()[0]
                for shot in take_screenshots(page, server, out, space=space, thread=thread, search="reply"):
                    print(shot)
        finally:
            server.close()
        wiki = t.build_wiki_archive(Path(tmp) / "wiki")
        server = serve(create_app(wiki, secret="screenshots", testing=True))
        try:
            with chromium_page(Path(tmp) / "wiki-profile") as page:
                t.log_in(page, server, t.WIKI_LOGIN)
                item, revisions = t.wiki_page(wiki, t.RUNBOOK)
                for shot in take_wiki_screenshots(
                    page, server, out, item=item, a=revisions[0], b=revisions[1]
                ):
                    print(shot)
        finally:
            server.close()


if __name__ == "__main__":
    import sys

    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
