"""Read a protocol file into a checked ``Protocol``: every problem reported at once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pydantic import ValidationError

from edc import errors, located_yaml
from edc.library import Library
from edc.protocol import checks
from edc.protocol.model import Protocol


@dataclasses.dataclass(frozen=True)
class LoadedProtocol:
    """A checked protocol together with the exact text it was read from."""

    protocol: Protocol
    source_text: str
    name: str


def load_protocol(path: Path, library: Library) -> LoadedProtocol:
    """Read, validate and cross-check a protocol file.

    :param path: the YAML file.
    :param library: instruments and terminology the protocol refers to.
    :raises errors.BadInputError: when the file cannot be read.
    :raises errors.ProblemsError: listing every problem with file:line and field path (also for
        a file too large, not UTF-8, or YAML beyond ``located_yaml``'s limits).
    """
    text = located_yaml.read_text(path, "protocol file")
    return parse_protocol(text, str(path), library)


def parse_protocol(text: str, name: str, library: Library) -> LoadedProtocol:
    """Like ``load_protocol`` for text already in memory (``name`` is used in messages)."""
    document = located_yaml.parse_yaml(text, name)
    try:
        protocol = Protocol.model_validate(document.data)
    except ValidationError as exc:
        problems = located_yaml.validation_problems(document, exc)
        raise errors.ProblemsError(f"{name}: {len(problems)} problem(s)", problems) from None
    problems = checks.check_protocol(protocol, document, library)
    if problems:
        raise errors.ProblemsError(f"{name}: {len(problems)} problem(s)", problems)
    return LoadedProtocol(protocol=protocol, source_text=text, name=name)
