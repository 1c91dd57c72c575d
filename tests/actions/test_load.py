"""`edc load` into the real test FHIR server: complete, linked, idempotent, and clear errors."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from edc import errors
from edc.actions import generate, load
from edc.actions.publish import OPTIONAL_TYPES
from edc.cli import main
from edc.compiler import CompiledStudy, compile_protocol
from edc.fhir import FhirClient, RetryPolicy, search_token
from edc.library import load_library
from edc.protocol import load_protocol
from tests.fhir_server.fixture import FhirServer, FhirServerFactory, start_or_give_up
from tests.fhir_server.server import free_port

STUDIES = Path(__file__).parents[2] / "fhir_mappings" / "studies"
MWA = STUDIES / "spine-mwa-01.yaml"
FAST = RetryPolicy(max_attempts=2, sleep=lambda _: None, rng=random.Random(1))


@pytest.fixture(scope="module")
def load_server(fhir_server_factory: FhirServerFactory) -> FhirServer:
    """A server of this module's own: publishing here must not touch the shared server's
    shared definitions (CTCAE), whose version history other tests check."""
    return start_or_give_up(fhir_server_factory, name="load")


@pytest.fixture(scope="module")
def compiled() -> CompiledStudy:
    library = load_library()
    return compile_protocol(load_protocol(MWA, library).protocol, library)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("load") / "run"
    generate.generate(
        generate.GenerateOptions(
            study=MWA, out=out, patients=24, seed=41, workers=1, defect_rate=0.05
        )
    )
    return out


def _publish(url: str, compiled: CompiledStudy) -> None:
    # The test server does not search StructureDefinition by url: leave our extensions'
    # definitions out, as edc publish does for such a server (OPTIONAL_TYPES).
    bundle = dict(compiled.bundle)
    bundle["entry"] = [
        entry
        for entry in compiled.bundle["entry"]
        if entry["resource"]["resourceType"] not in OPTIONAL_TYPES
    ]
    with FhirClient(url, retry=FAST) as fhir:
        fhir.transaction(bundle)


def test_load_creates_everything_once_and_links_it(load_server, compiled, generated):
    _publish(load_server.base_url, compiled)
    manifest = load.layout.read_manifest(generated)
    expected = {item["type"]: item["count"] for item in manifest["output"]}
    malformed = sum(
        d["kind"] == "malformed-line"
        for d in load.layout.read_lines(generated / "truth" / "defects.ndjson")
    )
    expected["QuestionnaireResponse"] -= malformed

    first = load.load(generated, load_server.base_url, batch_entries=150, retry=FAST)
    assert {t: c.created for t, c in first.counts.items()} == expected
    assert all(c.present == 0 for c in first.counts.values())
    assert len(first.bad_lines) == malformed
    assert first.patients == expected["Patient"]

    second = load.load(generated, load_server.base_url, retry=FAST)
    assert {t: c.present for t, c in second.counts.items()} == expected
    assert all(c.created == 0 for c in second.counts.values())

    # References were rewritten to the server's ids: a subject's records hang together.
    allocation = next(load.layout.read_lines(generated / "truth" / "allocations.ndjson"))
    patient_file = next(
        r
        for r in load.layout.read_lines(generated / "Patient.ndjson")
        if r["id"] == allocation["patient"]
    )
    mrn = patient_file["identifier"][0]
    with FhirClient(load_server.base_url, retry=FAST) as fhir:
        [patient] = list(
            fhir.search("Patient", {"identifier": search_token(mrn["system"], mrn["value"])})
        )
        organization = fhir.read(
            "Organization", patient["managingOrganization"]["reference"].split("/")[1]
        ).body
        assert organization["identifier"][0]["system"].endswith("/sid/synthetic-hospital")
        [subject] = list(fhir.search("ResearchSubject", {"patient": f"Patient/{patient['id']}"}))
        assert subject["identifier"][0]["value"] == allocation["subject"]
        assert subject["study"]["reference"].startswith("ResearchStudy/spine-mwa-01-site-")
        responses = list(
            fhir.search("QuestionnaireResponse", {"subject": f"Patient/{patient['id']}"})
        )
        assert len(responses) > 10
        encounter = responses[0]["encounter"]["reference"]
        assert fhir.read("Encounter", encounter.split("/")[1]).body["subject"] == {
            "reference": f"Patient/{patient['id']}"
        }


def test_load_refuses_a_server_without_the_study(fresh_fhir_server, generated, capsys):
    code = main(
        ["load", str(generated), "--fhir-url", fresh_fhir_server.base_url, "--max-attempts", "1"]
    )
    err = capsys.readouterr().err
    assert code == errors.EXIT_BAD_INPUT
    assert "study SPINE-MWA-01 v1.0 is not published" in err
    assert "ResearchStudy/spine-mwa-01-site-01-1.0" in err
    with FhirClient(fresh_fhir_server.base_url, retry=FAST) as fhir:
        assert list(fhir.search("Patient")) == []  # nothing was loaded


def test_load_cli_prints_the_summary(load_server, compiled, generated, capsys):
    _publish(load_server.base_url, compiled)
    code = main(["load", str(generated), "--fhir-url", load_server.base_url])
    captured = capsys.readouterr()
    assert code == 0
    assert "QuestionnaireResponse" in captured.out and "present" in captured.out
    assert "unreadable line" in captured.err  # the malformed defect lines, listed


def test_unreachable_server_exits_3(generated, capsys):
    url = f"http://127.0.0.1:{free_port()}/fhir"
    assert main(["load", str(generated), "--fhir-url", url, "--max-attempts", "1"]) == (
        errors.EXIT_EXTERNAL_FAILURE
    )
    assert "edc: error:" in capsys.readouterr().err


def test_a_directory_not_made_by_generate_is_bad_input(tmp_path, capsys):
    assert main(["load", str(tmp_path), "--fhir-url", "http://127.0.0.1:9/fhir"]) == (
        errors.EXIT_BAD_INPUT
    )
    assert "not a generated directory" in capsys.readouterr().err
