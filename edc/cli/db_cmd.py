"""`edc db upgrade|downgrade|current|backfill|revision`: manage the warehouse schema."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption

if TYPE_CHECKING:
    from edc.actions.backfill import BackfillResult
    from edc.actions.db import SchemaState

app = typer.Typer(
    help="create or migrate the warehouse database (EDC_DATABASE_URL; default a SQLite file "
    "in EDC_DATA_DIR)",
    no_args_is_help=True,
)
RevisionArgument = Annotated[str, typer.Argument(metavar="REV", help="target revision, or base")]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="db")


def _at(schema: SchemaState) -> str:
    return f"warehouse at revision {schema.revision or 'base'}"


@app.command()
def upgrade(
    revision: Annotated[str, typer.Option(metavar="REV", help="target revision")] = "head",
    fmt: FormatOption = render.Format.table,
) -> None:
    """Migrate the warehouse to the newest schema (creating a SQLite file and its folder)."""
    from edc.actions import db

    state.emit(db.upgrade(state.settings(), revision), fmt, render.View(headline=_at))


@app.command()
def downgrade(
    revision: RevisionArgument,
    yes_destroy_data: Annotated[
        bool,
        typer.Option(
            "--yes-destroy-data",
            help="confirm that the data the downgrade drops may be destroyed (back it up first)",
        ),
    ] = False,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Migrate down to REV ('base' removes every table).

    A downgrade drops what later revisions added, with its data ('base': everything, the audit
    trail too). It is refused on a warehouse that holds data unless --yes-destroy-data, and
    always while a study is locked.
    """
    from edc.actions import db

    done = db.downgrade(state.settings(), revision, yes_destroy_data=yes_destroy_data)
    state.emit(done, fmt, render.View(headline=_at))


@app.command()
def current(fmt: FormatOption = render.Format.table) -> None:
    """Show the revision the warehouse is at, and the newest one this edc knows."""
    from edc.actions import db

    view: render.View[SchemaState] = render.View(
        headline=lambda s: f"{s.revision or 'base'} (newest: {s.head})"
    )
    state.emit(db.current(state.settings()), fmt, view)


@app.command()
def backfill(fmt: FormatOption = render.Format.table) -> None:
    """Fill columns later revisions added to rows synced before them, from the raw resources.

    Adverse events: the onset and resolution times and the 'Other, specify' text. Audited;
    rows of frozen or locked subjects are left alone; running it again changes nothing.
    """
    from edc.actions import backfill as backfill_action

    view: render.View[BackfillResult] = render.View(
        headline=lambda r: (
            f"adverse events: {r.filled} filled of {r.examined} with empty columns"
            + (f", {r.closed} of frozen or locked subjects left as they are" if r.closed else "")
        )
    )
    state.emit(backfill_action.backfill(state.settings()), fmt, view)


@app.command()
def revision(
    message: Annotated[
        str, typer.Option("--message", "-m", metavar="TEXT", help="what it does, imperative")
    ],
) -> None:
    """(developers) Write a new migration from the model changes."""
    from edc.warehouse import migrate

    path = migrate.revision(state.settings().database_url, message)
    state.emit(path, render.Format.table, render.View(headline=lambda p: f"wrote {p}"))
