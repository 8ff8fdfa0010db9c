"""Progress on stderr: rich bars on a terminal, nothing otherwise (httpie's Display pattern)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # rich is imported only where a bar is shown: worker processes never load it
    from rich.progress import Progress


class Task(Protocol):
    def advance(self, n: int = 1) -> None: ...


class Display(Protocol):
    def task(self, description: str, total: int | None = None) -> Task: ...

    def close(self) -> None: ...


class _NullTask:
    def advance(self, n: int = 1) -> None:
        pass


class NullDisplay:
    def task(self, description: str, total: int | None = None) -> Task:
        return _NullTask()

    def close(self) -> None:
        pass


class _RichTask:
    def __init__(self, progress: Progress, task_id: object) -> None:
        self._progress = progress
        self._id = task_id

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._id, n)  # type: ignore[arg-type]


class RichDisplay:
    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._progress.start()

    def task(self, description: str, total: int | None = None) -> Task:
        return _RichTask(self._progress, self._progress.add_task(description, total=total))

    def close(self) -> None:
        self._progress.stop()


def display_for_stderr() -> Display:
    from rich.console import Console

    return RichDisplay() if Console(stderr=True).is_terminal else NullDisplay()
