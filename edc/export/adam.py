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
