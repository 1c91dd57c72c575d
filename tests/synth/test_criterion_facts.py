"""Laboratory facts the criteria read are found in their expressions (criterion_facts)."""

from __future__ import annotations

from edc.protocol.model import Criterion, Eligibility
from edc.synth.criterion_facts import needed_labs


def criterion(cid: str, expression: str) -> Criterion:
    return Criterion(id=cid, text="t", assessment="ehr", expression=expression)


def lab(code: str, comparison: str) -> str:
    return (
        "entry.resource.ofType(Observation).where(code.coding.exists(system = "
        f"'http://loinc.org' and code = '{code}')).value.value.last() {comparison}"
    )


def test_known_and_thresholded_codes_get_results_recorded_ones_do_not() -> None:
    eligibility = Eligibility(
        inclusion=(
            criterion("IN01", lab("718-7", ">= 9")),  # haemoglobin: reference values
            criterion("IN02", lab("99999-9", "< 40")),  # unknown code: around the threshold
            criterion("IN03", f"({lab('38214-3', '')} | {lab('72514-3', '')}) >= 4"),
        ),
        exclusion=(criterion("EX01", lab("718-7", "< 7")),),
    )
    labs = {fact.code: fact for fact in needed_labs(eligibility)}
    assert sorted(labs) == ["718-7", "99999-9"]  # NRS pain: VAS is recorded already
    assert labs["718-7"].unit == "g/dL"
    unknown = labs["99999-9"]
    assert unknown.mean > 40 and unknown.low == 0
    values = [unknown.value("ns", n) for n in range(400)]
    assert 0.05 < sum(v < 40 for v in values) / len(values) < 0.4
    assert unknown.value("ns", 7) == unknown.value("ns", 7)  # the same on every rendering
