"""The AE form's grade rules, on the response LHC-Forms makes (issue 12 item 4).

The compiled AE Questionnaire offers grades 1-5 (every renderer can show them) and carries the
rules as SDC extensions: ``answerOptionsToggleExpression`` (offer only the grades the chosen
CTCAE term defines) and ``questionnaire-constraint`` (refuse an undefined grade; grade 5 with
death). LHC-Forms 40.1.3 applies neither extension itself, so the test fills the form in
LHC-Forms (Node, jsdom; see ``test_lhc_forms``) and evaluates the expressions with LHC-Forms'
own FHIRPath engine on LHC-Forms' QuestionnaireResponse. One Node run, a few seconds.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from edc.compiler import CompiledStudy, compile_protocol
from edc.library import load_library
from edc.protocol import load_protocol
from tests.forms.test_lhc_forms import HERE, lforms_runner  # noqa: F401 (fixture)

BACK_PAIN = "10003988"  # grades 1-3
CORD_COMPRESSION = "10041549"  # grades 3-5
GRADE = {1: "C41338", 2: "C41339", 3: "C41340", 4: "C41337", 5: "C48275"}
FATAL = DEATH = "C48275"
HOSPITAL = "C83052"
MINIMAL = Path(__file__).parents[1] / "data" / "protocols" / "minimal.yaml"


def _run(directory: Path, compiled: CompiledStudy, cases: list[dict[str, Any]]) -> list[Any]:
    (questionnaire,) = (q for k, q in compiled.questionnaires().items() if "-ae|" in k)
    (terms,) = (
        r for r in compiled.resources if r["resourceType"] == "ValueSet" and "ae-terms" in r["id"]
    )
    job = {"lforms": str(directory), "questionnaire": questionnaire, "valueSet": terms}
    done = subprocess.run(
        ["node", str(HERE / "ae.js")],
        input=json.dumps({**job, "cases": cases}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    output = json.loads(done.stdout)
    assert output["errors"] == []
    results: list[Any] = output["results"]
    return results


def test_lhc_forms_responses_meet_the_grade_rules_only_with_a_defined_grade(
    lforms_runner: Path,  # noqa: F811
) -> None:
    library = load_library()
    minimal = compile_protocol(load_protocol(MINIMAL, library).protocol, library)
    cases = [
        {"ae-term": BACK_PAIN, "ae-grade": GRADE[3]},
        {"ae-term": BACK_PAIN, "ae-grade": GRADE[4]},
        {"ae-term": CORD_COMPRESSION, "ae-grade": GRADE[1]},
        {"ae-term": CORD_COMPRESSION, "ae-grade": GRADE[4], "ae-outcome": FATAL},
        {"ae-term": CORD_COMPRESSION, "ae-grade": GRADE[5], "ae-outcome": FATAL,
         "ae-serious": True, "ae-seriousness": DEATH},
        {"ae-term": CORD_COMPRESSION, "ae-grade": GRADE[5], "ae-outcome": FATAL,
         "ae-serious": True, "ae-seriousness": HOSPITAL},
        {},
    ]  # fmt: skip
    results = _run(lforms_runner, minimal, cases)
    grade_defined = [r["constraints"]["ae-grade-defined"] for r in results]
    assert grade_defined == [[True], [False], [False], [True], [True], [True], [True]]
    death = [r["constraints"]["ae-grade-5-death"] for r in results]
    assert death == [[True], [True], [True], [False], [True], [False], [True]]
    offered = [{code for code, on in r["toggles"].items() if on == [True]} for r in results]
    assert offered[0] == {GRADE[1], GRADE[2], GRADE[3]}
    assert offered[2] == {GRADE[3], GRADE[4], GRADE[5]}
    assert offered[-1] == set(GRADE.values())  # no term chosen yet: every grade
