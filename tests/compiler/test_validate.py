"""The compiler's own output check names the resource at fault; the Bundle's bytes are those of
``json.dumps(indent=2)`` whichever encoder wrote them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from edc.compiler import bundle, validate


def questionnaire(link_id: Any) -> dict[str, Any]:
    return {
        "resourceType": "Questionnaire",
        "id": "q1",
        "url": "http://example.org/Questionnaire/q1",
        "version": "1",
        "status": "active",
        "item": [{"linkId": link_id, "type": "string"}],
    }


@pytest.mark.parametrize("models", [False, True])
def test_an_invalid_resource_is_named_with_the_problem(models: bool) -> None:
    good, bad = questionnaire("a"), {**questionnaire(7), "id": "q2"}
    with pytest.raises(validate.InvalidOutputError) as raised:
        validate.check_resources([good, bad], bundle.transaction([good, bad]), models=models)
    message = str(raised.value)
    assert "Questionnaire/q2: error at Questionnaire.item[0].linkId" in message
    assert "Questionnaire/q1:" not in message
    validate.check_resources([good], bundle.transaction([good]), models=models)


def test_r4b_only_elements_are_refused_without_the_models() -> None:
    plan = {"resourceType": "PlanDefinition", "id": "p", "url": "http://e.org/p", "version": "1"}
    plan["status"] = "active"
    plan["subjectCanonical"] = "http://example.org"
    with pytest.raises(validate.InvalidOutputError, match=r"PlanDefinition/p: R4B-only element"):
        validate.check_resources([plan], bundle.transaction([plan]), models=False)


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, 2.5, {}, [], {"x": 'é\u2028"\\ \x01\x7f'}], "b": None, "c": True},
        {"float spelt differently": 1e16, "tiny": 5e-324},
        {"beyond 64 bits": 2**70},
        {"text": "CTCAE v5.0 — grade ≥ 3", "nested": [[[]], {"k": [{}]}]},
    ],
)
def test_dumps_gives_the_bytes_of_the_standard_library(value: dict[str, Any]) -> None:
    assert bundle.dumps(value) == (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()
