"""`edc sdv mark|coverage`: source data verification and its coverage per site."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, StudyOption

if TYPE_CHECKING:
    from edc.actions.sdv import CoverageResult, MarkResult

app = typer.Typer(no_args_is_help=True, short_help="source data verification")
app.info.help = (
    "Risk-based SDV: answers the site entered need verifying at the source; values from the "
    "EHR and computed scores do not. A monitor marks a form (its newest version) or one item."
)
MARK_VIEW: render.View[MarkResult] = render.View(
    headline=lambda r: f"verified {r.item or 'form'} of {r.form} ({r.subject}) by {r.verified_by}"
)
COVERAGE_VIEW: render.View[CoverageResult] = render.View(
    sections=(render.Section("sites"),), headline=lambda r: f"SDV coverage of {r.study}"
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="sdv")


@app.command()
def mark(
    study: StudyOption,
    subject: Annotated[str, typer.Option("--subject", metavar="CODE", help="subject code")],
    form: Annotated[str, typer.Option("--form", metavar="FORM", help="form id")],
    visit: Annotated[str | None, typer.Option("--visit", metavar="ID", help="visit id")] = None,
    item: Annotated[str | None, typer.Option("--item", metavar="LINKID")] = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Mark a form, or one item of it, verified against the source (monitor)."""
    from edc.actions import sdv
    from edc.actions.workspace import Workspace

    request = sdv.MarkRequest(study, subject, form, visit=visit, item=item)
    with Workspace.open(state.settings()) as workspace:
        result = sdv.mark(workspace, request)
    state.emit(result, fmt, MARK_VIEW)


@app.command()
def coverage(
    study: StudyOption,
    site: Annotated[str | None, typer.Option("--site", metavar="ID")] = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Answers needing SDV and those verified, per site."""
    from edc.actions import sdv
    from edc.actions.workspace import Workspace

    with Workspace.open(state.settings()) as workspace:
        result = sdv.coverage(workspace, study, site)
    state.emit(result, fmt, COVERAGE_VIEW)
