"""The MediaWiki writer on a generated full-history wiki: seconds, MB/s and peak memory of
``export --to mediawiki`` (and of ``verify`` against the output) at two sizes, to show that
memory does not grow with the number of pages and revisions.

Each measurement runs in a fresh process (peak RSS is per process). Results go to
``benchmarks/results/mediawiki_export.json``.

    python benchmarks/bench_mediawiki_export.py [--pages 1000] [--revisions 40] [--text 1500]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "mediawiki_export.json"


def _child(step: str, archive: Path, output: Path) -> None:
    from passerelle.archive import Archive
    from passerelle.export import export
    from passerelle.verify import verify

    started = time.perf_counter()
    if step == "export":
        export(archive, "mediawiki", output)
    else:
        with Archive.open(archive) as opened:
            report = verify(opened, output)
        assert getattr(report, "ok", False), "verify found unexplained differences"
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": round(seconds, 2), "peak_mb": round(peak, 1)}))


def _run(step: str, archive: Path, output: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", step, str(archive), str(output)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(pages: int, revisions: int, text: int, folder: Path) -> dict[str, object]:
    sys.path.insert(0, str(ROOT))
    from passerelle.ingest import ingest
    from tests.mediawiki_builder import generated_pages, write_dump

    dump = write_dump(folder / "dump.xml", generated_pages(pages, revisions, text_size=text))
    archive = folder / "archive"
    ingest([dump], archive, format="mediawiki")
    output = folder / "out"
    exported = _run("export", archive, output)
    size = (output / "dump.xml").stat().st_size
    verified = _run("verify", archive, output)
    return {
        "pages": pages,
        "revisions": pages * revisions,
        "dump_mb": round(size / 1e6, 1),
        "export": {**exported, "mb_per_s": round(size / 1e6 / max(exported["seconds"], 1e-9), 1)},
        "verify": verified,
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.path.insert(0, str(ROOT))
        _child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--revisions", type=int, default=40)
    parser.add_argument("--text", type=int, default=1500)
    args = parser.parse_args()
    results = []
    for pages in (args.pages // 4, args.pages):
        with tempfile.TemporaryDirectory(prefix="bench-mw-export-") as tmp:
            result = measure(pages, args.revisions, args.text, Path(tmp))
        print(json.dumps(result), flush=True)
        results.append(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
