"""`edc audit verify|show`: check the audit trail's hash chain; show one record's history."""

from __future__ import annotations

import argparse
from typing import Any

from edc import config


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "audit", help="verify the audit trail or show a record's history"
    )
    sub = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = sub.add_parser(
        "verify", help="recompute the hash chain; exit 1 naming the first broken row"
    )
    verify.set_defaults(run=_verify)
    show = sub.add_parser("show", help="print the changes to one record, oldest first")
    show.add_argument(
        "--record", required=True, metavar="TABLE:ID", help="e.g. subject:12 or item_value:40"
    )
    show.set_defaults(run=_show)


def _verify(args: argparse.Namespace, settings: config.Settings) -> int:
    from edc.actions import audit as audit_actions

    report = audit_actions.verify(settings)
    print(f"audit chain intact: {report.rows} rows, head {report.head_seq} {report.head_hash}")
    return 0


def _show(args: argparse.Namespace, settings: config.Settings) -> int:
    from edc.actions import audit as audit_actions

    entries = audit_actions.history(settings, args.record)
    if not entries:
        print(f"no audit rows for {args.record}")
    for entry in entries:
        field = f" {entry.field}" if entry.field else ""
        reason = f"  reason: {entry.reason}" if entry.reason else ""
        print(
            f"#{entry.seq} {entry.at.isoformat()} {entry.actor} ({entry.role}) {entry.action}"
            f"{field}{reason}"
        )
        if entry.old_value is not None:
            print(f"    old: {entry.old_value}")
        if entry.new_value is not None:
            print(f"    new: {entry.new_value}")
    return 0
