"""`edc db upgrade|downgrade|current|revision`: manage the warehouse schema."""

from __future__ import annotations

import argparse
from typing import Any

from edc import config


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "db",
        help="create or migrate the warehouse database (EDC_DATABASE_URL)",
        description="Database URL from EDC_DATABASE_URL; default a SQLite file in EDC_DATA_DIR.",
    )
    sub = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = sub.add_parser("upgrade", help="migrate the warehouse to the newest schema")
    upgrade.add_argument("--revision", default="head", help="target revision (default: head)")
    upgrade.set_defaults(run=_upgrade)
    downgrade = sub.add_parser("downgrade", help="migrate down ('base' removes every table)")
    downgrade.add_argument("revision", help="target revision, or 'base'")
    downgrade.set_defaults(run=_downgrade)
    current = sub.add_parser("current", help="show the revision the warehouse is at")
    current.set_defaults(run=_current)
    revision = sub.add_parser(
        "revision", help="(developers) write a new migration from the model changes"
    )
    revision.add_argument("-m", "--message", required=True, help="what it does, imperative")
    revision.set_defaults(run=_revision)


def _upgrade(args: argparse.Namespace, settings: config.Settings) -> int:
    from edc.actions import db as db_actions

    print(f"warehouse at revision {db_actions.upgrade(settings, args.revision)}")
    return 0


def _downgrade(args: argparse.Namespace, settings: config.Settings) -> int:
    from edc.actions import db as db_actions

    print(f"warehouse at revision {db_actions.downgrade(settings, args.revision) or 'base'}")
    return 0


def _current(args: argparse.Namespace, settings: config.Settings) -> int:
    from edc.actions import db as db_actions

    at, head = db_actions.current(settings)
    print(f"{at or 'base'} (newest: {head})")
    return 0


def _revision(args: argparse.Namespace, settings: config.Settings) -> int:
    from edc.warehouse import migrate

    print(f"wrote {migrate.revision(settings.database_url, args.message)}")
    return 0
