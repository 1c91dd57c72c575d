"""The scheduler tests use the sync tests' warehouse fixtures."""

from tests.sync.conftest import clock, protocols, sqlite_warehouse, unique, warehouse

__all__ = ["clock", "protocols", "sqlite_warehouse", "unique", "warehouse"]
