"""The tabulation domains read from the EHR and the eligibility decision: IE, LB, CM and PR.

Pure: the caller gathers each subject's screening results and FHIR resources (as stored in the
warehouse) and these functions turn them into rows of text, in a fixed order.

- IE: the criteria a subject did not pass at enrollment (an inclusion not met, an exclusion
  that applies), from the subject's screening record; an eligible subject has none.
- LB: the Observations the eligibility decision read (the evidence of its criteria) that
  hold a quantity, with their units.
- CM: the subject's MedicationRequests with the daily dose and, for the opioids of the CDC
  2022 table (the instrument library's ``terminology/mme``), the factor and the daily oral
  morphine milligram equivalents (MME).
- PR: the subject's Procedure resources, and the responses to the protocol's procedure forms
  (forms of the ``procedure-record`` instrument), dated by their visit.

Dates are ISO 8601 as recorded at the hospital (local time, its offset dropped: the local date
is the clinical date); the study day (--DY) counts from the subject's reference start (DM
RFSTDTC's date): day 1 is that date, the day before is -1 (there is no day 0).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from edc.export.tables import Dataset
from edc.library.mme import MmeFactor
from edc.protocol import Protocol

IE_COLUMNS = (
    "STUDYID", "DOMAIN", "USUBJID", "IESEQ", "IETESTCD", "IETEST", "IECAT", "IEORRES",
    "IESTRESC", "IEDTC", "IEDY",
)  # fmt: skip
LB_COLUMNS = (
    "STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBTEST", "LBLOINC", "LBORRES",
    "LBORRESU", "LBSTRESN", "LBSTRESU", "LBDTC", "LBDY",
)  # fmt: skip
CM_COLUMNS = (
    "STUDYID", "DOMAIN", "USUBJID", "CMSEQ", "CMTRT", "CMCAT", "CMDOSE", "CMDOSU", "CMDOSFRQ",
    "CMDOSTOT", "CMDOSTU", "CMMMEF", "CMMME", "CMSTDTC", "CMSTDY",
)  # fmt: skip
PR_COLUMNS = (
    "STUDYID", "DOMAIN", "USUBJID", "PRSEQ", "PRTRT", "PRCAT", "PRLOC", "VISIT", "PRSTDTC",
    "PRDY",
)  # fmt: skip
LABELS = {
    "IESEQ": "Sequence Number",
    "IEORRES": "I/E Criterion Original Result",
    "IESTRESC": "I/E Criterion Result in Std Format",
    "IEDTC": "Date/Time of Collection",
    "IEDY": "Study Day of Collection",
    "LBSEQ": "Sequence Number",
    "LBTESTCD": "Lab Test or Examination Short Name",
    "LBTEST": "Lab Test or Examination Name",
    "LBLOINC": "LOINC Code",
    "LBORRES": "Result or Finding in Original Units",
    "LBORRESU": "Original Units",
    "LBSTRESN": "Numeric Result/Finding in Standard Units",
    "LBSTRESU": "Standard Units",
    "LBDTC": "Date/Time of Specimen Collection",
    "LBDY": "Study Day of Specimen Collection",
    "CMSEQ": "Sequence Number",
    "CMTRT": "Reported Name of Drug, Med, or Therapy",
    "CMCAT": "Category for Medication",
    "CMDOSE": "Dose per Administration",
    "CMDOSU": "Dose Units",
    "CMDOSFRQ": "Dosing Frequency per Interval",
    "CMDOSTOT": "Total Daily Dose",
    "CMDOSTU": "Total Daily Dose Units",
    "CMMMEF": "MME Conversion Factor (CDC 2022)",
    "CMMME": "Daily Oral Morphine Equivalents (mg)",
    "CMSTDTC": "Start Date/Time of Medication",
    "CMSTDY": "Study Day of Start of Medication",
    "PRSEQ": "Sequence Number",
    "PRTRT": "Reported Name of Procedure",
    "PRCAT": "Category",
    "PRLOC": "Location of Procedure",
    "PRSTDTC": "Start Date/Time of Procedure",
    "PRDY": "Study Day of Procedure",
}
DATASET_LABELS = {
    "ie": "Inclusion/Exclusion Criteria Not Met",
    "lb": "Laboratory Test Results",
    "cm": "Concomitant/Prior Medications",
    "pr": "Procedures",
}
# CDISC lab test codes of the LOINC codes the eligibility criteria read; others get a code
# made from the test's name.
LAB_CODES = {"718-7": "HGB", "777-3": "PLAT", "6301-6": "INR", "26515-7": "PLAT"}
LOINC = "http://loinc.org"
PROCEDURE_INSTRUMENT = "procedure-record"
_PER_DAY = {"d": Decimal(1), "h": Decimal(24), "min": Decimal(1440), "wk": Decimal(1) / 7}


@dataclasses.dataclass(frozen=True)
class CriterionOutcome:
    """One criterion's result in a subject's screening record."""

    usubjid: str
    criterion: str
    exclusion: bool
    result: str  # met / not_met / unknown / investigator
    as_of: dt.date


@dataclasses.dataclass(frozen=True)
class FormProcedure:
    """A response to a procedure form: the form's title, the visit, its date, levels treated."""

    usubjid: str
    title: str
    visit: str
    date: dt.date | None
    location: str


def study_day(date: dt.date | None, reference: dt.date | None) -> str:
    if date is None or reference is None:
        return ""
    days = (date - reference).days
    return str(days + 1 if days >= 0 else days)


def local_datetime(value: str | None) -> tuple[str, dt.date | None]:
    """A FHIR date or dateTime as ISO 8601 without its offset (seconds at most), and its date."""
    if not value:
        return "", None
    match = re.match(r"(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(:\d{2})?)?", value)
    if match is None:
        match = re.match(r"\d{4}(-\d{2})?", value)
        return (match.group(0) if match else ""), None
    return match.group(0), dt.date.fromisoformat(match.group(1))


def ie(
    study: str,
    protocol: Protocol,
    outcomes: Sequence[CriterionOutcome],
    references: Mapping[str, dt.date | None],
) -> Dataset:
    """The criteria not passed (an inclusion not met, an exclusion met), per subject."""
    texts = {
        c.id: c.text for c in (*protocol.eligibility.inclusion, *protocol.eligibility.exclusion)
    }
    rows = []
    for o in outcomes:
        if o.result not in ("met", "not_met") or (o.result == "met") != o.exclusion:
            continue  # passed, or not decided from the data (the investigator confirmed it)
        answer = "Y" if o.exclusion else "N"
        rows.append(
            (study, "IE", o.usubjid, o.criterion[:8].upper(), texts.get(o.criterion, "")[:200],
             "EXCLUSION" if o.exclusion else "INCLUSION", answer, answer, o.as_of.isoformat(),
             study_day(o.as_of, references.get(o.usubjid)))
        )  # fmt: skip
    return Dataset("ie", IE_COLUMNS, _numbered(rows, 3))


def lb(
    study: str,
    observations: Sequence[tuple[str, Mapping[str, Any]]],
    references: Mapping[str, dt.date | None],
) -> Dataset:
    """One row per (subject, Observation with a valueQuantity)."""
    rows = []
    for usubjid, resource in observations:
        quantity = resource.get("valueQuantity")
        if not isinstance(quantity, Mapping) or quantity.get("value") is None:
            continue
        coding = _codings(resource.get("code"))
        loinc = next((c.get("code", "") for c in coding if c.get("system") == LOINC), "")
        name = _concept_text(resource.get("code")) or loinc
        code = LAB_CODES.get(loinc) or _short(name)
        unit = str(quantity.get("unit") or quantity.get("code") or "")
        value = _decimal(quantity["value"])
        when, day = local_datetime(
            resource.get("effectiveDateTime") or _start(resource, "effective")
        )
        rows.append(
            (study, "LB", usubjid, code, name[:200], loinc, value, unit, value, unit, when,
             study_day(day, references.get(usubjid)))
        )  # fmt: skip
    return Dataset("lb", LB_COLUMNS, _numbered(rows, 3))


def cm(
    study: str,
    requests: Sequence[tuple[str, Mapping[str, Any]]],
    factors: Mapping[str, MmeFactor],
    references: Mapping[str, dt.date | None],
) -> Dataset:
    """One row per MedicationRequest; opioids of the MME table get their daily MME."""
    rows = []
    for usubjid, resource in requests:
        concept = resource.get("medicationCodeableConcept")
        name = _concept_text(concept)
        factor = opioid_factor(concept, factors)
        dose, unit, frequency, daily, daily_unit = _dosage(resource.get("dosageInstruction"))
        mme = ""
        if factor is not None and daily is not None:
            mme = _plain(daily * factor.factor)
        when, day = local_datetime(resource.get("authoredOn"))
        rows.append(
            (study, "CM", usubjid, name[:200], "OPIOID" if factor else "", _plain(dose), unit,
             frequency, _plain(daily), daily_unit, _plain(factor.factor) if factor else "", mme,
             when, study_day(day, references.get(usubjid)))
        )  # fmt: skip
    return Dataset("cm", CM_COLUMNS, _numbered(rows, 3))


def pr(
    study: str,
    procedures: Sequence[tuple[str, Mapping[str, Any]]],
    forms: Sequence[FormProcedure],
    references: Mapping[str, dt.date | None],
) -> Dataset:
    """The EHR's Procedures and the protocol's procedure forms, one row each."""
    rows = []
    for usubjid, resource in procedures:
        when, day = local_datetime(
            resource.get("performedDateTime") or _start(resource, "performed")
        )
        sites = [_concept_text(site) for site in resource.get("bodySite") or []]
        rows.append(
            (study, "PR", usubjid, _concept_text(resource.get("code"))[:200], "EHR",
             ", ".join(s for s in sites if s)[:200], "", when,
             study_day(day, references.get(usubjid)))
        )  # fmt: skip
    for f in forms:
        rows.append(
            (study, "PR", f.usubjid, f.title[:200], "CRF", f.location[:200], f.visit,
             f.date.isoformat() if f.date else "", study_day(f.date, references.get(f.usubjid)))
        )  # fmt: skip
    return Dataset("pr", PR_COLUMNS, _numbered(rows, 3))


def opioid_factor(concept: Any, factors: Mapping[str, MmeFactor]) -> MmeFactor | None:
    """The MME factor of a medication concept: a coding's code or a display naming an opioid
    of the table (every word of its name, e.g. ``fentanyl transdermal``); the most specific."""
    words: set[str] = set()
    for coding in _codings(concept):
        for part in (coding.get("code"), coding.get("display")):
            words |= set(re.findall(r"[a-z]+", str(part or "").lower()))
    if isinstance(concept, Mapping):
        words |= set(re.findall(r"[a-z]+", str(concept.get("text") or "").lower()))
    found = [f for name, f in factors.items() if set(name.lower().split()) <= words]
    return max(found, key=lambda f: len(f.opioid.split()), default=None)


def _dosage(instructions: Any) -> tuple[Decimal | None, str, str, Decimal | None, str]:
    """(dose, unit, frequency text, total daily amount, its unit) of the first instruction.

    A dose that is a rate (a patch's ug/h) is its own daily amount: the MME table's factor for
    transdermal fentanyl is per ug/h of patch strength.
    """
    if not instructions:
        return None, "", "", None, ""
    first = instructions[0]
    quantity = next(
        (d.get("doseQuantity") for d in first.get("doseAndRate") or [] if d.get("doseQuantity")),
        None,
    )
    if not quantity or quantity.get("value") is None:
        return None, "", "", None, ""
    dose = Decimal(str(quantity["value"]))
    unit = str(quantity.get("unit") or quantity.get("code") or "")
    repeat = (first.get("timing") or {}).get("repeat") or {}
    frequency, period = repeat.get("frequency"), repeat.get("period")
    per = _PER_DAY.get(str(repeat.get("periodUnit")))
    text = f"{frequency} per {_plain(Decimal(str(period)))} {repeat.get('periodUnit')}" if (
        frequency and period and per
    ) else ""  # fmt: skip
    if "/" in unit:
        return dose, unit, text, dose, unit
    if not text or per is None:
        return dose, unit, text, None, ""
    daily = dose * Decimal(str(frequency)) * per / Decimal(str(period))
    return dose, unit, text, daily, f"{unit}/d"


def _numbered(rows: Sequence[tuple[str, ...]], after: int) -> list[tuple[str, ...]]:
    """Rows in order with a sequence number per subject (column 2) inserted at ``after``."""
    numbered = []
    count: dict[str, int] = {}
    for row in sorted(rows):
        count[row[2]] = count.get(row[2], 0) + 1
        numbered.append((*row[:after], str(count[row[2]]), *row[after:]))
    return numbered


def _codings(concept: Any) -> list[Mapping[str, Any]]:
    if not isinstance(concept, Mapping):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, Mapping)]


def _concept_text(concept: Any) -> str:
    if not isinstance(concept, Mapping):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for coding in _codings(concept):
        if coding.get("display"):
            return str(coding["display"])
    return next((str(c["code"]) for c in _codings(concept) if c.get("code")), "")


def _start(resource: Mapping[str, Any], prefix: str) -> str | None:
    period = resource.get(f"{prefix}Period")
    return period.get("start") if isinstance(period, Mapping) else None


def _short(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", name.upper())[:8]


def _decimal(value: Any) -> str:
    return _plain(Decimal(str(value)))


def _plain(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value.quantize(Decimal("0.000001")).normalize(), "f")
    return "0" if text in ("-0", "") else text
