"""`edc lock freeze|lock|unlock`: change a unit's lock state under an electronic signature.

The signer is the acting user (``--user``/``EDC_USER``), who re-enters their password (the
argon2 hash of their web login) and holds a role that may lock (``Action.LOCK``; a study-wide
role for the whole study). The signature - signer, role, meaning, time, reason - is bound to the
audit chain's head at that moment (``edc.trial.locking.Signature``), stored with the lock event,
written to the audit trail like every other change, and anchored by an audit checkpoint.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from edc import config, errors
from edc.actions import passwords
from edc.actions.workspace import Study, Workspace
from edc.trial import locking, permissions
from edc.trial.permissions import Action
from edc.warehouse import audit, chain, checkpoints, locks, users
from edc.warehouse.tables.lock import LockEventRow, LockStateRow, StudyUnblindingRow
from edc.warehouse.tables.subjects import SubjectRow


@dataclasses.dataclass(frozen=True)
class LockRequest:
    study: str
    verb: str
    reason: str
    password: str
    site: str | None = None
    subject: str | None = None


@dataclasses.dataclass(frozen=True)
class LockResult:
    study: str
    unit: str
    state: str
    signer: str
    role: str
    meaning: str
    signed_at: dt.datetime
    reason: str
    audit_rows: int
    audit_head_hash: str
    signature_sha256: str
    lock_event_id: int


@dataclasses.dataclass(frozen=True)
class _Unit:
    key: str
    label: str
    site_id: int | None
    subject_id: int | None
    site_code: str | None
    covering: tuple[str, ...]  # keys of the units that contain it


def change(settings: config.Settings, workspace: Workspace, request: LockRequest) -> LockResult:
    """Freeze, lock or unlock the study, one site or one subject, signed.

    :raises errors.BadInputError: (exit 2, nothing written) a blank reason, both --site and
        --subject, an unknown study, site or subject, a wrong password, a user who may not lock
        there, or a change the unit's state does not allow.
    """
    if not request.reason.strip():
        raise errors.BadInputError(f"edc lock {request.verb} needs a --reason")
    if request.site is not None and request.subject is not None:
        raise errors.BadInputError("give --site or --subject, not both")
    meaning = locking.MEANINGS.get(request.verb)
    if meaning is None:
        raise errors.BadInputError(f"unknown lock action {request.verb!r}")
    now = workspace.clock.now()
    with workspace.transaction() as session:
        study = workspace.study(session, request.study)
        unit = _unit(session, study, request)
        grants = workspace.grants(session, study)
        if unit.site_code is None:  # the whole study: only study-wide roles reach it
            grants = tuple(g for g in grants if g.site is None)
        grant = permissions.authorize(
            Action.LOCK, grants, user=workspace.username, site=unit.site_code
        )
        user = users.get_user(session=session, username=workspace.username)
        if not passwords.verify_password(user.password_hash, request.password):
            raise errors.BadInputError(
                f"the password of {workspace.username} does not match: not signed",
                "the signature needs the password of your edc login (set by an administrator)",
            )
        audit.bind(session, actor=workspace.username, role=grant.role, clock=workspace.clock)
        current = locks.states(session=session, study_id=study.id)
        own = current.get(unit.key)
        covering = {key: current[key].state for key in unit.covering if key in current}
        state = locking.next_state(request.verb, own.state if own else "open", unit.label, covering)
        rows, head = chain.head(session.connection())
        signature = locking.Signature(
            study=study.code, unit=unit.label, state=state, reason=request.reason,
            signer=workspace.username, role=grant.role, meaning=meaning, at=now,
            audit_rows=rows, audit_head_hash=head,
        )  # fmt: skip
        with audit.reason(session, request.reason):
            event = LockEventRow(
                study_id=study.id, site_id=unit.site_id, subject_id=unit.subject_id,
                state=state, at=now, actor=workspace.username, reason=request.reason,
                signer_role=grant.role, meaning=meaning, audit_rows=rows,
                audit_head_hash=head, signature_sha256=signature.sha256,
            )  # fmt: skip
            session.add(event)
            session.flush()
            if own is None:
                session.add(
                    LockStateRow(
                        study_id=study.id,
                        unit=unit.key,
                        site_id=unit.site_id,
                        subject_id=unit.subject_id,
                        state=state,
                        lock_event_id=event.id,
                    )
                )
            else:
                own.state = state
                own.lock_event_id = event.id
        event_id = event.id
    checkpoints.record(
        settings,
        workspace.engine,
        event=f"{request.verb} {study.code} {unit.label} signed {signature.sha256}",
        clock=workspace.clock,
    )
    return LockResult(
        study.code, unit.label, state, workspace.username, grant.role, meaning, now,
        request.reason, rows, head, signature.sha256, event_id,
    )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class UnblindResult:
    study: str
    signer: str
    role: str
    meaning: str
    signed_at: dt.datetime
    reason: str
    lock_event_id: int
    audit_rows: int
    audit_head_hash: str
    signature_sha256: str


def unblind_study(
    settings: config.Settings, workspace: Workspace, study_code: str, reason: str, password: str
) -> UnblindResult:
    """Reveal the whole study's arms, once, after lock: the unblinded statistician signs.

    From then on exports may show arms (``edc export --unblinded``, still refused to blinded
    roles); before, they show masked codes. The unblinding stays when the study is unlocked:
    what is known cannot be forgotten.

    :raises errors.BadInputError: (exit 2, nothing written) a blank reason, an unknown study, an
        open-label study (nothing to unblind), a study not locked, a study already unblinded, a
        role other than the unblinded statistician (blinded roles are refused), or a wrong
        password.
    """
    if not reason.strip():
        raise errors.BadInputError("edc lock unblind needs a --reason")
    now = workspace.clock.now()
    with workspace.transaction() as session:
        study = workspace.study(session, study_code)
        grants = tuple(g for g in workspace.grants(session, study) if g.site is None)
        grant = permissions.authorize(
            Action.UNBLIND_STUDY, grants, user=workspace.username, site=None
        )
        if not permissions.may_see_arms(workspace.grants(session, study), study.blinding):
            raise permissions.PermissionDeniedError(
                f"{workspace.username} also holds a blinded role in {study.code}: not unblinded"
            )
        if study.protocol.randomization.blinding == "open-label":
            raise errors.BadInputError(
                f"{study.code} is open-label: its arms are not blinded, nothing to unblind"
            )
        state = locks.states(session=session, study_id=study.id).get(locks.STUDY_UNIT)
        if state is None or state.state != "locked":
            raise errors.BadInputError(
                f"{study.code} is not locked: the study is unblinded only after lock",
                f"lock it first (edc lock lock --study {study.code})",
            )
        done = unblinding(session, study.id)
        if done is not None:
            raise errors.BadInputError(
                f"{study.code} was unblinded already, by {done.actor} at "
                f"{done.at.astimezone(dt.UTC).isoformat(timespec='seconds')}"
            )
        user = users.get_user(session=session, username=workspace.username)
        if not passwords.verify_password(user.password_hash, password):
            raise errors.BadInputError(
                f"the password of {workspace.username} does not match: not signed",
                "the signature needs the password of your edc login (set by an administrator)",
            )
        audit.bind(session, actor=workspace.username, role=grant.role, clock=workspace.clock)
        rows, head = chain.head(session.connection())
        signature = locking.Signature(
            study=study.code, unit=f"study {study.code}", state="unblinded", reason=reason,
            signer=workspace.username, role=grant.role, meaning=locking.UNBLIND_MEANING, at=now,
            audit_rows=rows, audit_head_hash=head,
        )  # fmt: skip
        with audit.reason(session, reason):
            session.add(
                StudyUnblindingRow(
                    study_id=study.id, lock_event_id=state.lock_event_id, at=now,
                    actor=workspace.username, signer_role=grant.role,
                    meaning=locking.UNBLIND_MEANING, reason=reason, audit_rows=rows,
                    audit_head_hash=head, signature_sha256=signature.sha256,
                )
            )  # fmt: skip
        lock_event_id = state.lock_event_id
    checkpoints.record(
        settings,
        workspace.engine,
        event=f"unblind {study.code} signed {signature.sha256}",
        clock=workspace.clock,
    )
    return UnblindResult(
        study.code, workspace.username, grant.role, locking.UNBLIND_MEANING, now, reason,
        lock_event_id, rows, head, signature.sha256,
    )  # fmt: skip


def unblinding(session: Session, study_id: int) -> StudyUnblindingRow | None:
    """The study's signed unblinding, if it was unblinded."""
    return session.scalars(
        select(StudyUnblindingRow).where(StudyUnblindingRow.study_id == study_id)
    ).one_or_none()


def _unit(session: Session, study: Study, request: LockRequest) -> _Unit:
    if request.subject is not None:
        subject = session.scalars(
            select(SubjectRow).where(
                SubjectRow.study_id == study.id, SubjectRow.subject_code == request.subject
            )
        ).one_or_none()
        if subject is None:
            raise errors.BadInputError(f"no subject {request.subject!r} in {study.code}")
        site = study.site_by_id(subject.site_id)
        return _Unit(
            locks.subject_unit(subject.id), f"subject {subject.subject_code}", site.id,
            subject.id, site.code, (locks.site_unit(site.id), locks.STUDY_UNIT),
        )  # fmt: skip
    if request.site is not None:
        site = study.site(request.site)
        return _Unit(
            locks.site_unit(site.id), f"site {site.code}", site.id, None, site.code,
            (locks.STUDY_UNIT,),
        )  # fmt: skip
    return _Unit(locks.STUDY_UNIT, f"study {study.code}", None, None, None, ())


@dataclasses.dataclass(frozen=True)
class UnitState:
    unit: str  # "study MINI-01", "site 01", "subject 01-0001"
    state: str
    signer: str
    role: str
    meaning: str
    signed_at: dt.datetime
    reason: str
    signature_sha256: str


@dataclasses.dataclass(frozen=True)
class LockStatus:
    study: str
    study_state: str  # open | frozen | locked
    units: list[UnitState]  # every unit ever signed, at the user's sites
    may_sign: bool


def status(workspace: Workspace, study_code: str) -> LockStatus:
    """The study's lock state and each signed unit's last signature (the user's sites only).

    :raises errors.BadInputError: unknown study, or a user who may view no site of it.
    """
    with workspace.transaction() as session:
        study = workspace.study(session, study_code)
        sites = {s.id for s in workspace.sites_for(session, study, Action.VIEW_DATA, None)}
        grants = workspace.grants(session, study)
        states = locks.states(session=session, study_id=study.id)
        codes: dict[int, str] = dict(
            session.execute(
                select(SubjectRow.id, SubjectRow.subject_code).where(
                    SubjectRow.study_id == study.id,
                    SubjectRow.id.in_([s.subject_id for s in states.values() if s.subject_id]),
                )
            ).all()
        )
        units = []
        for row in sorted(states.values(), key=lambda r: (r.site_id or 0, r.subject_id or 0)):
            if row.site_id is not None and row.site_id not in sites:
                continue
            event = session.get(LockEventRow, row.lock_event_id)
            if event is None:
                continue
            if row.subject_id is not None:
                label = f"subject {codes.get(row.subject_id, row.subject_id)}"
            elif row.site_id is not None:
                label = f"site {study.site_by_id(row.site_id).code}"
            else:
                label = f"study {study.code}"
            units.append(
                UnitState(
                    label,
                    row.state,
                    event.actor,
                    event.signer_role,
                    event.meaning,
                    event.at,
                    event.reason or "",
                    event.signature_sha256,
                )
            )
        whole = states.get(locks.STUDY_UNIT)
        may_sign = any(g.role in permissions.ALLOWED[Action.LOCK] for g in grants)
        return LockStatus(study.code, whole.state if whole else "open", units, may_sign)
