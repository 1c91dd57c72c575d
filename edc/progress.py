"""Progress of long work (generate, load, sync, ...): actions report, entry points show.

Actions take a ``Progress`` and call ``update(done, total)`` as often as they like (per batch)
and ``finish(summary)`` at the end. Entry points choose how it is shown with ``make``:

- a Rich progress bar (count, total, rate, ETA) when the stream is a terminal;
- otherwise a plain line at most every ``interval`` seconds, plus the last one (systemd
  journals, CI logs): never a line per batch;
- nothing at all when quiet.
"""

from __future__ import annotations

import time
from typing import Any, Protocol, TextIO

# Seconds between two plain progress lines when no terminal is attached.
DEFAULT_INTERVAL = 5.0


class Progress(Protocol):
    """Receives progress from long-running actions."""

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        """Report that ``done`` units (of ``total``, if known) are finished."""

    def finish(self, summary: str) -> None:
        """Report the end of the work with a one-line summary."""


class SilentProgress:
    """Discards progress (library use, tests, ``-q``)."""

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        return None

    def finish(self, summary: str) -> None:
        return None

    def close(self) -> None:
        return None


class LineProgress:
    """A plain progress line at most every ``interval`` seconds (and when ``done == total``)."""

    def __init__(
        self, stream: TextIO, label: str, unit: str, interval: float = DEFAULT_INTERVAL
    ) -> None:
        self._stream = stream
        self._label = label
        self._unit = unit
        self._interval = interval
        self._started = time.monotonic()
        self._last = float("-inf")  # the first update is shown at once

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        now = time.monotonic()
        if now - self._last < self._interval and (total is None or done < total):
            return
        self._last = now
        elapsed = max(now - self._started, 1e-9)
        rate = done / elapsed
        of_total = f"/{total:,}" if total else ""
        eta = ""
        if total and rate > 0 and done < total:
            eta = f", about {_duration((total - done) / rate)} left"
        suffix = f" {note}" if note else ""
        self._write(f"{self._label}: {done:,}{of_total} {self._unit} ({rate:,.0f}/s{eta}){suffix}")

    def finish(self, summary: str) -> None:
        self._write(f"{self._label}: {summary} in {time.monotonic() - self._started:.1f} s")

    def close(self) -> None:
        return None

    def _write(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()


class BarProgress:
    """A Rich progress bar on a terminal: label, bar, count/total, rate, time left."""

    def __init__(self, stream: TextIO, label: str, unit: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self._started = time.monotonic()
        self._label = label
        self._bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(unit),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[note]}"),
            console=Console(file=stream),
            transient=True,
        )
        self._task: Any = None

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        if self._task is None:
            self._bar.start()
            self._task = self._bar.add_task(self._label, total=total, rate="", note="")
        elapsed = max(time.monotonic() - self._started, 1e-9)
        self._bar.update(
            self._task, completed=done, total=total, rate=f"{done / elapsed:,.0f}/s", note=note
        )

    def finish(self, summary: str) -> None:
        self.close()
        self._bar.console.print(
            f"{self._label}: {summary} in {time.monotonic() - self._started:.1f} s",
            markup=False,
            highlight=False,
        )

    def close(self) -> None:
        """Take the bar off the screen (also when the work failed half-way)."""
        if self._task is not None:
            self._bar.stop()
            self._task = None


def make(
    stream: TextIO,
    label: str,
    unit: str,
    *,
    quiet: bool = False,
    interval: float = DEFAULT_INTERVAL,
) -> SilentProgress | LineProgress | BarProgress:
    """The progress display that suits ``stream``: a bar on a terminal, else plain lines."""
    if quiet:
        return SilentProgress()
    if stream.isatty():
        return BarProgress(stream, label, unit)
    return LineProgress(stream, label, unit, interval)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
