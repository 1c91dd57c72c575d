"""`edc randomize`: allocate an arm to an enrolled, consented subject."""

from __future__ import annotations

from typing import Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, StudyOption


def register(root: typer.Typer) -> None:
    root.command("randomize")(randomize)


def randomize(
    study: StudyOption,
    subject: Annotated[str, typer.Option("--subject", metavar="CODE", help="e.g. 01-0007")],
    fmt: FormatOption = render.Format.table,
) -> None:
    """Randomize one subject (stratified permuted blocks or minimization, as the protocol says).

    The stratification factors' levels come from the site and the subject's forms. The arm is
    shown only to roles the study does not blind. Exit 2: randomization not open, an unknown
    subject, one without consent or already randomized, a factor level missing from the forms.
    """
    from edc.actions import randomize as action
    from edc.actions.workspace import Workspace

    with Workspace.open(state.settings()) as workspace:
        result = action.randomize(workspace, study, subject)
    state.emit(result, fmt)
