"""Fixed code sets the warehouse stores, each enforced by a CHECK constraint.

Where a FHIR R4 value set exists for the concept, its codes are used as they are, so writing the
resource back needs no translation table.
"""

from __future__ import annotations

# What each role may do, and which roles are blinded, is decided in edc.trial.permissions.
ROLES = (
    "site_staff",
    "investigator",
    "monitor",
    "data_manager",
    "statistician",
    "admin",
    "principal_investigator",
    "unblinded_statistician",
)
# Roles that only make sense at one site; the others may be study-wide (site NULL).
SITE_ROLES = ("site_staff", "investigator", "principal_investigator")
# Automated writers (sync, scheduler jobs) act as "system" in the audit trail; nobody holds it.
AUDIT_ROLES = (*ROLES, "system")
AUDIT_ACTIONS = ("insert", "update", "delete")

# FHIR R4 ResearchSubject.status (http://hl7.org/fhir/research-subject-status).
SUBJECT_STATUSES = (
    "candidate",
    "eligible",
    "follow-up",
    "ineligible",
    "not-registered",
    "off-study",
    "on-study",
    "on-study-intervention",
    "on-study-observation",
    "pending-on-study",
    "potential-candidate",
    "screening",
    "withdrawn",
)
# Pre-screening: every EHR criterion met (the investigator's criteria still to confirm), one not
# met, or none failed but some could not be decided from the data.
SCREENING_OUTCOMES = ("eligible", "ineligible", "undetermined")
# "investigator": not computable from the EHR, judged by the investigator at enrollment.
CRITERION_RESULTS = ("met", "not_met", "unknown", "investigator")
RANDOMIZATION_METHODS = ("permuted-block", "minimization")
# A write to the hospital's FHIR server waiting in the outbox, delivered, or replaced by a newer
# version of the same resource before it was delivered.
OUTBOX_STATUSES = ("pending", "sent", "superseded")

# FHIR R4 QuestionnaireResponse.status.
RESPONSE_STATUSES = ("in-progress", "completed", "amended", "entered-in-error", "stopped")
# The answer value[x] types of QuestionnaireResponse.item.answer, lower-cased.
VALUE_TYPES = (
    "boolean",
    "decimal",
    "integer",
    "date",
    "datetime",
    "time",
    "string",
    "uri",
    "coding",
    "quantity",
    "reference",
    "attachment",
)

# CTCAE v5.0 attribution scale.
AE_ATTRIBUTIONS = ("unrelated", "unlikely", "possible", "probable", "definite")
# FHIR R4 AdverseEvent.outcome (http://terminology.hl7.org/CodeSystem/adverse-event-outcome).
AE_OUTCOMES = ("resolved", "recovering", "ongoing", "resolvedWithSequelae", "fatal", "unknown")

DEVIATION_KINDS = (
    "visit_out_of_window",
    "missed_visit",
    "visit_out_of_order",
    "visit_before_consent",
    "form_before_consent",
    "randomized_before_consent",
    "randomized_before_eligibility",
    "ineligible_enrolled",
    "missing_form",
    "form_after_withdrawal",
    "late_sae_report",
    "ae_outcome_missing",
    "missing_data",
    "other",
)
DEVIATION_SEVERITIES = ("minor", "major")
# open -> confirmed / dismissed (by a person, with a reason) -> resolved (by the engine, when
# later data removes the cause; a resolved finding that comes back opens again).
DEVIATION_STATUSES = ("open", "confirmed", "dismissed", "resolved")
# Found by the deviation engine (``edc.trial.deviations``), or recorded by an action (enrolling
# an ineligible patient): the engine reconciles only its own.
DEVIATION_ORIGINS = ("detector", "recorded")
DATA_QUERY_STATUSES = ("open", "answered", "closed", "cancelled")
DATA_QUERY_ORIGINS = ("manual", "edit_check")
LOCK_STATES = ("open", "frozen", "locked", "unlocked")
EXPORT_FORMATS = ("csv", "parquet", "xpt")

RESOURCE_DIRECTIONS = ("received", "sent")
# A scheduled job run: still going, done, failed (retried at the next interval), or skipped
# because another scheduler process held the job's lease.
JOB_RUN_OUTCOMES = ("running", "ok", "failed", "skipped")
# A stored job: a sync from a source, or a push of a study's outbox to a FHIR server.
JOB_KINDS = ("sync", "push")
DATA_PROBLEM_STATUSES = ("open", "resolved")
