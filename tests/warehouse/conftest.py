"""Fixtures for the warehouse tests."""

from __future__ import annotations

import pytest

from edc import clock as clocks
from tests.fixtures.database import Database
from tests.warehouse import seed as seeding


@pytest.fixture
def clock() -> clocks.FixedClock:
    return clocks.FixedClock(seeding.FROZEN_AT)


@pytest.fixture
def seeded(database: Database, clock: clocks.FixedClock) -> seeding.Seeded:
    return seeding.seed(database.sessionmaker, clock)
