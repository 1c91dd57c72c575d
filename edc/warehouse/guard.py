"""The write guard (PostgreSQL): audited tables take writes only from edc's audited path.

Every audited table (``edc.warehouse.audit.is_audited``) carries statement-level triggers
(``write_guard``, ``write_guard_truncate``, created by the migrations) that refuse INSERT,
UPDATE and DELETE unless the transaction has declared one of edc's write paths in the
transaction-local setting ``edc.write_path`` (:data:`PATHS`), and refuse TRUNCATE always. edc
declares ``audited`` in one place: :func:`_audited_path`, when an ORM ``Session`` begins a
transaction; sync's batch writer declares ``received`` or ``derived`` on that same Session's
connection for the rows it writes with its own audit receipts (the audit granularity
decision). A Session is edc's audited path: its flush hooks write the audit rows of every
change, refuse a flush without an audit context, and refuse bulk DML that would bypass them
(``edc.warehouse.audit``); ``edc.warehouse.bulk`` writes through the Session's connection with
its audit rows. Statements sent on a bare connection, or from ``psql``, are refused.

The setting is no secret: the guard stops writes made by mistake or by habit (a "quick fix" in
``psql``), and every other role than edc's. What makes it binding is the role edc connects with
(``deploy/runbook.md``): it does not own the tables, so it cannot drop or disable these
triggers, nor the audit trail's; and the checkpoints (``edc.warehouse.checkpoints``) show
whatever the owner does.

Other triggers sit beside these (the lock triggers refuse writes to frozen or locked subjects
whoever writes); each refuses on its own terms. A migration that creates an audited table adds
:data:`TRIGGER_SQL` for it; ``tests/warehouse/test_write_guard.py`` fails for a table without.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.orm import Session, SessionTransaction

from edc.warehouse import db

SETTING = "edc.write_path"
AUDITED = "audited"
# Every value the triggers accept (written out in the migration that made them).
PATHS = (AUDITED, "received", "derived")
FUNCTION = "edc_write_guard"

# Per table, with {table} filled in (the function is created once, by the migration that
# introduced the guard).
TRIGGER_SQL = (
    "CREATE TRIGGER write_guard BEFORE INSERT OR UPDATE OR DELETE ON {table} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()",
    "CREATE TRIGGER write_guard_truncate BEFORE TRUNCATE ON {table} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()",
)


def allow_audited_writes(connection: Connection) -> None:
    """Mark the connection's current transaction as edc's audited path (PostgreSQL only).

    For Sessions this happens on its own; call it for a bare connection only where what it
    writes is audited otherwise (the migrations).
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT set_config('{SETTING}', '{AUDITED}', true)")


@event.listens_for(Session, "after_begin")
def _audited_path(session: Session, transaction: SessionTransaction, connection: Any) -> None:
    if not connection.get_execution_options().get(db.READ_ONLY):
        allow_audited_writes(connection)
