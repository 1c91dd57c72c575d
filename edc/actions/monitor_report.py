"""`edc monitor report`: per site what a risk-based monitor looks at, with flagged indicators.

Per site: enrolled subjects, screen failures, visits that took place, deviations (open or
confirmed) by kind and severity and per 100 subject-visits, open queries and the oldest one's
age, missing forms, serious adverse events and how many were reported late, SDV coverage; then
the key risk indicators (``edc.trial.kri``) against the protocol's thresholds. Each count is
one grouped query over the study. ``html`` adds plots (``edc.actions.report_html``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from edc.actions import queries, screen
from edc.actions import sdv as sdv_actions
from edc.actions.workspace import Site, Study, Workspace
from edc.trial import kri
from edc.trial.permissions import Action
from edc.warehouse.tables.crf import VisitRow
from edc.warehouse.tables.monitoring import DeviationRow
from edc.warehouse.tables.safety import AdverseEventRow
from edc.warehouse.tables.subjects import SubjectRow

LIVE = ("open", "confirmed")


@dataclasses.dataclass(frozen=True)
class SiteReport:
    site: str
    enrolled: int
    screen_failures: int
    visits: int
    deviations: int
    major_deviations: int
    deviations_per_100_visits: float | None
    deviations_by_kind: dict[str, int]
    open_queries: int
    oldest_open_query_days: int | None
    query_ages: list[int]
    missing_forms: int
    serious_events: int
    late_sae_reports: int
    sdv_coverage: float | None
    indicators: list[kri.Indicator]
    flagged: list[str]


@dataclasses.dataclass(frozen=True)
class MonitorReport:
    study: str
    generated_at: dt.datetime
    sites: list[SiteReport]

    def lines(self) -> list[str]:
        """The report as text (for people)."""
        out = [f"monitoring report of {self.study} ({self.generated_at:%Y-%m-%d %H:%M} UTC)"]
        for s in self.sites:
            flag = f"  FLAGGED: {', '.join(s.flagged)}" if s.flagged else ""
            out.append(f"\nsite {s.site}{flag}")
            out.append(
                f"  enrolled {s.enrolled}, screen failures {s.screen_failures}, visits {s.visits}"
            )
            rate = "-" if s.deviations_per_100_visits is None else s.deviations_per_100_visits
            out.append(
                f"  deviations {s.deviations} ({s.major_deviations} major), "
                f"{rate} per 100 subject-visits"
            )
            for kind, n in s.deviations_by_kind.items():
                out.append(f"    {kind}: {n}")
            oldest = "-" if s.oldest_open_query_days is None else s.oldest_open_query_days
            out.append(f"  open queries {s.open_queries} (oldest {oldest} days)")
            out.append(f"  missing forms {s.missing_forms}")
            out.append(
                f"  serious adverse events {s.serious_events}, reported late {s.late_sae_reports}"
            )
            coverage = "-" if s.sdv_coverage is None else f"{s.sdv_coverage:.2%}"
            out.append(f"  SDV coverage {coverage}")
            for i in s.indicators:
                mark = "!" if i.flagged else " "
                out.append(f"  {mark} {i.name}: {i.value} (threshold {i.threshold})")
        return out


def _grouped(session: Session, query: Select[int, int]) -> dict[int, int]:
    return {int(site): int(n) for site, n in session.execute(query)}


def _site_reports(
    session: Session, study: Study, sites: list[Site], now: dt.datetime
) -> list[SiteReport]:
    ids = [s.id for s in sites]
    subject_site = select(SubjectRow.id, SubjectRow.site_id).where(
        SubjectRow.study_id == study.id, SubjectRow.site_id.in_(ids)
    )
    enrolled = _grouped(
        session,
        select(SubjectRow.site_id, func.count())
        .where(SubjectRow.study_id == study.id, SubjectRow.site_id.in_(ids))
        .group_by(SubjectRow.site_id),
    )
    s = subject_site.subquery()
    visits = _grouped(
        session,
        select(s.c.site_id, func.count())
        .join(VisitRow, VisitRow.subject_id == s.c.id)
        .group_by(s.c.site_id),
    )
    serious = _grouped(
        session,
        select(s.c.site_id, func.count())
        .join(AdverseEventRow, AdverseEventRow.subject_id == s.c.id)
        .where(AdverseEventRow.serious.is_(True))
        .group_by(s.c.site_id),
    )
    by_kind: dict[int, dict[tuple[str, str], int]] = {}
    for site_id, kind, severity, n in session.execute(
        select(DeviationRow.site_id, DeviationRow.kind, DeviationRow.severity, func.count())
        .where(
            DeviationRow.study_id == study.id,
            DeviationRow.site_id.in_(ids),
            DeviationRow.status.in_(LIVE),
        )
        .group_by(DeviationRow.site_id, DeviationRow.kind, DeviationRow.severity)
    ):
        by_kind.setdefault(int(site_id), {})[(kind, severity)] = int(n)
    consort = {n.site: n for n in screen.site_numbers(session, study, sites, visible=False)}
    open_queries = [
        q for q in queries.query_lines(session, study, now, ids) if q.status in ("open", "answered")
    ]
    coverage = {c.site: c.coverage for c in sdv_actions.site_coverage(session, study, ids)}
    limits = study.protocol.monitoring.kri
    reports = []
    for site in sites:
        kinds = by_kind.get(site.id, {})
        total = sum(kinds.values())
        major = sum(n for (_, severity), n in kinds.items() if severity == "major")
        kind_counts: dict[str, int] = {}
        for (kind, _), n in sorted(kinds.items()):
            kind_counts[kind] = kind_counts.get(kind, 0) + n
        ages = sorted((q.age_days for q in open_queries if q.site == site.code), reverse=True)
        facts = kri.SiteFacts(
            visits=visits.get(site.id, 0),
            deviations=total,
            major=major,
            missing_forms=kind_counts.get("missing_form", 0),
            oldest_open_query_days=ages[0] if ages else None,
            serious_events=serious.get(site.id, 0),
            late_reports=kind_counts.get("late_sae_report", 0),
            sdv_coverage=coverage.get(site.code),
        )
        indicators = kri.indicators(facts, limits)
        numbers = consort.get(site.code)
        reports.append(
            SiteReport(
                site=site.code,
                enrolled=enrolled.get(site.id, 0),
                screen_failures=numbers.ineligible if numbers else 0,
                visits=facts.visits,
                deviations=total,
                major_deviations=major,
                deviations_per_100_visits=kri.per_100(total, facts.visits),
                deviations_by_kind=kind_counts,
                open_queries=len(ages),
                oldest_open_query_days=facts.oldest_open_query_days,
                query_ages=ages,
                missing_forms=facts.missing_forms,
                serious_events=facts.serious_events,
                late_sae_reports=facts.late_reports,
                sdv_coverage=facts.sdv_coverage,
                indicators=indicators,
                flagged=[i.name for i in indicators if i.flagged],
            )
        )
    return reports


def report(workspace: Workspace, study_code: str, site: str | None = None) -> MonitorReport:
    """The monitor's report of the sites the user may see (or one site).

    :raises errors.BadInputError: unknown study or site; no right to view there.
    """
    now = workspace.clock.now()
    with workspace.transaction() as session:
        study = workspace.study(session, study_code)
        sites = workspace.sites_for(session, study, Action.VIEW_DATA, site)
        return MonitorReport(study.code, now, _site_reports(session, study, sites, now))
