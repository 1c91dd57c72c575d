"""JSON shapes of the screening worklist API (see ``edc.web.schemas`` for the conventions)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from edc.web.schemas import Public, Strict


class CriterionStatusPublic(Public):
    criterion_id: str
    kind: str
    text: str
    assessment: str
    result: str
    passes: bool | None
    suggested: str | None
    reason: str
    evidence: list[str]


class CandidatePublic(Public):
    patient: str
    outcome: str
    status: str
    screened_on: dt.date
    criteria: list[CriterionStatusPublic]
    subject: str | None
    arm: str | None = Field(description="the allocated arm, masked for blinded readers")


class SiteNumbersPublic(Public):
    assessed: int
    eligible: int
    ineligible: int
    undetermined: int
    excluded_by_criterion: dict[str, int]
    consented: int
    enrolled: int
    randomized: dict[str, int]


class WorklistPublic(Public):
    study: str
    site: str
    site_name: str
    candidates: list[CandidatePublic]
    numbers: SiteNumbersPublic
    investigators: list[str]
    randomization_open: bool
    total: int = Field(description="pre-screened patients in all (candidates: a page of them)")
    offset: int = Field(description="the position of the first candidate listed")


class PrescreenPublic(Public):
    evaluated: int
    unchanged: int


class ConsentCreate(Strict):
    signed: dt.date | dt.datetime = Field(description="signature date (or instant with offset)")
    form_version: str = Field(min_length=1)
    obtained_by: str = Field(min_length=1)


class ConsentPublic(Public):
    patient: str
    form_version: str
    signed_at: dt.datetime
    obtained_by: str


class EnrollmentCreate(Strict):
    investigator: str = Field(description="user name of the investigator who signs off")
    confirm: dict[str, bool] = Field(
        default_factory=dict,
        description="investigator criteria: id -> whether its statement holds for the patient",
    )
    override: str | None = Field(None, description="principal investigator only: why")


class EnrollmentPublic(Public):
    patient: str
    subject: str
    status: str
    enrolled_at: dt.datetime
    investigator: str
    overridden: list[str]


class RandomizationPublic(Public):
    subject: str
    sequence: int
    arm: str = Field(description="masked for blinded users")
    randomized_at: dt.datetime
    planned_visits: int
