"""`edc visits`: the site's worklist of planned visits."""

from __future__ import annotations

from typing import Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, StudyOption


def register(root: typer.Typer) -> None:
    root.command("visits")(visits)


def visits(
    study: StudyOption,
    site: Annotated[str | None, typer.Option("--site", metavar="ID")] = None,
    due_within: Annotated[
        str | None,
        typer.Option("--due-within", metavar="AGE", help="windows opening within (14d, 2w)"),
    ] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="only visits past their window")
    ] = False,
    fmt: FormatOption = render.Format.table,
) -> None:
    """List the randomized subjects' planned visits: target, window, done/due/overdue.

    Plans move when their anchor happens (e.g. the index procedure); each move is audited.
    """
    from edc.actions import screen
    from edc.actions import visits as action
    from edc.actions.workspace import Workspace

    days = screen.parse_age(due_within, flag="--due-within").days if due_within else None
    with Workspace.open(state.settings()) as workspace:
        result = action.worklist(
            workspace,
            action.VisitsRequest(study=study, site=site, due_within=days, overdue=overdue),
        )
    view = render.View[action.VisitsResult](
        sections=(render.Section("visits"),),
        headline=lambda r: f"{len(r.visits):,} visits on {r.today} ({r.moved} plans moved)",
    )
    state.emit(result, fmt, view)
