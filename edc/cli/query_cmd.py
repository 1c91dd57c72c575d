"""`edc query open|answer|close|reopen|list`: data queries between monitor and site."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, StudyOption

if TYPE_CHECKING:
    from edc.actions.queries import QueryLine, QueryList

app = typer.Typer(no_args_is_help=True, short_help="data queries: open, answer, close, reopen")
app.info.help = (
    "A monitor opens a query on a subject, a form or one item; the site answers (or corrects "
    "the data at the source); the monitor closes or reopens it. Every move is audited and goes "
    "to the site's FHIR server as a Task (through the outbox: edc push)."
)

QueryId = Annotated[int, typer.Argument(metavar="ID", help="the query's id")]
MessageOption = Annotated[
    str | None, typer.Option("--message", "-m", metavar="TEXT", help="what you say")
]

LINE_VIEW: render.View[QueryLine] = render.View(
    headline=lambda r: f"query {r.id} on {r.subject} ({_about(r)}) is {r.status}"
)
LIST_VIEW: render.View[QueryList] = render.View(
    sections=(
        render.Section(
            "queries",
            columns=(
                "id",
                "site",
                "subject",
                "form",
                "visit",
                "item",
                "deviation",
                "origin",
                "status",
                "age_days",
                "messages",
                "last_message",
            ),
        ),
        render.Section("sites", title="per site"),
    ),
    headline=lambda r: f"{len(r.queries):,} data queries",
)


def _about(line: QueryLine) -> str:
    if line.deviation is not None:
        return f"deviation {line.deviation}"
    return line.form or "subject"


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="query")


@app.command("open")
def open_(
    study: StudyOption,
    message: Annotated[str, typer.Option("--message", "-m", metavar="TEXT", help="the question")],
    subject: Annotated[
        str | None,
        typer.Option("--subject", metavar="CODE", help="subject code (implied by --deviation)"),
    ] = None,
    form: Annotated[str | None, typer.Option("--form", metavar="FORM", help="form id")] = None,
    visit: Annotated[str | None, typer.Option("--visit", metavar="ID", help="visit id")] = None,
    item: Annotated[str | None, typer.Option("--item", metavar="LINKID", help="item")] = None,
    deviation: Annotated[
        int | None,
        typer.Option("--deviation", metavar="ID", help="a deviation's id (edc monitor list)"),
    ] = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Open a query on a subject, a form (its newest version), one item or a deviation
    (monitor)."""
    from edc.actions import queries
    from edc.actions.workspace import Workspace

    request = queries.OpenRequest(
        study, subject, message, form=form, visit=visit, item=item, deviation=deviation
    )
    with Workspace.open(state.settings()) as workspace:
        result = queries.open_query(workspace, request)
    state.emit(result, fmt, LINE_VIEW)


def _move(study: str, query: int, verb: str, message: str | None, fmt: render.Format) -> None:
    from edc.actions import queries
    from edc.actions.workspace import Workspace

    with Workspace.open(state.settings()) as workspace:
        result = queries.move(workspace, queries.MoveRequest(study, query, verb, message))
    state.emit(result, fmt, LINE_VIEW)


@app.command()
def answer(
    study: StudyOption,
    query: QueryId,
    message: MessageOption = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Answer a query (the site team of the query's site)."""
    _move(study, query, "answer", message, fmt)


@app.command()
def close(
    study: StudyOption,
    query: QueryId,
    message: MessageOption = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Close a query (monitor or data manager)."""
    _move(study, query, "close", message, fmt)


@app.command()
def reopen(
    study: StudyOption,
    query: QueryId,
    message: MessageOption = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Reopen an answered or closed query, saying why (monitor or data manager)."""
    _move(study, query, "reopen", message, fmt)


@app.command("list")
def list_(
    study: StudyOption,
    site: Annotated[str | None, typer.Option("--site", metavar="ID")] = None,
    status: Annotated[str | None, typer.Option("--status", metavar="STATUS")] = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """List the data queries with their age, and the counts per site."""
    from edc.actions import queries
    from edc.actions.workspace import Workspace

    with Workspace.open(state.settings()) as workspace:
        result = queries.list_queries(workspace, study, site, status)
    state.emit(result, fmt, LIST_VIEW)
