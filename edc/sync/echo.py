"""Versions of resources edc itself wrote to the server, met again when syncing from it.

edc is the system of record for the subjects it enrolls: the ResearchSubject and Consent it
wrote come back on the next sync, possibly behind what edc has done since (a randomization not
yet pushed). The exact versions edc sent (kept in ``raw_resource`` as direction "sent") are not
applied again; a later version - the site changed the resource - is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, tuple_

from edc.sync.store import Stored
from edc.sync.work import Work, newer
from edc.warehouse.tables.fhir import RawResourceRow


def without_our_own(work: Work, items: Sequence[Stored]) -> list[Stored]:
    """``items`` less the versions edc sent to this source."""
    keys = sorted(
        {(s.parsed.resource_type, s.parsed.logical_id, s.parsed.version_key) for s in items}
    )
    sent: set[tuple[str, str, str]] = set()
    for start in range(0, len(keys), 500):
        rows = work.session.execute(
            select(
                RawResourceRow.resource_type, RawResourceRow.logical_id, RawResourceRow.version_key
            ).where(
                RawResourceRow.source == work.source,
                RawResourceRow.direction == "sent",
                tuple_(
                    RawResourceRow.resource_type,
                    RawResourceRow.logical_id,
                    RawResourceRow.version_key,
                ).in_(keys[start : start + 500]),
            )
        )
        sent |= {(str(a), str(b), str(c)) for a, b, c in rows}
    return [
        s
        for s in items
        if (s.parsed.resource_type, s.parsed.logical_id, s.parsed.version_key) not in sent
    ]


# What the outbox writes for data entered in edc (``edc.trial.form_writeback``).
ENTERED_TYPES = frozenset({"QuestionnaireResponse", "AdverseEvent", "Encounter"})


def entered_id(work: Work, resource: Mapping[str, Any]) -> str | None:
    """The id edc gave a resource entered in it, from the identifier its copy carries."""
    found = resource.get("identifier")
    for identifier in found if isinstance(found, list) else [found]:
        if isinstance(identifier, dict) and identifier.get("system") in work.scope.entered_systems:
            value = identifier.get("value")
            return str(value) if value else None
    return None


def entered_reference(work: Work, reference: Any) -> str | None:
    """``Encounter/<id edc gave>`` for a logical reference by the entered identifier."""
    if not isinstance(reference, dict) or not isinstance(reference.get("identifier"), dict):
        return None
    value = entered_id(work, {"identifier": reference["identifier"]})
    kind = reference.get("type")
    return f"{kind}/{value}" if value and isinstance(kind, str) else None


def link_entered(work: Work, items: Sequence[Stored]) -> list[Stored]:
    """``items`` with the server's copies of resources entered in edc sorted out.

    The exact versions edc sent are left out: edc holds them already, under its own id. A later
    version (the hospital changed its copy) is kept, linked to the rows of the entered resource:
    its ``previous`` names the entered versions, so the normalizers update those rows in place.
    """
    copies = {
        s.raw_id: value
        for s in items
        if s.parsed.resource_type in ENTERED_TYPES
        and (value := entered_id(work, s.parsed.resource)) is not None
    }
    if not copies:
        return list(items)
    ours = {s.raw_id for s in without_our_own(work, [s for s in items if s.raw_id in copies])}
    echoes = [s for s in items if s.raw_id in copies and s.raw_id not in ours]
    changed = [s for s in items if s.raw_id in ours]
    entered = _versions(
        work, "received", {(s.parsed.resource_type, copies[s.raw_id]) for s in changed}
    )
    sent = _versions(work, "sent", {(s.parsed.resource_type, s.parsed.logical_id) for s in changed})
    linked: dict[int, Stored] = {}
    for stored in changed:
        kind = stored.parsed.resource_type
        versions = entered.get((kind, copies[stored.raw_id]))
        if not versions:
            continue  # not entered here (another source): an ordinary resource
        if any(
            not newer(stored.parsed.version_id, v)
            for _, v in sent.get((kind, stored.parsed.logical_id), [])
        ):
            echoes.append(stored)  # a version before the one edc sent: edc's is newer
            continue
        linked[stored.raw_id] = dataclasses.replace(
            stored,
            previous=(*stored.previous, *versions),
            links_to=f"{kind}/{copies[stored.raw_id]}",
        )
    dropped = {s.raw_id for s in echoes}
    return [linked.get(s.raw_id, s) for s in items if s.raw_id not in dropped]


def _versions(
    work: Work, direction: str, wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], list[tuple[int, str | None]]]:
    """(type, logical id) -> [(raw id, versionId)] stored from this source in ``direction``."""
    found: dict[tuple[str, str], list[tuple[int, str | None]]] = {}
    keys = sorted(wanted)
    for start in range(0, len(keys), 500):
        rows = work.session.execute(
            select(
                RawResourceRow.id,
                RawResourceRow.resource_type,
                RawResourceRow.logical_id,
                RawResourceRow.version_id,
            ).where(
                RawResourceRow.source == work.source,
                RawResourceRow.direction == direction,
                tuple_(RawResourceRow.resource_type, RawResourceRow.logical_id).in_(
                    keys[start : start + 500]
                ),
            )
        )
        for raw_id, kind, logical_id, version in rows:
            found.setdefault((str(kind), str(logical_id)), []).append((int(raw_id), version))
    return found
