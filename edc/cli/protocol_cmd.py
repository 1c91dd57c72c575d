"""`edc protocol check|compile`: validate a protocol file and compile it to FHIR R4."""

from __future__ import annotations

import argparse
from typing import Any

from edc import config


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "protocol", help="check or compile a study protocol file"
    )
    sub = parser.add_subparsers(dest="protocol_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate a protocol file and report every problem")
    check.add_argument("file", help="protocol YAML file")
    check.set_defaults(run=_not_yet)


def _not_yet(args: argparse.Namespace, settings: config.Settings) -> int:
    return 0
