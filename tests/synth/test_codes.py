"""The generator writes the codes that ehr-codes.yaml documents and the criteria read."""

from __future__ import annotations

from pathlib import Path

import yaml

from edc.library.score_tables import mme_factors
from edc.synth.tumours import LOCAL, PRIMARIES

EHR_CODES = Path(__file__).parents[2] / "fhir_mappings" / "terminology" / "ehr-codes.yaml"


def test_primary_tumour_codes_and_opioids_are_documented():
    codes = yaml.safe_load(EHR_CODES.read_text())
    assert codes["system"] == LOCAL
    for key, row in PRIMARIES.items():
        documented = codes["primary_tumours"][key]
        assert (documented.get("system", LOCAL), documented["code"]) == (row.system, row.code)
        assert documented["display"] == row.display
    assert set(codes["opioids"]) == set(mme_factors())


def test_every_local_code_in_the_output_is_documented(mwa_run):
    codes = yaml.safe_load(EHR_CODES.read_text())
    known = set(codes["concepts"]) | set(codes["vertebrae"]) | set(codes["opioids"])
    known |= {row["code"] for row in codes["primary_tumours"].values()}
    values = {
        "osteolytic",
        "osteoblastic",
        "mixed",
        "0",
        "1a",
        "1b",
        "1c",
        "2",
        "3",
        "A",
        "B",
        "C",
        "D",
        "E",
        "none",
        "treatable",
        "untreatable",
    }
    for name in ("vertebra-index", "lesion-type", "pathological-fracture"):
        known.add(name)
    used = set()

    def walk(node):
        if isinstance(node, dict):
            if node.get("system") == LOCAL:
                used.add(node["code"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for name in ("Condition", "Observation", "MedicationRequest", "Procedure"):
        for resource in mwa_run.resources(name):
            walk(resource)
    assert used
    assert used - known - values == set()
