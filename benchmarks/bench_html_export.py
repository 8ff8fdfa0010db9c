"""Benchmark: `passerelle export --to html` (the static site) from the 100,000- and 1,000,000-
message Slack archives of bench_slack_ingest.py / bench_export.py (cached in benchmarks/.work).

Run by ``make bench`` (``.venv/bin/python benchmarks/bench_html_export.py``). For each size it
exports the public site once, measuring wall time and the peak RSS of the process tree
(``_measure.py``); then the output's size, the search index's (``data/search-*``), the number
of shards. On the 100k site, Debian's Chromium opens ``search.html?q=WORD`` from disk for a
common word, a middling one and a rare one and the time until the first result is drawn is
measured (median of several runs, each in a fresh page).

Memory must not grow with the number of messages: the peak at 1M is reported beside the peak
at 100k. Writes benchmarks/results/html_export.json; docs/benchmarks.md, "Static HTML export",
is written from it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _measure import run_measured
from bench_export import archive_for
from bench_slack_ingest import WORK, _env, _fresh, export_for, passerelle_argv

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CHROMIUM = Path("/usr/bin/chromium")
SEARCH_RUNS = 5
MB = 1_000_000


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _size(path: Path, pattern: str = "*") -> tuple[int, int]:
    files = [p for p in path.rglob(pattern) if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def _data(path: Path) -> Any:
    raw = path.read_bytes()
    return json.loads(raw[len(b"passerelle_data(") : -len(b");\n")])


def export_site(messages: int) -> dict[str, Any]:
    export = export_for(messages, WORK / "exports")
    archive = archive_for(export)
    runs = _fresh(WORK / "runs" / f"html-{messages}")
    out = runs / "site"
    _say(f"export --to html: {messages:,} messages")
    m = run_measured(
        [*passerelle_argv(), "export", str(archive), "--to", "html", "-o", str(out), "--json"],
        cwd=runs,
        env=_env(_fresh(runs / "tmp")),
        log_dir=runs / "logs",
        name=f"html-{messages}",
    )
    if m.returncode != 0:
        raise SystemExit(f"export failed: {m.stderr_tail}")
    report = json.loads(m.stdout)
    items = sum(report["tally"]["item"].values())
    carried = report["tally"]["item"].get("carried", 0)
    site = _data(out / "data" / "site.js")
    total_bytes, total_files = _size(out)
    index_bytes, index_files = _size(out / "data", "search-*.js")
    shards = len(list((out / "data").glob("search-terms-*.js")))
    largest_shard = max(p.stat().st_size for p in (out / "data").glob("search-terms-*.js"))
    return {
        "messages": messages,
        "archive_items": items,
        "items_in_site": carried,
        "withheld_items": report["tally"]["item"].get("lost", 0),
        "seconds": round(m.wall_s, 2),
        "messages_per_s": round(items / m.wall_s),
        "peak_tree_rss_mb": round(m.peak_tree_rss / MB, 1),
        "peak_main_rss_mb": round(m.peak_main_rss / MB, 1),
        "output_mb": round(total_bytes / MB, 1),
        "output_files": total_files,
        "index_mb": round(index_bytes / MB, 1),
        "index_files": index_files,
        "shards": shards,
        "largest_shard_kb": round(largest_shard / 1000, 1),
        "item_chunks": site["item_chunks"],
        "site": str(out),
    }


def _words(site: Path) -> dict[str, tuple[str, int]]:
    """A common, a middling and a rare word of the site's index, with their document counts."""
    counts: dict[str, int] = {}
    for shard in sorted((site / "data").glob("search-terms-*.js")):
        for word, gaps in _data(shard)["terms"].items():
            if ":" not in word and word.isalpha():
                counts[word] = len(gaps)
    ranked = sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))
    middling = next(wc for wc in ranked if wc[1] <= 1000)
    rare = next(wc for wc in ranked if wc[1] <= 3)
    return {"common": ranked[0], "middling": middling, "rare": rare}


def search_times(site: Path) -> dict[str, Any]:
    """Seconds from opening search.html?q=WORD (from disk) to the first result drawn."""
    if not os.access(CHROMIUM, os.X_OK):
        return {"skipped": f"{CHROMIUM} is absent"}
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))
    from tests.web.browser import CHROMIUM_ARGS

    out: dict[str, Any] = {}
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            for kind, (word, docs) in _words(site).items():
                times = []
                for _ in range(SEARCH_RUNS):
                    page = context.new_page()
                    started = time.perf_counter()
                    page.goto((site / "search.html").as_uri() + f"?q={word}")
                    page.wait_for_selector("li.result", timeout=60_000)
                    times.append(time.perf_counter() - started)
                    status = page.locator("#status").inner_text()
                    page.close()
                out[kind] = {
                    "word": word,
                    "documents": docs,
                    "status": status,
                    "median_s": round(statistics.median(times), 3),
                    "max_s": round(max(times), 3),
                }
        finally:
            context.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="message counts, comma-separated")
    parser.add_argument("--keep", action="store_true", help="keep the sites under benchmarks/.work/runs")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    search: dict[str, Any] = {}
    for messages in sizes:
        result = export_site(messages)
        if messages == 100_000:
            search = search_times(Path(result["site"]))
        if not args.keep:
            shutil.rmtree(result["site"])
        results.append(result)
        _say(json.dumps({k: v for k, v in result.items() if k != "site"}))
    peaks = {r["messages"]: r["peak_tree_rss_mb"] for r in results}
    summary = {
        "benchmark": "html_export",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "sizes": [{k: v for k, v in r.items() if k != "site"} for r in results],
        "peak_ratio_1m_over_100k": round(peaks[1_000_000] / peaks[100_000], 2)
        if {100_000, 1_000_000} <= peaks.keys()
        else None,
        "search_100k": search,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "html_export.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
