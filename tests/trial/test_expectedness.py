"""Expectedness of adverse events: an Other-specify term is expected only for what the protocol
specified (issue 12 item 4)."""

from __future__ import annotations

from pathlib import Path

from edc.library import load_library
from edc.protocol import load_protocol
from edc.protocol.model import ExpectedAdverseEvent
from edc.trial.expectedness import is_expected

OTHER = "Injury, poisoning and procedural complications - Other, specify"
STUDY = Path(__file__).parents[2] / "fhir_mappings" / "studies" / "spine-mwa-01.yaml"


def test_an_other_specify_term_is_expected_only_for_the_specified_event() -> None:
    expected = load_protocol(STUDY, load_library()).protocol.adverse_events.expected
    assert is_expected(expected, OTHER, "Bone cement leakage ")
    assert not is_expected(expected, OTHER, "seed migration")  # unexpected: report as such
    assert not is_expected(expected, OTHER, None)


def test_a_term_without_specify_is_expected_whatever_the_verbatim() -> None:
    expected = (ExpectedAdverseEvent(term="Back pain"),)
    assert is_expected(expected, "Back pain", "lower back, after the procedure")
    assert not is_expected(expected, "Radiculitis", None)
