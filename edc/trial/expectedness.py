"""Whether an adverse event is one the protocol expects (expectedness, for SAE reporting).

An expected event names its CTCAE term; for a "<SOC> - Other, specify" term it also names what
was specified (``specify``), because the term alone covers unrelated events: bone cement
leakage is expected after vertebroplasty, seed migration is not. The comparison of the
verbatim text ignores case and surrounding spaces.
"""

from __future__ import annotations

from collections.abc import Iterable

from edc.protocol.model import ExpectedAdverseEvent


def is_expected(expected: Iterable[ExpectedAdverseEvent], term: str, verbatim: str | None) -> bool:
    """True when ``term`` (with ``verbatim`` for Other-specify terms) is on the expected list."""
    said = (verbatim or "").strip().casefold()
    return any(
        entry.term == term and (entry.specify is None or entry.specify.strip().casefold() == said)
        for entry in expected
    )
