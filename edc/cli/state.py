"""What one ``edc`` invocation knows: global flags, settings (loaded on first use), output.

Commands reach it through the functions below (``settings()``, ``progress()``, ``emit()``,
``say()``) instead of passing a context around; ``edc.cli.app`` sets it for each run.
"""

from __future__ import annotations

import contextvars
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from edc.cli import render

if TYPE_CHECKING:
    from edc import config
    from edc.progress import BarProgress, LineProgress, SilentProgress

    Shown = BarProgress | LineProgress | SilentProgress

T = TypeVar("T")


@dataclasses.dataclass
class Invocation:
    """The global flags of one run, and what it opened."""

    verbosity: int = 0
    quiet: bool = False
    config_file: Path | None = None
    user: str | None = None
    _settings: config.Settings | None = None
    _progress: list[Shown] = dataclasses.field(default_factory=list)

    def settings(self) -> config.Settings:
        if self._settings is None:
            from edc import config

            flags = {"user": self.user} if self.user else {}
            self._settings = config.load_settings(config_file=self.config_file, flags=flags)
        return self._settings

    def close(self) -> None:
        for shown in self._progress:
            shown.close()
        self._progress.clear()


_CURRENT: contextvars.ContextVar[Invocation] = contextvars.ContextVar("edc_cli_invocation")


def begin(invocation: Invocation) -> contextvars.Token[Invocation]:
    return _CURRENT.set(invocation)


def end(token: contextvars.Token[Invocation]) -> None:
    _CURRENT.get().close()
    _CURRENT.reset(token)


def current() -> Invocation:
    """This run's invocation (a default one outside ``edc.cli.main``, e.g. in a test)."""
    try:
        return _CURRENT.get()
    except LookupError:
        invocation = Invocation()
        _CURRENT.set(invocation)
        return invocation


def settings() -> config.Settings:
    """The effective settings (flags > environment > settings file > defaults).

    :raises errors.BadInputError: naming the setting that is wrong.
    """
    return current().settings()


def progress(label: str, unit: str, *, interval: float | None = None) -> Shown:
    """A progress display on stderr: a bar on a terminal, throttled lines otherwise, none
    with ``-q``. Closed when the command ends, also when it fails."""
    from edc import progress as progress_module

    invocation = current()
    shown = progress_module.make(
        sys.stderr,
        label,
        unit,
        quiet=invocation.quiet,
        interval=progress_module.DEFAULT_INTERVAL if interval is None else interval,
    )
    invocation._progress.append(shown)
    return shown


def emit(result: T, fmt: render.Format, view: render.View[T] | None = None) -> None:
    """Print a command's result in the chosen format (see ``edc.cli.render``)."""
    render.emit(result, fmt, view, quiet=current().quiet)


def say(message: str) -> None:
    """A message for people on stderr (not part of the result); silent with ``-q``."""
    if not current().quiet:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
