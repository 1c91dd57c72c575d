"""Put one resource entered by a person through exactly the ingest synced resources go through.

``ingest_entered`` runs ``edc.sync.Ingestor`` (parse, store raw, R4 and Questionnaire checks,
normalize, audit) inside an outer transaction, and keeps the result only if the resource came
out normalized without a problem: otherwise everything is rolled back and the problems are
raised, so bad input through the web changes nothing. The copy for the hospital's FHIR server
goes to the outbox in that same transaction (``queue_for_site``): stored and queued, or neither.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from edc import errors
from edc.clock import Clock
from edc.sync import Ingestor, load_scope
from edc.sync.incoming import Incoming
from edc.trial import form_writeback
from edc.warehouse import db, outbox
from edc.warehouse.tables import DataProblemRow, RawResourceRow

# Ids of resources created in edc: "edc-" and 32 hex digits (a UUID), well within FHIR's 64.
ID_PREFIX = "edc-"


def new_resource_id() -> str:
    return f"{ID_PREFIX}{uuid.uuid4().hex}"


def is_entered_id(value: str) -> bool:
    """Whether ``value`` has the shape of an id edc gives (checked before trusting a page's)."""
    if not value.startswith(ID_PREFIX) or len(value) != 36:
        return False
    return all(c in "0123456789abcdef" for c in value[len(ID_PREFIX) :])


@dataclasses.dataclass(frozen=True)
class Person:
    """Who enters the data, as the audit trail names them."""

    username: str
    role: str


@dataclasses.dataclass(frozen=True)
class SiteServer:
    """Where the entered resource is written back: the study's site, through the outbox."""

    study_id: int
    site_id: int
    canonical_base: str


@dataclasses.dataclass(frozen=True)
class Ingested:
    raw_resource_id: int


def ingest_entered(
    engine: Engine,
    *,
    study_code: str,
    source: str,
    resource: Mapping[str, Any],
    person: Person,
    clock: Clock,
    reason: str | None = None,
    queue_for_site: SiteServer | None = None,
) -> Ingested:
    """Ingest ``resource`` as from ``source``; keep it only if it passed every check.

    :param queue_for_site: also queue the resource for the site's FHIR server (same
        transaction).

    :raises errors.ProblemsError: what the checks found (nothing was written).
    """
    text = orjson.dumps(resource)
    where = f"entered by {person.username}"
    with engine.connect() as connection, connection.begin() as outer:
        maker = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        with db.transaction(maker) as session:
            scope = load_scope(session=session, study_code=study_code)
        ingestor = Ingestor(
            maker, scope, source, clock, actor=person.username, role=person.role, reason=reason
        )
        ingestor.ingest([Incoming(text, where, str(resource.get("resourceType")))])
        with db.transaction(maker) as session:
            raw_id = session.scalar(
                select(RawResourceRow.id).where(
                    RawResourceRow.source == source,
                    RawResourceRow.resource_type == resource.get("resourceType"),
                    RawResourceRow.logical_id == resource.get("id"),
                    RawResourceRow.sha256 == _sha256(text),
                )
            )
            problems = list(
                session.execute(
                    select(DataProblemRow.field_path, DataProblemRow.message).where(
                        DataProblemRow.raw_resource_id == raw_id
                    )
                )
            )
        if raw_id is None or problems or ingestor.rejected:
            outer.rollback()
            raise errors.ProblemsError(
                f"{resource.get('resourceType')} not accepted: nothing was saved",
                [errors.Problem(where, path or "", message) for path, message in problems]
                or [errors.Problem(where, "", "the resource could not be stored")],
            )
        if queue_for_site is not None:
            with db.transaction(maker) as session:
                _queue(session, study_code, resource, queue_for_site, clock)
        return Ingested(int(raw_id))


def _queue(
    session: Any, study_code: str, resource: Mapping[str, Any], site: SiteServer, clock: Clock
) -> None:
    system = form_writeback.entered_system(site.canonical_base, study_code)
    sent, key = form_writeback.for_server(resource, system=system, is_entered=is_entered_id)
    outbox.enqueue(
        session,
        study_id=site.study_id,
        site_id=site.site_id,
        resource=sent,
        key=key,
        operation="upsert",
        now=clock.now(),
    )


def _sha256(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()
