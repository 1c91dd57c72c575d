"""ADaM-like analysis datasets, derived from the tabulation facts (pure: data in, rows out).

ADSL, one row per subject, with the population flags:

- ITTFL: randomized (intention to treat: analysed in the arm allocated).
- SAFFL: randomized and seen at a visit on or after the day of randomization (edc records no
  dosing; a visit after allocation is the closest sign that the intervention was given).
- PPROTFL: in the ITT population without a major protocol deviation (``deviation`` rows of
  severity ``major``, whatever their status: a closed deviation still happened).

TRT01A repeats TRT01P: edc does not yet record the treatment actually received.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from edc.export.tables import Dataset

COLUMNS = (
    "STUDYID", "USUBJID", "SUBJID", "SITEID", "TRT01P", "TRT01A", "STRATUM", "RANDDT",
    "ITTFL", "SAFFL", "PPROTFL", "DVMAJN",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class SubjectFacts:
    usubjid: str
    subjid: str
    site: str
    arm: str | None  # as the reader may see it (masked for blinded readers)
    stratum: str | None
    randomized: dt.date | None
    last_visit: dt.date | None
    major_deviations: int


def adsl(study: str, subjects: list[SubjectFacts]) -> Dataset:
    rows = []
    for s in sorted(subjects, key=lambda f: f.usubjid):
        itt = s.randomized is not None
        safety = itt and s.last_visit is not None and s.last_visit >= s.randomized  # type: ignore[operator]
        rows.append(
            (
                study,
                s.usubjid,
                s.subjid,
                s.site,
                s.arm or "",
                s.arm or "",
                s.stratum or "",
                s.randomized.isoformat() if s.randomized else "",
                _flag(itt),
                _flag(safety),
                _flag(itt and s.major_deviations == 0),
                str(s.major_deviations),
            )
        )
    return Dataset("adsl", COLUMNS, rows)


def _flag(value: bool) -> str:
    return "Y" if value else "N"


BDS_COLUMNS = (
    "STUDYID", "USUBJID", "TRT01P", "PARAMCD", "PARAM", "AVISIT", "AVAL", "BASE", "CHG",
    "ABLFL", "ANL01FL", "ITTFL", "PPROTFL",
)  # fmt: skip
ADAE_COLUMNS = (
    "STUDYID", "USUBJID", "TRT01P", "AETERM", "AEDECOD", "AETOXGR", "AESER", "ASTDT", "AENDT",
    "TRTEMFL", "SAFFL",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Family:
    """An endpoint family: one form item measured at several visits against one baseline."""

    name: str  # the dataset's name, e.g. advas
    category: str  # QSCAT of the form
    item: str  # QSTEST: the item's link id
    baseline: str | None  # the baseline visit
    analysed: frozenset[str]  # the endpoints' visits (ANL01FL)


def bds(study: str, family: Family, qs: Sequence[Sequence[str]], subjects: Dataset) -> Dataset:
    """One row per subject and visit of the family's item: AVAL, BASE, CHG and flags.

    :param qs: QS rows (USUBJID at 2, QSCAT 3, QSTEST 5, QSSTRESN 8, VISIT 9).
    :param subjects: the ADSL dataset (its treatment and population flags).
    """
    adsl = {row[1]: row for row in subjects.rows}
    values: dict[tuple[str, str], str] = {}
    for row in qs:
        if row[3] == family.category and row[5] == family.item and row[8] != "":
            values.setdefault((row[2], row[9]), row[8])  # the first answer of a repeated item
    rows = []
    for (usubjid, visit), value in sorted(values.items()):
        subject = adsl.get(usubjid)
        if subject is None:
            continue
        base = values.get((usubjid, family.baseline), "") if family.baseline else ""
        is_base = visit == family.baseline
        change = "" if is_base or base == "" else _number(float(value) - float(base))
        rows.append(
            (
                study,
                usubjid,
                subject[4],
                family.item[:8].upper(),
                family.item,
                visit,
                value,
                base,
                change,
                "Y" if is_base else "",
                "Y" if visit in family.analysed else "",
                subject[8],
                subject[10],
            )
        )
    return Dataset(family.name, BDS_COLUMNS, rows)


def adae(study: str, ae: Sequence[Sequence[str]], subjects: Dataset) -> Dataset:
    """The adverse events with the subject's treatment; TRTEMFL: on or after randomization.

    :param ae: AE rows (USUBJID at 2, AETERM 3, AEDECOD 4, AETOXGR 6, AESER 7, start 8, end 9).
    """
    adsl = {row[1]: row for row in subjects.rows}
    rows = []
    for row in ae:
        subject = adsl.get(row[2])
        if subject is None:
            continue
        randomized = subject[7]
        emergent = bool(randomized) and row[8][:10] >= randomized
        rows.append(
            (study, row[2], subject[4], row[3], row[4], row[6], row[7], row[8][:10], row[9][:10],
             _flag(emergent), subject[9])
        )  # fmt: skip
    return Dataset("adae", ADAE_COLUMNS, sorted(rows))


def _number(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text
