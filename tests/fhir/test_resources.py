"""R4B models, the R4B-only guard and the strict R4 validator (no server needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import edc.fhir
from edc.fhir import resources

EXAMPLES = Path("/work/shared/reference/fhir-examples")
EDC_ROOT = Path(edc.fhir.__file__).resolve().parents[1]


def test_parse_resource_returns_the_r4b_model():
    model = resources.parse_resource(
        {"resourceType": "Questionnaire", "status": "active", "id": "q1"}
    )
    assert isinstance(model, resources.Questionnaire)
    assert type(model).__module__.startswith("fhir.resources.R4B.")


def test_an_r5_shaped_resource_is_refused():
    r5_subject = {
        "resourceType": "ResearchSubject",
        "status": "active",
        "subject": {"reference": "Patient/1"},
    }
    with pytest.raises(resources.ResourceParseError, match="does not fit the R4B ResearchSubject"):
        resources.parse_resource(r5_subject)


def test_an_r4_only_type_is_refused_by_name():
    with pytest.raises(resources.ResourceParseError, match="MedicinalProduct has no R4B model"):
        resources.parse_resource({"resourceType": "MedicinalProduct"})


def test_no_resource_type_is_refused():
    with pytest.raises(resources.ResourceParseError, match="no resourceType"):
        resources.parse_resource({"id": "x"})


def test_r4b_only_element_is_found_anywhere():
    resources.assert_r4_safe({"resourceType": "PlanDefinition", "action": [{"title": "ok"}]})
    with pytest.raises(
        resources.R4BOnlyElementError, match=re.escape("$.action[1].action[0].subjectCanonical")
    ):
        resources.assert_r4_safe(
            {
                "resourceType": "PlanDefinition",
                "action": [{}, {"action": [{"subjectCanonical": "x"}]}],
            }
        )


def test_validate_r4_reports_paths_for_bytes_and_dicts():
    bad = {"resourceType": "Patient", "gender": 7, "birthDate": "31/12/1990"}
    issues = resources.validate_r4(bad)
    assert resources.validate_r4(json.dumps(bad).encode()) == issues
    assert any(issue.startswith("error at Patient.gender") for issue in issues)
    assert any("Patient.birthDate" in issue for issue in issues)
    assert resources.validate_r4({"resourceType": "Patient", "gender": "female"}) == []
    assert resources.validate_r4(b"{not json")[0].startswith("error at $: not JSON")


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="shared reference examples not present")
@pytest.mark.parametrize(
    "name", ["ResearchStudy.json", "Questionnaire.json", "Consent.json", "AdverseEvent.json"]
)
def test_reference_examples_parse_and_validate(name):
    example = json.loads((EXAMPLES / name).read_text())
    assert type(resources.parse_resource(example)).__name__ == example["resourceType"]
    assert resources.validate_r4(example) == []


def test_only_resources_py_imports_fhir_resources():
    importers = [
        path.relative_to(EDC_ROOT).as_posix()
        for path in EDC_ROOT.rglob("*.py")
        if re.search(r"^\s*(from|import)\s+fhir\.resources", path.read_text(), re.MULTILINE)
    ]
    assert importers == ["fhir/resources.py"]


def test_resources_never_import_the_default_r5_models():
    source = (EDC_ROOT / "fhir" / "resources.py").read_text()
    imported = re.findall(r"^from (fhir\.resources[\w.]*) import", source, re.MULTILINE)
    assert imported and all(module.startswith("fhir.resources.R4B") for module in imported)


def test_public_api_is_exactly_all():
    public = {name for name in vars(edc.fhir) if not name.startswith("_")}
    modules = {"auth", "bundles", "capabilities", "client", "errors", "http", "outcome", "transfer"}
    assert public - modules == set(edc.fhir.__all__)
    for name in edc.fhir.__all__:
        assert getattr(edc.fhir, name) is not None
