"""The screening worklist of one site: each pre-screened patient with every criterion's status
and its evidence, and what became of them (consented, enrolled, randomized).

This is the web's face of ``edc screen``, ``edc consent record``, ``edc enroll`` and ``edc
randomize``: reading it needs the right to screen at the site (the site team), and every
action goes through the same action the CLI runs (``edc.actions.screen``, ``consent``,
``enroll``, ``randomize``), so the rules are those of the CLI. What this module adds is the
scope a page needs: a patient named in a URL must be in the screening of the site named with
it (otherwise: not found, without saying where the patient is), and a subject must be one of
the reader's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from edc import errors
from edc.actions import consent, enroll, randomize, screen
from edc.actions.workspace import Study, Workspace
from edc.fhirpath.evidence import Evidence
from edc.protocol.model import Criterion
from edc.trial import eligibility, permissions
from edc.trial.permissions import Action
from edc.warehouse import randomization as allocation_store
from edc.warehouse import screening_log
from edc.warehouse import worklist as store

_INVESTIGATORS = permissions.ALLOWED[Action.SIGN_ELIGIBILITY]


@dataclasses.dataclass(frozen=True)
class CriterionStatus:
    """One criterion for one patient.

    :ivar result: met / not_met / unknown / investigator (as screened).
    :ivar passes: whether it lets the patient in (None: undecided, or the investigator's call).
    :ivar suggested: for an investigator criterion, what the EHR data suggest (if anything).
    """

    criterion_id: str
    kind: str  # inclusion | exclusion
    text: str
    assessment: str  # ehr | investigator
    result: str
    passes: bool | None
    suggested: str | None
    reason: str
    evidence: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One pre-screened patient of the site."""

    patient: str
    outcome: str  # eligible | ineligible | undetermined (EHR criteria only)
    status: str  # candidate | undetermined | screen failure | consented | enrolled | randomized
    screened_on: dt.date
    criteria: tuple[CriterionStatus, ...]
    subject: str | None
    arm: str | None  # as the reader may see it

    @property
    def to_confirm(self) -> tuple[CriterionStatus, ...]:
        """The criteria the investigator confirms at enrollment."""
        return tuple(c for c in self.criteria if c.assessment == "investigator")


@dataclasses.dataclass(frozen=True)
class Worklist:
    study: str
    site: str
    site_name: str
    candidates: list[Candidate]
    numbers: screen.SiteNumbers
    investigators: list[str]  # who may sign eligibility off at the site
    randomization_open: bool
    sees_arms: bool
    total: int = 0  # pre-screened patients in all (candidates: the page from offset)
    offset: int = 0


_ORDER = {"candidate": 0, "consented": 1, "enrolled": 2, "undetermined": 3}


def worklist(
    workspace: Workspace,
    study_code: str,
    site_code: str,
    *,
    offset: int = 0,
    limit: int | None = None,
    page_of: str | None = None,
) -> Worklist:
    """The site's pre-screened patients, candidates first: ``limit`` of them from ``offset``
    (None: all); the site's numbers count them all.

    :param page_of: a patient: start at the page (of ``limit``) that holds them instead (the
        first page when they are not in the site's screening).
    :raises permissions.PermissionDeniedError: the acting user may not screen at the site.
    """
    with workspace.transaction() as session:
        study = workspace.study(session, study_code)
        site = study.site(site_code)
        actor = workspace.act(session, study, Action.SCREEN, site.code)
        visible = workspace.sees_arms(actor, study, site.code)
        records = screening_log.read_screenings(session, study_id=study.id, site_ids=[site.id])
        linked = store.linked_patients(session, study_id=study.id, site_ids=[site.id])
        (numbers,) = screen.site_numbers(session, study, [site], visible=visible, records=records)
        investigators = store.users_with_roles(
            session, study_id=study.id, site_id=site.id, roles=_INVESTIGATORS
        )
        is_open = allocation_store.find_scheme(session, study_id=study.id) is not None
    texts = {
        c.id: (c, exclusion) for c, exclusion in eligibility.criteria(study.protocol.eligibility)
    }
    links = [linked.get((record.source, record.patient_id)) for record in records]
    # Order first (the status is cheap), then build the page's candidates only.
    order = sorted(
        range(len(records)),
        key=lambda i: (_ORDER.get(_status(records[i], links[i]), 5), records[i].patient_id),
    )
    if page_of is not None and limit:
        at = next((n for n, i in enumerate(order) if records[i].patient_id == page_of), 0)
        offset = at - at % limit
    shown = order[offset : None if limit is None else offset + limit]
    candidates = [_candidate(records[i], texts, links[i], visible) for i in shown]
    return Worklist(
        study.code,
        site.code,
        site.name,
        candidates,
        numbers,
        investigators,
        is_open,
        visible,
        total=len(records),
        offset=offset,
    )


def _status(record: screening_log.StoredScreening, linked: store.LinkedPatient | None) -> str:
    """Where the patient stands: the screening outcome, or what became of them since."""
    if linked is not None:
        if linked.randomized:
            return "randomized"
        return "consented" if linked.subject is None else "enrolled"
    return {"eligible": "candidate", "undetermined": "undetermined"}.get(
        record.outcome, "screen failure"
    )


def _candidate(
    record: screening_log.StoredScreening,
    texts: Mapping[str, tuple[Criterion, bool]],
    linked: store.LinkedPatient | None,
    visible: bool,
) -> Candidate:
    statuses = []
    for criterion_id, exclusion, result, suggested, reason, evidence in record.results:
        criterion, _ = texts.get(criterion_id, (None, exclusion))
        statuses.append(
            CriterionStatus(
                criterion_id=criterion_id,
                kind="exclusion" if exclusion else "inclusion",
                text=criterion.text if criterion else "(not in the current protocol)",
                assessment=criterion.assessment if criterion else "ehr",
                result=result,
                passes=eligibility.passes(result, exclusion),
                suggested=suggested,
                reason=reason,
                evidence=tuple(str(Evidence.from_json(e)) for e in evidence),
            )
        )
    status = _status(record, linked)
    subject = arm = None
    if linked is not None:
        subject = linked.subject
        if linked.randomized:
            arm = permissions.shown_arm(linked.arm, visible=visible)
    return Candidate(
        record.patient_id, record.outcome, status, record.as_of, tuple(statuses), subject, arm
    )


def prescreen(workspace: Workspace, study_code: str, site_code: str) -> screen.ScreenResult:
    """Screen the site's patients again (``edc screen --site``; unchanged ones are kept).

    :raises permissions.PermissionDeniedError: the acting user may not screen at the site.
    """
    request = screen.ScreenRequest(study=study_code, site=site_code, listing=False, workers=1)
    return screen.screen(workspace, request)


def check_patient(workspace: Workspace, study_code: str, site_code: str, patient: str) -> None:
    """That ``patient`` is in the screening of the site, for a user who may screen there.

    :raises permissions.PermissionDeniedError: the acting user may not screen at the site.
    :raises errors.NotFoundError: no such patient in the site's screening (whether or not the
        patient is another site's: that is not said).
    """
    with workspace.transaction() as session:
        study = workspace.study(session, study_code)
        site = study.site(site_code)
        workspace.act(session, study, Action.SCREEN, site.code)
        found = screening_log.read_screenings(
            session, study_id=study.id, site_ids=[site.id], patient_ids=[patient]
        )
    if not found:
        raise errors.NotFoundError(
            f"no patient {patient!r} in the screening of site {site_code}",
            "pre-screen the site first; a patient of another site is not shown",
        )


@dataclasses.dataclass(frozen=True)
class ConsentForm:
    signed: dt.date | dt.datetime
    form_version: str
    obtained_by: str


def record_consent(
    workspace: Workspace, study_code: str, site_code: str, patient: str, form: ConsentForm
) -> consent.ConsentResult:
    """``edc consent record`` for a patient of the site's screening."""
    check_patient(workspace, study_code, site_code, patient)
    return consent.record(
        workspace,
        consent.ConsentRequest(
            study=study_code,
            patient=patient,
            signed=form.signed,
            form_version=form.form_version,
            obtained_by=form.obtained_by,
            site=site_code,
        ),
    )


@dataclasses.dataclass(frozen=True)
class EnrollForm:
    """:ivar confirmations: criterion id -> the investigator's answer (its statement holds)."""

    investigator: str
    confirmations: Mapping[str, bool]
    override: str | None = None


def enroll_patient(
    workspace: Workspace, study_code: str, site_code: str, patient: str, form: EnrollForm
) -> enroll.EnrollResult:
    """``edc enroll`` for a patient of the site's screening."""
    check_patient(workspace, study_code, site_code, patient)
    confirm = tuple(
        f"{criterion}={'yes' if holds else 'no'}"
        for criterion, holds in sorted(form.confirmations.items())
    )
    return enroll.enroll(
        workspace,
        enroll.EnrollRequest(
            study=study_code,
            patient=patient,
            site=site_code,
            investigator=form.investigator,
            confirm=confirm,
            override=form.override,
        ),
    )


def randomize_subject(
    workspace: Workspace, study: Study, subject_code: str, site_ids: frozenset[int] | None
) -> randomize.RandomizeResult:
    """``edc randomize`` for a subject the reader may see (``site_ids``: None for all sites).

    :raises errors.NotFoundError: no such subject at the reader's sites.
    """
    with workspace.transaction() as session:
        site_id = store.site_of_subject(session, study_id=study.id, subject_code=subject_code)
    if site_id is None or (site_ids is not None and site_id not in site_ids):
        raise errors.NotFoundError(f"no subject {subject_code!r} in {study.code}")
    return randomize.randomize(workspace, study.code, subject_code)
