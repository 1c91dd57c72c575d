"""Minimal trial data for warehouse tests: a study, a site, a subject and a form response."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from edc import clock as clocks
from edc.warehouse import audit, db
from edc.warehouse.tables import FormResponseRow, SiteRow, StudyRow, SubjectRow

# A non-UTC offset on purpose: stored and hashed times must come out in UTC.
FROZEN_AT = dt.datetime(
    2026, 3, 1, 9, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))
)
QUESTIONNAIRE = "https://edc.example.org/fhir/Questionnaire/nrs-pain"


@dataclasses.dataclass(frozen=True)
class Seeded:
    study_id: int
    site_id: int
    subject_id: int
    response_id: int


def seed(maker: sessionmaker[Session], clock: clocks.Clock, *, code: str = "MWA-VA-OB") -> Seeded:
    """Create one study, site, subject and form response in one audited transaction."""
    with db.transaction(maker) as session:
        audit.bind(session, actor="setup", role="admin", clock=clock)
        study = StudyRow(code=code, title="Microwave ablation + vertebral augmentation")
        session.add(study)
        session.flush()
        site = SiteRow(study_id=study.id, code="S01", name="Hospital One", country="CN")
        session.add(site)
        session.flush()
        subject = SubjectRow(
            study_id=study.id, site_id=site.id, subject_code="S01-001", status="on-study"
        )
        session.add(subject)
        session.flush()
        response = FormResponseRow(
            subject_id=subject.id,
            visit_id="baseline",
            questionnaire_url=QUESTIONNAIRE,
            questionnaire_version="1.0.0",
            status="completed",
            authored=clock.now(),
        )
        session.add(response)
        session.flush()
        return Seeded(study.id, site.id, subject.id, response.id)
