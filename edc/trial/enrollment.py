"""Enrollment rules: the investigator's confirmations, eligibility sign-off, consent, numbering.

``--confirm IN02=yes`` answers a criterion the investigator judges: ``yes`` means the
criterion's statement is true for the patient (an inclusion is met, an exclusion applies),
``no`` that it is not. A patient can be enrolled when every EHR criterion passes, every
investigator criterion is confirmed and passes, and consent was signed before enrollment;
otherwise every obstacle is listed, each with its evidence.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping

from edc import errors
from edc.protocol.model import Eligibility
from edc.trial.eligibility import CriterionResult, Screening, criteria

YES = frozenset({"yes", "y", "true"})
NO = frozenset({"no", "n", "false"})


def subject_code(site_code: str, number: int) -> str:
    """``01-0007``: the site's code and the subject's number at the site."""
    return f"{site_code}-{number:04d}"


def parse_confirmations(texts: Iterable[str], eligibility: Eligibility) -> dict[str, bool]:
    """``["IN02=yes", "EX02=no"]`` -> ``{"IN02": True, "EX02": False}``.

    :raises errors.BadInputError: for a malformed item, an unknown criterion, a criterion the
        EHR decides (it is not the investigator's to confirm), or one given twice - naming it.
    """
    by_id = {criterion.id: criterion for criterion, _ in criteria(eligibility)}
    found: dict[str, bool] = {}
    for text in texts:
        name, sep, answer = text.partition("=")
        name, answer = name.strip(), answer.strip().lower()
        if not sep or not name or answer not in YES | NO:
            raise errors.BadInputError(
                f"--confirm {text!r}: expected CRITERION=yes or CRITERION=no",
                "yes: the criterion's statement is true for the patient (an inclusion is met, "
                "an exclusion applies); no: it is not",
            )
        criterion = by_id.get(name)
        if criterion is None:
            raise errors.BadInputError(
                f"--confirm {text!r}: no criterion {name!r}",
                f"criteria: {', '.join(by_id)}",
            )
        if criterion.assessment != "investigator":
            raise errors.BadInputError(
                f"--confirm {text!r}: {name} is decided from the EHR, not by the investigator",
                "update the patient's EHR data and screen again (or enroll with --override)",
            )
        if name in found:
            raise errors.BadInputError(f"--confirm {name} is given twice")
        found[name] = answer in YES
    return found


@dataclasses.dataclass(frozen=True)
class Obstacle:
    """Why one criterion stands in the way of enrollment, with its evidence."""

    criterion_id: str
    text: str
    problem: str
    evidence: tuple[str, ...]

    def __str__(self) -> str:
        found = "; ".join(self.evidence) if self.evidence else "no data found"
        return f"{self.criterion_id} {self.problem}: {self.text} [evidence: {found}]"


def obstacles(
    eligibility: Eligibility, screening: Screening, confirmations: Mapping[str, bool]
) -> list[Obstacle]:
    """Every criterion that keeps the patient from being enrolled (empty: eligible)."""
    found = []
    for criterion, exclusion in criteria(eligibility):
        result = screening.get(criterion.id)
        evidence = tuple(str(item) for item in result.evidence)
        problem = _problem(result, exclusion, confirmations.get(criterion.id))
        if problem is not None:
            found.append(Obstacle(criterion.id, criterion.text, problem, evidence))
    return found


def _problem(result: CriterionResult, exclusion: bool, confirmed: bool | None) -> str | None:
    kind = "exclusion" if exclusion else "inclusion"
    failing = "applies" if exclusion else "is not met"
    if result.result == "investigator":
        if confirmed is None:
            flag = f"--confirm {result.criterion_id}=yes|no"
            return f"({kind}) needs the investigator's confirmation ({flag})"
        if confirmed == exclusion:
            return f"({kind}) {failing}, as the investigator confirmed"
        return None
    if result.result == "unknown":
        return f"({kind}) cannot be decided from the EHR ({result.reason})"
    if result.passes is False:
        return f"({kind}) {failing}"
    return None


def check_consent(signed_at: dt.datetime | None, enrolled_at: dt.datetime, where: str) -> None:
    """Consent must be signed, and before enrollment.

    :raises errors.BadInputError: naming the patient (``where``) and the dates.
    """
    if signed_at is None:
        raise errors.BadInputError(
            f"{where} has no recorded consent",
            "record it first: edc consent record --study ... --patient ... --date ...",
        )
    if signed_at > enrolled_at:
        raise errors.BadInputError(
            f"{where}: consent signed {signed_at.isoformat()} is after the enrollment time "
            f"{enrolled_at.isoformat()}",
            "consent must precede enrollment",
        )
