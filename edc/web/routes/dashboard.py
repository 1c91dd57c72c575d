"""The study dashboard (page and API)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from edc.actions import dashboard as dashboards
from edc.warehouse import db
from edc.web import pages, plots
from edc.web.deps import Study
from edc.web.schemas import DashboardPublic

router = APIRouter()


def _dashboard(auth: Study) -> dashboards.Dashboard:
    context = auth.context
    with db.transaction(context.makers.reader) as session:
        return dashboards.dashboard(
            session=session,
            access=auth.access,
            definition=auth.definition,
            now=context.clock.now(),
        )


@router.get("/studies/{study}", include_in_schema=False)
def dashboard_page(request: Request, auth: Study) -> Response:
    found = _dashboard(auth)
    plot = plots.enrollment_svg(
        found.enrollment, {s.code: s.target for s in found.sites}, found.today
    )
    return pages.render(request, "dashboard.html", auth=auth, dashboard=found, plot=plot)


@router.get("/api/v1/studies/{study}/dashboard", tags=["studies"])
def dashboard_api(auth: Study) -> DashboardPublic:
    """Enrollment per site over time and against target, visits due this week, open queries
    and deviations, serious adverse events with their reporting clocks (the reader's sites)."""
    return DashboardPublic.model_validate(_dashboard(auth))
