"""`edc export`: SDTM-like datasets (CSV and Parquet) of a locked study, with a manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, StudyOption


def register(root: typer.Typer) -> None:
    root.command("export")(export)


def export(
    study: StudyOption,
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="a new or empty folder")],
    snapshot: Annotated[
        bool, typer.Option("--snapshot", help="export a study that is not locked (interim look)")
    ] = False,
    unblinded: Annotated[
        bool,
        typer.Option(
            "--unblinded",
            help="real arms (the unblinded statistician, once the study is unblinded)",
        ),
    ] = False,
    xpt: Annotated[
        bool, typer.Option("--xpt", help="also SAS transport files (XPORT v5), one per dataset")
    ] = False,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Write DM, DS, SV, QS, AE, IE, LB, CM (with MME), PR, the trial design (TA, TE, TV, TI,
    TS), ADSL, one BDS per endpoint family and ADAE as CSV and Parquet, define.json/html, and
    manifest.json with every file's SHA-256, the protocol version and hash, the lock's
    signature (and the unblinding's) and the audit chain head.

    The same lock exported twice gives the same bytes. Arms are masked unless --unblinded.
    Exit 2, nothing written: a study not locked (without --snapshot), --unblinded by a blinded
    role or before `edc lock unblind` (a locked blinded study), a role that may not export, or
    a folder that is not empty.
    """
    from edc.actions import export as action
    from edc.actions.workspace import Workspace

    settings = state.settings()
    request = action.ExportRequest(study, out, snapshot=snapshot, unblinded=unblinded, xpt=xpt)
    with Workspace.open(settings) as workspace:
        result = action.export(settings, workspace, request)
    state.emit(
        result,
        fmt,
        render.View(
            headline=lambda r: (
                f"{r.study} exported to {r.out} "
                f"({'locked' if r.locked else 'snapshot, not locked'}); "
                f"manifest {r.manifest_sha256}"
            )
        ),
    )
