"""Benchmark: the web archive (``passerelle serve``) on a 1M-message archive, over real HTTP.

Run by ``make bench`` (``.venv/bin/python benchmarks/bench_web.py``). It takes the
deterministic 1M-message Slack export of ``bench_slack_ingest.py`` (cached in
``benchmarks/.work/exports/``) and its archive (ingested once by ``bench_export.archive_for``,
cached in ``benchmarks/.work/archives/``), serves it with **waitress** -- the WSGI server
``passerelle serve`` runs, in a process of its own, with the app as ``create_app`` builds it
for serving (not in testing mode) -- logs in as a member through a one-time login link, and
drives it with ``http.client`` from two client threads (keep-alive connections): for each
kind of request (a space's first page, a deep keyset page of the largest channel, a thread,
search for common and rare words, with and without filters) several hundred requests, after a
warm-up that is not counted. Every answer must be 200 and hold what it should; a wrong answer
fails the benchmark loudly.

The figures (p50, p95, p99 per kind, in milliseconds of wall time per request as the client
sees it) go to ``benchmarks/results/web.json``. The budget: under 200 ms at the 95th
percentile, for every kind. This is a benchmark, not a test: the budget is checked and
reported here, never in timed tests.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import secrets
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_export import archive_for
from bench_slack_ingest import WORK, export_for

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BUDGET_P95_MS = 200.0
MESSAGES = 1_000_000
CLIENT_THREADS = 2
SERVER_THREADS = 4  # waitress's default

# The server process: create_app as `passerelle serve` builds it, served by waitress on a port the
# kernel picks, which it prints on its first line.
SERVER = """
import sys
from pathlib import Path
from waitress import create_server
from passerelle.web.app import create_app
app = create_app(Path(sys.argv[1]), secret=sys.argv[2])
server = create_server(app, host="127.0.0.1", port=0, threads=int(sys.argv[3]))
print(server.effective_port, flush=True)
server.run()
"""


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ the server


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(archive: Path) -> Server:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(archive), secrets.token_hex(32), str(SERVER_THREADS)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.isdigit():
        process.kill()
        raise SystemExit(f"the server did not start (it said {line!r})")
    return Server(process, int(line))


def log_in(server: Server, archive: Path, person_id: str) -> str:
    """The session cookie of person_id, from a one-time login link (as `passerelle users link`)."""
    from passerelle.web import accounts

    web = accounts.connect(archive)
    try:
        token = accounts.make_link_token(web, person_id)
    finally:
        web.close()
    conn = server.connection()
    conn.request("GET", f"/login/{token}")
    response = conn.getresponse()
    response.read()
    conn.close()
    cookies = [v for k, v in response.getheaders() if k.lower() == "set-cookie"]
    session = next((c.split(";", 1)[0] for c in cookies if c.startswith("session=")), None)
    if response.status not in (302, 303) or session is None:
        raise SystemExit(f"login link refused: HTTP {response.status}")
    return session


# ------------------------------------------------------------------------------ what to ask


@dataclass
class Kind:
    name: str
    what: str
    paths: list[str]  # requested round-robin
    check: Callable[[str, bytes], str | None]  # a problem with an answer, or None


def _html_check(needle: str) -> Callable[[str, bytes], str | None]:
    def check(path: str, body: bytes) -> str | None:
        return None if needle.encode() in body else f"{path}: no {needle!r} in the page"

    return check


def _any_results(path: str, body: bytes) -> str | None:
    return None if b'class="result"' in body else f"{path}: no result on the page"


def _q(path: str, **params: str) -> str:
    return f"{path}?{urllib.parse.urlencode(params)}"


def choose_member(db: sqlite3.Connection) -> str:
    """The human member of the most private spaces (the visibility condition at its heaviest)."""
    row = db.execute(
        "SELECT m.person_id FROM memberships m JOIN persons p ON p.id = m.person_id"
        " JOIN spaces s ON s.id = m.space_id WHERE p.is_bot = 0 AND s.visibility != 'public'"
        " GROUP BY m.person_id ORDER BY count(*) DESC, m.person_id LIMIT 1"
    ).fetchone()
    return str(row[0])


def deep_cursors(server: Server, session: str, space_id: str, pages: int) -> list[str]:
    """Keyset cursors of a space's timeline, walked page by page through the JSON API (newest first)."""
    conn = server.connection()
    cursors: list[str] = []
    after: str | None = None
    for _ in range(pages):
        path = f"/api/spaces/{space_id}/items?order=newest" + (
            f"&after={urllib.parse.quote(after)}" if after else ""
        )
        conn.request("GET", path, headers={"Cookie": session})
        response = conn.getresponse()
        data = json.loads(response.read())
        if response.status != 200:
            raise SystemExit(f"{path}: HTTP {response.status}")
        after = data["next"]
        if after is None:
            break
        cursors.append(after)
    conn.close()
    return cursors


def search_cursor(server: Server, session: str, word: str, pages: int) -> str:
    """The keyset cursor of a search's page number pages + 1, walked through the JSON API."""
    conn = server.connection()
    after: str | None = None
    for _ in range(pages):
        path = _q("/api/search", q=word, **({"after": after} if after else {}))
        conn.request("GET", path, headers={"Cookie": session})
        response = conn.getresponse()
        data = json.loads(response.read())
        if response.status != 200 or data["next"] is None:
            raise SystemExit(f"{path}: HTTP {response.status}, or fewer than {pages} pages")
        after = data["next"]
    conn.close()
    assert after is not None
    return after


def kinds_for(db: sqlite3.Connection, member: str, server: Server, session: str) -> list[Kind]:
    visible = (
        "(s.visibility = 'public' OR s.id IN (SELECT space_id FROM memberships WHERE person_id = :member))"
    )
    spaces = [
        str(r[0])
        for r in db.execute(
            "SELECT s.id FROM spaces s JOIN items i ON i.space_id = s.id"
            f" WHERE {visible} GROUP BY s.id ORDER BY count(*) DESC LIMIT 20",
            {"member": member},
        )
    ]
    largest = spaces[0]
    cursors = deep_cursors(server, session, largest, pages=1_000)
    deep = cursors[len(cursors) * 2 // 3 :]  # the oldest third of the timeline
    _say(f"  {largest}: {len(cursors) + 1} pages; deep pages from {len(cursors) * 2 // 3 + 1}")
    threads = [
        (str(r[0]), str(r[1]))
        for r in db.execute(
            "SELECT i.space_id, i.thread_root_id FROM items i JOIN spaces s ON s.id = i.space_id"
            f" WHERE i.thread_root_id IS NOT NULL AND i.thread_root_id != i.id AND {visible}"
            " GROUP BY i.thread_root_id ORDER BY count(*) DESC, i.thread_root_id LIMIT 200",
            {"member": member},
        )
    ]
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab USING fts5vocab(main, items_fts, row)")
    common = [
        str(r[0])
        for r in db.execute(
            "SELECT term FROM temp.vocab WHERE length(term) > 3 AND term GLOB '[a-z]*' ORDER BY doc DESC LIMIT 10"
        )
    ]
    rare = [
        str(r[0])
        for r in db.execute(
            "SELECT term FROM temp.vocab WHERE doc BETWEEN 2 AND 20 AND term GLOB '[a-z]*'"
            " ORDER BY term LIMIT 20"
        )
    ]
    authors = [
        str(r[0])
        for r in db.execute(
            "SELECT author_id FROM items WHERE space_id = ? AND author_id IS NOT NULL"
            " GROUP BY author_id ORDER BY count(*) DESC LIMIT 5",
            (largest,),
        )
    ]
    people = [
        str(r[0])
        for r in db.execute(
            "SELECT author_id FROM items WHERE author_id IS NOT NULL GROUP BY author_id ORDER BY count(*) DESC LIMIT 20"
        )
    ]
    newest = db.execute("SELECT max(created_at) FROM items").fetchone()[0]
    oldest = db.execute("SELECT min(created_at) FROM items").fetchone()[0]
    middle = (oldest + newest) // 2
    month_ago = datetime.fromtimestamp(newest / 1_000_000 - 30 * 86400, UTC).strftime("%Y-%m-%d")
    return [
        Kind(
            "home",
            "the home page (spaces with counts, activity chart, most active people)",
            ["/"],
            _html_check('class="space'),
        ),
        Kind(
            "space_first",
            f"a space's first page ({len(spaces)} largest visible spaces, newest first)",
            [f"/spaces/{s}" for s in spaces],
            _html_check('<article class="item'),
        ),
        Kind(
            "space_deep",
            f"a deep keyset page of the largest channel ({len(deep)} cursors, oldest third)",
            [_q(f"/spaces/{largest}", after=c) for c in deep],
            _html_check('<article class="item'),
        ),
        Kind(
            "thread",
            f"a thread ({len(threads)} threads with the most replies)",
            [f"/spaces/{s}/threads/{t}" for s, t in threads],
            _html_check('<article class="item'),
        ),
        Kind(
            "person",
            f"a person's page, their newest visible items ({len(people)} most active people)",
            [f"/people/{p}" for p in people],
            _html_check('<article class="item'),
        ),
        Kind(
            "person_deep",
            "a person's page, newest items before the middle of the archive's time span",
            [_q(f"/people/{p}", after=f"{middle}:~") for p in people],
            _html_check('<article class="item'),
        ),
        Kind(
            "search_common",
            f"search, a common word ({', '.join(common)})",
            [_q("/search", q=w) for w in common],
            _any_results,
        ),
        Kind(
            "search_rare",
            f"search, a rare word (2-20 messages: {len(rare)} words)",
            [_q("/search", q=w) for w in rare],
            _html_check("</html>"),
        ),
        Kind(
            "search_common_in_space",
            "search, a common word in the largest channel",
            [_q("/search", q=w, space=largest) for w in common],
            _any_results,
        ),
        Kind(
            "search_common_author_dates",
            "search, a common word by an author over the last 30 days",
            [_q("/search", q=w, author=a, **{"from": month_ago}) for w in common for a in authors],
            _html_check("</html>"),
        ),
        Kind(
            "search_common_page_4",
            "search, a common word, fourth page of results (keyset cursor)",
            [_q("/search", q=w, after=search_cursor(server, session, w, 3)) for w in common],
            _any_results,
        ),
        Kind(
            "search_common_page_100",
            "search, a common word, hundredth page of results (keyset cursor)",
            [_q("/search", q=w, after=search_cursor(server, session, w, 99)) for w in common],
            _any_results,
        ),
    ]


# ------------------------------------------------------------------------------ the runs


@dataclass
class KindResult:
    name: str
    what: str
    requests: int
    ms: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.ms)
        if not ordered:
            return float("nan")
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[index]


def drive(server: Server, session: str, kind: Kind, requests: int, warmup: int) -> KindResult:
    result = KindResult(kind.name, kind.what, requests)
    lock = threading.Lock()
    paths = [kind.paths[i % len(kind.paths)] for i in range(warmup + requests)]
    todo = iter(enumerate(paths))

    def client() -> None:
        conn = server.connection()
        try:
            while True:
                with lock:
                    nxt = next(todo, None)
                if nxt is None:
                    return
                index, path = nxt
                started = time.perf_counter()
                conn.request("GET", path, headers={"Cookie": session, "Accept-Language": "en"})
                response = conn.getresponse()
                body = response.read()
                took = (time.perf_counter() - started) * 1000
                problem = (
                    f"{path}: HTTP {response.status}" if response.status != 200 else kind.check(path, body)
                )
                with lock:
                    if problem is not None:
                        result.problems.append(problem)
                    if index >= warmup:
                        result.ms.append(took)
        finally:
            conn.close()

    workers = [threading.Thread(target=client) for _ in range(CLIENT_THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return result


def _commit() -> str:
    """The commit measured, "+dirty" when the working tree differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "src")
    return git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")


def environment(commit: str) -> dict[str, Any]:
    return {
        "commit": commit,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "system": platform.platform(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=MESSAGES)
    parser.add_argument("--requests", type=int, default=300, help="timed requests of each kind")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests of each kind first")
    parser.add_argument("--only", default="", help="comma-separated kinds to run (all by default)")
    args = parser.parse_args()

    commit = _commit()  # what the server runs: taken before it starts
    export = export_for(args.messages, WORK / "exports")
    archive = archive_for(export)
    db = sqlite3.connect(f"file:{archive / 'archive.sqlite'}?mode=ro", uri=True)
    member = choose_member(db)
    _say(f"serving {archive.relative_to(ROOT)} with waitress ({SERVER_THREADS} threads); member {member}")
    server = start_server(archive)
    try:
        session = log_in(server, archive, member)
        kinds = kinds_for(db, member, server, session)
        only = {k for k in args.only.split(",") if k}
        results: list[KindResult] = []
        for kind in kinds:
            if only and kind.name not in only:
                continue
            r = drive(server, session, kind, args.requests, args.warmup)
            results.append(r)
            _say(
                f"  {r.name:28} p50 {r.percentile(50):7.1f} ms  p95 {r.percentile(95):7.1f} ms"
                f"  p99 {r.percentile(99):7.1f} ms  max {max(r.ms):7.1f} ms"
                + (f"  {len(r.problems)} PROBLEMS" if r.problems else "")
            )
    finally:
        server.stop()

    problems = [p for r in results for p in r.problems]
    over = [r.name for r in results if r.percentile(95) >= BUDGET_P95_MS]
    report = {
        "benchmark": "web",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "archive": {
            "messages": args.messages,
            "export": export.path.name,
            "archive_sqlite_bytes": (archive / "archive.sqlite").stat().st_size,
        },
        "server": {"wsgi": "waitress", "threads": SERVER_THREADS, "process": "its own"},
        "clients": {"threads": CLIENT_THREADS, "connections": "keep-alive, one per thread"},
        "member": member,
        "requests_per_kind": args.requests,
        "warmup_per_kind": args.warmup,
        "budget_p95_ms": BUDGET_P95_MS,
        "kinds": [
            {
                "name": r.name,
                "what": r.what,
                "requests": len(r.ms),
                "p50_ms": round(r.percentile(50), 2),
                "p95_ms": round(r.percentile(95), 2),
                "p99_ms": round(r.percentile(99), 2),
                "max_ms": round(max(r.ms), 2),
                "mean_ms": round(statistics.fmean(r.ms), 2),
                "within_budget": r.percentile(95) < BUDGET_P95_MS,
                "problems": r.problems[:10],
            }
            for r in results
        ],
        "over_budget": over,
        "environment": environment(commit),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not only:
        (RESULTS / "web.json").write_text(json.dumps(report, indent=2) + "\n")
        _say(f"wrote {(RESULTS / 'web.json').relative_to(ROOT)}")
    if problems:
        _say("WRONG ANSWERS:\n  " + "\n  ".join(problems[:20]))
        return 1
    if over:
        _say(f"over the {BUDGET_P95_MS:.0f} ms p95 budget: {', '.join(over)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
