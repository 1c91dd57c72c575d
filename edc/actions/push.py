"""`edc push`: deliver the outbox to a site's FHIR server (also run by a scheduled job).

Messages go out oldest first, each with a conditional write on its identifier: a Consent is
created only if none has that identifier (``If-None-Exist``); a ResearchSubject is created or
updated in place (``PUT ResearchSubject?identifier=``). Delivering a message twice - a crash
between the server's answer and our commit, a push run twice - therefore never makes two
resources. References to the site-level ResearchStudy use the id that server gave it when the
study was published. Each delivery is committed on its own, with the resource as the server
stored it kept in ``raw_resource`` (direction sent); when the server cannot be reached the
message stays pending (attempts and error recorded) and the push stops with exit 3.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import select

from edc import errors
from edc.actions.consent import study_refs
from edc.actions.workspace import Study, Workspace
from edc.compiler.naming import Naming
from edc.fhir import FhirClient, FhirRequestError, NetworkError, search_token
from edc.fhir.target import ServerSpec
from edc.trial import writeback
from edc.trial.permissions import Action
from edc.warehouse import audit, bulk
from edc.warehouse import outbox as store
from edc.warehouse.tables.fhir import PublishedDefinitionRow
from edc.warehouse.tables.outbox import OutboxMessageRow
from edc.warehouse.tables.study import ProtocolVersionRow
from edc.warehouse.tables.subjects import ConsentRow, PatientLinkRow

ClientFactory = Callable[[ServerSpec], FhirClient]


@dataclasses.dataclass(frozen=True)
class Delivered:
    resource_type: str
    identifier: str
    outcome: str  # created | updated | existed
    location: str


@dataclasses.dataclass(frozen=True)
class PushResult:
    study: str
    server: str
    delivered: list[Delivered]
    refused: list[tuple[str, str]]  # (identifier, the server's reason): kept pending
    pending: int


def push(
    workspace: Workspace,
    study_code: str,
    server: ServerSpec,
    *,
    site: str | None = None,
    client_factory: ClientFactory | None = None,
) -> PushResult:
    """Deliver the pending writes of a study (of one site).

    :raises errors.BadInputError: unknown study or site, or a user who may not push.
    :raises edc.fhir.NetworkError: (exit 3) the server could not be reached; what was delivered
        before stays delivered, the rest stays pending.
    """
    server.check()
    with workspace.transaction() as session:
        study = workspace.study(session, study_code)
        site_id = study.site(site).id if site else None
        workspace.act(session, study, Action.PUSH, site)
        messages = [
            (m.id, m.resource_type, m.identifier_system, m.identifier_value, m.operation, m.payload)
            for m in store.pending(session, study_id=study.id, site_id=site_id)
        ]
        studies = _published_site_studies(session, study, server.url)
    delivered: list[Delivered] = []
    refused: list[tuple[str, str]] = []
    make_client = client_factory or (lambda spec: spec.client(clock=workspace.clock))
    with make_client(server) as fhir:
        for message_id, kind, system, value, operation, payload in messages:
            resource = _with_server_ids(orjson.loads(payload), studies)
            criteria = [("identifier", search_token(system, value))]
            try:
                if operation == "create":
                    response = fhir.create(resource, if_none_exist=criteria)
                else:
                    response = fhir.update_conditional(resource, criteria)
            except NetworkError as exc:
                _failed(workspace, study, message_id, str(exc))
                raise
            except FhirRequestError as exc:
                _failed(workspace, study, message_id, str(exc))
                refused.append((f"{system}|{value}", exc.message))
                continue
            body = response.body if response.raw else resource
            logical_id = str(body.get("id") or (response.location or "").split("/")[-1])
            outcome = {201: "created"}.get(
                response.status, "existed" if operation == "create" else "updated"
            )
            location = response.location or f"{fhir.base_url}/{kind}/{logical_id}"
            _delivered(
                workspace, study, message_id, fhir.base_url, body, location, kind, logical_id
            )
            delivered.append(Delivered(kind, f"{system}|{value}", outcome, location))
    with workspace.transaction() as session:
        left = len(store.pending(session, study_id=study.id, site_id=site_id))
    return PushResult(study.code, server.url, delivered, refused, left)


def _published_site_studies(session: Any, study: Study, server_url: str) -> dict[str, str]:
    """Our site-level ResearchStudy ids -> the ids this server gave them when published."""
    protocol = study.protocol.study
    naming = Naming(protocol.canonical_base, protocol.id, study.version)
    system = naming.identifier_system("site-study")
    found = {}
    rows = session.execute(
        select(PublishedDefinitionRow.canonical_url, PublishedDefinitionRow.server_id)
        .join(ProtocolVersionRow)
        .where(
            ProtocolVersionRow.study_id == study.id,
            PublishedDefinitionRow.server_url == server_url.rstrip("/"),
            PublishedDefinitionRow.resource_type == "ResearchStudy",
        )
    )
    for key, server_id in rows:
        for site in study.sites:
            if key == f"{system}|{study.code}-{site.code}":
                found[naming.resource_id("site", site.code)] = str(server_id)
    return found


def _with_server_ids(resource: dict[str, Any], studies: dict[str, str]) -> dict[str, Any]:
    """``study`` references (one, as in ResearchSubject, or a list, as in AdverseEvent) to our
    site-level ResearchStudy ids, as the server's ids."""
    found = resource.get("study")
    if isinstance(found, list):
        resource["study"] = [_server_study(r, studies) for r in found]
    elif isinstance(found, dict):
        resource["study"] = _server_study(found, studies)
    return resource


def _server_study(reference: Any, studies: dict[str, str]) -> Any:
    if not isinstance(reference, dict):
        return reference
    ours = str(reference.get("reference", "")).removeprefix("ResearchStudy/")
    return {"reference": f"ResearchStudy/{studies[ours]}"} if ours in studies else reference


def _failed(workspace: Workspace, study: Study, message_id: int, error: str) -> None:
    with workspace.transaction() as session:
        message = session.get(OutboxMessageRow, message_id)
        if message is not None:
            message.attempts += 1
            message.last_error = error.splitlines()[0][:2000]


def _delivered(
    workspace: Workspace,
    study: Study,
    message_id: int,
    server: str,
    body: dict[str, Any],
    location: str,
    kind: str,
    logical_id: str,
) -> None:
    with workspace.transaction() as session:
        audit.bind(
            session, actor=f"edc push ({workspace.username})", role="system", clock=workspace.clock
        )
        message = session.get(OutboxMessageRow, message_id)
        if message is None:
            raise errors.EdcError(f"outbox message {message_id} vanished")
        message.status = "sent"
        message.attempts += 1
        message.delivered_at = workspace.clock.now()
        message.delivered_to = location
        message.last_error = None
        bulk.insert_raw_resources(
            session=session,
            resources=[bulk.RawResource(server, orjson.dumps(body).decode(), direction="sent")],
        )
        if kind == "Consent":
            _note_consent(session, study, message, f"Consent/{logical_id}")


def _note_consent(session: Any, study: Study, message: OutboxMessageRow, reference: str) -> None:
    """Give the consent row its reference on the server."""
    refs = study_refs(study, study.site_by_id(message.site_id).code)
    rows = session.execute(
        select(ConsentRow, PatientLinkRow.patient_id)
        .join(PatientLinkRow, PatientLinkRow.id == ConsentRow.patient_link_id)
        .where(PatientLinkRow.study_id == study.id, ConsentRow.fhir_reference.is_(None))
    ).all()
    for consent, patient_id in rows:
        key = writeback.consent_identifier(refs, patient_id, consent.form_version)
        if key == (message.identifier_system, message.identifier_value):
            with audit.reason(session, "delivered to the site's FHIR server"):
                consent.fhir_reference = reference
