"""`edc audit verify|show`: check the audit trail's hash chain; show the history of records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from edc import errors
from edc.cli import render, state
from edc.cli.options import FormatOption

if TYPE_CHECKING:
    from edc.actions.audit import HistoryEntry, Verification
    from edc.actions.casebook import CasebookEntry
    from edc.warehouse.checkpoints import Checkpoint

app = typer.Typer(
    help="verify the audit trail, or show the history of records", no_args_is_help=True
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="audit")


def _intact(result: Verification) -> list[str]:
    lines = [f"audit chain intact: {result.rows} rows, head {result.head_seq} {result.head_hash}"]
    if result.checkpoints_checked is None:
        lines.append("checkpoints: not checked (--skip-checkpoints)")
    elif result.latest_checkpoint is None:
        lines.append("checkpoints: none of this warehouse yet (this verification added the first)")
    else:
        lines.append(
            f"checkpoints: {result.checkpoints_checked} of this warehouse hold, the latest of "
            f"{result.latest_checkpoint}"
        )
    if result.derived_responses is not None:
        lines.append(
            f"derived data agrees with the raw resources: {result.derived_responses:,} form "
            f"responses, {result.derived_item_values:,} item values, "
            f"{result.derived_adverse_events:,} adverse events"
        )
    return lines


@app.command()
def verify(
    skip_checkpoints: Annotated[
        bool,
        typer.Option(
            "--skip-checkpoints",
            help="check the chain only (it cannot show rows cut off or recomputed)",
        ),
    ] = False,
    derived: Annotated[
        bool,
        typer.Option(
            "--derived",
            help="also re-derive form responses, item values and adverse events from their raw "
            "resources",
        ),
    ] = False,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Recompute the hash chain and check it against the checkpoints; exit 1 if broken.

    With --derived, the rows normalized from received resources (audited once per resource
    version, not row by row) are derived again from the stored raw resources; any row that
    differs and that no audit row accounts for is listed (table:id field) and exits 1.

    The checkpoints (EDC_AUDIT_CHECKPOINTS, keyed by EDC_AUDIT_KEY_FILE) are kept outside the
    database: rows cut off the end of the trail, or rewritten with every later hash
    recomputed, show there. Exit 1 names what is wrong; when all holds, a checkpoint is added.
    """
    from edc.actions import audit

    result = audit.verify(state.settings(), with_checkpoints=not skip_checkpoints, derived=derived)
    state.emit(result, fmt, render.View(headline=_intact))


def _recorded(written: Checkpoint) -> str:
    return f"checkpoint: {written.rows} rows, head {written.head_hash} at {written.at}"


@app.command()
def checkpoint(fmt: FormatOption = render.Format.table) -> None:
    """Record the audit chain's row count and head hash outside the database.

    Appends a keyed checkpoint to the checkpoint file. Syncs and verifications add one on their
    own; add one by hand before a backup or a migration.
    """
    from edc.actions import audit

    state.emit(audit.checkpoint(state.settings()), fmt, render.View(headline=_recorded))


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
