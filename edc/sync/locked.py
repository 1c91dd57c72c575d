"""Changes received for frozen or locked subjects: kept raw, not applied, reported.

The database's lock triggers would refuse the writes anyway (``edc.warehouse.locks``); checking
first turns the refusal into a data problem ``changed_after_lock`` for the data manager, while
the resource itself stays stored raw (nothing lost) and the rest of the batch goes on.
"""

from __future__ import annotations

from collections.abc import Sequence

from edc.sync.store import Stored
from edc.sync.work import Work
from edc.warehouse import locks

KIND = "changed_after_lock"


def hold_back(work: Work, stored: Sequence[Stored]) -> None:
    """Keep the resources of frozen or locked subjects from being normalized.

    New or changed versions become ``changed_after_lock`` problems; versions held already are
    skipped silently (they were applied before the lock).
    """
    closed = locks.closed_subject_ids(work.session, study_id=work.scope.study_id)
    if not closed:
        return
    work.load_subjects(s.parsed.patient_id for s in stored if s.parsed.patient_id)
    for item in stored:
        patient = item.parsed.patient_id
        subject = work.subject_of(patient) if patient else None
        if subject is None or subject not in closed:
            continue
        if item.state == "unchanged":
            work.rejected.add(item.raw_id)
            continue
        work.problem(
            item,
            KIND,
            f"{item.parsed.resource_type}/{item.parsed.logical_id} changed after the subject's "
            "data was frozen or locked: kept raw, not applied (unlock with a reason to apply it)",
        )
