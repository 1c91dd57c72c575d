"""`edc config show`: the effective settings and where each one came from."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption

if TYPE_CHECKING:
    from edc.config import Explained

app = typer.Typer(help="show the effective settings", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="config")


@dataclasses.dataclass(frozen=True)
class ConfigReport:
    """The settings file read (None: none), and each setting with its value and source."""

    file: Path | None
    settings: list[Explained]


@app.command()
def show(fmt: FormatOption = render.Format.table) -> None:
    """Print each effective setting, its value (secrets masked) and its source.

    Sources, highest first: flag (--user), env (EDC_* variables), file (--config FILE, else
    $EDC_CONFIG, else ./edc.toml), default. The file takes the variables' names in lower case
    without EDC_ (data_dir, database_url, user, fhir_client_id, fhir_key_file, fhir_kid,
    fhir_alg, fhir_token_url).
    """
    from edc import config

    invocation = state.current()
    flags = {"user": invocation.user} if invocation.user else {}
    explained, file = config.explain_settings(config_file=invocation.config_file, flags=flags)
    view = render.View[ConfigReport](
        sections=(render.Section("settings"),),
        headline=lambda r: f"settings file: {r.file or 'none'}",
    )
    state.emit(ConfigReport(file, explained), fmt, view)
