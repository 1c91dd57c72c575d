"""`edc unblind`: emergency unblinding of one subject, audited."""

from __future__ import annotations

from typing import Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, StudyOption


def register(root: typer.Typer) -> None:
    root.command("unblind")(unblind)


def unblind(
    study: StudyOption,
    subject: Annotated[str, typer.Option("--subject", metavar="CODE")],
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="why (audited)")],
    fmt: FormatOption = render.Format.table,
) -> None:
    """Reveal one subject's arm in an emergency (the site's investigators only; audited)."""
    from edc.actions import unblind as action
    from edc.actions.workspace import Workspace

    with Workspace.open(state.settings()) as workspace:
        result = action.unblind(workspace, study, subject, reason)
    state.emit(result, fmt)
