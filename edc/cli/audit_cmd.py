"""`edc audit verify|show`: check the audit trail's hash chain; show the history of records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from edc import errors
from edc.cli import render, state
from edc.cli.options import FormatOption

if TYPE_CHECKING:
    from edc.actions.audit import HistoryEntry
    from edc.actions.casebook import CasebookEntry
    from edc.warehouse.chain import ChainReport

app = typer.Typer(
    help="verify the audit trail, or show the history of records", no_args_is_help=True
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="audit")


def _intact(report: ChainReport) -> str:
    return f"audit chain intact: {report.rows} rows, head {report.head_seq} {report.head_hash}"


@app.command()
def verify(fmt: FormatOption = render.Format.table) -> None:
    """Recompute the hash chain; exit 1 naming the first broken row."""
    from edc.actions import audit

    state.emit(audit.verify(state.settings()), fmt, render.View(headline=_intact))


def _casebook_entry() -> type[CasebookEntry]:
    from edc.actions.casebook import CasebookEntry

    return CasebookEntry


def history_lines(entries: Sequence[HistoryEntry | CasebookEntry]) -> list[str]:
    """One line per change (when, who, what, why; for a casebook, which visit and form), then
    its old and new values."""
    lines = []
    for entry in entries:
        where = ""
        if isinstance(entry, _casebook_entry()):
            labels = [f"visit {entry.visit}" if entry.visit else "", entry.form or ""]
            where = f" {entry.record}" + "".join(f" [{label}]" for label in labels if label)
        field = f" {entry.field}" if entry.field else ""
        reason = f"  reason: {entry.reason}" if entry.reason else ""
        lines.append(
            f"#{entry.seq} {entry.at.isoformat()} {entry.actor} ({entry.role}) {entry.action}"
            f"{where}{field}{reason}"
        )
        if entry.old_value is not None:
            lines.append(f"    old: {entry.old_value}")
        if entry.new_value is not None:
            lines.append(f"    new: {entry.new_value}")
    return lines or ["no audited changes"]


@app.command()
def show(
    subject: Annotated[
        str | None, typer.Option(metavar="CODE", help="a subject's casebook, e.g. 01-0007")
    ] = None,
    study: Annotated[
        str | None,
        typer.Option(metavar="ID", help="the study (when several have this subject code)"),
    ] = None,
    form: Annotated[
        str | None, typer.Option(metavar="FORM", help="only this form's responses, e.g. odi")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(metavar="DATE", help="only changes at or after this date (or date-time)"),
    ] = None,
    record: Annotated[
        str | None,
        typer.Option(metavar="TABLE:ID", help="one record by table and row id, e.g. subject:12"),
    ] = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Print the history of a subject's casebook (or of one record), oldest first.

    --subject CODE: every audited change to the subject, its consents, allocation, visits,
    form responses and their answers, and adverse events, each labelled with the visit and
    form; narrow with --form and --since. --record TABLE:ID: one warehouse record. An unknown
    subject, form or record is exit 2.
    """
    from edc.actions import audit, casebook

    settings = state.settings()
    if (subject is None) == (record is None):
        raise errors.BadInputError("give one of --subject CODE and --record TABLE:ID")
    entries: Sequence[HistoryEntry | CasebookEntry]
    if subject is not None:
        when = casebook.parse_since(since) if since else None
        entries = casebook.casebook(settings, subject, study=study, form=form, since=when)
    elif study or form or since:
        raise errors.BadInputError("--study, --form and --since go with --subject")
    else:
        entries = audit.history(settings, str(record))
    view: render.View[list[HistoryEntry | CasebookEntry]] = render.View(text=history_lines)
    shown: list[HistoryEntry | CasebookEntry] = list(entries)
    state.emit(shown, fmt, view)
