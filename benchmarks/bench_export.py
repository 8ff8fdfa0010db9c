"""Benchmark: `passerelle export` (Mattermost JSONL and Slack export) from archives of growing size.

Run by ``make bench`` (``.venv/bin/python benchmarks/bench_export.py``). For each size it
takes the deterministic Slack export of ``bench_slack_ingest.py`` (cached in
``benchmarks/.work/exports/``), ingests it once into a cached archive, then runs, interleaved,
``passerelle export --to mattermost`` and ``--to slack`` on it, measuring wall time and the peak
RSS of the process tree (``_measure.py``). Each output is checked: its manifest's tally must
account for every item of the archive, and up to ``VERIFY_UP_TO`` messages ``passerelle verify
--against`` the output must find nothing unexplained.

Budgets of issue 3: Mattermost JSONL at >= 100,000 messages/s from a 1M-message archive, and
memory that does not grow with the archive (peak at 1M <= 1.25 x peak at 100k).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _measure import Measurement, run_measured
from bench_slack_ingest import WORK, Export, _env, _fresh, export_for, passerelle_argv

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BUDGET_MSGS_PER_S = {"mattermost": 100_000}
FLAT_FACTOR = 1.25
FLAT_BUDGET = {"mattermost"}  # the budget; a Slack export has a file per conversation-day
FLAT_FROM, FLAT_TO = 100_000, 1_000_000
VERIFY_UP_TO = 100_000
WRITERS = ("mattermost", "slack")
MB = 1_000_000


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def archive_for(export: Export) -> Path:
    """The archive of this export, ingested once and cached beside it."""
    archive = WORK / "archives" / export.path.stem
    if (archive / "passerelle-archive.json").exists() and (archive / ".complete").exists():
        return archive
    if archive.exists():
        shutil.rmtree(archive)
    archive.parent.mkdir(parents=True, exist_ok=True)
    _say(f"ingesting {export.path.name} -> {archive.relative_to(ROOT)}")
    tmp = _fresh(WORK / "runs" / "tmp-ingest")
    m = run_measured(
        [*passerelle_argv(), "ingest", str(export.path), "-o", str(archive), "--json"],
        cwd=WORK,
        env=_env(tmp),
        log_dir=WORK / "runs" / "logs",
        name=f"ingest-{export.spec.messages}",
    )
    if m.returncode != 0:
        raise SystemExit(f"ingest failed: {m.stderr_tail}")
    (archive / ".complete").write_text("")
    return archive


@dataclass
class ExportRun:
    writer: str
    measurement: Measurement
    output_bytes: int
    problems: list[str]
    verify: Measurement | None = None


@dataclass
class SizeResult:
    messages: int
    runs: list[ExportRun] = field(default_factory=list)

    def of(self, writer: str) -> list[ExportRun]:
        return [r for r in self.runs if r.writer == writer]


def run_export(writer: str, archive: Path, messages: int, tag: str, verify: bool) -> ExportRun:
    runs = WORK / "runs"
    output = runs / f"{writer}-{tag}.zip"
    output.unlink(missing_ok=True)
    tmp = _fresh(runs / f"tmp-{tag}")
    m = run_measured(
        [*passerelle_argv(), "export", str(archive), "--to", writer, "-o", str(output), "--json"],
        cwd=runs,
        env=_env(tmp),
        log_dir=runs / "logs",
        name=f"export-{writer}-{tag}",
    )
    problems: list[str] = []
    if m.returncode != 0:
        problems.append(f"export exited {m.returncode}: {m.stderr_tail[-3:]}")
        return ExportRun(writer, m, 0, problems)
    with zipfile.ZipFile(output) as zf:
        manifest = json.loads(zf.read("passerelle-export.json"))
    accounted = sum(manifest["tally"]["item"].values())
    if accounted != messages:
        problems.append(f"the manifest accounts for {accounted} items, the archive holds {messages}")
    result = ExportRun(writer, m, output.stat().st_size, problems)
    if verify:
        v = run_measured(
            [*passerelle_argv(), "verify", str(archive), "--against", str(output), "--json"],
            cwd=runs,
            env=_env(tmp),
            log_dir=runs / "logs",
            name=f"verify-{writer}-{tag}",
        )
        result.verify = v
        if v.returncode != 0:
            problems.append(f"verify exited {v.returncode}")
    output.unlink(missing_ok=True)
    return result


def _rate(messages: int, runs: list[ExportRun]) -> float:
    return messages / statistics.median(r.measurement.wall_s for r in runs)


def _peak(runs: list[ExportRun]) -> float:
    return max(r.measurement.peak_tree_rss for r in runs) / MB


def report(results: list[SizeResult], repeat: int) -> tuple[str, dict[str, Any], bool]:
    ok = True
    lines = [
        f"# export benchmark, {datetime.now(UTC).date().isoformat()}",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, {repeat} run(s) per cell,"
        " writers interleaved. Time: median wall clock of the whole command (open, write, manifest);"
        " memory: peak summed RSS of the process tree.",
        "",
        "| messages | writer | msgs/s | wall s | peak MB | output MB | verify s |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    data: dict[str, Any] = {"repeat": repeat, "sizes": []}
    for size in results:
        entry: dict[str, Any] = {"messages": size.messages, "writers": {}}
        for writer in WRITERS:
            runs = size.of(writer)
            if not runs:
                continue
            problems = [p for r in runs for p in r.problems]
            ok &= not problems
            verify = next((r.verify for r in runs if r.verify), None)
            wall = statistics.median(r.measurement.wall_s for r in runs)
            lines.append(
                f"| {size.messages:,} | {writer} | {_rate(size.messages, runs):,.0f} | {wall:.1f} |"
                f" {_peak(runs):.0f} | {runs[0].output_bytes / MB:.0f} |"
                f" {f'{verify.wall_s:.1f}' if verify else '-'} |"
            )
            entry["writers"][writer] = {
                "msgs_per_s": _rate(size.messages, runs),
                "wall_s": [r.measurement.wall_s for r in runs],
                "peak_tree_mb": _peak(runs),
                "output_bytes": runs[0].output_bytes,
                "verify_s": verify.wall_s if verify else None,
                "problems": problems,
            }
            for p in problems:
                lines.append(f"\nProblem ({writer}, {size.messages:,}): {p}")
        data["sizes"].append(entry)
    lines += ["", "## Budgets", ""]
    by_size = {s.messages: s for s in results}
    for writer, budget in BUDGET_MSGS_PER_S.items():
        if FLAT_TO in by_size and by_size[FLAT_TO].of(writer):
            rate = _rate(FLAT_TO, by_size[FLAT_TO].of(writer))
            passed = rate >= budget
            ok &= passed
            lines.append(
                f"- {writer} at {FLAT_TO:,} messages: {rate:,.0f} msgs/s, budget >= {budget:,}:"
                f" {'PASS' if passed else 'FAIL'}"
            )
    for writer in WRITERS:
        if FLAT_FROM in by_size and FLAT_TO in by_size and by_size[FLAT_TO].of(writer):
            small, large = _peak(by_size[FLAT_FROM].of(writer)), _peak(by_size[FLAT_TO].of(writer))
            figure = f"{large:.0f} MB at {FLAT_TO:,} vs {small:.0f} MB at {FLAT_FROM:,} (x{large / small:.2f}"
            if writer in FLAT_BUDGET:
                passed = large <= FLAT_FACTOR * small
                ok &= passed
                verdict = f"budget <= x{FLAT_FACTOR}): {'PASS' if passed else 'FAIL'}"
            else:
                verdict = "no budget; it grows with the output's files, one zip entry each)"
            lines.append(f"- {writer} memory: {figure}, {verdict}")
    return "\n".join(lines) + "\n", data, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    for messages in sizes:
        export = export_for(messages, WORK / "exports")
        archive = archive_for(export)
        size = SizeResult(messages)
        for i in range(args.repeat):
            for writer in WRITERS:
                _say(f"export {writer} {messages:,} (run {i + 1}/{args.repeat})")
                tag = f"{messages}-{i}"
                size.runs.append(
                    run_export(writer, archive, messages, tag, i == 0 and messages <= VERIFY_UP_TO)
                )
        results.append(size)
    text, data, ok = report(results, args.repeat)
    args.results.mkdir(parents=True, exist_ok=True)
    stem = f"export-{datetime.now(UTC).date().isoformat()}"
    (args.results / f"{stem}.md").write_text(text)
    (args.results / f"{stem}.json").write_text(json.dumps(data, indent=2) + "\n")
    print(text)
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
