"""`edc load DIR --fhir-url URL`: load a generated directory into a FHIR server (idempotent)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, RequiredFhirUrl, ServerFlags, include

if TYPE_CHECKING:
    from edc.actions.load import LoadResult

SCOPE = "system/*.read system/*.write"
_SHOWN_BAD_LINES = 10


def register(root: typer.Typer) -> None:
    root.command("load")(load)


LOAD_VIEW: render.View[LoadResult] = render.View(
    sections=(render.Section("counts", key="type", total="total"),),
    headline=lambda r: f"loaded {r.patients:,} patients in {r.seconds:.1f} s",
)


@include(ServerFlags, "server")
def load(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="the --out directory of `edc generate`")
    ],
    fhir_url: RequiredFhirUrl,
    server: ServerFlags,
    batch_size: Annotated[
        int, typer.Option(metavar="N", help="entries per transaction (whole patients)")
    ] = 500,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Load a directory written by `edc generate` into a FHIR server.

    Streams the generated NDJSON patient by patient into the server in transaction Bundles of
    conditional creates (on each resource's identifier), so a second load creates nothing. The
    study definitions must be published on the server first. Lines that are not JSON (injected
    defects) are skipped and listed. Exit 3 when the server cannot be reached.
    """
    from edc.actions import load as load_action

    spec = server.spec(state.settings(), fhir_url, scope=SCOPE)
    result = load_action.load(
        directory,
        spec,
        batch_entries=max(1, batch_size),
        progress=state.progress("load", "patients"),
    )
    state.emit(result, fmt, LOAD_VIEW)
    if result.bad_lines:
        state.say(f"skipped {len(result.bad_lines)} unreadable line(s):")
        for bad in result.bad_lines[:_SHOWN_BAD_LINES]:
            state.say(f"  {bad.file}:{bad.line}: {bad.reason}")
