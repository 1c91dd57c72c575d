"""Resources deleted on the FHIR server after we received them: reported, never applied.

A search by ``_lastUpdated`` cannot see deletions; the type's history since the cursor can
(``DELETE`` entries). Trial data is not removed because the hospital's copy was: each deleted
resource that the warehouse holds becomes an open ``deleted_at_source`` data problem on its
latest stored version, for a monitor to decide on (the usual cause is a record entered on the
wrong patient). Recorded once per resource version, however often the history repeats it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import func, select

from edc.fhir import SearchPage
from edc.sync.store import Problem
from edc.sync.work import Work
from edc.warehouse.tables.fhir import DataProblemRow, RawResourceRow

KIND = "deleted_at_source"


def deleted_in(pages: Iterable[SearchPage], resource_type: str) -> dict[str, str]:
    """Logical id -> when (or "" when the server does not say) of each deletion in the pages."""
    deleted: dict[str, str] = {}
    for page in pages:
        for entry in page.entries:
            request = entry.get("request")
            if not isinstance(request, dict) or request.get("method") != "DELETE":
                continue
            url = request.get("url")
            kind, _, logical_id = str(url or "").partition("?")[0].rpartition("/")
            if kind.rsplit("/", 1)[-1] != resource_type or not logical_id:
                continue
            response = entry.get("response")
            when = response.get("lastModified") if isinstance(response, dict) else None
            # History lists the newest first: a resource deleted twice keeps its last deletion.
            deleted.setdefault(logical_id, when if isinstance(when, str) else "")
    return deleted


def report(work: Work, resource_type: str, deleted: Mapping[str, str]) -> int:
    """Record a problem for each deleted resource we hold; returns how many are new."""
    if not deleted:
        return 0
    latest = (
        select(RawResourceRow.logical_id, func.max(RawResourceRow.id))
        .where(
            RawResourceRow.source == work.source,
            RawResourceRow.resource_type == resource_type,
            RawResourceRow.logical_id.in_(sorted(deleted)),
        )
        .group_by(RawResourceRow.logical_id)
    )
    held = {str(logical_id): int(raw_id) for logical_id, raw_id in work.session.execute(latest)}
    # Once per version: the overlap window brings a deletion back, and a monitor may have
    # resolved it already.
    reported = set(
        work.session.scalars(
            select(DataProblemRow.raw_resource_id).where(
                DataProblemRow.kind == KIND,
                DataProblemRow.study_id == work.scope.study_id,
                DataProblemRow.raw_resource_id.in_(sorted(held.values())),
            )
        )
    )
    for logical_id, raw_id in sorted(held.items()):
        if raw_id in reported:
            continue
        when = deleted[logical_id]
        at = f" at {when}" if when else ""
        message = (
            f"{resource_type}/{logical_id} was deleted on the FHIR server{at}; the warehouse "
            "keeps what it received: decide whether the trial data stands"
        )
        work.problems.append(Problem(KIND, message, None, raw_id=raw_id))
    return len(held) - len(reported)
