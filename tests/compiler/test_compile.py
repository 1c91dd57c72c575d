"""The compiled Bundle: deterministic, valid R4, self-consistent, and faithful to the protocol."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import fhirkit
import pytest
from fhir.resources.R4B import get_fhir_model_class

from edc.actions import adverse_events
from edc.cli import main
from edc.compiler import CompiledStudy, compile_protocol
from edc.library import Library
from edc.protocol import load_protocol, parse_protocol
from edc.synth import adverse_events as synth_adverse_events
from tests.compiler.conftest import PROTOCOLS


def walk(node: Any) -> Any:
    """Every (key, value) pair in nested JSON."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_compiling_twice_gives_identical_bytes(name: str, tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["protocol", "compile", str(PROTOCOLS[name]), "-o", str(first)]) == 0
    assert main(["protocol", "compile", str(PROTOCOLS[name]), "-o", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    assert json.loads(first.read_bytes())["type"] == "transaction"


def test_every_resource_is_valid_r4(compiled: CompiledStudy) -> None:
    for resource in compiled.resources:
        assert fhirkit.validate(json.dumps(resource).encode()) == [], resource["id"]
        model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert model.id == resource["id"]
    assert fhirkit.validate(compiled.json_bytes) == []


def test_no_r5_or_r4b_only_elements(compiled: CompiledStudy) -> None:
    keys = {key for key, _ in walk(compiled.bundle)}
    assert "subjectCanonical" not in keys
    # R5 names of R4 elements we use: their presence would mean an R5-shaped resource.
    assert not keys & {"comparisonGroup", "recruitment", "progressStatus", "membership"}
    for resource in compiled.resources:
        if resource["resourceType"] == "ResearchStudy" and "partOf" not in resource:
            assert resource["arm"] and resource["enrollment"]


def test_entries_are_conditional_puts_on_canonical_or_identifier(compiled: CompiledStudy) -> None:
    full_urls = [entry["fullUrl"] for entry in compiled.bundle["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    for entry in compiled.bundle["entry"]:
        resource, request = entry["resource"], entry["request"]
        assert request["method"] == "PUT"
        # Percent-encoded: only unreserved characters, ':' and '/' are left in the query.
        assert re.fullmatch(r"[A-Za-z]+\?[A-Za-z0-9:/.\-_~%=&]+", request["url"]), request["url"]
        path, query = request["url"].split("?")
        assert path == resource["resourceType"]
        params = dict(parse_qsl(query, strict_parsing=True))
        if "url" in resource:
            assert params == {"url": resource["url"], "version": resource["version"]}
        else:
            system, value = params.pop("identifier").split("|")
            assert params == {}
            assert {"system": system, "value": value} in [
                {"system": i["system"], "value": i["value"]} for i in resource["identifier"]
            ]


def resolves_in_bundle(reference: str, full_url_of_referrer: str, full_urls: set[str]) -> bool:
    """R4 bundle.html#references: how a literal reference in an entry finds another entry.

    A ``#id`` is contained; an absolute URL or ``urn:`` must equal a fullUrl; a relative
    ``Type/id`` resolves against the referrer's fullUrl base, and a ``urn:uuid`` fullUrl has no
    base, so it resolves to nothing.
    """
    if reference.startswith("#"):
        return True
    if reference.startswith("urn:") or urlsplit(reference).scheme:
        return reference in full_urls
    if full_url_of_referrer.startswith("urn:"):
        return False
    base = full_url_of_referrer.rsplit("/", 2)[0]
    return f"{base}/{reference}" in full_urls


def test_references_resolve_inside_the_bundle(compiled: CompiledStudy) -> None:
    full_urls = {entry["fullUrl"] for entry in compiled.bundle["entry"]}
    canonicals = {f"{r['url']}|{r['version']}" for r in compiled.resources if "url" in r}
    references = 0
    for entry in compiled.bundle["entry"]:
        for key, value in walk(entry["resource"]):
            if key == "reference":
                references += 1
                assert resolves_in_bundle(value, entry["fullUrl"], full_urls), value
            if key in ("definitionCanonical", "answerValueSet"):
                assert value in canonicals, value
    assert references  # the check above ran on something


def test_the_bundle_rule_refuses_type_id_references_from_urn_uuid_entries() -> None:
    full_urls = {"urn:uuid:1", "http://x/fhir/Group/g"}
    assert not resolves_in_bundle("Group/g", "urn:uuid:1", full_urls)
    assert resolves_in_bundle("Group/g", "http://x/fhir/ResearchStudy/s", full_urls)
    assert resolves_in_bundle("urn:uuid:1", "http://x/fhir/ResearchStudy/s", full_urls)
    assert not resolves_in_bundle("urn:uuid:2", "urn:uuid:1", full_urls)


def test_amended_protocol_gets_new_ids_under_the_same_canonicals(
    minimal: CompiledStudy, library: Library
) -> None:
    text = PROTOCOLS["minimal"].read_text().replace('version: "1.0"', 'version: "1.1"', 1)
    amended = compile_protocol(parse_protocol(text, "amended.yaml", library).protocol, library)
    old = {r["id"] for r in minimal.resources if "url" in r and r["version"] == "1.0"}
    new = {r["id"] for r in amended.resources}
    assert old and not old & new
    old_urls = {r["url"] for r in minimal.resources if r.get("version") == "1.0"}
    assert old_urls == {r["url"] for r in amended.resources if r.get("version") == "1.1"}


def test_site_studies_are_part_of_the_protocol_study(minimal: CompiledStudy) -> None:
    studies = [r for r in minimal.resources if r["resourceType"] == "ResearchStudy"]
    (protocol_study,) = [s for s in studies if "partOf" not in s]
    sites = [s for s in studies if "partOf" in s]
    assert len(sites) == 2
    for site in sites:
        (protocol_entry,) = [
            e for e in minimal.bundle["entry"] if e["resource"].get("id") == protocol_study["id"]
        ]
        assert site["partOf"] == [{"reference": protocol_entry["fullUrl"]}]
    assert [arm["name"] for arm in protocol_study["arm"]] == ["ARM-A", "ARM-B"]
    assert protocol_study["extension"][0]["valueUnsignedInt"] == 20


def test_schedule_windows_and_anchors(minimal: CompiledStudy) -> None:
    soa = minimal.find("PlanDefinition", "mini-01-soa-1.0")
    assert soa is not None
    actions = {action["id"]: action for action in soa["action"]}
    assert set(actions) == {"consent", "randomization", "BL", "W1", "UNS"}
    (week1,) = actions["W1"]["relatedAction"]
    assert week1["actionId"] == "randomization"
    assert week1["relationship"] == "after-start"
    assert week1["offsetDuration"]["value"] == 7 and week1["offsetDuration"]["code"] == "d"
    window = week1["extension"][0]["valueRange"]
    assert (window["low"]["value"], window["high"]["value"]) == (5, 9)
    assert actions["UNS"]["cardinalityBehavior"] == "multiple"
    assert "relatedAction" not in actions["UNS"]
    visit = minimal.find("PlanDefinition", "mini-01-visit-w1-1.0")
    assert visit is not None
    assert [a["definitionCanonical"].rsplit("/", 1)[1] for a in visit["action"]] == [
        "mini-01-pain|1.0",
        "mini-01-odi|1.0",
        "mini-01-ae|1.0",
    ]


def test_visit_before_its_anchor_is_before_start(library: Library) -> None:
    loaded = load_protocol(PROTOCOLS["spine-mwa-01"], library)
    compiled = compile_protocol(loaded.protocol, library)
    soa = compiled.find("PlanDefinition", "spine-mwa-01-soa-1.0")
    assert soa is not None
    baseline = next(a for a in soa["action"] if a["id"] == "BL")["relatedAction"][0]
    assert baseline["relationship"] == "before-start"
    assert baseline["offsetDuration"]["value"] == 1
    window = baseline["extension"][0]["valueRange"]
    assert (window["low"]["value"], window["high"]["value"]) == (1, 7)


def test_eligibility_groups(minimal: CompiledStudy) -> None:
    group = minimal.find("Group", "mini-01-eligibility-1.0")
    assert group is not None and group["actual"] is False
    kinds = [
        (c["code"]["text"], c["code"]["coding"][0]["code"], c["exclude"])
        for c in group["characteristic"]
    ]
    assert kinds == [("IN01", "C25532", False), ("IN02", "C25532", False), ("EX01", "C25370", True)]
    in01 = minimal.find("Group", "mini-01-criterion-in01-1.0")
    assert in01 is not None
    expressions = [e["valueExpression"] for e in in01["extension"] if "valueExpression" in e]
    assert expressions[0]["language"] == "text/fhirpath"
    assert "birthDate" in expressions[0]["expression"]
    in02 = minimal.find("Group", "mini-01-criterion-in02-1.0")
    assert in02 is not None
    assert [e["valueCode"] for e in in02["extension"]] == ["investigator"]
    assert "Written informed consent." in in02["text"]["div"]


def test_questionnaire_items(minimal: CompiledStudy) -> None:
    odi = minimal.find("Questionnaire", "mini-01-odi-1.0")
    assert odi is not None
    by_id = {item["linkId"]: item for item in odi["item"]}
    section = by_id["odi-q01"]
    assert section["type"] == "choice" and section["required"] is True
    weights = [o["extension"][0]["valueDecimal"] for o in section["answerOption"]]
    assert weights == [0, 1, 2, 3, 4, 5]
    assert by_id["odi-q08"].get("required") is None  # sex life may be skipped
    total = by_id["odi-total"]
    assert total["readOnly"] is True
    assert "odiSum" in total["extension"][0]["valueExpression"]["expression"]
    assert {v["valueExpression"]["name"] for v in odi["extension"]} == {"odiSum", "odiAnswered"}
    assert by_id["odi-complete"]["type"] == "boolean"  # the study-specific item follows
    pain = minimal.find("Questionnaire", "mini-01-pain-1.0")
    assert pain is not None
    nrs = pain["item"][0]
    bounds = {e["url"].rsplit("/", 1)[1]: e["valueInteger"] for e in nrs["extension"]}
    assert bounds == {"minValue": 0, "maxValue": 10}


def test_ae_form_and_ctcae_terminology(minimal: CompiledStudy) -> None:
    ctcae = minimal.find("CodeSystem", "ctcae-5.0")
    assert ctcae is not None and ctcae["count"] == 837 == len(ctcae["concept"])
    radiculitis = next(c for c in ctcae["concept"] if c["display"] == "Radiculitis")
    assert radiculitis["code"] == "10061928"
    expected = minimal.find("ValueSet", "mini-01-expected-aes-1.0")
    assert expected is not None
    assert expected["compose"]["include"][0]["concept"] == [
        {"code": "10061928", "display": "Radiculitis"}
    ]
    ae = minimal.find("Questionnaire", "mini-01-ae-1.0")
    assert ae is not None
    items = {item["linkId"]: item for item in ae["item"]}
    assert items["ae-term"]["answerValueSet"].endswith("/ValueSet/mini-01-ae-terms|1.0")
    grades = [o["valueCoding"]["code"] for o in items["ae-grade"]["answerOption"]]
    assert grades == ["C41338", "C41339", "C41340", "C41337", "C48275"]
    assert items["ae-seriousness"]["enableWhen"] == [
        {"question": "ae-serious", "operator": "=", "answerBoolean": True}
    ]
    resolution = items["ae-resolution-date"]
    assert resolution["enableBehavior"] == "any"
    assert [c["answerCoding"]["code"] for c in resolution["enableWhen"]] == ["C49498", "C49495"]


def test_compile_writes_nothing_for_a_bad_protocol(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(PROTOCOLS["minimal"].read_text().replace("ARM-B: 1}", "ARM-Z: 1}"))
    output = tmp_path / "out.json"
    assert main(["protocol", "compile", str(bad), "-o", str(output)]) == 2
    assert not output.exists()
    output.write_text("previous content")
    assert main(["protocol", "compile", str(bad), "-o", str(output)]) == 2
    assert output.read_text() == "previous content"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_compile_to_a_missing_directory_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no" / "such" / "dir" / "bundle.json"
    assert main(["protocol", "compile", str(PROTOCOLS["minimal"]), "-o", str(target)]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_the_ae_term_value_set_ships_its_expansion(minimal: CompiledStudy) -> None:
    # A renderer without a terminology server offers only what the expansion lists.
    ctcae = minimal.find("CodeSystem", "ctcae-5.0")
    terms = minimal.find("ValueSet", "mini-01-ae-terms-1.0")
    assert ctcae is not None and terms is not None
    expansion = terms["expansion"]
    assert expansion["total"] == 837 == len(expansion["contains"])
    assert {(c["code"], c["display"]) for c in expansion["contains"]} == {
        (c["code"], c["display"]) for c in ctcae["concept"]
    }
    assert {c["system"] for c in expansion["contains"]} == {"https://www.meddra.org"}
    assert expansion["timestamp"]


def test_one_code_system_for_the_ctcae_terms(minimal: CompiledStudy) -> None:
    # MedDRA codes the terms in the ValueSets (so in the AE form's answers) as in the
    # AdverseEvents edc writes; the CTCAE CodeSystem supplements MedDRA with the grades.
    meddra = "https://www.meddra.org"
    ctcae = minimal.find("CodeSystem", "ctcae-5.0")
    assert ctcae is not None
    assert (ctcae["content"], ctcae["supplements"]) == ("supplement", f"{meddra}|20.1")
    for value_set_id in ("mini-01-ae-terms-1.0", "mini-01-expected-aes-1.0"):
        value_set = minimal.find("ValueSet", value_set_id)
        assert value_set is not None
        assert [i["system"] for i in value_set["compose"]["include"]] == [meddra]
    terms = minimal.find("ValueSet", "mini-01-ae-terms-1.0")
    assert terms is not None
    listed = terms["compose"]["include"][0]["concept"]
    assert len(listed) == 837 and {"code": "10003988", "display": "Back pain"} in listed
    assert meddra == adverse_events.MEDDRA == synth_adverse_events.MEDDRA
