"""``verify`` of a wiki export whose page has a long history: seconds at two history lengths,
to show the fidelity check's revision pairing grows with the number of revisions, not with
its square (it searched a page's revisions once per revision, reading every body, until
pairs were made through indexes).

A DokuWiki page of N revisions is ingested, exported to MediaWiki and to XAR, and each export
verified. Results go to ``benchmarks/results/wiki_history_verify.json``.

    python benchmarks/bench_wiki_history_verify.py [--revisions 2500 10000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "wiki_history_verify.json"


def measure(tmp: Path, revisions: int) -> dict[str, float]:
    from passerelle.archive import Archive
    from passerelle.export import export
    from passerelle.ingest import ingest
    from passerelle.verify import verify
    from tests.dokuwiki_builder import Page, Rev, Wiki, write_wiki

    history = [
        Rev(1_600_000_000 + i, text=f"version {i}\n" + "line\n" * (i % 50), type="C" if i == 0 else "E")
        for i in range(revisions)
    ]
    write_wiki(tmp / "wiki", Wiki(pages=[Page("long", history)]))
    ingest([tmp / "wiki"], tmp / "archive")
    seconds: dict[str, float] = {}
    for target in ("mediawiki", "xar"):
        output = tmp / f"out-{target}"
        export(tmp / "archive", target, output)
        started = time.perf_counter()
        with Archive.open(tmp / "archive") as archive:
            report = verify(archive, output)
        assert getattr(report, "ok", False), f"verify of the {target} export found unexplained differences"
        seconds[target] = round(time.perf_counter() - started, 2)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, nargs="+", default=[2500, 10000])
    args = parser.parse_args()
    results = []
    for n in args.revisions:
        with tempfile.TemporaryDirectory(prefix="passerelle-bench-") as tmp:
            seconds = measure(Path(tmp), n)
        results.append({"revisions": n, "verify_seconds": seconds})
        print(f"{n:>6} revisions: verify mediawiki {seconds['mediawiki']} s, xar {seconds['xar']} s")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
