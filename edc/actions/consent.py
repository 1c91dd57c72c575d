"""`edc consent record`: record a patient's informed consent in edc.

The consent lands in the same table as consents synced from the EHR (FHIR Consent), with the
person who obtained it; the acting user and their role are in the audit trail. A Consent
resource for the site's FHIR server goes to the outbox in the same transaction (``edc push``
delivers it). Recording the same consent form version twice for a patient is refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from edc import errors
from edc.actions.workspace import Study, Workspace
from edc.compiler.naming import Naming
from edc.trial import writeback
from edc.trial.permissions import Action
from edc.warehouse import enrollment, outbox
from edc.warehouse.tables.subjects import ConsentRow


@dataclasses.dataclass(frozen=True)
class ConsentRequest:
    """:ivar signed: the signature date (counts from the start of that day, UTC) or instant."""

    study: str
    patient: str
    signed: dt.date | dt.datetime
    form_version: str
    obtained_by: str
    site: str | None = None
    source: str | None = None


@dataclasses.dataclass(frozen=True)
class ConsentResult:
    study: str
    site: str
    patient: str
    form_version: str
    signed_at: dt.datetime
    obtained_by: str
    consent_id: int
    outbox_id: int


def signed_instant(signed: dt.date | dt.datetime) -> dt.datetime:
    """A signature date as the instant it counts from (00:00 UTC that day)."""
    if isinstance(signed, dt.datetime):
        if signed.tzinfo is None:
            raise errors.BadInputError(f"consent time {signed.isoformat()} needs a time zone")
        return signed.astimezone(dt.UTC)
    return dt.datetime.combine(signed, dt.time(), dt.UTC)


def study_refs(study: Study, site_code: str) -> writeback.StudyRefs:
    protocol_study = study.protocol.study
    naming = Naming(protocol_study.canonical_base, protocol_study.id, study.version)
    return writeback.StudyRefs(
        canonical_base=protocol_study.canonical_base,
        study_code=study.code,
        site_code=site_code,
        site_study_id=naming.resource_id("site", site_code),
    )


def record(workspace: Workspace, request: ConsentRequest) -> ConsentResult:
    """Record the consent and queue its Consent resource.

    :raises errors.BadInputError: unknown study, site or patient; a patient of another site;
        a date in the future; a blank form version or person; the same form version recorded
        already; or a user who may not record consent there. Nothing is written.
    """
    if not request.form_version.strip() or not request.obtained_by.strip():
        raise errors.BadInputError("--form-version and --obtained-by must not be blank")
    signed_at = signed_instant(request.signed)
    now = workspace.clock.now()
    if signed_at > now:
        raise errors.BadInputError(f"consent date {signed_at.date()} is in the future")
    with workspace.transaction() as session:
        study = workspace.study(session, request.study)
        source, site_id = enrollment.get_patient_place(
            session,
            study_id=study.id,
            study_code=study.code,
            patient_id=request.patient,
            source=request.source,
        )
        site = study.site_by_id(site_id)
        if request.site is not None and study.site(request.site).id != site_id:
            raise errors.BadInputError(
                f"patient {request.patient!r} is a patient of site {site.code}, not {request.site}"
            )
        workspace.act(session, study, Action.RECORD_CONSENT, site.code)
        link = enrollment.link_patient(
            session, study_id=study.id, source=source, patient_id=request.patient, site_id=site_id
        )
        for earlier in enrollment.consents(session, link=link):
            if earlier.form_version == request.form_version:
                raise errors.BadInputError(
                    f"patient {request.patient!r} already consented to form version "
                    f"{request.form_version} on {earlier.signed_at.date()}"
                )
        row = ConsentRow(
            subject_id=link.subject_id,
            patient_link_id=link.id,
            form_version=request.form_version,
            signed_at=signed_at,
            obtained_by=request.obtained_by,
            fhir_reference=None,
        )
        session.add(row)
        session.flush()
        refs = study_refs(study, site.code)
        message = outbox.enqueue(
            session,
            study_id=study.id,
            site_id=site_id,
            resource=writeback.consent(
                refs,
                patient_id=request.patient,
                signed_at=signed_at,
                form_version=request.form_version,
            ),
            key=writeback.consent_identifier(refs, request.patient, request.form_version),
            operation="create",
            now=now,
        )
    return ConsentResult(
        study.code,
        site.code,
        request.patient,
        request.form_version,
        signed_at,
        request.obtained_by,
        row.id,
        message.id,
    )
