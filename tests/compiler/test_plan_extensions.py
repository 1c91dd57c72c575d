"""The Bundle carries the randomization and the analysis plan as ResearchStudy extensions, with
their StructureDefinitions in the same Bundle (R4 has no element for either)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edc.compiler import compile_protocol
from edc.library import Library
from edc.protocol import load_protocol
from tests.actions.test_derived_strata import DERIVED

THREE_ARM = Path(__file__).parents[1] / "data" / "protocols" / "three-arm-blinded.yaml"


def _parts(extension: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        (part["url"], next((v for k, v in part.items() if k.startswith("value")), None))
        for part in extension["extension"]
    ]


def test_randomization_and_analysis_plan_travel_with_their_definitions(
    tmp_path: Path, library: Library
) -> None:
    text = THREE_ARM.read_text()
    for old, new in DERIVED.items():
        text = text.replace(old, new)
    text = text.replace(
        "      test: ancova\n",
        "      test: ancova\n      responder: {improvement: decrease, points: 2, percent: 30}\n",
    )
    path = tmp_path / "other.yaml"
    path.write_text(text)
    compiled = compile_protocol(load_protocol(path, library).protocol, library)
    study = next(
        r for r in compiled.resources if r["resourceType"] == "ResearchStudy" and "partOf" not in r
    )
    by_url = {e["url"].rsplit("/", 1)[-1]: e for e in study["extension"]}
    randomization = by_url["other-01-randomization"]
    parts = _parts(randomization)
    assert ("method", "permuted-block") in parts
    assert [v for k, v in parts if k == "blockSize"] == [4, 8]
    assert ("blinding", "double-blind") in parts
    ratio = [_parts(p) for p in randomization["extension"] if p["url"] == "ratio"]
    assert ratio == [
        [("arm", "ARM-A"), ("weight", 2)],
        [("arm", "ARM-B"), ("weight", 1)],
        [("arm", "ARM-C"), ("weight", 1)],
    ]
    frailty = _parts(
        [p for p in randomization["extension"] if p["url"] == "stratificationFactor"][1]
    )
    assert ("derivation", "fit if below 5; frail otherwise") in frailty
    assert any(k == "source" and v.endswith("-frailty|1.0#frailty-score") for k, v in frailty)
    plan = by_url["other-01-analysis-plan"]
    assert ("alpha", 0.05) in _parts(plan)
    endpoint = _parts(next(p for p in plan["extension"] if p["url"] == "endpoint"))
    rule = "decrease of at least 2 points or at least 30% of baseline"
    assert ("responder", rule) in endpoint
    definitions = {
        r["url"]: r for r in compiled.resources if r["resourceType"] == "StructureDefinition"
    }
    assert set(definitions) == {by_url["other-01-randomization"]["url"], plan["url"]}
    for definition in definitions.values():
        elements = {e["id"]: e for e in definition["differential"]["element"]}
        assert elements["Extension.url"]["fixedUri"] == definition["url"]
        assert definition["context"] == [{"type": "element", "expression": "ResearchStudy"}]
    declared = definitions[plan["url"]]["differential"]["element"]
    names = {e["sliceName"] for e in declared if "sliceName" in e}
    used = {p["url"] for p in plan["extension"]} | {
        q["url"] for p in plan["extension"] for q in p.get("extension", ())
    }
    assert used <= names  # every part the study uses is declared
