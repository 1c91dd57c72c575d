"""`edc analyze`: the protocol's analysis plan on the locked data (tables and one report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, StudyOption


def register(root: typer.Typer) -> None:
    root.command("analyze")(analyze)


def analyze(
    study: StudyOption,
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="a new or empty folder")],
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", metavar="ID", help="one endpoint of the plan")
    ] = None,
    snapshot: Annotated[
        bool, typer.Option("--snapshot", help="analyse a study that is not locked (interim)")
    ] = False,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Estimate every endpoint of the protocol's analysis: section between arms (ANCOVA on
    baseline and strata, t-test or Mann-Whitney as the plan says) and within arms (Wilcoxon),
    with the CONSORT flow and adverse events by arm; CSV tables and report.html.

    The unblinded statistician's command. Exit 2, nothing written: a study not locked (without
    --snapshot), a locked blinded study not yet unblinded (edc lock unblind), a blinded role,
    an unknown --endpoint, or a folder that is not empty.
    """
    from edc.actions import analyze as action
    from edc.actions.workspace import Workspace

    settings = state.settings()
    request = action.AnalyzeRequest(study, out, snapshot=snapshot, endpoint=endpoint)
    with Workspace.open(settings) as workspace:
        result = action.analyze(settings, workspace, request)
    state.emit(result, fmt, render.View(headline=lambda r: [r.primary, f"report: {r.report}"]))
