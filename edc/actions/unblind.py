"""`edc unblind`: emergency unblinding of one subject by the site's investigator, audited.

The arm is revealed to the person who asks (an investigator of the subject's site) and the
unblinding - who, when, why - is recorded in the audit trail and in ``unblinding``, so the
statisticians know which subjects' arms became known before the study was unblinded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select

from edc import errors
from edc.actions.workspace import Workspace
from edc.trial.permissions import Action
from edc.warehouse import audit
from edc.warehouse import randomization as store
from edc.warehouse.tables.randomization import UnblindingRow
from edc.warehouse.tables.subjects import SubjectRow


@dataclasses.dataclass(frozen=True)
class UnblindResult:
    study: str
    subject: str
    arm: str
    arm_title: str
    unblinded_at: dt.datetime
    reason: str


def unblind(workspace: Workspace, study_code: str, subject_code: str, reason: str) -> UnblindResult:
    """Reveal one subject's arm.

    :raises errors.BadInputError: a blank reason, an unknown study or subject, a subject not
        randomized, or a user who may not unblind at the subject's site. Nothing is written.
    """
    if not reason.strip():
        raise errors.BadInputError("unblinding needs a --reason")
    now = workspace.clock.now()
    with workspace.transaction() as session:
        study = workspace.study(session, study_code)
        subject = session.scalars(
            select(SubjectRow).where(
                SubjectRow.study_id == study.id, SubjectRow.subject_code == subject_code
            )
        ).one_or_none()
        if subject is None:
            raise errors.BadInputError(f"no subject {subject_code!r} in {study.code}")
        workspace.act(session, study, Action.UNBLIND, study.site_by_id(subject.site_id).code)
        allocation = store.find_allocation(session, subject_id=subject.id)
        if allocation is None:
            raise errors.BadInputError(
                f"subject {subject_code} is not randomized: no arm to reveal"
            )
        with audit.reason(session, reason):
            session.add(
                UnblindingRow(
                    study_id=study.id, subject_id=subject.id, unblinded_at=now, reason=reason
                )
            )
    titles = {arm.id: arm.title for arm in study.protocol.arms}
    return UnblindResult(
        study.code, subject_code, allocation.arm, titles.get(allocation.arm, ""), now, reason
    )
