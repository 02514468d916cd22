"""The progress bar of generation and import runs (rich, on standard error)."""

from __future__ import annotations

import time

__all__ = ["ProgressBar"]


class ProgressBar:
    """A rich progress bar with clips/s and ETA (silent when disabled or empty).

    Parameters
    ----------
    total : int
        Clips to make.
    label : str
        Shown left of the bar.
    enabled : bool
        ``False`` shows nothing (but still counts :attr:`done`).
    """

    def __init__(self, total: int, label: str, enabled: bool) -> None:
        self.bar = None
        if enabled and total:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
                TimeRemainingColumn(), console=Console(stderr=True), transient=False,
            )
            self.task = self.bar.add_task(label, total=total, rate="")
            self.bar.start()
        self.t0 = time.perf_counter()
        self.done = 0

    def advance(self, n: int) -> None:
        """Count ``n`` more clips done."""
        self.done += n
        if self.bar is not None:
            rate = self.done / max(time.perf_counter() - self.t0, 1e-9)
            self.bar.update(self.task, advance=n, rate=f"{rate:.2f} clips/s")

    def close(self, *, failed: bool = False) -> None:
        """Stop the bar; on failure erase it, so that the error message stands alone."""
        if self.bar is not None:
            if failed:  # a terminal erases the bar; elsewhere nothing more is written
                self.bar.live.transient = True
                self.bar.console.quiet = not self.bar.console.is_terminal
            self.bar.stop()
