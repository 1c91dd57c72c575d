"""The `edc` command line: a thin shell over edc.actions.

Each subcommand lives in its own module in this package and exposes ``register(subparsers)``,
which adds its parser and sets ``run=callable(args, settings) -> int``. This package is the only
place that turns a ``UserError`` into a message on stderr and an exit code. Command modules
import their actions inside the run function: building the parser then loads no subsystem, and
`edc --help` answers in a fraction of a second instead of two.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import edc
from edc import config, errors, logs

# Subcommand modules, in the order `edc --help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "edc.cli.demo_cmd",
    "edc.cli.protocol_cmd",
    "edc.cli.db_cmd",
    "edc.cli.audit_cmd",
    "edc.cli.publish_cmd",
    "edc.cli.sync_cmd",
    "edc.cli.scheduler_cmd",
    "edc.cli.generate_cmd",
    "edc.cli.load_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    """The root parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="edc",
        description=(
            "FHIR-native electronic data capture for multi-center randomized trials. "
            "Exit codes: 0 ok, 1 a check found a failure, 2 bad input, 3 an external system failed."
        ),
    )
    parser.add_argument("--version", action="version", version=f"edc {edc.__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logs.configure_logging(args.verbose)
    try:
        settings = config.load_settings()
        code: int = args.run(args, settings)
    except errors.UserError as exc:
        print(f"edc: error: {exc.message}", file=sys.stderr)
        if exc.details:
            print(exc.details, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("edc: interrupted", file=sys.stderr)
        return 130
    return code
