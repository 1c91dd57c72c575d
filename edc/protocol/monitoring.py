"""The protocol's ``monitoring:`` section: how serious each kind of deviation is, and when a
grade >= 3 adverse event must have an outcome.

::

    monitoring:
      deviation_severity:          # kind -> major | minor (defaults: DEFAULT_SEVERITY)
        visit_out_of_window: major
      ae_outcome_days: 30          # a grade >= 3 event without outcome after this is a deviation
      kri:                         # key risk indicator thresholds (defaults: KriThresholds)
        deviations_per_100_visits: 10

Kept apart from ``edc.protocol.model`` so the monitoring rules change in one module.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt

from edc.items.model import Strict

DeviationKind = Literal[
    "visit_out_of_window",
    "missed_visit",
    "visit_before_consent",
    "form_before_consent",
    "randomized_before_consent",
    "randomized_before_eligibility",
    "ineligible_enrolled",
    "missing_form",
    "form_after_withdrawal",
    "late_sae_report",
    "ae_outcome_missing",
]

# ICH E3 calls "important" the deviations that may affect subjects' rights, safety or the
# reliability of the primary data: consent and eligibility, safety reporting. Schedule slips are
# minor unless the protocol says otherwise.
DEFAULT_SEVERITY: dict[str, Literal["major", "minor"]] = {
    "visit_out_of_window": "minor",
    "missed_visit": "minor",
    "visit_before_consent": "major",
    "form_before_consent": "major",
    "randomized_before_consent": "major",
    "randomized_before_eligibility": "major",
    "ineligible_enrolled": "major",
    "missing_form": "minor",
    "form_after_withdrawal": "major",
    "late_sae_report": "major",
    "ae_outcome_missing": "minor",
}


class KriThresholds(Strict):
    """Key risk indicators: a site beyond any of these is flagged in the monitor's report."""

    deviations_per_100_visits: float = Field(10.0, ge=0)
    major_deviations_per_100_visits: float = Field(2.0, ge=0)
    open_query_oldest_days: int = Field(30, ge=0)
    late_sae_share: float = Field(0.0, ge=0, le=1)
    missing_forms_per_100_visits: float = Field(5.0, ge=0)
    sdv_coverage_below: float = Field(0.0, ge=0, le=1)


class Monitoring(Strict):
    deviation_severity: dict[DeviationKind, Literal["major", "minor"]] = Field(
        default_factory=dict, description="deviation kind -> major | minor"
    )
    ae_outcome_days: PositiveInt = Field(
        30, description="days after onset by which a grade >= 3 adverse event needs an outcome"
    )

    kri: KriThresholds = KriThresholds()

    def severity(self) -> dict[str, str]:
        """Every kind's severity: the protocol's, else the default."""
        chosen: dict[str, str] = dict(DEFAULT_SEVERITY)
        for kind, severity in self.deviation_severity.items():
            chosen[str(kind)] = str(severity)
        return chosen
