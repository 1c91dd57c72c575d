"""Capability discovery from the real server's CapabilityStatement."""

from __future__ import annotations

import pytest

from edc import errors as edc_errors
from edc.fhir import Capabilities, FhirRequestError, UnsupportedFeatureError
from tests.fhir_server.fixture import start_or_give_up


def test_capabilities_are_read_once_from_metadata(fhir_server, make_client, transport):
    fhir = make_client(fhir_server.base_url)
    caps = fhir.capabilities()
    assert fhir.capabilities() is caps
    assert len(transport.requests_to("/metadata")) == 1

    assert caps.is_r4
    assert caps.supports(interactions=["transaction", "batch"], operation="$export")
    assert caps.supports(
        "Patient", interactions=["read", "search-type", "conditional-create", "conditional-update"]
    )
    assert caps.supports("Group", operation="export")
    assert caps.supports("Observation", search_params=["_lastUpdated", "patient", "code"])


def test_launcher_parameters_are_declared(fhir_server, make_client):
    caps = make_client(fhir_server.base_url).capabilities()
    assert caps.supports("Questionnaire", search_params=["url", "version", "identifier"])
    assert caps.supports(
        "QuestionnaireResponse", search_params=["questionnaire", "subject", "authored"]
    )
    assert caps.supports("ResearchSubject", search_params=["study", "individual"])
    assert caps.supports("AdverseEvent", search_params=["study", "seriousness"])
    assert caps.supports("Consent", search_params=["scope", "patient"])


def test_result_parameters_and_modifiers_are_understood(fhir_server, make_client):
    caps = make_client(fhir_server.base_url).capabilities()
    assert caps.supports(
        "Patient", search_params=["_count", "_sort", "_include", "identifier:of-type", "_id"]
    )
    assert caps.missing(
        "Patient", search_params=["general-practitioner.name", "favourite-colour"]
    ) == ["search parameter 'favourite-colour' on Patient"]


def test_require_names_everything_missing(fhir_server, make_client):
    caps = make_client(fhir_server.base_url).capabilities()
    with pytest.raises(UnsupportedFeatureError) as caught:
        caps.require(
            "questionnaire population",
            "Questionnaire",
            search_params=["url", "context-type"],
            operation="$populate",
        )
    error = caught.value
    assert error.exit_code == edc_errors.EXIT_EXTERNAL_FAILURE
    assert "cannot do questionnaire population" in str(error)
    assert "search parameter 'context-type' on Questionnaire" in error.details
    assert "operation $populate on Questionnaire" in error.details
    assert "url" not in error.details.replace("context-type", "")


def test_unknown_resource_type_is_missing_as_a_whole(fhir_server, make_client):
    caps = make_client(fhir_server.base_url).capabilities()
    assert caps.missing("EvidenceVariable", interactions=["create"]) == [
        "resource type EvidenceVariable is not supported at all"
    ]


def test_a_non_capability_statement_is_refused():
    with pytest.raises(UnsupportedFeatureError, match="did not return a CapabilityStatement"):
        Capabilities.from_statement({"resourceType": "OperationOutcome"})


@pytest.fixture(scope="module")
def stock_server(fhir_server_factory):
    server = start_or_give_up(fhir_server_factory, stock=True, name="stock")
    yield server
    server.stop()


def test_a_feature_the_server_lacks_is_skipped_with_a_reason(stock_server, make_client, transport):
    """Stock SEKMET has no Questionnaire search: discovery says so before we rely on it."""
    fhir = make_client(stock_server.base_url)
    caps = fhir.capabilities()

    # What a caller such as publish does: ask first, and skip the lookup with this reason.
    gaps = caps.missing("Questionnaire", search_params=["url", "version"])
    assert gaps == ["resource type Questionnaire is not supported at all"]
    assert not caps.supports("Questionnaire", search_params=["url"])
    assert not transport.requests_to("/Questionnaire")

    # Had we searched anyway, strict handling turns the silently ignored parameter into an error.
    with pytest.raises(FhirRequestError, match="Unknown search parameter 'url' for Questionnaire"):
        list(fhir.search("Questionnaire", {"url": "https://edc.example.org/fhir/Questionnaire/x"}))
