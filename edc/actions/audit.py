"""`edc audit`: check the audit chain and its checkpoints, record a checkpoint, show a record's
history."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import Connection, Engine, select

from edc import config, errors
from edc.actions import blinding
from edc.clock import Clock, SystemClock
from edc.warehouse import chain, checkpoints, db, migrate
from edc.warehouse.base import Base, table_of
from edc.warehouse.tables.audit import AuditEventRow


@dataclasses.dataclass(frozen=True)
class HistoryEntry:
    """One audit row, as shown to a person."""

    seq: int
    at: dt.datetime
    actor: str
    role: str
    action: str
    field: str | None
    old_value: str | None
    new_value: str | None
    reason: str | None


@dataclasses.dataclass(frozen=True)
class Verification:
    """An intact audit trail: the chain (``chain.ChainReport``'s fields), what its checkpoints
    showed (None when they were skipped), and the checkpoint this verification added.

    :ivar checkpoints_checked: checkpoints of this warehouse found to hold.
    :ivar other_warehouses: checkpoints in the file that belong to other warehouses.
    :ivar latest_checkpoint: when the latest of them was written.
    :ivar checkpoint_added: when this verification's checkpoint was written.
    :ivar derived_responses: with ``derived``, the form responses re-derived from their raw
        resources and found to agree (None when not asked).
    :ivar derived_item_values: with ``derived``, their item values compared.
    :ivar derived_adverse_events: with ``derived``, the adverse events re-derived from theirs.
    """

    rows: int
    head_seq: int
    head_hash: str
    first_break: chain.Break | None
    checkpoints_checked: int | None
    other_warehouses: int | None
    latest_checkpoint: str | None
    checkpoint_added: str | None
    derived_responses: int | None = None
    derived_item_values: int | None = None
    derived_adverse_events: int | None = None


# Differences listed in the error before "... and N more".
SHOWN_DIFFERENCES = 20


def verify(
    settings: config.Settings,
    *,
    with_checkpoints: bool = True,
    derived: bool = False,
    clock: Clock | None = None,
) -> Verification:
    """Recompute the audit hash chain, then check it against the checkpoints kept outside the
    database (rows cut off its end, or rewritten with every later hash recomputed, fail there);
    when all holds, append a checkpoint of it (event ``verify``).

    :param with_checkpoints: False checks the chain only (and writes no checkpoint).
    :param derived: also re-derive the form responses (with their visit), item values and
        adverse events from the raw resources they came from (``edc.sync.derived``): rows
        synced from a source have no audit rows of their own (the raw resource version is
        audited), so this is what finds them changed.
    :raises errors.CheckFailedError: naming the first row that breaks the chain, or what the
        checkpoints show (rows missing, rows rewritten, a checkpoint line not genuine), or with
        ``derived``, each derived row (table:id field) its raw resource does not give.
    :raises errors.BadInputError: when the database is not migrated to this edc's schema, or
        the checkpoint file cannot be read.
    """
    engine = open_warehouse(settings)
    location = checkpoints.location_for(settings)
    warehouse = checkpoints.warehouse_id(settings.database_url)
    try:
        with db.read_only(engine).connect() as connection:
            report = chain.verify(connection)
            if report.first_break is not None:
                brk = report.first_break
                raise errors.CheckFailedError(
                    f"audit chain broken at row {brk.seq} ({brk.table_name} {brk.record_id}): "
                    f"{brk.problem}",
                    f"{report.rows} rows before it verify; the last good hash is "
                    f"{report.head_hash}",
                )
            counts = _verify_derived(connection) if derived else (None, None, None)
            if not with_checkpoints:
                return Verification(
                    report.rows, report.head_seq, report.head_hash, None, None, None, None, None,
                    *counts,
                )  # fmt: skip
            finding = checkpoints.verify(connection, location, warehouse=warehouse)
            if finding.problem is not None:
                raise errors.CheckFailedError(
                    f"audit trail does not match its checkpoints: {finding.problem}",
                    f"the chain itself verifies ({report.rows:,} rows); {finding.checked} "
                    f"checkpoint(s) of this warehouse in {location.log}",
                )
            written = checkpoints.write(
                connection,
                location,
                warehouse=warehouse,
                event="verify",
                clock=clock or SystemClock(),
            )
    finally:
        engine.dispose()
    return Verification(
        rows=report.rows,
        head_seq=report.head_seq,
        head_hash=report.head_hash,
        first_break=None,
        checkpoints_checked=finding.checked,
        other_warehouses=finding.other_warehouses,
        latest_checkpoint=finding.latest.at if finding.latest else None,
        checkpoint_added=written.at,
        derived_responses=counts[0],
        derived_item_values=counts[1],
        derived_adverse_events=counts[2],
    )


def _verify_derived(connection: Connection) -> tuple[int, int, int]:
    """(responses, item values, adverse events) re-derived and found to agree with their raw
    resources.

    :raises errors.CheckFailedError: listing the rows that do not.
    """
    from edc.sync import derived  # the sync package is heavy; only this option needs it

    report = derived.find_differences(connection)
    if report.differences:
        found = report.differences
        lines = [d.describe() for d in found[:SHOWN_DIFFERENCES]]
        if len(found) > SHOWN_DIFFERENCES:
            lines.append(f"... and {len(found) - SHOWN_DIFFERENCES:,} more")
        raise errors.CheckFailedError(
            f"derived data differs from the raw resources it came from: {len(found):,} "
            "difference(s), changed outside edc (no audit row accounts for them)",
            "\n".join(lines),
        )
    return report.responses, report.item_values, report.adverse_events


def checkpoint(
    settings: config.Settings, *, event: str = "manual", clock: Clock | None = None
) -> checkpoints.Checkpoint:
    """Append a checkpoint of the audit chain as it is now (e.g. before a backup).

    :raises errors.BadInputError: when the warehouse is not migrated, or the checkpoint file
        or key cannot be used.
    """
    engine = open_warehouse(settings)
    try:
        return checkpoints.record(settings, engine, event=event, clock=clock or SystemClock())
    finally:
        engine.dispose()


def history(settings: config.Settings, record: str) -> list[HistoryEntry]:
    """Every audit row of one record, oldest first.

    :param record: ``TABLE:ID``, e.g. ``subject:12``.
    :raises errors.BadInputError: for a malformed record, an unknown table, or a record that
        neither exists nor has audit rows (a silent "nothing" would hide a typo).
    """
    table_name, _, record_id = record.partition(":")
    if not table_name or not record_id:
        raise errors.BadInputError(f"--record {record!r}: expected TABLE:ID, e.g. subject:12")
    if table_name not in Base.metadata.tables:
        known = ", ".join(sorted(Base.metadata.tables))
        raise errors.BadInputError(f"--record {record!r}: no table {table_name!r}", known)
    audit = table_of(AuditEventRow)
    engine = open_warehouse(settings)
    try:
        with db.read_only(engine).connect() as connection:
            rows = connection.execute(
                select(audit)
                .where(audit.c.table_name == table_name, audit.c.record_id == record_id)
                .order_by(audit.c.seq)
            ).mappings()
            entries = [
                HistoryEntry(
                    **{field.name: row[field.name] for field in dataclasses.fields(HistoryEntry)}
                )
                for row in rows
            ]
            if not entries and not _exists(connection, table_name, record_id):
                raise errors.BadInputError(
                    f"--record {record!r}: no such record, and no audit rows for it"
                )
            study = blinding.study_of_record(connection, table_name, record_id)
    finally:
        engine.dispose()
    if table_name in blinding.blinded_columns() and not blinding.sees_arms(settings, study):
        entries = blinding.mask(entries, lambda _: table_name, lambda e: e.field)
    return entries


def open_warehouse(settings: config.Settings) -> Engine:
    """An engine on the configured warehouse, which must exist and be migrated.

    :raises errors.BadInputError: no warehouse there, or not at this edc's schema.
    :raises errors.ExternalSystemError: the database cannot be reached.
    """
    path = db.sqlite_file(settings.database_url)
    if path is not None and not path.is_file():
        # Connecting would create an empty database file: say what is missing instead.
        raise errors.BadInputError(f"no warehouse at {path}", "run `edc db upgrade` first")
    engine = db.make_engine(settings.database_url)
    try:
        with db.reporting_failures(engine):
            migrate.require_current(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _exists(connection: Connection, table_name: str, record_id: str) -> bool:
    table = Base.metadata.tables[table_name]
    key = list(table.primary_key.columns)
    if len(key) != 1:
        return False
    try:
        value: object = int(record_id) if key[0].type.python_type is int else record_id
    except (ValueError, NotImplementedError):
        return False
    return connection.scalar(select(key[0]).where(key[0] == value)) is not None
