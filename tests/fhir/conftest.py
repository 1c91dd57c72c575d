"""Fixtures for the FHIR client tests: clients on the real server, faults, recorded sleeps."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from edc.clock import FixedClock
from edc.fhir import FhirClient, RetryPolicy
from tests.fhir.faults import FROZEN_AT, FaultTransport, RecordingSleep


@pytest.fixture
def unique() -> str:
    """A fresh tag for identifiers, because the shared server keeps every test's data."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(FROZEN_AT)


@pytest.fixture
def sleeps(clock: FixedClock) -> RecordingSleep:
    return RecordingSleep(clock)


@pytest.fixture
def retry(sleeps: RecordingSleep, clock: FixedClock) -> RetryPolicy:
    """Default limits, but no real sleeping, seeded jitter and the frozen clock."""
    return RetryPolicy(sleep=sleeps, rng=random.Random(7), clock=clock)


@pytest.fixture
def transport() -> Iterator[FaultTransport]:
    faults = FaultTransport()
    yield faults
    faults.close()


@pytest.fixture
def make_client(
    retry: RetryPolicy, transport: FaultTransport
) -> Iterator[Callable[..., FhirClient]]:
    """``make_client(base_url, **kwargs)``: a FhirClient over the fault transport, closed after."""
    clients: list[FhirClient] = []

    def make(base_url: str, **kwargs: Any) -> FhirClient:
        kwargs.setdefault("retry", retry)
        kwargs.setdefault("transport", transport)
        client = FhirClient(base_url, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
