"""Key risk indicators of a site (ICH E6(R3) risk-based monitoring): rates and their flags.

Rates count per 100 subject-visits (visits that took place), so a site that sees more visits is
not flagged for having more of everything. A site is flagged on an indicator when it is beyond
the protocol's threshold (``monitoring.kri``).
"""

from __future__ import annotations

import dataclasses

from edc.protocol.monitoring import KriThresholds


@dataclasses.dataclass(frozen=True)
class SiteFacts:
    visits: int
    deviations: int  # open or confirmed
    major: int
    missing_forms: int
    oldest_open_query_days: int | None
    serious_events: int
    late_reports: int
    sdv_coverage: float | None


@dataclasses.dataclass(frozen=True)
class Indicator:
    name: str
    value: float | None
    threshold: float
    flagged: bool


def per_100(count: int, visits: int) -> float | None:
    return round(100 * count / visits, 2) if visits else None


def indicators(facts: SiteFacts, limits: KriThresholds) -> list[Indicator]:
    """The site's indicators, each compared with its threshold."""
    late_share = (
        round(facts.late_reports / facts.serious_events, 4) if facts.serious_events else None
    )

    def above(name: str, value: float | None, limit: float) -> Indicator:
        return Indicator(name, value, limit, value is not None and value > limit)

    sdv = facts.sdv_coverage
    return [
        above(
            "deviations_per_100_visits",
            per_100(facts.deviations, facts.visits),
            limits.deviations_per_100_visits,
        ),
        above(
            "major_deviations_per_100_visits",
            per_100(facts.major, facts.visits),
            limits.major_deviations_per_100_visits,
        ),
        above(
            "missing_forms_per_100_visits",
            per_100(facts.missing_forms, facts.visits),
            limits.missing_forms_per_100_visits,
        ),
        above(
            "open_query_oldest_days",
            facts.oldest_open_query_days,
            limits.open_query_oldest_days,
        ),
        above("late_sae_share", late_share, limits.late_sae_share),
        Indicator(
            "sdv_coverage",
            sdv,
            limits.sdv_coverage_below,
            sdv is not None and sdv < limits.sdv_coverage_below,
        ),
    ]
