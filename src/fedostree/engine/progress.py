"""Progress bars for long work: shown on a terminal, silent otherwise."""

from __future__ import annotations

import sys
from types import TracebackType

from rich import progress as rp
from rich.console import Console

_console = Console(stderr=True)


def interactive() -> bool:
    return sys.stderr.isatty()


def say(message: str) -> None:
    """A line of progress (what is being done now), on a terminal only."""
    if interactive():
        _console.print(message, highlight=False, markup=False, soft_wrap=True)


class Progress:
    """One task's bar; `unit` is "bytes" (with a rate) or "items"."""

    def __init__(self, description: str, *, total: int, unit: str = "items") -> None:
        self._bar: rp.Progress | None = None
        self._task: rp.TaskID | None = None
        if interactive() and total > 0:
            columns = [rp.TextColumn("{task.description}"), rp.BarColumn()]
            if unit == "bytes":
                columns += [rp.DownloadColumn(), rp.TransferSpeedColumn()]
            else:
                columns += [rp.MofNCompleteColumn()]
            self._bar = rp.Progress(
                *columns, rp.TimeRemainingColumn(), console=_console, transient=True
            )
            self._task = self._bar.add_task(description, total=total)

    def advance(self, amount: int = 1) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, amount)

    def update(self, completed: int, total: int, description: str) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=completed, total=total, description=description)

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
