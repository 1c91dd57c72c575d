"""Pre-screening: evaluate a protocol's criteria against a patient's EHR record, with evidence.

Automated evaluation only pre-screens (mapping guide 4.2): an investigator confirms eligibility
at enrollment. Each criterion's expression runs against the patient's record - a collection
Bundle of the Patient and their resources - with ``%patient`` and ``%screeningDate``. For an
inclusion, true means met; for an exclusion, true means the exclusion applies ("met" too: the
result says whether the criterion's statement holds; ``passes`` says whether it stands in the
way). An empty result means unknown (data missing). Dates compare as dates
(``edc.fhirpath.plan``).

Criteria the investigator judges get the result ``investigator``; when they have an expression,
what the data suggest is kept in ``suggested`` with its evidence (e.g. an active opioid
prescription supporting "intractable pain despite opioids"). The screening outcome counts the
EHR criteria only: ``eligible`` when all are met, ``ineligible`` when one fails, else
``undetermined``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from edc import fhirpath
from edc.fhirpath.compiled import CompiledExpression, ExpressionSet
from edc.fhirpath.evidence import Evidence
from edc.protocol.model import Criterion, Eligibility

Result = Literal["met", "not_met", "unknown", "investigator"]
Outcome = Literal["eligible", "ineligible", "undetermined"]


@dataclasses.dataclass(frozen=True)
class CriterionResult:
    """One criterion for one patient.

    :ivar result: met / not_met (the criterion's statement is true / false), unknown (no data
        or the expression failed), investigator (judged by the investigator).
    :ivar suggested: for an investigator criterion with an expression, what the data say.
    :ivar evidence: the resources that decided it (or support the suggestion).
    """

    criterion_id: str
    exclusion: bool
    result: Result
    reason: str
    evidence: tuple[Evidence, ...] = ()
    suggested: Result | None = None

    @property
    def verdict(self) -> Result:
        """The result, or for an investigator criterion what the data suggest (if anything)."""
        if self.result == "investigator" and self.suggested is not None:
            return self.suggested
        return self.result

    @property
    def passes(self) -> bool | None:
        """Whether this criterion lets the patient in (None: unknown or up to the investigator)."""
        return passes(self.result, self.exclusion)

    @property
    def suggests_pass(self) -> bool | None:
        """``passes``, reading an investigator criterion's suggestion where there is one."""
        return passes(self.verdict, self.exclusion)


def passes(result: str, exclusion: bool) -> bool | None:
    """Whether a criterion with this result lets the patient in (None: undecided)."""
    if result in ("unknown", "investigator"):
        return None
    return (result == "met") != exclusion


@dataclasses.dataclass(frozen=True)
class Screening:
    """Every criterion of one patient, in protocol order (inclusions first)."""

    results: tuple[CriterionResult, ...]

    @property
    def outcome(self) -> Outcome:
        """From the EHR criteria only (the investigator's are confirmed at enrollment)."""
        verdicts = [r.passes for r in self.results if r.result != "investigator"]
        if False in verdicts:
            return "ineligible"
        return "undetermined" if None in verdicts else "eligible"

    @property
    def overall(self) -> Outcome:
        """Alias of ``outcome``."""
        return self.outcome

    def failed(self) -> list[str]:
        """Criteria that keep the patient out, by result or by an investigator suggestion."""
        return [r.criterion_id for r in self.results if r.suggests_pass is False]

    def unknown(self) -> list[str]:
        """EHR criteria the data could not decide."""
        return [r.criterion_id for r in self.results if r.result == "unknown"]

    def for_investigator(self) -> list[str]:
        return [r.criterion_id for r in self.results if r.result == "investigator"]

    def get(self, criterion_id: str) -> CriterionResult:
        """:raises KeyError: for a criterion not in this screening."""
        for result in self.results:
            if result.criterion_id == criterion_id:
                return result
        raise KeyError(criterion_id)


def criteria(eligibility: Eligibility) -> list[tuple[Criterion, bool]]:
    """Every criterion with whether it is an exclusion, inclusions first (protocol order)."""
    return [(c, False) for c in eligibility.inclusion] + [(c, True) for c in eligibility.exclusion]


def patient_record(resources: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The Bundle criteria are evaluated against (the Patient first, then everything else)."""
    ordered = sorted(resources, key=lambda r: r.get("resourceType") != "Patient")
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": dict(resource)} for resource in ordered],
    }


class Screener:
    """A protocol's criteria compiled once, to screen any number of patients.

    :raises ValueError: when an expression does not parse (protocols are checked before this).
    """

    def __init__(self, eligibility: Eligibility) -> None:
        self.eligibility = eligibility
        expressions = self._expressions = ExpressionSet()
        self._criteria = [
            (
                criterion,
                exclusion,
                expressions.compile(criterion.expression) if criterion.expression else None,
            )
            for criterion, exclusion in criteria(eligibility)
        ]

    def screen(
        self, record: Mapping[str, Any], screening_date: dt.date, *, evidence: bool = True
    ) -> Screening:
        """Every criterion's result for one patient record.

        An expression that fails to evaluate gives ``unknown`` with the engine's message, never
        an exception: a screening log must list every patient.

        :param evidence: read the evidence too (False: results only, about twice as fast).
        """
        entries = record.get("entry", [])
        patient: Mapping[str, Any] = next(
            (e["resource"] for e in entries if e["resource"].get("resourceType") == "Patient"), {}
        )
        variables = {"patient": patient, "screeningDate": screening_date.isoformat()}
        prepared = self._expressions.prepare(record)
        return Screening(
            tuple(
                _evaluate(criterion, exclusion, compiled, record, variables, prepared, evidence)
                for criterion, exclusion, compiled in self._criteria
            )
        )


def screen(
    eligibility: Eligibility,
    record: Mapping[str, Any],
    screening_date: dt.date,
    *,
    only_ehr: bool = False,
) -> Screening:
    """Screen one record (compiles the criteria: use a ``Screener`` for many).

    :param only_ehr: leave out the criteria the investigator judges.
    """
    screening = Screener(eligibility).screen(record, screening_date)
    if only_ehr:
        return Screening(tuple(r for r in screening.results if r.result != "investigator"))
    return screening


def _compile(expressions: ExpressionSet, criterion: Criterion) -> CompiledExpression | None:
    return expressions.compile(criterion.expression) if criterion.expression else None


def _evaluate(
    criterion: Criterion,
    exclusion: bool,
    compiled: CompiledExpression | None,
    record: Mapping[str, Any],
    variables: Mapping[str, Any],
    prepared: Mapping[str, Any],
    with_evidence: bool,
) -> CriterionResult:
    investigator = criterion.assessment == "investigator"
    if compiled is None:
        reason = "judged by the investigator" if investigator else "no expression: not computable"
        return CriterionResult(
            criterion.id, exclusion, "investigator" if investigator else "unknown", reason
        )
    result: Result
    evidence: tuple[Evidence, ...] = ()
    try:
        value = compiled.evaluate(record, variables, prepared)
    except fhirpath.FhirPathError as exc:
        result, reason = "unknown", str(exc)
    else:
        result, reason = _read(value)
        evidence = tuple(compiled.evidence(record, variables, prepared)) if with_evidence else ()
    if investigator:
        return CriterionResult(
            criterion.id,
            exclusion,
            "investigator",
            f"judged by the investigator; the data suggest: {reason}",
            evidence,
            suggested=result,
        )
    return CriterionResult(criterion.id, exclusion, result, reason, evidence)


def _read(value: list[Any]) -> tuple[Result, str]:
    if value == [True]:
        return "met", "expression is true"
    if value == [False]:
        return "not_met", "expression is false"
    if not value:
        return "unknown", "no data in the record"
    return "unknown", f"not a boolean: {value!r}"
