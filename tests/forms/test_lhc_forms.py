"""Every instrument's compiled Questionnaire, filled in LHC-Forms 40.1.3 (the renderer edc
serves), calculates the same scores as the library's independent Python scoring.

This is the portability proof of issue 12 item 1: the calculatedExpressions must find the
option weights in what LHC-Forms gives them (its own QuestionnaireResponse, its own export of
the Questionnaire), not only in responses edc built. LHC-Forms runs under Node with jsdom
(``lhc/fill.js``); its files are the copy the web package ships (``edc/web/assets.py``, fetched
with npm at the pinned version) and jsdom is installed with npm into ``lhc/node_modules`` from
the committed lock file. Without Node/npm the test is skipped, unless
``EDC_TEST_REQUIRE_LFORMS=1`` (CI), which makes that a failure.

Answers are generated from a fixed seed: complete forms, partly answered ones (around the
"enough items answered" limits of each scale) and empty ones.
"""

from __future__ import annotations

import functools
import json
import os
import random
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from edc.compiler import compile_protocol
from edc.compiler.questionnaire import instrument_questionnaire
from edc.library import Instrument, load_library, scoring
from edc.library.answers import Answers
from edc.protocol import load_protocol
from edc.protocol.forms import walk_items
from edc.web import assets

HERE = Path(__file__).parent / "lhc"
ROOT = Path(__file__).parents[2]
STUDIES = ("spine-mwa-01", "spine-prd-01")
SCORED = sorted({instrument_id for instrument_id, _ in scoring.RULES})
REQUIRE_ENV = "EDC_TEST_REQUIRE_LFORMS"
CASES = 8
CALCULATED = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"


def _unavailable(message: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{message} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def lforms_runner() -> Path:
    """The LHC-Forms files and jsdom, installed once (npm, pinned versions)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        _unavailable("Node.js and npm are needed to run LHC-Forms")
    try:
        directory = assets.install_lforms()
    except assets.AssetError as exc:
        _unavailable(str(exc))
    if not (HERE / "node_modules" / "jsdom").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--silent"],
            cwd=HERE,
            check=True,
            timeout=600,
        )
    return directory


def run_in_lforms(directory: Path, forms: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    job = json.dumps({"lforms": str(directory), "forms": forms}, default=_json_number)
    done = subprocess.run(
        ["node", str(HERE / "fill.js")],
        input=job,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    output = json.loads(done.stdout)
    assert output["errors"] == [], output["errors"]
    results: list[list[dict[str, Any]]] = output["results"]
    return results


def _json_number(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{value!r} is not JSON")


def generated_answers(instrument: Instrument, seed: int) -> list[Answers]:
    """Complete, partly answered (each item kept with probability 1/4 .. 3/4) and empty forms."""
    rng = random.Random(f"{instrument.id}-{seed}")
    codes = {
        item.id: [option.code for option in item.options]
        for item in walk_items(instrument.items)
        if item.options
    }
    cases: list[Answers] = [{}]
    for case in range(CASES):
        keep = 1.0 if case < 3 else rng.choice([0.25, 0.5, 0.75])
        if instrument.id == "medd":
            cases.append(_medd_answers(rng, codes["medd-opioid"], keep))
            continue
        cases.append(
            {
                link_id: rng.choice(options)
                for link_id, options in codes.items()
                if rng.random() < keep
            }
        )
    return cases


def _medd_answers(rng: random.Random, opioids: list[str], keep: float) -> Answers:
    entries: list[dict[str, Any]] = []
    for _ in range(rng.randint(0, 3)):
        entry = {
            "medd-opioid": rng.choice(opioids),
            "medd-dose": rng.choice([5, 10, 12.5, 20, 30, 60, 0.5]),
            "medd-patch": rng.choice([12, 25, 37.5, 50]),
        }
        if keep < 1.0 and rng.random() > keep:
            del entry[rng.choice(sorted(entry))]
        entries.append(entry)
    answers: dict[str, Any] = {"medd-entry": entries} if entries else {}
    # "No opioid" ticked hides the entries (enableWhen), so a user can tick it only without them.
    if not entries:
        answers["medd-none"] = rng.random() < 0.7
    elif rng.random() < 0.3:
        answers["medd-none"] = False
    return answers


def expected_scores(instrument_id: str, answers: Answers) -> dict[str, Decimal | None]:
    return scoring.instrument_scores(instrument_id, answers)


def as_decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@functools.cache
def study_questionnaires() -> list[tuple[str, str, dict[str, Any]]]:
    """(study, instrument id, Questionnaire) of every scored form of the example studies."""
    library = load_library()
    by_score = {score_id: instrument_id for instrument_id, score_id in scoring.RULES}
    found = []
    for study in STUDIES:
        path = ROOT / "fhir_mappings" / "studies" / f"{study}.yaml"
        compiled = compile_protocol(load_protocol(path, library).protocol, library)
        for questionnaire in compiled.questionnaires().values():
            calculated = {
                item["linkId"]
                for item in questionnaire.get("item", ())
                if any(e.get("url") == CALCULATED for e in item.get("extension", ()))
            }
            instruments = {by_score[link_id] for link_id in calculated if link_id in by_score}
            if instruments:
                (instrument_id,) = instruments
                found.append((study, instrument_id, questionnaire))
    return found


def check(directory: Path, forms: list[tuple[str, str, dict[str, Any]]], seed: int) -> list[str]:
    """Run ``forms`` ((label, instrument id, Questionnaire)) in LHC-Forms; the disagreements."""
    library = load_library()
    jobs = []
    for _, instrument_id, questionnaire in forms:
        cases = generated_answers(library.instruments[instrument_id], seed)
        jobs.append({"questionnaire": questionnaire, "cases": cases})
    results = run_in_lforms(directory, jobs)
    wrong = []
    for (label, instrument_id, _), job, values in zip(forms, jobs, results, strict=True):
        for answers, calculated in zip(job["cases"], values, strict=True):
            expected = expected_scores(instrument_id, answers)
            assert expected, f"{instrument_id} has no scores"
            for score_id, value in expected.items():
                got = as_decimal(calculated[score_id])
                if got != value:
                    wrong.append(
                        f"{label} {score_id}: LHC-Forms {got}, library {value} ({answers})"
                    )
    return wrong


def test_every_instrument_scores_the_same_in_lhc_forms(lforms_runner: Path) -> None:
    library = load_library()
    forms = [
        (instrument_id, instrument_id, instrument_questionnaire(library.instruments[instrument_id]))
        for instrument_id in SCORED
    ]
    assert check(lforms_runner, forms, seed=1) == []


def test_the_example_studies_score_the_same_in_lhc_forms(lforms_runner: Path) -> None:
    forms = [
        (f"{study}/{questionnaire['id']}", instrument_id, questionnaire)
        for study, instrument_id, questionnaire in study_questionnaires()
    ]
    assert {instrument_id for _, instrument_id, _ in forms} >= {"odi", "qlq-bm22"}
    assert check(lforms_runner, forms, seed=2) == []
