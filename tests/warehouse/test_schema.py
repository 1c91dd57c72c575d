"""Constraints the database itself enforces on trial data."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from edc import clock as clocks
from edc.warehouse import audit, db
from edc.warehouse.tables import (
    AdverseEventRow,
    AllocationRow,
    PlannedVisitRow,
    ProtocolVersionRow,
    RoleAssignmentRow,
    SiteRow,
    StudyRow,
    SubjectRow,
    UserRow,
)
from tests.fixtures.database import Database
from tests.warehouse.seed import Seeded, seed


def _add(database: Database, clock: clocks.Clock, *rows: Any) -> None:
    with db.transaction(database.sessionmaker) as session:
        audit.bind(session, actor="a", role="admin", clock=clock)
        for row in rows:
            session.add(row)
            session.flush()


def _adverse_event(subject_id: int, **overrides: Any) -> AdverseEventRow:
    values: dict[str, Any] = {
        "subject_id": subject_id,
        "ctcae_term": "Back pain",
        "meddra_llt_code": "10003988",
        "grade": 2,
        "serious": False,
        "attribution": "possible",
        "onset_date": dt.date(2026, 3, 3),
        "outcome": "resolved",
    }
    return AdverseEventRow(**(values | overrides))


def test_a_valid_adverse_event_is_accepted(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    _add(database, clock, _adverse_event(seeded.subject_id, grade=5, outcome="fatal"))


@pytest.mark.parametrize(
    "overrides",
    [
        {"grade": 0},
        {"grade": 6},
        {"attribution": "maybe"},
        {"outcome": "better"},
        {"resolution_date": dt.date(2026, 3, 1)},
    ],
)
def test_adverse_event_codes_outside_their_set_are_refused(
    database: Database, seeded: Seeded, clock: clocks.FixedClock, overrides: dict[str, Any]
) -> None:
    with pytest.raises(IntegrityError):
        _add(database, clock, _adverse_event(seeded.subject_id, **overrides))


def test_roles_are_a_fixed_set_and_site_roles_need_a_site(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    user = UserRow(username="dr.li", display_name="Dr Li")
    _add(database, clock, user)
    _add(
        database,
        clock,
        RoleAssignmentRow(user_id=user.id, study_id=seeded.study_id, role="monitor"),
    )
    with pytest.raises(IntegrityError):
        _add(
            database,
            clock,
            RoleAssignmentRow(user_id=user.id, study_id=seeded.study_id, role="boss"),
        )
    with pytest.raises(IntegrityError):
        _add(
            database,
            clock,
            RoleAssignmentRow(user_id=user.id, study_id=seeded.study_id, role="investigator"),
        )


def test_a_subject_cannot_be_placed_at_a_site_of_another_study(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    other = seed(database.sessionmaker, clock, code="PVP-02")
    with pytest.raises(IntegrityError):
        _add(
            database,
            clock,
            SubjectRow(
                study_id=seeded.study_id,
                site_id=other.site_id,
                subject_code="X-1",
                status="on-study",
            ),
        )


def test_unique_keys(database: Database, seeded: Seeded, clock: clocks.FixedClock) -> None:
    with pytest.raises(IntegrityError):
        _add(
            database,
            clock,
            SubjectRow(
                study_id=seeded.study_id,
                site_id=seeded.site_id,
                subject_code="S01-001",
                status="screening",
            ),
        )
    with pytest.raises(IntegrityError):
        _add(
            database,
            clock,
            SiteRow(study_id=seeded.study_id, code="S01", name="Again", country="CN"),
        )
    with pytest.raises(IntegrityError):
        _add(database, clock, StudyRow(code="MWA-VA-OB", title="again"))
    version = {
        "study_id": seeded.study_id,
        "version": "1.0",
        "source_yaml": "x",
        "bundle_json": "{}",
        "bundle_sha256": "0" * 64,
        "compiled_at": clock.now(),
    }
    _add(database, clock, ProtocolVersionRow(**version))
    with pytest.raises(IntegrityError):
        _add(database, clock, ProtocolVersionRow(**version))


def test_an_allocation_list_position_is_handed_out_once(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    second = SubjectRow(
        study_id=seeded.study_id, site_id=seeded.site_id, subject_code="S01-002", status="on-study"
    )
    _add(database, clock, second)
    slot = {
        "study_id": seeded.study_id,
        "arm": "A",
        "stratum": "S01|ecog0-1",
        "block_number": 1,
        "sequence_in_block": 1,
        "randomized_at": clock.now(),
    }
    _add(database, clock, AllocationRow(subject_id=seeded.subject_id, **slot))
    with pytest.raises(IntegrityError):
        _add(database, clock, AllocationRow(subject_id=second.id, **slot))


def test_a_visit_window_must_contain_its_target_date(
    database: Database, seeded: Seeded, clock: clocks.FixedClock
) -> None:
    day = dt.date(2026, 4, 1)
    _add(
        database,
        clock,
        PlannedVisitRow(
            subject_id=seeded.subject_id,
            visit_id="week-4",
            target_date=day,
            window_low=day - dt.timedelta(days=3),
            window_high=day + dt.timedelta(days=3),
        ),
    )
    with pytest.raises(IntegrityError):
        _add(
            database,
            clock,
            PlannedVisitRow(
                subject_id=seeded.subject_id,
                visit_id="week-6",
                target_date=day,
                window_low=day + dt.timedelta(days=1),
                window_high=day + dt.timedelta(days=3),
            ),
        )
