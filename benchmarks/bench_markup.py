"""Benchmark: markup conversion between wiki syntaxes, and the ingest-time markup pass.

``.venv/bin/python benchmarks/bench_markup.py [--pages 640] [--repeat 2] [--out benchmarks/results/markup.json]``

Inputs: the current text of every page of the real MediaWiki samples (the Wikipedia pages
of camchenry/wikidump, the python-mwxml and macbre dumps: 22 pages, 95 KB) and the real
"Pear" table that pandoc fails on, repeated to ``--pages`` pages; and 2,000 pages of the
MediaWiki benchmark's generated wikitext (``tests/mediawiki_builder.wikitext``, ~4 KB each).

Measures (best of ``--repeat``, the machine's load printed before and after):

- ``references`` and ``normalise`` (pure Python, run by the readers on every revision): MB/s.
- ``convert_many`` MediaWiki -> DokuWiki and -> Markdown with batches of 1, 16, 64 and 256
  pages, to ``pandoc.WORKERS`` kept-up pandoc processes (one per core, at most 4): pages/s,
  and the largest pandoc process's peak RSS.
- one ``pandoc -f mediawiki -t dokuwiki`` process per page (what ``pypandoc.convert_text``
  does), on the first 100 pages: pages/s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from passerelle.markup import Page, convert_many, normalise, references  # noqa: E402
from passerelle.markup import pandoc as pandoc_runner  # noqa: E402
from tests.mediawiki_builder import wikitext  # noqa: E402

SAMPLES = ROOT.parent / "shared" / "samples" / "mediawiki"
PEAR = """The '''pear''' is a fruit.

{| class="sortable wikitable" style="float:left;
width:20em"
|-
! Species !! Region
|-
| ''Pyrus communis'' || Europe
|}
"""


def real_pages() -> list[str]:
    texts: list[str] = []
    for path in sorted(SAMPLES.rglob("*.xml")):
        current = ""
        for _, elem in ET.iterparse(path):
            tag = elem.tag.rsplit("}", 1)[-1]
            if tag == "text":
                current = elem.text or ""
            elif tag == "page":
                texts.append(current)
                elem.clear()
    return [*texts, PEAR]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def best(repeat: int, run: Any) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--pages", type=int, default=640)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "markup.json")
    args = parser.parse_args()
    results: dict[str, Any] = {"load_before": load(), "pandoc": pandoc_runner.pandoc_version()}
    real = real_pages()
    pages = (real * (args.pages // len(real) + 1))[: args.pages]
    size = sum(len(t.encode()) for t in pages) / 1e6
    rng = random.Random(1)
    generated = [wikitext(rng, 4000) for _ in range(2000)]
    generated_mb = sum(len(t.encode()) for t in generated) / 1e6
    print(f"load {results['load_before']}; {len(real)} real pages, {args.pages} pages = {size:.2f} MB")

    for name, texts, mb in (("real", pages, size), ("generated", generated, generated_mb)):
        for fn in (references, normalise):
            seconds = best(args.repeat, lambda fn=fn, texts=texts: [fn("mediawiki", t) for t in texts])
            results[f"{fn.__name__}_{name}_mb_s"] = round(mb / seconds, 1)
            print(f"{fn.__name__:>10} {name:>9}: {mb / seconds:6.1f} MB/s")

    for target in ("dokuwiki", "markdown"):
        for batch in (1, 16, 64, 256):
            n = min(args.pages, 128) if batch == 1 else args.pages
            chosen = [Page(t, "mediawiki", f"P{i}") for i, t in enumerate(pages[:n])]
            old = pandoc_runner.BATCH_PAGES
            pandoc_runner.BATCH_PAGES = batch
            methods: dict[str, int] = {}

            def run(
                chosen: list[Page] = chosen,
                batch: int = batch,
                target: str = target,
                methods: dict[str, int] = methods,
            ) -> None:
                methods.clear()
                for c in convert_many(chosen, target, batch=max(batch * pandoc_runner.WORKERS, 64)):
                    methods[c.method] = methods.get(c.method, 0) + 1

            seconds = best(args.repeat, run)
            pandoc_runner.BATCH_PAGES = old
            rate = n / seconds
            results[f"convert_{target}_batch{batch}_pages_s"] = round(rate, 1)
            results[f"convert_{target}_batch{batch}_methods"] = dict(methods)
            print(f"convert -> {target:>8}, {batch:>3} pages a batch: {rate:7.1f} pages/s {methods}")

    path = pandoc_runner.pandoc_path()
    if path is not None:
        subset = pages[:100]

        def per_page() -> None:
            for t in subset:
                subprocess.run(
                    [path, "-f", "mediawiki", "-t", "dokuwiki"], input=t.encode(), capture_output=True
                )

        seconds = best(args.repeat, per_page)
        results["pandoc_process_per_page_pages_s"] = round(len(subset) / seconds, 1)
        print(f"one pandoc process per page:               {len(subset) / seconds:7.1f} pages/s")
    pandoc_runner._close_all()  # the kept-up pandoc processes end, so their peak is counted
    results["pandoc_peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    results["load_after"] = load()
    print(f"largest pandoc process: {results['pandoc_peak_rss_mib']} MiB; load {results['load_after']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
