"""`edc enroll`: sign eligibility off and enroll a consented patient."""

from __future__ import annotations

from typing import Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, PatientSourceOption, StudyOption


def register(root: typer.Typer) -> None:
    root.command("enroll")(enroll)


def enroll(
    study: StudyOption,
    patient: Annotated[str, typer.Option("--patient", metavar="ID", help="FHIR Patient id")],
    site: Annotated[str, typer.Option("--site", metavar="ID")],
    investigator: Annotated[
        str,
        typer.Option(
            "--investigator", metavar="USER", help="the investigator who signs eligibility off"
        ),
    ],
    confirm: Annotated[
        list[str] | None,
        typer.Option(
            "--confirm",
            metavar="ID=yes|no",
            help="a criterion the investigator judges: yes = its statement is true for the "
            "patient (inclusion met, exclusion applies); repeat for each",
        ),
    ] = None,
    override: Annotated[
        str | None,
        typer.Option(
            "--override",
            metavar="REASON",
            help="principal investigator only: enroll although a criterion fails; records an "
            "ineligible-enrolled deviation",
        ),
    ] = None,
    source: PatientSourceOption = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Enroll a consented patient as a subject of a site.

    Evaluates every criterion again on the patient's current data, applies the investigator's
    confirmations, and enrolls only if all criteria are met and consent preceded enrollment;
    otherwise nothing is written and exit 2 names each failing or unknown criterion with its
    evidence. The subject gets the site's next number (01-0007); a ResearchSubject is queued
    for the site's FHIR server (edc push).
    """
    from edc.actions import enroll as action
    from edc.actions.workspace import Workspace

    with Workspace.open(state.settings()) as workspace:
        result = action.enroll(
            workspace,
            action.EnrollRequest(
                study=study,
                patient=patient,
                site=site,
                investigator=investigator,
                confirm=tuple(confirm or ()),
                override=override,
                source=source,
            ),
        )
    state.emit(result, fmt)
