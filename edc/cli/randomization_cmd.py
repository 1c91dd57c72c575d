"""`edc randomization open|verify`: the concealed allocation lists and their commitment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, StudyOption

app = typer.Typer(no_args_is_help=True, short_help="open and verify concealed randomization")
app.info.help = (
    "The unblinded statistician opens randomization once per study: a secret seed (written to "
    "a file only they keep) makes the allocation lists, whose SHA-256 commitment is recorded in "
    "the audit trail and printed before anyone is randomized. At the end, verify proves from "
    "the revealed seed that every allocation followed the committed lists."
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="randomization")


@app.command("open")
def open_(
    study: StudyOption,
    seed_out: Annotated[
        Path, typer.Option("--seed-out", metavar="FILE", help="where the secret seed goes (new)")
    ],
    length: Annotated[
        int | None,
        typer.Option(
            metavar="N", help="positions per stratum (default twice the target enrollment)"
        ),
    ] = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Draw the secret seed, store the lists, record and print the commitment."""
    from edc.actions import randomize
    from edc.actions.workspace import Workspace

    with Workspace.open(state.settings()) as workspace:
        result = randomize.open_randomization(workspace, study, seed_out, length=length)
    state.emit(result, fmt, render.View(headline=lambda r: f"commitment: {r.commitment}"))


@app.command()
def verify(
    study: StudyOption,
    reveal_seed: Annotated[
        Path, typer.Option("--reveal-seed", metavar="FILE", help="the seed file from open")
    ],
    fmt: FormatOption = render.Format.table,
) -> None:
    """Prove every allocation followed the committed lists (exit 1 naming any that did not)."""
    from edc.actions import randomize
    from edc.actions.workspace import Workspace

    with Workspace.open(state.settings()) as workspace:
        result = randomize.verify(workspace, study, reveal_seed)
    state.emit(
        result,
        fmt,
        render.View(headline=lambda r: f"{r.allocations:,} allocations follow {r.commitment}"),
    )
