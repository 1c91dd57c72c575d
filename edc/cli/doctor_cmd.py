"""`edc doctor [--fhir-url URL]`: check the settings, data directory, database and server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from edc import errors
from edc.cli import render, state
from edc.cli.options import FhirUrlOption, FormatOption, ServerFlags, include

if TYPE_CHECKING:
    from edc.actions.doctor import DoctorReport

SCOPE = "system/*.read"


def register(root: typer.Typer) -> None:
    root.command("doctor")(doctor)


def _verdict(report: DoctorReport) -> str:
    if report.failed:
        return f"{report.failed} check(s) failed: see 'fix'"
    return "all checks passed"


DOCTOR_VIEW: render.View[DoctorReport] = render.View(
    sections=(render.Section("checks"),), headline=_verdict
)


@include(ServerFlags, "server")
def doctor(
    server: ServerFlags,
    fhir_url: FhirUrlOption = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Check that edc can work here, and say what to do about what it cannot.

    Checks the settings, the data directory, the database (reachable, migrated to this
    edc's newest revision) and, with --fhir-url, the server's capabilities (R4,
    transactions, searches by _lastUpdated, Bulk $export) and its SMART configuration (a
    token, when credentials are set). Prints ok / warn / fail per check with what to do;
    exit 1 if any check fails.
    """
    from edc.actions import doctor as doctor_action

    try:
        settings = state.settings()
    except errors.UserError as exc:
        report = doctor_action.settings_failed(exc)
    else:
        spec = server.spec(settings, fhir_url, scope=SCOPE) if fhir_url else None
        report = doctor_action.doctor(settings, spec)
    state.emit(report, fmt, DOCTOR_VIEW)
    if report.failed:
        raise typer.Exit(errors.EXIT_CHECK_FAILED)
