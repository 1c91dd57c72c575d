"""`edc screen`: pre-screen a site's patients against the study's criteria, with evidence."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, StudyOption

if TYPE_CHECKING:
    from edc.actions.screen import ScreenResult


def register(root: typer.Typer) -> None:
    root.command("screen")(screen)


@dataclasses.dataclass(frozen=True)
class ScreenLine:
    """One patient, as the screening log shows it."""

    site: str
    patient: str
    status: str
    unknown: int
    failed: str  # each failed criterion with its evidence
    undecided: str  # criteria the data could not decide
    as_of: dt.date


@dataclasses.dataclass(frozen=True)
class ScreenReport:
    study: str
    protocol_version: str
    evaluated: int
    unchanged: int
    seconds: float
    patients: list[ScreenLine]
    sites: list[object]


def _report(result: ScreenResult) -> ScreenReport:
    lines = [
        ScreenLine(
            site=p.site,
            patient=p.patient,
            status=p.status,
            unknown=p.unknown,
            failed="; ".join(
                f"{c.criterion_id} ({', '.join(c.evidence) or 'no data'})" for c in p.failed
            ),
            undecided=", ".join(c.criterion_id for c in p.undecided),
            as_of=p.as_of,
        )
        for p in result.patients
    ]
    return ScreenReport(
        result.study, result.protocol_version, result.evaluated, result.unchanged,
        result.seconds, lines, list(result.sites),
    )  # fmt: skip


VIEW: render.View[ScreenReport] = render.View(
    sections=(
        render.Section("patients", title="patients (candidates first)"),
        render.Section("sites", title="per site (CONSORT)"),
    ),
    headline=lambda r: (
        f"{r.study} v{r.protocol_version}: {r.evaluated:,} screened, {r.unchanged:,} unchanged "
        f"since the last run, in {r.seconds:.1f} s"
    ),
)


def screen(
    study: StudyOption,
    site: Annotated[
        str | None, typer.Option("--site", metavar="ID", help="one site (default: all yours)")
    ] = None,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(
            "--as-of", metavar="DATE", formats=["%Y-%m-%d"], help="screening date (default today)"
        ),
    ] = None,
    patient: Annotated[
        list[str] | None,
        typer.Option("--patient", metavar="ID", help="only this patient (repeatable)"),
    ] = None,
    rescreen: Annotated[
        bool, typer.Option("--rescreen", help="evaluate unchanged patients again too")
    ] = False,
    purge_older_than: Annotated[
        str | None,
        typer.Option(
            "--purge-older-than",
            metavar="AGE",
            help="instead: delete screening data of patients who never consented, screened "
            "longer ago than AGE (90d, 12w); the counts are kept",
        ),
    ] = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Pre-screen patients against the study's eligibility criteria, with evidence.

    Evaluates every criterion of the study's current protocol version for every patient of the
    site(s) whose EHR data is in the warehouse, and records per patient and criterion: met, not
    met, unknown (data missing) or investigator (not computable), each with the FHIR resources,
    values and dates that decided it. Lists candidates first (every EHR criterion met, then
    fewest unknowns), then screen failures with the criteria that failed; per site the CONSORT
    numbers. Patients whose data and protocol did not change keep their result. Screening data
    stays at its site: you screen the sites you hold a role at. Exit 2: unknown study, site or
    patient, or a role that may not screen there.
    """
    from edc.actions import screen as action
    from edc.actions.workspace import Workspace

    settings = state.settings()
    with Workspace.open(settings) as workspace:
        if purge_older_than is not None:
            purged = action.purge(workspace, study, site, action.parse_age(purge_older_than))
            state.emit(purged, fmt)
            return
        request = action.ScreenRequest(
            study=study,
            site=site,
            as_of=as_of.date() if as_of else None,
            patients=tuple(patient or ()),
            rescreen=rescreen,
        )
        result = action.screen(workspace, request, state.progress("screen", "patients"))
    state.emit(_report(result), fmt, VIEW)
