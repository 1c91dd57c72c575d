"""Progress reports for long work (sync, generate, load), throttled so output stays readable."""

from __future__ import annotations

import time
from typing import Protocol, TextIO


class Progress(Protocol):
    """Receives progress from long-running actions."""

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        """Report that ``done`` units (of ``total``, if known) are finished."""

    def finish(self, summary: str) -> None:
        """Report the end of the work with a one-line summary."""


class SilentProgress:
    """Discards progress (library use, tests)."""

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        return None

    def finish(self, summary: str) -> None:
        return None


class StreamProgress:
    """Writes a progress line to a stream at most every ``interval`` seconds, with a rate."""

    def __init__(self, stream: TextIO, label: str, unit: str, interval: float = 2.0) -> None:
        self._stream = stream
        self._label = label
        self._unit = unit
        self._interval = interval
        self._started = time.monotonic()
        self._last = 0.0

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        now = time.monotonic()
        if now - self._last < self._interval and (total is None or done < total):
            return
        self._last = now
        elapsed = max(now - self._started, 1e-9)
        of_total = f"/{total:,}" if total is not None else ""
        suffix = f" {note}" if note else ""
        self._stream.write(
            f"{self._label}: {done:,}{of_total} {self._unit} ({done / elapsed:,.0f}/s){suffix}\n"
        )
        self._stream.flush()

    def finish(self, summary: str) -> None:
        elapsed = time.monotonic() - self._started
        self._stream.write(f"{self._label}: {summary} in {elapsed:.1f} s\n")
        self._stream.flush()
