"""Running pandoc many times, fast and isolated.

pandoc is a separate program (GPL-2.0-or-later), run as a subprocess: the binary bundled in
the ``pypandoc-binary`` wheel (its ``copyright.pandoc`` travels beside it), else a
``pandoc`` on the PATH. One process per page costs 30 to 100 ms of start-up, and the
bundled pandoc 3.9's ``pandoc server`` does not run (it is not linked with GHC's threaded
runtime), so pages go in **batches to ``pandoc lua`` processes kept up** between
batches (one per core, at most 4): a small Lua script reads a batch, a JSON list of jobs,
per line, runs each job under ``pcall`` and answers with a line, so a page pandoc fails on
(the real "Pear" table) fails alone and the others convert, and start-up is paid once. A
batch whose process fails (time limit, the heap cap ``+RTS -M``, a crash, an answer that
is not JSON) has its process killed, never reused, and is split in two and each half run
again, down to the single page, which then fails alone. The processes end with Python
(their input closed at exit).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import queue
import selectors
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import util as importlib_util
from pathlib import Path

# Each job: {"op": "read" | "write", "text": …, "from": …, "to": …}; each answer
# {"ok": true, "text": …} or {"ok": false, "error": …}.
# The process stays up: one batch per line in, its answers as one line out.
_SCRIPT = r"""
local options = {wrap_text = "wrap-none"}
for line in io.lines() do
  local jobs = pandoc.json.decode(line, false)
  local answers = {}
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
  io.write(pandoc.json.encode(answers) .. "\n")
  io.stdout:flush()
end
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


class _Process:
    """A ``pandoc lua`` process kept up between batches (its start-up, 30 to 100 ms, is paid
    once), a batch a line; killed on any failure, never reused after one."""

    def __init__(self, path: str) -> None:
        self.owner = os.getpid()  # a forked child must not talk to its parent's pandoc
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            [path, "lua", _script(), "+RTS", f"-M{MEMORY_MB}m", "-RTS"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )

    def ask(self, line: bytes, timeout: float) -> bytes | str:
        """The answer line, or why there is none (the process is then dead)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(line)
            self.proc.stdin.flush()
        except OSError as exc:
            return self._died(f"pandoc could not be given the pages: {exc}")
        deadline = time.monotonic() + timeout
        out = self.proc.stdout.fileno()
        chunks: list[bytes] = []
        with selectors.DefaultSelector() as selector:
            selector.register(out, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    return self._died(f"pandoc took more than {timeout:.0f} s")
                chunk = os.read(out, 1 << 20)
                if not chunk:
                    return self._died("pandoc stopped")
                chunks.append(chunk)
                if chunk.endswith(b"\n"):
                    return b"".join(chunks)

    def _died(self, why: str) -> str:
        self.proc.kill()
        self.proc.wait()
        self.stderr.seek(0)
        err = self.stderr.read().decode("utf-8", "replace").strip()
        self.stderr.close()
        code = self.proc.returncode
        return why + (f" (exit {code})" if code else "") + (f": {err[:500]}" if err else "")

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


_idle: queue.SimpleQueue[_Process] = queue.SimpleQueue()


@atexit.register
def _close_all() -> None:
    while True:
        try:
            process = _idle.get_nowait()
        except queue.Empty:
            return
        if process.owner == os.getpid():
            process.close()


def _run_once(jobs: list[dict[str, str]]) -> list[Answer] | str:
    """The answers, or why the process as a whole failed."""
    path = pandoc_path()
    if path is None:
        return "pandoc is not installed (the pypandoc-binary wheel, or pandoc on the PATH)"
    process: _Process | None = None
    with contextlib.suppress(queue.Empty):
        process = _idle.get_nowait()
        while process.owner != os.getpid():  # inherited through a fork: left to its parent
            process = _idle.get_nowait()
    if process is None or process.owner != os.getpid():
        try:
            process = _Process(path)
        except OSError as exc:
            return f"pandoc could not run: {exc}"
    reply = process.ask(json.dumps(jobs).encode("utf-8") + b"\n", _timeout(jobs))
    if isinstance(reply, str):
        return reply
    _idle.put(process)
    try:
        answers = json.loads(reply)
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
