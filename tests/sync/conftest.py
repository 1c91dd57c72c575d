"""Fixtures for the sync tests: a warehouse with the minimal study registered, trial data."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from edc import config
from edc.actions import protocol
from edc.clock import FixedClock
from edc.compiler import CompiledStudy
from edc.warehouse import chain
from tests.fhir.faults import FROZEN_AT
from tests.fixtures.database import Database
from tests.sync.protocols import Protocols, StudyFile

TRIAL_TABLES = (
    "subject",
    "patient_link",
    "allocation",
    "consent",
    "visit",
    "form_response",
    "item_value",
    "adverse_event",
    "raw_resource",
    "data_problem",
)


@pytest.fixture(scope="session")
def protocols(tmp_path_factory: pytest.TempPathFactory) -> Protocols:
    return Protocols(tmp_path_factory.mktemp("protocols"))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(FROZEN_AT)


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]


@dataclasses.dataclass
class Warehouse:
    """A migrated warehouse with one study registered."""

    database: Database
    settings: config.Settings
    study: StudyFile

    def __repr__(self) -> str:
        return f"Warehouse({self.database.backend}, {self.study.study})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis prints the fixtures of a failing example with its own pretty-printer,
        # which would spell out the compiled study (megabytes, a HypothesisWarning).
        printer.text(repr(self))

    def count(self, table: str, where: str = "") -> int:
        with self.database.engine.connect() as connection:
            sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
            return int(connection.execute(text(sql)).scalar_one())

    def counts(self) -> dict[str, int]:
        return {table: self.count(table) for table in TRIAL_TABLES}

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        with self.database.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]

    def chain_ok(self) -> bool:
        with self.database.engine.connect() as connection:
            return chain.verify(connection).first_break is None

    def duplicates(self) -> dict[str, int]:
        """Rows repeated under each table's natural key (there must be none)."""
        keys = {
            "raw_resource": "source, resource_type, logical_id, version_key",
            "subject": "study_id, subject_code",
            "consent": "subject_id, fhir_reference",
            "visit": "subject_id, encounter_reference",
            "form_response": "raw_resource_id",
            "item_value": "response_id, link_id, answer_index",
            "adverse_event": "raw_resource_id",
        }
        found = {}
        for table, columns in keys.items():
            sql = (
                f"SELECT count(*) FROM (SELECT {columns} FROM {table} "
                f"GROUP BY {columns} HAVING count(*) > 1) d"
            )
            found[table] = self.rows(sql)[0][0]
        return {k: int(v) for k, v in found.items() if v}


def make_warehouse(
    database: Database, data_dir: Path, study: StudyFile, clock: FixedClock
) -> Warehouse:
    settings = config.Settings(data_dir=data_dir, database_url=database.url)
    protocol.register_checked(database.sessionmaker, study.checked, clock)
    return Warehouse(database, settings, study)


@pytest.fixture
def warehouse(
    database: Database, tmp_path: Path, protocols: Protocols, clock: FixedClock
) -> Warehouse:
    return make_warehouse(database, tmp_path / "data", protocols.get(), clock)


@pytest.fixture
def sqlite_warehouse(
    sqlite_database: Database, tmp_path: Path, protocols: Protocols, clock: FixedClock
) -> Warehouse:
    return make_warehouse(sqlite_database, tmp_path / "data", protocols.get(), clock)


@pytest.fixture(scope="session")
def minimal(protocols: Protocols) -> CompiledStudy:
    return protocols.get().checked.compiled
