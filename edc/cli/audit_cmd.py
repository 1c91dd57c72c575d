"""`edc audit verify|show`: check the audit trail's hash chain; show the history of records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption

if TYPE_CHECKING:
    from edc.actions.audit import HistoryEntry
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


def history_lines(entries: list[HistoryEntry]) -> list[str]:
    """One line per change (who, when, what, why), then its old and new values."""
    lines = []
    for entry in entries:
        field = f" {entry.field}" if entry.field else ""
        reason = f"  reason: {entry.reason}" if entry.reason else ""
        lines.append(
            f"#{entry.seq} {entry.at.isoformat()} {entry.actor} ({entry.role}) {entry.action}"
            f"{field}{reason}"
        )
        if entry.old_value is not None:
            lines.append(f"    old: {entry.old_value}")
        if entry.new_value is not None:
            lines.append(f"    new: {entry.new_value}")
    return lines


@app.command()
def show(
    record: Annotated[
        str,
        typer.Option(metavar="TABLE:ID", help="one record by table and row id, e.g. subject:12"),
    ],
    fmt: FormatOption = render.Format.table,
) -> None:
    """Print every change to one record, oldest first."""
    from edc.actions import audit

    entries = audit.history(state.settings(), record)
    state.emit(entries, fmt, render.View(text=history_lines))
