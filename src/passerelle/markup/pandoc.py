"""Running pandoc many times, fast and isolated.

pandoc is a separate program (GPL-2.0-or-later), run as a subprocess: the binary bundled in
the ``pypandoc-binary`` wheel (its ``copyright.pandoc`` travels beside it), else a
``pandoc`` on the PATH. One process per page costs 30 to 100 ms of start-up, and the
bundled pandoc 3.9's ``pandoc server`` does not run (it is not linked with GHC's threaded
runtime), so pages go in **batches through one ``pandoc lua`` process**: a small Lua
script reads a JSON list of jobs and runs each under ``pcall``, so a page pandoc fails on
(the real "Pear" table) fails alone and the others convert. A batch that dies as a whole
(time limit, the heap cap ``+RTS -M``, a crash) is split in two and each half run again,
down to the single page, which then fails alone.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import util as importlib_util
from pathlib import Path

# Each job: {"op": "read" | "write", "text": …, "from": …, "to": …}; each answer
# {"ok": true, "text": …} or {"ok": false, "error": …}.
_SCRIPT = r"""
local jobs = pandoc.json.decode(io.read("a"), false)
local answers = {}
local options = {wrap_text = "wrap-none"}
for i, job in ipairs(jobs) do
  local ok, result = pcall(function()
    if job.op == "read" then
      return pandoc.write(pandoc.read(job.text, job.from), "json")
    end
    return pandoc.write(pandoc.read(job.text, "json"), job.to, options)
  end)
  if ok then
    answers[i] = {ok = true, text = result}
  else
    answers[i] = {ok = false, error = tostring(result)}
  end
end
io.write(pandoc.json.encode(answers))
"""

MEMORY_MB = 1024  # pandoc's heap cap (+RTS -M): its memory grows steeply with a page's size
BATCH_PAGES = 64
BATCH_BYTES = 2_000_000
# pandoc processes at once (each single-threaded): one per core, at most 4, or
# PASSERELLE_PANDOC_WORKERS.
WORKERS = int(os.environ.get("PASSERELLE_PANDOC_WORKERS", "0")) or min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class Answer:
    ok: bool
    text: str  # the output, or the error


@functools.cache
def pandoc_path() -> str | None:
    """The pandoc to run: ``PASSERELLE_PANDOC``, the wheel's, else the PATH's."""
    configured = os.environ.get("PASSERELLE_PANDOC")
    if configured:
        return configured if Path(configured).exists() else None
    spec = importlib_util.find_spec("pypandoc")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "files" / ("pandoc.exe" if os.name == "nt" else "pandoc")
        if bundled.exists():
            return str(bundled)
    return shutil.which("pandoc")


@functools.cache
def pandoc_version() -> str | None:
    path = pandoc_path()
    if path is None:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    first = out.stdout.splitlines()[0] if out.stdout else ""
    return first.split()[-1] if first else None


@functools.cache
def _script() -> str:
    folder = tempfile.mkdtemp(prefix="passerelle-pandoc-")
    path = Path(folder) / "batch.lua"
    path.write_text(_SCRIPT, encoding="utf-8")
    atexit.register(shutil.rmtree, folder, True)
    return str(path)


def _timeout(jobs: list[dict[str, str]]) -> float:
    size = sum(len(j["text"]) for j in jobs)
    return 20.0 + 30.0 * size / 1_000_000


def _run_once(jobs: list[dict[str, str]]) -> list[Answer] | str:
    """The answers, or why the process as a whole failed."""
    path = pandoc_path()
    if path is None:
        return "pandoc is not installed (the pypandoc-binary wheel, or pandoc on the PATH)"
    command = [path, "lua", _script(), "+RTS", f"-M{MEMORY_MB}m", "-RTS"]
    try:
        done = subprocess.run(
            command,
            input=json.dumps(jobs).encode("utf-8"),
            capture_output=True,
            timeout=_timeout(jobs),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"pandoc took more than {_timeout(jobs):.0f} s"
    except OSError as exc:
        return f"pandoc could not run: {exc}"
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()
        return f"pandoc exited with {done.returncode}: {err[:500]}"
    try:
        answers = json.loads(done.stdout)
    except ValueError as exc:
        return f"pandoc's answer is not JSON: {exc}"
    if not isinstance(answers, list) or len(answers) != len(jobs):
        return "pandoc's answer does not match its jobs"
    out: list[Answer] = []
    for a in answers:
        if isinstance(a, dict) and a.get("ok") is True and isinstance(a.get("text"), str):
            out.append(Answer(True, a["text"]))
        else:
            error = a.get("error") if isinstance(a, dict) else None
            out.append(Answer(False, str(error or "pandoc failed")))
    return out


def run_jobs(jobs: list[dict[str, str]]) -> list[Answer]:
    """Every job's answer, in order: batches of at most ``BATCH_PAGES`` pages and
    ``BATCH_BYTES``, ``WORKERS`` pandoc processes at a time; a batch that fails as a whole
    is halved until the page is alone."""
    batches: list[list[dict[str, str]]] = []
    batch: list[dict[str, str]] = []
    size = 0
    for job in jobs:
        if batch and (len(batch) >= BATCH_PAGES or size + len(job["text"]) > BATCH_BYTES):
            batches.append(batch)
            batch, size = [], 0
        batch.append(job)
        size += len(job["text"])
    if batch:
        batches.append(batch)
    if len(batches) <= 1 or WORKERS <= 1:
        return [answer for b in batches for answer in _isolated(b)]
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(batches))) as pool:
        return [answer for answers in pool.map(_isolated, batches) for answer in answers]


def _isolated(jobs: list[dict[str, str]]) -> list[Answer]:
    result = _run_once(jobs)
    if not isinstance(result, str):
        return result
    if len(jobs) == 1 or pandoc_path() is None:
        return [Answer(False, result)] * len(jobs)
    half = len(jobs) // 2
    return _isolated(jobs[:half]) + _isolated(jobs[half:])
