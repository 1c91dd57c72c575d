"""``--defect-rate``: exactly the damaged responses are listed, each with what is wrong where."""

from __future__ import annotations

import collections
from typing import Any

import orjson
import pytest

from edc.synth.answers.generic import enabled, specs, walk
from tests.synth.conftest import MWA, Run, run_generate
from tests.synth.test_consistency import answers


@pytest.fixture(scope="module")
def defect_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_generate(
        tmp_path_factory.mktemp("defects") / "out", MWA, 160, seed=11, workers=1, defect_rate=0.3
    )


def _problems(response: dict[str, Any], items: dict[str, Any]) -> set[str]:
    """What a sync's checks would find in a response, judged against its Questionnaire."""
    found: set[str] = set()
    answered: set[str] = set()

    def visit(entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            spec = items.get(entry["linkId"])
            answered.add(entry["linkId"])
            if spec is None:
                found.add("unknown-linkid")
            for answer in entry.get("answer", []):
                number = answer.get("valueDecimal", answer.get("valueInteger"))
                if spec and number is not None and spec.high is not None and number > spec.high:
                    found.add("out-of-range")
                coding = answer.get("valueCoding")
                if spec and coding and spec.options and coding["code"] not in spec.options:
                    found.add("unknown-option")
            visit(entry.get("item", []))

    visit(response.get("item", []))
    top = [s for s in items.values() if s.top]
    plain = answers(response)
    if any(s.required and s.link_id not in answered and enabled(s.spec, plain) for s in top):
        found.add("missing-required")
    return found


def test_exactly_the_listed_responses_are_defective(defect_run, mwa_run, mwa):
    defects = defect_run.truth("defects")
    kinds = collections.Counter(d["kind"] for d in defects)
    assert set(kinds) == {
        "out-of-range",
        "unknown-linkid",
        "unknown-option",
        "missing-required",
        "malformed-line",
    }
    listed = {d["line"]: d for d in defects}
    assert all(d["file"] == "QuestionnaireResponse.ndjson" for d in defects)
    by_canonical = {}
    for questionnaire in mwa.questionnaires.values():
        tree = specs(questionnaire.get("item", ()))
        flat = {s.link_id: s for s in walk(tree)}
        top = {s.link_id for s in tree}
        by_canonical[f"{questionnaire['url']}|{questionnaire['version']}"] = {
            k: _Spec(v, k in top) for k, v in flat.items()
        }
    lines = (defect_run.out / "QuestionnaireResponse.ndjson").read_bytes().splitlines()
    for number, line in enumerate(lines, 1):
        try:
            response = orjson.loads(line)
        except orjson.JSONDecodeError:
            assert listed[number]["kind"] == "malformed-line"
            continue
        problems = _problems(response, by_canonical[response["questionnaire"]])
        if number in listed:
            assert listed[number]["kind"] in problems, (number, listed[number], problems)
            assert listed[number]["id"] == response["id"]
        else:
            assert problems == set(), (number, problems)
    # Only the damaged responses differ from a run without defects (same seed).
    assert (defect_run.out / "Patient.ndjson").read_bytes() == (
        mwa_run.out / "Patient.ndjson"
    ).read_bytes()
    clean = (mwa_run.out / "QuestionnaireResponse.ndjson").read_bytes().splitlines()
    assert len(clean) == len(lines)
    assert {n for n, (a, b) in enumerate(zip(clean, lines, strict=True), 1) if a != b} == set(
        listed
    )


class _Spec:
    """An item spec plus whether it sits at the top level."""

    def __init__(self, spec: Any, top: bool) -> None:
        self.spec, self.top = spec, top
        self.link_id, self.required = spec.link_id, spec.required
        self.options, self.high = spec.options, spec.high
