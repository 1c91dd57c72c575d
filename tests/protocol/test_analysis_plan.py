"""The analysis plan's optional pieces: responders, repeated measures, descriptive endpoints,
unit of analysis and multiplicity (older files mean what they meant)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from edc import errors
from edc.library import Library
from edc.protocol import load_protocol

THREE_ARMS = Path(__file__).parents[1] / "data" / "protocols" / "three-arm-blinded.yaml"

ADDITIONS = """\
  unit: vertebra
  multiplicity:
    method: holm
    comparisons:
      - {arms: [ARM-A, ARM-C], alpha: 0.025}
      - {arms: [ARM-B, ARM-C], alpha: 0.025}
    order: [pain-w2]
"""
RESPONDER = """\
      responder: {improvement: decrease, points: 2, percent: 30}
      visits: [D1, W2]
    - id: pain-descriptive
      kind: exploratory
      title: NRS pain at week 2, by arm
      measure: {form: pain, item: nrs, visit: W2}
      summary: value
      test: t-test
      descriptive: true
"""


def with_additions(text: str, additions: str = ADDITIONS, responder: str = RESPONDER) -> str:
    text = text.replace("  alpha: 0.05\n", "  alpha: 0.05\n" + additions)
    return text.replace("      test: ancova\n", "      test: ancova\n" + responder)


def test_the_additions_check_and_mean_what_they_say(
    write_protocol: Callable[[str], Path], library: Library
) -> None:
    plan = load_protocol(write_protocol(with_additions(THREE_ARMS.read_text())), library)
    analysis = plan.protocol.analysis
    assert analysis.unit == "vertebra"
    assert analysis.multiplicity is not None and analysis.multiplicity.method == "holm"
    primary, descriptive = analysis.endpoints
    assert primary.responder is not None and primary.responder.percent == 30
    assert primary.visits == ("D1", "W2") and descriptive.descriptive


def test_an_older_plan_gets_the_defaults(library: Library) -> None:
    analysis = load_protocol(THREE_ARMS, library).protocol.analysis
    assert analysis.unit == "patient" and analysis.multiplicity is None
    assert all(not e.descriptive and e.responder is None for e in analysis.endpoints)


def test_mistakes_in_the_additions_are_located(
    write_protocol: Callable[[str], Path], library: Library
) -> None:
    additions = ADDITIONS.replace("[ARM-B, ARM-C], alpha: 0.025", "[ARM-B, ARM-X], alpha: 0.04")
    additions = additions.replace("order: [pain-w2]", "order: [pain-descriptive]")
    responder = RESPONDER.replace("points: 2, percent: 30", "combine: both").replace(
        "[D1, W2]", "[D1, W9]"
    )
    path = write_protocol(with_additions(THREE_ARMS.read_text(), additions, responder))
    with pytest.raises(errors.ProblemsError) as caught:
        load_protocol(path, library)
    found = {(p.field, p.message) for p in caught.value.problems}
    assert found == {
        ("analysis.endpoints[0].responder", "give points, percent or both"),
        ("analysis.endpoints[0].visits[1]", "unknown visit 'W9'"),
        ("analysis.multiplicity.comparisons[1].arms", "unknown arm 'ARM-X'"),
        (
            "analysis.multiplicity.comparisons",
            "the comparisons' alphas add up to 0.065, more than alpha 0.05",
        ),
        ("analysis.multiplicity.order[0]", "'pain-descriptive' is not a tested endpoint"),
    }
