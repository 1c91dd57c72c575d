"""The routers, one per area; each holds the pages and the JSON API of its area."""

from __future__ import annotations

from fastapi import APIRouter

from edc.web.routes import adverse_events as adverse_events
from edc.web.routes import auth as auth
from edc.web.routes import dashboard as dashboard
from edc.web.routes import forms as forms
from edc.web.routes import home as home
from edc.web.routes import monitor as monitor
from edc.web.routes import screening as screening
from edc.web.routes import statistician as statistician
from edc.web.routes import subjects as subjects

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    home.router,
    dashboard.router,
    subjects.router,
    screening.router,
    forms.router,
    adverse_events.router,
    monitor.router,
    statistician.router,
)
