"""The trial warehouse: SQL schema, sessions, migrations and the audit trail.

Modules: ``tables`` (the ``*Row`` classes), ``db`` (engines, sessions, transactions), ``audit``
(who changed what; bind it to every writing session), ``bulk`` (batched inserts with their audit
rows), ``chain`` (the audit hash chain), ``checkpoints`` (the chain anchored outside the
database), ``guard`` (PostgreSQL refuses writes to audited tables from outside edc's audited
path), ``migrate`` (Alembic, configured in code).
"""

from edc.warehouse import audit, bulk, chain, checkpoints, codes, db, guard, migrate, tables

__all__ = [
    "audit",
    "bulk",
    "chain",
    "checkpoints",
    "codes",
    "db",
    "guard",
    "migrate",
    "tables",
]
