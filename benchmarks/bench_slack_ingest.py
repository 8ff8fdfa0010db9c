"""Benchmark: `passerelle ingest` of generated Slack exports, side by side with slack-export-viewer.

Run by ``make bench`` (``.venv/bin/python benchmarks/bench_slack_ingest.py``). For each size
it generates (or reuses from ``benchmarks/.work/exports/``) a deterministic Slack export zip,
then, interleaved, runs ``passerelle ingest`` and slack-export-viewer on it, measuring wall
time and the peak RSS of each command's whole process tree (see ``_measure.py``). Every
ingest is checked (``passerelle info`` counts against the generator's ground truth, and
``passerelle verify`` up to 100k messages); a wrong result fails the benchmark loudly.

The report (markdown) and the raw figures (JSON) go to ``benchmarks/results/``. This is a
benchmark, not a test: the budgets are checked and reported here, never in timed tests.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import msgspec

import passerelle.demo.slack_export as generator
from _measure import SAMPLE_INTERVAL_S, Measurement, run_measured
from passerelle.demo.slack_export import ExportSpec, ExportStats, write_export

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work"
RESULTS = ROOT / "benchmarks" / "results"
BIN = Path(sys.executable).parent  # the venv's bin (not resolved: that would leave the venv)

# The budgets of the issue. They live here and in docs/benchmarks.md, never in timed tests.
BUDGET_MSGS_PER_S = 50_000
BUDGET_PEAK_MB = 300  # MB = 10^6 bytes, of the whole process tree's summed RSS
FLAT_FACTOR = 1.25  # "flat between 100k and 1M": peak tree RSS at 1M <= 1.25 x peak at 100k
FLAT_FROM, FLAT_TO = 100_000, 1_000_000
VERIFY_UP_TO = 100_000  # verify re-reads the whole export: run it up to this size
VIEWER_SKIP_FROM = 1_000_000  # unless --viewer-at-1m
DEFAULT_SIZES = "10000,100000,1000000"
SEED = 1

MB = 1_000_000


# ------------------------------------------------------------------------------ exports


def spec_for(messages: int) -> ExportSpec:
    """A workspace whose shape grows with its size, roughly like real ones."""
    return ExportSpec(
        messages=messages,
        users=300 + messages // 2_000,
        public_channels=40 + messages // 20_000,
        private_channels=6 + messages // 50_000,
        dms=30 + messages // 10_000,
        mpims=8 + messages // 50_000,
        seed=SEED,
        with_file_bytes=True,
    )


@dataclass
class Export:
    spec: ExportSpec
    path: Path
    stats: ExportStats
    generation_s: float  # when it was generated (possibly by an earlier run)
    generated_now: bool
    zip_bytes: int
    viewer_copy: Path | None = None  # null-valued keys removed, for slack-export-viewer
    viewer_copy_s: float | None = None


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_for(messages: int, exports_dir: Path) -> Export:
    """The export for this size, from the cache when its spec (and the generator's code) match."""
    spec = spec_for(messages)
    key_material = json.dumps(
        {
            "spec": dataclasses.asdict(spec),
            "indent": None,
            "zip": True,
            "generator": _file_sha(Path(generator.__file__)),
        },
        sort_keys=True,
    )
    key = hashlib.sha256(key_material.encode()).hexdigest()[:12]
    path = exports_dir / f"slack-{messages}-{key}.zip"
    meta = path.with_suffix(".meta.json")
    if path.exists() and meta.exists():
        saved = json.loads(meta.read_text())
        return Export(
            spec, path, ExportStats(**saved["stats"]), saved["generation_s"], False, path.stat().st_size
        )
    exports_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    _say(f"generating {messages:,} messages -> {path.relative_to(ROOT)}")
    started = time.perf_counter()
    stats = write_export(spec, partial, as_zip=True, indent=None)
    took = time.perf_counter() - started
    partial.rename(path)
    meta.write_text(
        json.dumps(
            {"spec": dataclasses.asdict(spec), "stats": dataclasses.asdict(stats), "generation_s": took},
            indent=2,
        )
    )
    return Export(spec, path, stats, took, True, path.stat().st_size)


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def viewer_copy_of(export: Export) -> tuple[Path, float]:
    """A copy of the export without null-valued keys, which slack-export-viewer 3.5 crashes on.

    measurements.md §9 prepared its real export for the viewer the same way. Cached beside the export.
    """
    path = export.path.with_suffix(".viewer.zip")
    meta = export.path.with_suffix(".viewer.meta.json")
    if path.exists() and meta.exists():
        return path, float(json.loads(meta.read_text())["seconds"])
    partial = path.with_suffix(".partial")
    _say(f"writing a null-free copy for slack-export-viewer -> {path.relative_to(ROOT)}")
    started = time.perf_counter()
    with zipfile.ZipFile(export.path) as source, zipfile.ZipFile(partial, "w") as copy:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(".json"):
                data = msgspec.json.encode(_strip_nulls(msgspec.json.decode(data)))
            entry = zipfile.ZipInfo(info.filename, info.date_time)
            copy.writestr(entry, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    took = time.perf_counter() - started
    partial.rename(path)
    meta.write_text(json.dumps({"seconds": took}))
    return path, took


def _warm(path: Path) -> None:
    """Read a file once so that every timed run starts with it in the page cache."""
    with path.open("rb") as f:
        while f.read(1 << 24):
            pass


# ------------------------------------------------------------------------------ runs


@dataclass
class IngestRun:
    measurement: Measurement
    internal_s: float | None  # passerelle's own "seconds" in its --json summary
    counts: dict[str, int]
    archive_bytes: int
    verify: Measurement | None
    problems: list[str]


@dataclass
class ViewerRun:
    measurement: Measurement
    input: str  # "export" or "null-free copy"
    output_files: int
    output_bytes: int


@dataclass
class SizeResult:
    export: Export
    repeat: int
    ingests: list[IngestRun] = field(default_factory=list)
    viewers: list[ViewerRun] = field(default_factory=list)
    viewer_status: str = "not run"
    viewer_probe: Measurement | None = None  # the viewer on the export itself, when it failed


def _tree_size(path: Path) -> tuple[int, int]:
    files = size = 0
    for folder, _, names in os.walk(path):
        for name in names:
            files += 1
            size += (Path(folder) / name).stat().st_size
    return files, size


def _fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _env(tmpdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["TMPDIR"] = str(tmpdir)
    return env


def passerelle_argv() -> list[str]:
    script = BIN / "passerelle"
    if script.exists():
        return [str(script)]
    # passerelle.cli has main() but no __main__ guard, so `-m passerelle.cli` would do nothing.
    return [sys.executable, "-c", "from passerelle.cli import main; main()"]


def check_counts(info: dict[str, Any], stats: ExportStats) -> list[str]:
    counts = info["counts"]
    expected = {
        "items": stats.messages,
        "thread_replies": stats.replies,
        "reactions": stats.reactions,
        "files": stats.files,
        "files_with_content": stats.files_with_bytes,
    }
    return [
        f"info counts.{name} = {counts.get(name)}, generator wrote {want}"
        for name, want in expected.items()
        if counts.get(name) != want
    ]


def run_ingest(export: Export, runs: Path, tag: str, keep: bool) -> IngestRun:
    archive = runs / f"archive-{tag}"
    if archive.exists():
        shutil.rmtree(archive)
    tmp = _fresh(runs / f"tmp-{tag}")
    cli = passerelle_argv()
    m = run_measured(
        [*cli, "ingest", str(export.path), "-o", str(archive), "--json"],
        cwd=runs,
        env=_env(tmp),
        log_dir=runs / "logs",
        name=f"ingest-{tag}",
    )
    problems: list[str] = []
    internal: float | None = None
    counts: dict[str, int] = {}
    verify: Measurement | None = None
    if not m.ok:
        problems.append(f"ingest exited {m.returncode}: {m.last_error_line}")
    else:
        try:
            summary = json.loads(m.stdout)
            source = summary["sources"][0]
            internal = float(source["seconds"])
            if source["status"] != "ingested":
                problems.append(f"ingest status {source['status']!r}, expected 'ingested'")
        except (ValueError, KeyError, IndexError) as exc:
            problems.append(f"ingest --json output unreadable: {exc!r}")
        info_run = subprocess.run(
            [*cli, "info", str(archive), "--json"], cwd=runs, capture_output=True, text=True, check=False
        )
        if info_run.returncode != 0:
            problems.append(f"info exited {info_run.returncode}: {info_run.stderr.strip()[-300:]}")
        else:
            info = json.loads(info_run.stdout)
            counts = {k: int(v) for k, v in info["counts"].items()}
            problems.extend(check_counts(info, export.stats))
        if export.stats.messages <= VERIFY_UP_TO:
            verify = run_measured(
                [*cli, "verify", str(archive), "--against", str(export.path)],
                cwd=runs,
                env=_env(tmp),
                log_dir=runs / "logs",
                name=f"verify-{tag}",
            )
            if not verify.ok:
                problems.append(f"verify exited {verify.returncode}: {verify.last_error_line}")
    _, archive_bytes = _tree_size(archive) if archive.exists() else (0, 0)
    if not keep:
        shutil.rmtree(archive, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return IngestRun(m, internal, counts, archive_bytes, verify, problems)


def viewer_path() -> Path | None:
    found = shutil.which("slack-export-viewer", path=str(BIN))
    return Path(found) if found else None


def run_viewer(viewer: Path, source: Path, runs: Path, tag: str, input_label: str, keep: bool) -> ViewerRun:
    out = runs / f"viewer-{tag}"
    if out.exists():
        shutil.rmtree(out)
    tmp = _fresh(runs / f"viewer-tmp-{tag}")  # fresh: else the viewer reuses its unpacked cache
    m = run_measured(
        [
            str(viewer),
            "-z",
            str(source),
            "--html-only",
            "-o",
            str(out),
            "--no-browser",
            "--show-dms",
            "--no-external-references",
        ],
        cwd=runs,
        env=_env(tmp),
        log_dir=runs / "logs",
        name=f"viewer-{tag}",
    )
    files, size = _tree_size(out) if out.exists() else (0, 0)
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return ViewerRun(m, input_label, files, size)


# ------------------------------------------------------------------------------ figures


def median(values: list[float]) -> float:
    return statistics.median(values)


def size_figures(r: SizeResult) -> dict[str, Any]:
    n = r.export.stats.messages
    walls = [run.measurement.wall_s for run in r.ingests]
    fig: dict[str, Any] = {
        "messages": n,
        "zip_bytes": r.export.zip_bytes,
        "generation_s": r.export.generation_s,
        "ingest_runs": len(walls),
        "ingest_wall_median_s": median(walls) if walls else None,
        "ingest_wall_min_s": min(walls) if walls else None,
        "ingest_wall_max_s": max(walls) if walls else None,
        "ingest_internal_median_s": (
            median([x.internal_s for x in r.ingests if x.internal_s is not None])
            if any(x.internal_s is not None for x in r.ingests)
            else None
        ),
        "peak_tree_rss": max((x.measurement.peak_tree_rss for x in r.ingests), default=None),
        "peak_main_rss": max((x.measurement.peak_main_rss for x in r.ingests), default=None),
        "wait4_maxrss": max((x.measurement.wait4_maxrss for x in r.ingests), default=None),
        "max_processes": max((x.measurement.max_processes for x in r.ingests), default=None),
        "main_cpu_s_median": (
            median([x.measurement.user_cpu_s + x.measurement.sys_cpu_s for x in r.ingests])
            if r.ingests
            else None
        ),
        "tree_cpu_s_median": (
            median([x.measurement.tree_cpu_s for x in r.ingests if x.measurement.tree_cpu_s is not None])
            if r.ingests and all(x.measurement.tree_cpu_s is not None for x in r.ingests)
            else None
        ),
        "archive_bytes": max((x.archive_bytes for x in r.ingests), default=None),
    }
    fig["msgs_per_s"] = n / fig["ingest_wall_median_s"] if walls else None
    verifies = [x.verify for x in r.ingests if x.verify is not None]
    fig["verify_wall_median_s"] = median([v.wall_s for v in verifies]) if verifies else None
    fig["verify_msgs_per_s"] = n / fig["verify_wall_median_s"] if verifies else None
    fig["verify_peak_tree_rss"] = max((v.peak_tree_rss for v in verifies), default=None)
    ok_viewers = [v for v in r.viewers if v.measurement.ok]
    fig["viewer_status"] = r.viewer_status
    fig["viewer_runs"] = len(ok_viewers)
    fig["viewer_wall_median_s"] = median([v.measurement.wall_s for v in ok_viewers]) if ok_viewers else None
    fig["viewer_wall_min_s"] = min((v.measurement.wall_s for v in ok_viewers), default=None)
    fig["viewer_wall_max_s"] = max((v.measurement.wall_s for v in ok_viewers), default=None)
    fig["viewer_peak_tree_rss"] = max((v.measurement.peak_tree_rss for v in ok_viewers), default=None)
    fig["viewer_msgs_per_s"] = n / fig["viewer_wall_median_s"] if ok_viewers else None
    fig["viewer_output_files"] = ok_viewers[0].output_files if ok_viewers else None
    fig["viewer_output_bytes"] = ok_viewers[0].output_bytes if ok_viewers else None
    fig["speed_ratio"] = (
        fig["msgs_per_s"] / fig["viewer_msgs_per_s"]
        if fig["msgs_per_s"] and fig["viewer_msgs_per_s"]
        else None
    )
    return fig


@dataclass
class Verdict:
    budget: str
    scope: str
    measured: str
    verdict: str  # PASS, FAIL or "not evaluated"


def verdicts(figures: list[dict[str, Any]]) -> list[Verdict]:
    out: list[Verdict] = []
    for f in figures:
        n = f"{f['messages']:,} messages"
        if f["msgs_per_s"] is None:
            continue
        out.append(
            Verdict(
                f"ingest >= {BUDGET_MSGS_PER_S:,} msgs/s",
                n,
                f"{f['msgs_per_s']:,.0f} msgs/s",
                "PASS" if f["msgs_per_s"] >= BUDGET_MSGS_PER_S else "FAIL",
            )
        )
    for f in figures:
        if f["peak_tree_rss"] is None:
            continue
        out.append(
            Verdict(
                f"peak memory <= {BUDGET_PEAK_MB} MB (process tree)",
                f"{f['messages']:,} messages",
                _mb(f["peak_tree_rss"]),
                "PASS" if f["peak_tree_rss"] <= BUDGET_PEAK_MB * MB else "FAIL",
            )
        )
    by_n = {f["messages"]: f for f in figures if f["peak_tree_rss"] is not None}
    flat = f"memory flat: peak at {FLAT_TO:,} <= {FLAT_FACTOR} x peak at {FLAT_FROM:,}"
    if FLAT_FROM in by_n and FLAT_TO in by_n:
        low, high = by_n[FLAT_FROM]["peak_tree_rss"], by_n[FLAT_TO]["peak_tree_rss"]
        out.append(
            Verdict(
                flat,
                f"{FLAT_FROM:,} -> {FLAT_TO:,}",
                f"{_mb(low)} -> {_mb(high)} (x{high / low:.2f})",
                "PASS" if high <= FLAT_FACTOR * low else "FAIL",
            )
        )
    else:
        out.append(Verdict(flat, "needs both sizes in one run", "-", "not evaluated"))
    return out


# ------------------------------------------------------------------------------ machine


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return ""
    return done.stdout.strip()


def _dirty_src(porcelain: str) -> list[str]:
    return [line[3:] for line in porcelain.splitlines() if line[3:].startswith("src/")]


def machine() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text()
    total_kb = next(int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:"))
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    status = _git("status", "--porcelain")

    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "mem_total_bytes": total_kb * 1024,
        "cpu_model": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "passerelle_version": version("passerelle"),
        "slack_export_viewer_version": version("slack-export-viewer"),
        "git_commit": _git("rev-parse", "--short", "HEAD") or "unknown",
        "git_dirty": bool(status),
        "git_dirty_src_files": _dirty_src(status),
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
    }


# ------------------------------------------------------------------------------ report


def _mb(value: int | None) -> str:
    if value is None:
        return "-"
    return f"{value / MB:,.1f} MB" if value < 100 * MB else f"{value / MB:,.0f} MB"


def _s(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f} s"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _size_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def render(
    when: datetime,
    mach: dict[str, Any],
    results: list[SizeResult],
    figures: list[dict[str, Any]],
    checks: list[Verdict],
    problems: list[str],
    notes: list[str],
) -> str:
    lines: list[str] = [f"# Slack ingest benchmark, {when:%Y-%m-%d %H:%M} UTC", ""]
    if problems:
        lines += ["**WRONG OUTPUT: the figures below are not valid.**", ""]
        lines += [f"- {p}" for p in problems] + [""]
    else:
        verified = any(r.export.stats.messages <= VERIFY_UP_TO for r in results)
        also = f", and `passerelle verify` exited 0 (sizes up to {VERIFY_UP_TO:,})" if verified else ""
        lines += [
            f"Every ingest was checked: `passerelle info` counts equal the generator's ground truth{also}.",
            "",
        ]
    if not mach["git_dirty"]:
        tree = "tree clean"
    elif mach["git_dirty_src_files"]:
        tree = f"tree dirty, {len(mach['git_dirty_src_files'])} modified/new files under src/"
    else:
        tree = "tree dirty outside src/ only (src/ as committed)"
    lines += [
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {mach['cpu_model']}, nproc {mach['nproc']} (usable {mach['usable_cpus']}) |",
        f"| Memory | {mach['mem_total_bytes'] / 2**30:.1f} GiB (MemTotal) |",
        f"| Python / SQLite | {mach['python']} / {mach['sqlite']} |",
        f"| passerelle | {mach['passerelle_version']}, commit `{mach['git_commit']}`, {tree} |",
        f"| slack-export-viewer | {mach['slack_export_viewer_version'] or 'not installed'} |",
        f"| Load average at start / end | {' '.join(mach['loadavg_start'])} / {' '.join(mach.get('loadavg_end', []))} |",
        "",
        "## Results",
        "",
        "passerelle writes a searchable archive (SQLite with an FTS5 index, plus content-addressed file bytes) "
        "and slack-export-viewer writes a static HTML site: the viewer is the closest peer on the same input, "
        "not the same job.",
        "",
        "| | " + " | ".join(_size_label(f["messages"]) for f in figures) + " |",
        "|---|" + "---|" * len(figures),
    ]

    def row(label: str, cells: list[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("messages", [f"{f['messages']:,}" for f in figures])
    row("export zip", [_mb(f["zip_bytes"]) for f in figures])
    row("generation (not in ingest)", [_s(f["generation_s"], 1) for f in figures])
    row("ingest runs", [str(f["ingest_runs"]) for f in figures])
    row(
        "**ingest wall, median** (min-max)",
        [
            f"**{_s(f['ingest_wall_median_s'])}** ({f['ingest_wall_min_s']:.2f}-{f['ingest_wall_max_s']:.2f})"
            if f["ingest_wall_median_s"] is not None
            else "-"
            for f in figures
        ],
    )
    row("ingest, passerelle's own timer (median)", [_s(f["ingest_internal_median_s"]) for f in figures])
    row("**passerelle msgs/s**", [f"**{_rate(f['msgs_per_s'])}**" for f in figures])
    row("CPU time user+sys, whole tree (median)", [_s(f["tree_cpu_s_median"], 1) for f in figures])
    row("CPU time user+sys, main process (median)", [_s(f["main_cpu_s_median"], 1) for f in figures])
    row("**peak RSS, process tree**", [f"**{_mb(f['peak_tree_rss'])}**" for f in figures])
    row("peak RSS, main process (sampled)", [_mb(f["peak_main_rss"]) for f in figures])
    row("max RSS, wait4 (largest single process)", [_mb(f["wait4_maxrss"]) for f in figures])
    row("processes in tree (max)", [str(f["max_processes"] or "-") for f in figures])
    row("archive on disk", [_mb(f["archive_bytes"]) for f in figures])
    row("verify wall (median)", [_s(f["verify_wall_median_s"]) for f in figures])
    row("verify msgs/s", [_rate(f["verify_msgs_per_s"]) for f in figures])
    row("verify peak RSS, tree", [_mb(f["verify_peak_tree_rss"]) for f in figures])
    row("viewer", [f["viewer_status"] for f in figures])
    row(
        "viewer wall, median (min-max)",
        [
            f"{_s(f['viewer_wall_median_s'])} ({f['viewer_wall_min_s']:.2f}-{f['viewer_wall_max_s']:.2f})"
            if f["viewer_wall_median_s"] is not None
            else "-"
            for f in figures
        ],
    )
    row("viewer msgs/s", [_rate(f["viewer_msgs_per_s"]) for f in figures])
    row("viewer peak RSS, process tree", [_mb(f["viewer_peak_tree_rss"]) for f in figures])
    row(
        "viewer output",
        [
            f"{f['viewer_output_files']:,} files, {_mb(f['viewer_output_bytes'])}"
            if f["viewer_output_files"] is not None
            else "-"
            for f in figures
        ],
    )
    row(
        "**passerelle msgs/s ÷ viewer msgs/s**",
        [f"**{f['speed_ratio']:.1f}x**" if f["speed_ratio"] else "-" for f in figures],
    )
    lines += [
        "",
        "## Budgets",
        "",
        f'"Memory flat between 100k and 1M" is defined as: peak tree RSS at 1M ≤ {FLAT_FACTOR} x peak tree RSS at 100k. '
        "Throughput is messages ÷ median wall time of the whole `passerelle ingest` command "
        "(process start-up included, which weighs most at the smallest size).",
        "",
        "| budget | scope | measured | verdict |",
        "|---|---|---|---|",
        *(f"| {v.budget} | {v.scope} | {v.measured} | **{v.verdict}** |" for v in checks),
        "",
    ]
    if notes:
        lines += ["## Notes", "", *(f"- {n}" for n in notes), ""]
    lines += [
        "## Runs",
        "",
        "| size | tool | run | wall | peak tree RSS | exit |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        label = _size_label(r.export.stats.messages)
        for i, x in enumerate(r.ingests, 1):
            m = x.measurement
            lines.append(
                f"| {label} | passerelle ingest | {i} | {_s(m.wall_s)} | {_mb(m.peak_tree_rss)} | {m.returncode} |"
            )
            if x.verify is not None:
                v = x.verify
                lines.append(
                    f"| {label} | passerelle verify | {i} | {_s(v.wall_s)} | {_mb(v.peak_tree_rss)} | {v.returncode} |"
                )
        if r.viewer_probe is not None:
            p = r.viewer_probe
            lines.append(
                f"| {label} | viewer, on the export itself | probe | {_s(p.wall_s)} | {_mb(p.peak_tree_rss)} | {p.returncode} |"
            )
        for i, vr in enumerate(r.viewers, 1):
            vm = vr.measurement
            lines.append(
                f"| {label} | viewer, {vr.input} | {i} | {_s(vm.wall_s)} | {_mb(vm.peak_tree_rss)} | {vm.returncode} |"
            )
    lines += [
        "",
        "## Method",
        "",
        f"- Exports: `passerelle.demo.slack_export.write_export`, zip, compact JSON, with file bytes, seed {SEED}; "
        "shape: users = 300 + n/2000, public channels = 40 + n/20000, private channels = 6 + n/50000, "
        "DMs = 30 + n/10000, group DMs = 8 + n/50000. Generated once and cached in `benchmarks/.work/exports/`; "
        "generation time is not part of any other figure.",
        "- Each command runs as a subprocess with stdout and stderr to files (so passerelle shows no progress bar) "
        "and `TMPDIR` set to a fresh empty directory under `benchmarks/.work/`. The export is read once before the "
        "timed runs, so every run starts with it in the page cache.",
        f"- Memory: every {SAMPLE_INTERVAL_S * 1000:.0f} ms, the `VmRSS` of the command's process and all its "
        "descendants (forkserver and workers) is read from `/proc` and summed; the peak is the largest sum "
        "(over all repeats). Summing RSS counts shared pages once per process, so it over-states rather than "
        "under-states; a peak shorter than the sampling interval can be missed. 1 MB = 10^6 bytes.",
        "- Wall: from spawning the command to reaping it (`os.wait4`); the median of the repeats is reported. "
        "passerelle and the viewer alternate within each size (run order swapped on every repeat), because the "
        "machine is shared and noisy: compare the ratio within one run, not figures across runs.",
        f"- Correctness: after each ingest, `passerelle info --json` counts must equal the generator's ground truth "
        f"(items, thread replies, reactions, files, files with content); up to {VERIFY_UP_TO:,} messages, "
        "`passerelle verify --against` the export must exit 0.",
        "- slack-export-viewer: `slack-export-viewer -z EXPORT.zip --html-only -o OUT --no-browser --show-dms "
        "--no-external-references`, with a fresh `TMPDIR` each run (else it reuses its unpacked cache).",
        "",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------------------ main


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--sizes", default=DEFAULT_SIZES, help=f"message counts, comma-separated (default {DEFAULT_SIZES})"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="runs per size and tool (default: 1 at 1M and above, 3 below)",
    )
    parser.add_argument("--no-viewer", action="store_true", help="do not run slack-export-viewer")
    parser.add_argument(
        "--viewer-at-1m",
        action="store_true",
        help="run slack-export-viewer at 1M messages too (minutes, GBs)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the archives and viewer outputs in benchmarks/.work/runs"
    )
    parser.add_argument(
        "--out", type=Path, default=RESULTS, help="results directory (default benchmarks/results)"
    )
    args = parser.parse_args(argv)
    try:
        args.size_list = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes: not a list of integers: {args.sizes!r}")
    if not args.size_list or any(n <= 0 for n in args.size_list):
        parser.error("--sizes: give at least one positive message count")
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def _interleaved(repeat: int) -> Iterator[tuple[int, tuple[str, str]]]:
    for i in range(repeat):
        yield i, (("passerelle", "viewer") if i % 2 == 0 else ("viewer", "passerelle"))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    when = datetime.now(UTC)
    mach = machine()
    viewer = None if args.no_viewer else viewer_path()
    runs = _fresh(WORK / "runs") if not args.keep else (WORK / "runs")
    runs.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    problems: list[str] = []
    if args.no_viewer:
        notes.append("slack-export-viewer not run (--no-viewer).")
    elif viewer is None:
        notes.append(
            "slack-export-viewer is not installed in this environment "
            "(`pip install -e '.[bench]'` installs it; 4.0.0 needs Python >= 3.12, so Python 3.11 gets 3.5.x)."
        )
    results: list[SizeResult] = []
    for n in args.size_list:
        export = export_for(n, WORK / "exports")
        if export.stats.messages != n:
            problems.append(f"{n:,}: the generator wrote {export.stats.messages:,} messages")
        repeat = args.repeat or (1 if n >= 1_000_000 else 3)
        result = SizeResult(export, repeat)
        results.append(result)
        label = _size_label(n)
        viewer_source: Path | None = None
        viewer_input = "export"
        if viewer is None:
            result.viewer_status = "not run"
        elif n >= VIEWER_SKIP_FROM and not args.viewer_at_1m:
            result.viewer_status = "skipped"
            notes.append(
                f"slack-export-viewer skipped at {label}: at 1M messages it would take more than 4 minutes and "
                "GBs of memory (--viewer-at-1m runs it)."
            )
        else:
            _warm(export.path)
            _say(f"{label}: probing slack-export-viewer on the export")
            probe = run_viewer(viewer, export.path, runs, f"{n}-probe", "export", args.keep)
            if probe.measurement.ok:
                viewer_source = export.path
                result.viewer_status = "ran on the export"
            else:
                result.viewer_probe = probe.measurement
                err = probe.measurement.last_error_line
                copy, copy_s = viewer_copy_of(export)
                export.viewer_copy, export.viewer_copy_s = copy, copy_s
                viewer_source, viewer_input = copy, "null-free copy"
                result.viewer_status = "ran on a null-free copy"
                notes.append(
                    f"slack-export-viewer failed on the {label} export itself after {probe.measurement.wall_s:.1f} s "
                    f"(exit {probe.measurement.returncode}: `{err}`); its figures are on a copy of the same export "
                    "with every null-valued JSON key removed, as measurements.md §9 did for its real export "
                    f"(same messages; zip {_mb(copy.stat().st_size)})."
                )
        _warm(export.path)
        if viewer_source is not None:
            _warm(viewer_source)
        for i, order in _interleaved(repeat):
            for tool in order:
                if tool == "passerelle":
                    _say(f"{label}: passerelle ingest, run {i + 1}/{repeat}")
                    run = run_ingest(export, runs, f"{n}-{i + 1}", args.keep)
                    result.ingests.append(run)
                    problems.extend(f"{label} run {i + 1}: {p}" for p in run.problems)
                    m = run.measurement
                    _say(
                        f"{label}: ingest {m.wall_s:.2f} s, {n / m.wall_s:,.0f} msgs/s, "
                        f"tree peak {_mb(m.peak_tree_rss)}"
                        + (
                            f"; verify {run.verify.wall_s:.2f} s exit {run.verify.returncode}"
                            if run.verify
                            else ""
                        )
                        + (f"; PROBLEMS: {run.problems}" if run.problems else "")
                    )
                elif viewer is not None and viewer_source is not None:
                    _say(f"{label}: slack-export-viewer, run {i + 1}/{repeat}")
                    vrun = run_viewer(viewer, viewer_source, runs, f"{n}-{i + 1}", viewer_input, args.keep)
                    result.viewers.append(vrun)
                    vm = vrun.measurement
                    if vm.ok:
                        _say(f"{label}: viewer {vm.wall_s:.2f} s, tree peak {_mb(vm.peak_tree_rss)}")
                    else:
                        _say(f"{label}: viewer failed: {vm.last_error_line}")
                        notes.append(
                            f"slack-export-viewer failed at {label}, run {i + 1}: `{vm.last_error_line}`."
                        )
        if viewer_source is not None and not any(v.measurement.ok for v in result.viewers):
            result.viewer_status = "failed"
    mach["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    mach["git_commit_end"] = _git("rev-parse", "--short", "HEAD") or "unknown"
    mach["git_dirty_src_files_end"] = _dirty_src(_git("status", "--porcelain"))
    if mach["git_dirty_src_files_end"] != mach["git_dirty_src_files"]:
        notes.append(
            "Files under src/ changed during the run (the package is installed editable): "
            f"modified/new at the start: {len(mach['git_dirty_src_files'])}, "
            f"at the end: {len(mach['git_dirty_src_files_end'])}."
        )
    if mach["git_commit_end"] != mach["git_commit"]:
        notes.append(
            f"HEAD moved from `{mach['git_commit']}` to `{mach['git_commit_end']}` during the run: "
            "the sizes may have been measured on different code."
        )
    figures = [size_figures(r) for r in results]
    checks = verdicts(figures)
    report = render(when, mach, results, figures, checks, problems, notes)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"slack_ingest-{when:%Y-%m-%d}"
    (args.out / f"{stem}.md").write_text(report)
    raw = {
        "when": when.isoformat(timespec="seconds"),
        "argv": [arg.removeprefix(f"{ROOT}/") for arg in sys.argv],
        "machine": mach,
        "budgets": {
            "msgs_per_s": BUDGET_MSGS_PER_S,
            "peak_tree_rss_mb": BUDGET_PEAK_MB,
            "flat_factor": FLAT_FACTOR,
            "flat_between": [FLAT_FROM, FLAT_TO],
        },
        "sample_interval_s": SAMPLE_INTERVAL_S,
        "problems": problems,
        "notes": notes,
        "verdicts": [dataclasses.asdict(v) for v in checks],
        "sizes": [
            {
                "figures": fig,
                "spec": dataclasses.asdict(r.export.spec),
                "stats": dataclasses.asdict(r.export.stats),
                "export": r.export.path.name,
                "generated_now": r.export.generated_now,
                "viewer_copy": r.export.viewer_copy.name if r.export.viewer_copy else None,
                "viewer_copy_s": r.export.viewer_copy_s,
                "viewer_probe": _measurement_json(r.viewer_probe) if r.viewer_probe else None,
                "ingests": [
                    {
                        "measurement": _measurement_json(x.measurement),
                        "internal_s": x.internal_s,
                        "counts": x.counts,
                        "archive_bytes": x.archive_bytes,
                        "verify": _measurement_json(x.verify) if x.verify else None,
                        "problems": x.problems,
                    }
                    for x in r.ingests
                ],
                "viewers": [
                    {
                        "measurement": _measurement_json(v.measurement),
                        "input": v.input,
                        "output_files": v.output_files,
                        "output_bytes": v.output_bytes,
                    }
                    for v in r.viewers
                ],
            }
            for r, fig in zip(results, figures, strict=True)
        ],
    }
    (args.out / f"{stem}.json").write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n")
    print(report)
    _say(f"report: {(args.out / f'{stem}.md')}")
    if problems:
        bar = "!" * 78
        print(f"\n{bar}\nBENCHMARK OUTPUT IS WRONG ({len(problems)} problems):", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        print(bar, file=sys.stderr)
        return 1
    return 0


def _measurement_json(m: Measurement) -> dict[str, Any]:
    d = dataclasses.asdict(m)
    d.pop("stdout")  # the ingest summary is kept parsed; verify's output is long
    if m.ok:
        d.pop("stderr_tail")  # warnings; each run's full stderr is in benchmarks/.work/runs/logs/
    d["argv"] = [arg.removeprefix(f"{ROOT}/") for arg in m.argv]
    return d


if __name__ == "__main__":
    sys.exit(main())
