"""`edc protocol check|compile|register`: validate, compile to FHIR R4, record in the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, ProtocolFile

app = typer.Typer(
    help="check, compile or register a study protocol file",
    no_args_is_help=True,
    short_help="check, compile or register a study protocol file",
)
app.info.help = (
    "A protocol file (YAML) describes one version of a trial: study, sites, arms and "
    "randomization, eligibility, visit schedule, forms, adverse events and analysis plan. "
    "Every problem is reported with file:line and field path (exit code 2)."
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="protocol")


@app.command()
def check(file: ProtocolFile, fmt: FormatOption = render.Format.table) -> None:
    """Validate a protocol file and report every problem at once."""
    from edc.actions import protocol

    overview = protocol.check(file, model_check=False).overview()
    state.emit(overview, fmt, render.View(headline=lambda o: f"ok: {o.text()}"))


@app.command("compile")
def compile_(
    file: ProtocolFile,
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="FILE", help="where to write the Bundle")
    ],
    fmt: FormatOption = render.Format.table,
) -> None:
    """Compile a protocol to one FHIR R4 transaction Bundle (JSON).

    The Bundle holds a ResearchStudy per study and site, the schedule of activities,
    Questionnaires, eligibility Groups and CTCAE terminology, as conditional PUTs keyed on
    canonical URL + version. The same file always gives the same bytes; nothing is written
    when the protocol has problems.
    """
    from edc.actions import protocol

    overview = protocol.compile_to(file, output).overview()
    view = render.View(
        headline=lambda o: f"wrote {output}: {o.text()}", extra={"output": lambda _: output}
    )
    state.emit(overview, fmt, view)


@app.command("register")
def register_(file: ProtocolFile, fmt: FormatOption = render.Format.table) -> None:
    """Check, compile and record a protocol version in the warehouse.

    Records the study, its sites and this protocol version (YAML source, compiled Bundle and
    its SHA-256), audited. Registering the same file again changes nothing; the same
    study.version with different content is refused (exit 2): bump study.version for an
    amendment.
    """
    from edc.actions import protocol

    registered = protocol.register(state.settings(), file)
    state_text = "registered" if registered.created else "already registered"
    view = render.View(
        headline=lambda o: f"{state_text}: {o.text()}",
        extra={"created": lambda _: registered.created},
    )
    state.emit(registered.checked.overview(), fmt, view)
