"""`edc enroll`: sign eligibility off and enroll a consented patient as a subject of a site.

In one transaction: the patient's criteria are evaluated again on their current data (as of
their screening date), the investigator's confirmations are applied, and the patient is
enrolled only if every criterion passes and consent preceded enrollment - otherwise nothing is
written and every failing or unknown criterion is named with its evidence. ``override`` (the
principal investigator only) enrolls anyway and records an "ineligible enrolled" deviation. The
subject gets the site's next number (``01-0007``); the patient's screening data becomes trial
source data; a ResearchSubject (status eligible) goes to the outbox.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.orm import Session

from edc import errors
from edc.actions import screen
from edc.actions.consent import study_refs
from edc.actions.workspace import Study, Workspace
from edc.trial import enrollment as rules
from edc.trial import permissions, writeback
from edc.trial.eligibility import Screening
from edc.trial.permissions import Action
from edc.warehouse import audit, enrollment, outbox, screening, users
from edc.warehouse.batch import BatchWriter
from edc.warehouse.tables.subjects import PatientLinkRow, SubjectRow

INELIGIBLE_ENROLLED = "ineligible_enrolled"


@dataclasses.dataclass(frozen=True)
class EnrollRequest:
    """:ivar investigator: the user name of the investigator who signs eligibility off."""

    study: str
    patient: str
    site: str
    investigator: str
    confirm: tuple[str, ...] = ()
    override: str | None = None
    source: str | None = None


@dataclasses.dataclass(frozen=True)
class EnrollResult:
    study: str
    site: str
    patient: str
    subject: str
    status: str
    enrolled_at: dt.datetime
    investigator: str
    overridden: tuple[str, ...]  # obstacles the principal investigator overrode
    deviation_id: int | None


def enroll(workspace: Workspace, request: EnrollRequest) -> EnrollResult:
    """Enroll the patient, or refuse naming every obstacle.

    :raises errors.BadInputError: unknown study, site, patient or investigator; a patient of
        another site or already enrolled; no consent or consent after now; a malformed
        ``--confirm``; an ineligible patient without ``override``; a user who may not enroll
        (or override). Nothing is written.
    """
    now = workspace.clock.now()
    with workspace.transaction() as session:
        study = workspace.study(session, request.study)
        site = study.site(request.site)
        enrollment.lock_site(session, site_id=site.id)
        actor = workspace.act(session, study, Action.ENROLL, site.code)
        if request.override is not None:
            if not request.override.strip():
                raise errors.BadInputError("--override needs a reason")
            permissions.authorize(
                Action.ENROLL_INELIGIBLE, actor.grants, user=actor.username, site=site.code
            )
        _check_investigator(session, study, site.code, request.investigator)
        confirmations = rules.parse_confirmations(request.confirm, study.protocol.eligibility)
        source, site_id = enrollment.get_patient_place(
            session,
            study_id=study.id,
            study_code=study.code,
            patient_id=request.patient,
            source=request.source,
        )
        if site_id != site.id:
            raise errors.BadInputError(
                f"patient {request.patient!r} is a patient of site "
                f"{study.site_by_id(site_id).code}, not {site.code}"
            )
        link = enrollment.find_link(
            session, study_id=study.id, source=source, patient_id=request.patient
        )
        subject = enrollment.subject_of(session, link=link) if link is not None else None
        if subject is not None:
            raise errors.BadInputError(
                f"patient {request.patient!r} is already enrolled as subject {subject.subject_code}"
            )
        consents = enrollment.consents(session, link=link) if link is not None else []
        signed = min((c.signed_at for c in consents), default=None)
        rules.check_consent(signed, now, f"patient {request.patient!r}")
        if link is None:  # check_consent refused: no consent, no link
            raise errors.EdcError("a consent without its patient link")
        result = _screen(workspace, session, study, source, site_id, request.patient)
        obstacles = rules.obstacles(study.protocol.eligibility, result, confirmations)
        if obstacles and request.override is None:
            raise errors.BadInputError(
                f"patient {request.patient!r} cannot be enrolled at site {site.code}: "
                f"{len(obstacles)} criterion/criteria stand in the way",
                "\n".join(f"  {obstacle}" for obstacle in obstacles)
                + "\nenroll anyway only as the principal investigator: --override REASON",
            )
        subject = _new_subject(session, study, site_id, site.code, request, now, link)
        deviation_id = None
        if obstacles:
            deviation = enrollment.add_deviation(
                session,
                study_id=study.id,
                site_id=site_id,
                subject_id=subject.id,
                kind=INELIGIBLE_ENROLLED,
                fingerprint=f"{INELIGIBLE_ENROLLED}:{subject.subject_code}",
                description=f"enrolled by {actor.username} (principal investigator) although: "
                + "; ".join(str(o) for o in obstacles)
                + f". Reason: {request.override}",
                now=now,
            )
            deviation_id = deviation.id
        screening.move_to_trial(
            BatchWriter(session), study_id=study.id, source=source, patient_id=request.patient
        )
        refs = study_refs(study, site.code)
        first = consents[0]
        outbox.enqueue(
            session,
            study_id=study.id,
            site_id=site_id,
            resource=writeback.research_subject(
                refs,
                subject_code=subject.subject_code,
                patient_id=request.patient,
                status=subject.status,
                consent_on=first.signed_at.date(),
                consent_key=writeback.consent_identifier(refs, request.patient, first.form_version),
                arm=None,
            ),
            key=(refs.subject_system, subject.subject_code),
            operation="upsert",
            now=now,
        )
    return EnrollResult(
        study.code,
        site.code,
        request.patient,
        subject.subject_code,
        subject.status,
        now,
        request.investigator,
        tuple(str(o) for o in obstacles),
        deviation_id,
    )


def _check_investigator(session: Session, study: Study, site: str, username: str) -> None:
    user = users.find_user(session=session, username=username)
    if user is None or not user.active:
        raise errors.BadInputError(
            f"--investigator {username!r} is not an edc user",
            "name the investigator by their edc user name",
        )
    grants = users.grants_of(session=session, user_id=user.id, study_id=study.id)
    try:
        permissions.authorize(Action.SIGN_ELIGIBILITY, grants, user=username, site=site)
    except permissions.PermissionDeniedError as exc:
        raise errors.BadInputError(
            f"--investigator {username!r} is no investigator of site {site}", exc.details
        ) from None


def _screen(
    workspace: Workspace, session: Session, study: Study, source: str, site_id: int, patient: str
) -> Screening:
    """Evaluate the patient now (as of their screening date), store it, and return it."""
    connection = session.connection()
    data = screening.load_patient_data(connection, study_id=study.id, keys=[(source, patient)]).get(
        (source, patient)
    )
    if data is None:
        raise errors.BadInputError(
            f"no EHR data for patient {patient!r} to decide eligibility on",
            "sync the site's EHR data first",
        )
    previous = screening.previous_records(connection, study_id=study.id, keys=[(source, patient)])
    as_of = previous[(source, patient)][2] if (source, patient) in previous else None
    day = as_of or workspace.clock.now().date()
    result = screen.screen_texts(workspace.screener(study), data.texts, day)
    screening.replace_records(
        BatchWriter(session),
        study_id=study.id,
        protocol_version_id=study.protocol_version_id,
        screened_at=workspace.clock.now(),
        records=[screen.to_record(result, site_id, (source, patient), day, data.data_seen)],
    )
    return result


def _new_subject(
    session: Session,
    study: Study,
    site_id: int,
    site_code: str,
    request: EnrollRequest,
    now: dt.datetime,
    link: PatientLinkRow,
) -> SubjectRow:
    number = enrollment.next_subject_number(session, study_id=study.id, site_id=site_id)
    subject = SubjectRow(
        study_id=study.id,
        site_id=site_id,
        subject_code=rules.subject_code(site_code, number),
        status="eligible",
        number_in_site=number,
        enrolled_at=now,
        eligibility_signed_by=request.investigator,
    )
    session.add(subject)
    session.flush()
    reason = f"enrolled as subject {subject.subject_code}"
    if request.override is not None:
        reason += f" (eligibility overridden: {request.override})"
    with audit.reason(session, reason):
        link.subject_id = subject.id
        for consent in enrollment.consents(session, link=link):
            if consent.subject_id is None:
                consent.subject_id = subject.id
    return subject
