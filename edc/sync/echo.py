"""Versions of resources edc itself wrote to the server, met again when syncing from it.

edc is the system of record for the subjects it enrolls: the ResearchSubject and Consent it
wrote come back on the next sync, possibly behind what edc has done since (a randomization not
yet pushed). The exact versions edc sent (kept in ``raw_resource`` as direction "sent") are not
applied again; a later version - the site changed the resource - is.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, tuple_

from edc.sync.store import Stored
from edc.sync.work import Work
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
