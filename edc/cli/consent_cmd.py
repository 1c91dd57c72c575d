"""`edc consent record`: a patient's informed consent, recorded in edc."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, PatientSourceOption, StudyOption

app = typer.Typer(no_args_is_help=True, short_help="record informed consent")
app.info.help = (
    "Informed consent. Consents also arrive from the EHR (FHIR Consent, by sync); both land in "
    "the same table, audited with the person who acted, and a Consent resource for the site's "
    "FHIR server is queued (edc push)."
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="consent")


@app.command()
def record(
    study: StudyOption,
    patient: Annotated[str, typer.Option("--patient", metavar="ID", help="FHIR Patient id")],
    date: Annotated[
        dt.datetime,
        typer.Option(
            "--date",
            metavar="DATE",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S%z"],
            help="when it was signed (a date counts from 00:00 UTC)",
        ),
    ],
    form_version: Annotated[
        str, typer.Option("--form-version", metavar="TEXT", help="the consent form's version")
    ],
    obtained_by: Annotated[
        str, typer.Option("--obtained-by", metavar="TEXT", help="who took the consent")
    ],
    site: Annotated[str | None, typer.Option("--site", metavar="ID")] = None,
    source: PatientSourceOption = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Record a patient's signed informed consent.

    Exit 2: unknown study, site or patient; a patient of another site; a date in the future;
    the same form version recorded already; a role that may not record consent there.
    """
    from edc.actions import consent
    from edc.actions.workspace import Workspace

    signed: dt.date | dt.datetime = date if date.tzinfo else date.date()
    with Workspace.open(state.settings()) as workspace:
        result = consent.record(
            workspace,
            consent.ConsentRequest(
                study=study,
                patient=patient,
                signed=signed,
                form_version=form_version,
                obtained_by=obtained_by,
                site=site,
                source=source,
            ),
        )
    state.emit(result, fmt)
