"""The protocol's randomization section: methods, their settings, and where strata come from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from edc import errors
from edc.library import Library
from edc.protocol import load_protocol

OTHER = Path(__file__).parents[1] / "data" / "protocols" / "three-arm-blinded.yaml"
BLOCKS = "  method: permuted-block\n  block_sizes: [4, 8]\n"


def problems(write: Callable[[str], Path], library: Library, text: str) -> str:
    with pytest.raises(errors.ProblemsError) as refused:
        load_protocol(write(text), library)
    return str(refused.value)


def test_minimization_with_its_probability_loads(
    write_protocol: Callable[[str], Path], library: Library
) -> None:
    text = OTHER.read_text().replace(
        BLOCKS, "  method: minimization\n  minimization: {probability: 0.8, imbalance: variance}\n"
    )
    loaded = load_protocol(write_protocol(text), library).protocol
    assert loaded.randomization.minimization is not None
    assert loaded.randomization.minimization.imbalance == "variance"


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        ("  method: minimization\n", "method minimization needs a minimization section"),
        (
            "  method: minimization\n  minimization: {probability: 0.3}\n",
            "a probability of 0.3 does not favour the least-imbalancing arm over 3 arms",
        ),
        (BLOCKS + "  minimization: {probability: 0.8}\n", "minimization settings need method"),
        ("  method: permuted-block\n", "permuted blocks need block_sizes"),
        ("  method: permuted-block\n  block_sizes: [6]\n", "block size 6 is not a multiple"),
    ],
)
def test_method_settings_are_checked(
    write_protocol: Callable[[str], Path], library: Library, replacement: str, message: str
) -> None:
    assert message in problems(
        write_protocol, library, OTHER.read_text().replace(BLOCKS, replacement)
    )


def test_the_randomization_event_must_exist(
    write_protocol: Callable[[str], Path], library: Library
) -> None:
    text = OTHER.read_text().replace(
        "  blinding: double-blind\n", "  blinding: double-blind\n  event: allocation\n"
    )
    assert "randomization event 'allocation' is not a schedule event" in problems(
        write_protocol, library, text
    )


def test_a_stratification_form_must_be_collected_before_randomization(
    write_protocol: Callable[[str], Path], library: Library
) -> None:
    # The frailty form moves from the screening visit to week 2.
    text = OTHER.read_text().replace("forms: [frailty, eligibility]", "forms: [eligibility]")
    text = text.replace("forms: [pain, ae]}", "forms: [pain, ae, frailty]}")
    assert "form 'frailty' is not collected at a visit before randomization" in problems(
        write_protocol, library, text
    )
