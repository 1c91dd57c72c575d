"""Logging: set up once by entry points (CLI, scheduler); libraries only get named loggers.

Library code logs through ``logging.getLogger("edc.<area>")`` and never prints. What a record
is about (study, site, subject, source, job) comes from ``context(...)``, a context manager
over a ``contextvars`` dict that every record logged inside it carries, or from ``extra=``::

    with logs.context(study="SPINE-01", source=url):
        log.info("sync started", extra={"types": 9})

On a terminal, records are readable lines (``WARNING edc.sync: message  study=SPINE-01``);
otherwise (systemd, files, pipes) they are JSON lines with ``time`` (UTC), ``level``,
``logger``, ``message`` and the context and extra fields as keys.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

_CONTEXT: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "edc_log_context", default=None
)
# Attributes every LogRecord has; anything else on a record came from ``extra=`` or context.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


@contextlib.contextmanager
def context(**fields: Any) -> Iterator[None]:
    """Add ``fields`` (None values are left out) to every record logged inside the block."""
    added = {key: value for key, value in fields.items() if value is not None}
    token = _CONTEXT.set({**(_CONTEXT.get() or {}), **added})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def current_context() -> dict[str, Any]:
    """The fields ``context`` has set here (for threads that must carry them along)."""
    return dict(_CONTEXT.get() or {})


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_CONTEXT.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and k[0] != "_"}


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, then context and extra."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_fields(record))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class ReadableFormatter(logging.Formatter):
    """``LEVEL logger: message  key=value ...`` for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        fields = "  ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{record.levelname} {record.name}: {record.getMessage()}"
        line = f"{line}  {fields}" if fields else line
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def level_for(verbosity: int) -> int:
    """-q (-1 or less): errors only; 0: warnings; -v: info; -vv: debug."""
    if verbosity < 0:
        return logging.ERROR
    return {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)


def configure_logging(
    verbosity: int = 0, *, json_lines: bool | None = None, stream: TextIO | None = None
) -> None:
    """Send edc's (and APScheduler's) log records to ``stream`` (default stderr).

    :param verbosity: see ``level_for``.
    :param json_lines: JSON lines (default: when the stream is not a terminal).
    """
    stream = stream or sys.stderr
    if json_lines is None:
        json_lines = not stream.isatty()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLinesFormatter() if json_lines else ReadableFormatter())
    handler.addFilter(_ContextFilter())
    for name in ("edc", "apscheduler"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
    logging.getLogger("edc").setLevel(level_for(verbosity))
    # APScheduler's own chatter (job added, executed) only with -vv; its warnings always.
    logging.getLogger("apscheduler").setLevel(
        logging.INFO if verbosity >= 2 else max(level_for(verbosity), logging.WARNING)
    )
