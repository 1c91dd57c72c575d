"""Helpers for the web tests: counting rows, building the responses a page would send."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from edc.forms import build_response
from tests.web.trial import Seeded

# Tables a refused request must leave exactly as they were.
WATCHED = (
    "raw_resource",
    "form_response",
    "item_value",
    "adverse_event",
    "visit",
    "data_problem",
    "audit_event",
    "outbox_message",
)


def counts(seeded: Seeded) -> dict[str, int]:
    with seeded.database.engine.connect() as connection:
        return {
            table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in WATCHED
        }


def rows(seeded: Seeded, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with seeded.database.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql), params)]


def response_for(questionnaire: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """What the page sends: a QuestionnaireResponse (the server takes only its items)."""
    return build_response(
        questionnaire, answers, subject="Patient/whatever", authored="2026-03-25T10:00:00+08:00"
    )


def odi_answers(questionnaire: dict[str, Any], level: int) -> dict[str, Any]:
    """Every ODI section answered at ``level`` (0-5)."""
    return {
        item["linkId"]: item["answerOption"][level]["valueCoding"]["code"]
        for item in questionnaire["item"]
        if item["type"] == "choice"
    }
