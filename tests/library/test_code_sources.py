"""Every SNOMED CT and LOINC code in fhir_mappings/ is listed, with the display we send and the
public source it was checked against, in fhir_mappings/terminology/code-sources.yaml (issue 12
item 3): a changed code or display fails here until it is re-checked and recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[2] / "fhir_mappings"
SYSTEMS = {"http://snomed.info/sct": "snomed", "http://loinc.org": "loinc"}
STATUSES = {"verified", "single-source", "unverified"}


def registry() -> dict[tuple[str, str], dict[str, Any]]:
    data = yaml.safe_load((ROOT / "terminology" / "code-sources.yaml").read_text("utf-8"))
    return {(system, str(e["code"])): e for system, entries in data.items() for e in entries}


def codings(node: Any) -> Iterator[tuple[str, str, str]]:
    if isinstance(node, dict):
        if node.get("system") in SYSTEMS and "code" in node:
            yield SYSTEMS[node["system"]], str(node["code"]), str(node.get("display", ""))
        for value in node.values():
            yield from codings(value)
    elif isinstance(node, list):
        for value in node:
            yield from codings(value)


def used() -> list[tuple[str, str, str, str]]:
    """(file, system, code, display) of every SNOMED/LOINC coding in fhir_mappings."""
    found = []
    for path in sorted(ROOT.rglob("*.yaml")):
        if path.name == "code-sources.yaml":
            continue
        data = yaml.safe_load(path.read_text("utf-8"))
        # Answer options carry their system once per instrument item ("system" on the option).
        found += [(path.name, s, c, d) for s, c, d in codings(data)]
    return found


def test_every_code_in_fhir_mappings_has_its_recorded_display() -> None:
    known = registry()
    wrong = []
    for name, system, code, display in used():
        entry = known.get((system, code))
        if entry is None:
            wrong.append(f"{name}: {system} {code} is not in code-sources.yaml")
        elif display not in [entry["display"], *entry.get("also", [])]:
            wrong.append(
                f"{name}: {system} {code} shown as {display!r}, recorded {entry['display']!r}"
            )
    assert wrong == []
    assert len(used()) > 30  # the walk finds the codings (instruments, studies, EHR codes)


def test_every_recorded_code_names_its_source_or_says_it_is_unverified() -> None:
    for (system, code), entry in registry().items():
        assert entry["status"] in STATUSES, (system, code)
        if entry["status"] != "unverified":
            assert len(entry.get("source", "")) > 20, (system, code)


def test_the_spinal_metastasis_is_not_coded_as_a_metastasis_to_the_prostate() -> None:
    conditions = {(s, c) for _, s, c, _ in used() if s == "snomed"}
    assert ("snomed", "94503003") not in conditions  # Metastatic malignant neoplasm to prostate
    assert registry()[("snomed", "94602001")]["display"] == (
        "Secondary malignant neoplasm of vertebral column"
    )
