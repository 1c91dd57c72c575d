"""Logging set-up, called once by entry points (CLI, scheduler); libraries only get loggers."""

from __future__ import annotations

import logging
import sys


def configure_logging(verbosity: int = 0) -> None:
    """Send edc's log records to stderr.

    :param verbosity: 0 shows warnings, 1 (``-v``) info, 2 or more (``-vv``) debug.
    """
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("edc")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
