"""Wall time and peak memory of a command's whole process tree, on Linux, from ``/proc``.

A process's own maximum RSS is not the whole picture when it forks helpers (passerelle's
Slack reader parses in forkserver worker processes), so a sampler thread walks the tree
of the command's process (``/proc/<pid>/task/*/children``, or the ``ppid`` fields of
``/proc/*/stat`` where the kernel lacks that file) every ``interval`` seconds, sums the
``VmRSS`` of every process in it and keeps the maximum.  The main thread waits for the
process with ``os.wait4``, so the wall time is exact and the rusage comes with it.

CPU time: this process makes itself a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``), so
helpers that outlive the command (a forkserver exits just after its parent) are re-parented
here and reaped, and the difference in ``getrusage(RUSAGE_CHILDREN)`` is the CPU time of the
whole tree.

Limits, stated where the figures are reported: a peak shorter than the interval can be
missed; summing RSS counts pages shared between processes (copy-on-write after fork,
shared libraries) once per process, so the sum over-states the tree's real footprint
rather than under-stating it.
"""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Measurement", "run_measured", "tree_rss"]

SAMPLE_INTERVAL_S = 0.02
_HAS_CHILDREN_FILE = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
_PR_SET_CHILD_SUBREAPER = 36
_ORPHAN_WAIT_S = 30.0


def _become_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _reap_orphans(deadline: float) -> int:
    """Reap the command's descendants that were re-parented here; return how many are still running."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return 0
        if pid == 0:
            if time.monotonic() > deadline:
                return len(_children(os.getpid()))
            time.sleep(0.005)


@dataclass(frozen=True)
class Measurement:
    """One run of one command."""

    argv: list[str]
    returncode: int
    wall_s: float
    peak_tree_rss: int  # bytes: max over samples of the sum of VmRSS over the process tree
    peak_main_rss: int  # bytes: max over samples of the command's own process VmRSS
    wait4_maxrss: int  # bytes: ru_maxrss from wait4 (largest single process: itself or a reaped child)
    user_cpu_s: float  # the command alone, with the descendants it reaped itself (wait4)
    sys_cpu_s: float
    tree_cpu_s: float | None  # user + sys of the whole tree, None when it could not be complete
    max_processes: int  # most processes seen at once in the tree
    samples: int
    stdout: str
    stderr_tail: list[str]

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def last_error_line(self) -> str:
        """The last non-empty line of stderr (a traceback's exception line), for reports."""
        for line in reversed(self.stderr_tail):
            if line.strip():
                return line.strip()
        return f"exit status {self.returncode}, nothing on stderr"


def _children(pid: int) -> list[int]:
    if _HAS_CHILDREN_FILE:
        found: list[int] = []
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return found
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                    found.extend(int(x) for x in f.read().split())
            except OSError:
                continue
        return found
    return [child for child, parent in _ppids().items() if parent == pid]


def _ppids() -> dict[int, int]:
    table: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
        fields = stat[stat.rfind(b")") + 2 :].split()
        table[int(name)] = int(fields[1])
    return table


def _rss(pid: int) -> int:
    """VmRSS of pid in bytes; 0 if it is gone or a zombie (which has no VmRSS line)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss(root: int) -> tuple[int, int, int]:
    """(sum of VmRSS over root and all its descendants, root's own VmRSS, number of processes)."""
    total = own = count = 0
    todo = [root]
    seen: set[int] = set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        rss = _rss(pid)
        if pid == root:
            own = rss
        total += rss
        count += 1
        todo.extend(_children(pid))
    return total, own, count


class _Sampler(threading.Thread):
    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.pid = pid
        self.interval = interval
        self.stop = threading.Event()
        self.peak_tree = self.peak_main = self.max_processes = self.samples = 0

    def run(self) -> None:
        while True:
            total, own, count = tree_rss(self.pid)
            if count and own:  # once the root is a zombie, its tree is being torn down
                self.peak_tree = max(self.peak_tree, total)
                self.peak_main = max(self.peak_main, own)
                self.max_processes = max(self.max_processes, count)
                self.samples += 1
            if self.stop.wait(self.interval):
                return


def run_measured(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    log_dir: Path,
    name: str,
    interval: float = SAMPLE_INTERVAL_S,
) -> Measurement:
    """Run argv to completion; its stdout and stderr go to files in log_dir (kept for inspection)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / f"{name}.stdout", log_dir / f"{name}.stderr"
    subreaper = _become_subreaper()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env) if env is not None else None, stdout=out, stderr=err
        )
        sampler = _Sampler(proc.pid, interval)
        sampler.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            raise
        finally:
            wall = time.perf_counter() - start
            sampler.stop.set()
            sampler.join()
    still_running = _reap_orphans(time.monotonic() + _ORPHAN_WAIT_S) if subreaper else -1
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    tree_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    returncode = os.waitstatus_to_exitcode(status)
    proc.returncode = returncode  # reaped by wait4: tell Popen so it does not try again
    stderr = err_path.read_text(encoding="utf-8", errors="replace").splitlines()
    return Measurement(
        argv=list(argv),
        returncode=returncode,
        wall_s=wall,
        peak_tree_rss=sampler.peak_tree,
        peak_main_rss=sampler.peak_main,
        wait4_maxrss=usage.ru_maxrss * 1024,
        user_cpu_s=usage.ru_utime,
        sys_cpu_s=usage.ru_stime,
        tree_cpu_s=tree_cpu if still_running == 0 else None,
        max_processes=sampler.max_processes,
        samples=sampler.samples,
        stdout=out_path.read_text(encoding="utf-8", errors="replace"),
        stderr_tail=stderr[-40:],
    )
