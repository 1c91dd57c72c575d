"""JSON shapes of the API: ``*Public`` for what it returns, ``*Create``/``*Update`` for what it
takes. Never warehouse rows; built from the actions' results with ``from_attributes``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MePublic(Public):
    username: str
    display_name: str
    csrf_token: str = Field(description="send as X-CSRF-Token with every POST, PUT and DELETE")


class LoginCreate(Strict):
    username: str
    password: str


class StudyPublic(Public):
    code: str
    title: str
    roles: list[str]


class SubjectPublic(Public):
    code: str
    status: str
    site_code: str
    site_name: str
    arm: str | None
    enrolled_at: dt.datetime | None
    forms: int
    open_queries: int


class FormLinePublic(Public):
    form_id: str
    title: str
    response_id: int | None
    status: str
    authored: dt.datetime | None


class VisitLinePublic(Public):
    visit_id: str
    title: str
    target: dt.date | None
    window: tuple[dt.date, dt.date] | None
    actual: dt.date | None
    state: str
    forms: list[FormLinePublic]


class AdverseEventPublic(Public):
    id: int
    term: str
    grade: int
    serious: bool
    onset: dt.date
    outcome: str
    reported_at: dt.datetime | None


class QueryPublic(Public):
    id: int
    status: str
    origin: str
    link_id: str | None
    response_id: int | None
    opened_at: dt.datetime
    messages: int
    last_message: str | None


class CasebookPublic(Public):
    subject: SubjectPublic
    arm: str | None
    consented_at: dt.datetime | None
    visits: list[VisitLinePublic]
    other_forms: list[FormLinePublic]
    adverse_events: list[AdverseEventPublic]
    queries: list[QueryPublic]
    may_enter_data: bool


class HistoryLinePublic(Public):
    seq: int
    at: dt.datetime
    actor: str
    role: str
    action: str
    field: str | None
    old_value: str | None
    new_value: str | None
    reason: str | None


class FormCreate(Strict):
    form_id: str
    visit_id: str | None = None
    resource_id: str = Field(description="the id the form page was given (one submission each)")
    response: dict[str, Any] = Field(description="the QuestionnaireResponse (only item is used)")


class FormUpdate(Strict):
    reason: str = Field(min_length=1, description="why the stored form is changed (audited)")
    response: dict[str, Any]


class FormStoredPublic(Public):
    response_id: int
    resource_id: str
    version: int


class VisitCreate(Strict):
    visit_id: str
    date: dt.date


class AdverseEventCreate(Strict):
    term: str = Field(description="CTCAE term exactly as published, or its MedDRA code")
    grade: int = Field(ge=1, le=5)
    serious: bool
    onset: dt.datetime = Field(description="date and time with its UTC offset")
    relatedness: str
    outcome: str
    verbatim: str = ""
    criteria: list[str] = []
    aware_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None


class CreatedPublic(Public):
    id: int


class TermPublic(Public):
    meddra_code: int
    term: str
    soc: str
    grades: dict[int, str]
    needs_specify: bool


class SiteLinePublic(Public):
    code: str
    name: str
    target: int | None
    enrolled: int
    open_queries: int
    open_deviations: int


class DueVisitPublic(Public):
    subject_code: str
    site_code: str
    visit_id: str
    target: dt.date
    window_low: dt.date
    window_high: dt.date


class ClockPublic(Public):
    aware_at: dt.datetime | None
    due_at: dt.datetime | None
    reported_at: dt.datetime | None
    state: str


class SeriousEventPublic(Public):
    adverse_event_id: int
    subject_code: str
    site_code: str
    term: str
    grade: int
    onset: dt.date
    clock: ClockPublic
    verbatim: str | None = None
    expected: bool = True


class DashboardPublic(Public):
    study_code: str
    title: str
    today: dt.date
    target: int
    enrolled: int
    open_queries: int
    open_deviations: int
    sites: list[SiteLinePublic]
    enrollment: dict[str, list[tuple[dt.date, int]]]
    visits_due: list[DueVisitPublic]
    serious_events: list[SeriousEventPublic]
