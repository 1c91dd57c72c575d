"""Logs: JSON lines off a terminal, readable lines on one, with the context they concern."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from edc import logs


@pytest.fixture(autouse=True)
def _restore_loggers() -> Iterator[None]:
    saved = {
        name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate)
        for name in ("edc", "apscheduler")
    }
    yield
    for name, (handlers, propagate) in saved.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).propagate = propagate


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_lines_carry_context_and_extra_fields() -> None:
    stream = io.StringIO()
    logs.configure_logging(1, stream=stream)
    with logs.context(study="SPINE-01", site="02"), logs.context(subject="02-0007"):
        logging.getLogger("edc.test").info("form stored", extra={"form": "odi"})
    logging.getLogger("edc.test").info("outside")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "form stored" and first["level"] == "INFO"
    assert (first["study"], first["site"], first["subject"], first["form"]) == (
        "SPINE-01",
        "02",
        "02-0007",
        "odi",
    )
    assert first["time"].endswith("+00:00") and first["logger"] == "edc.test"
    assert "study" not in second


def test_a_terminal_gets_readable_lines_and_levels_follow_verbosity() -> None:
    stream = Terminal()
    logs.configure_logging(0, stream=stream)
    log = logging.getLogger("edc.test")
    with logs.context(study="S1"):
        log.info("hidden at the default level")
        log.warning("shown")
    assert stream.getvalue() == "WARNING edc.test: shown  study=S1\n"
    logs.configure_logging(-1, stream=stream)
    log.warning("hidden with -q")
    assert "hidden" not in stream.getvalue()
