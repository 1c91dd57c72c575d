"""The root ``edc`` command: global flags, the sub-apps, and the one place errors become codes."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

import edc
from edc import errors
from edc.cli import argv, state

# Command modules, in the order `edc --help` lists them; each has ``register(root)``.
COMMAND_MODULES: tuple[str, ...] = (
    "edc.cli.demo_cmd",
    "edc.cli.protocol_cmd",
    "edc.cli.db_cmd",
    "edc.cli.audit_cmd",
    "edc.cli.publish_cmd",
    "edc.cli.sync_cmd",
    "edc.cli.scheduler_cmd",
    "edc.cli.user_cmd",
    "edc.cli.screen_cmd",
    "edc.cli.consent_cmd",
    "edc.cli.enroll_cmd",
    "edc.cli.randomization_cmd",
    "edc.cli.randomize_cmd",
    "edc.cli.unblind_cmd",
    "edc.cli.lock_cmd",
    "edc.cli.export_cmd",
    "edc.cli.analyze_cmd",
    "edc.cli.visits_cmd",
    "edc.cli.monitor_cmd",
    "edc.cli.query_cmd",
    "edc.cli.sdv_cmd",
    "edc.cli.push_cmd",
    "edc.cli.generate_cmd",
    "edc.cli.load_cmd",
    "edc.cli.config_cmd",
    "edc.cli.doctor_cmd",
    "edc.cli.serve_cmd",
)

HELP = (
    "FHIR-native electronic data capture for multi-center randomized trials.\n\n"
    "Exit codes: 0 ok, 1 a check found a failure, 2 bad input, 3 an external system failed. "
    "The global options (-v, -q, --config, --user) may also be given after the command."
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"edc {edc.__version__}\n")
        raise typer.Exit()


def _root(
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose", "-v", count=True, metavar="", help="more log output (-v info, -vv debug)"
        ),
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="only errors: no progress, no messages")
    ] = False,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            help="settings file (default: $EDC_CONFIG, else ./edc.toml if present)",
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            metavar="NAME",
            help="who is acting: audit actor and roles (default: $EDC_USER, else your login)",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="print the version"),
    ] = False,
) -> None:
    from edc import logs

    invocation = state.current()
    invocation.verbosity = -1 if quiet else verbose
    invocation.quiet = quiet
    invocation.config_file = config_file
    invocation.user = user
    logs.configure_logging(invocation.verbosity)


def build() -> typer.Typer:
    """The root app with every command module registered."""
    root = typer.Typer(
        name="edc",
        help=HELP,
        no_args_is_help=True,
        rich_markup_mode="rich",
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
        pretty_exceptions_enable=False,
    )
    root.callback()(_root)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(root)
    return root


def command() -> Any:
    """The Click command tree behind the app (for help text, docs and argv handling)."""
    return typer.main.get_command(build())


def run(args: Sequence[str] | None = None) -> int:
    """Run one command line and return its exit code (never raises for a user's mistake)."""
    tree = command()
    line = argv.hoist(sys.argv[1:] if args is None else list(args), tree)
    token = state.begin(state.Invocation())
    try:
        tree.main(args=line, prog_name="edc", standalone_mode=True)
    except SystemExit as exc:
        return _exit_code(exc.code)
    except errors.UserError as exc:
        sys.stdout.flush()
        sys.stderr.write(f"edc: error: {exc.message}\n")
        if exc.details:
            sys.stderr.write(exc.details.rstrip("\n") + "\n")
        return exc.exit_code
    except typer.Abort:
        sys.stderr.write("edc: interrupted\n")
        return 130
    except KeyboardInterrupt:
        sys.stderr.write("edc: interrupted\n")
        return 130
    finally:
        state.end(token)
    return errors.EXIT_OK


def _exit_code(code: object) -> int:
    if code is None:
        return errors.EXIT_OK
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1
