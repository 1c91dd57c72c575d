"""`edc push`: deliver what edc wrote for the sites to their FHIR server (the outbox)."""

from __future__ import annotations

from typing import Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, RequiredFhirUrl, ServerFlags, StudyOption, include

SCOPE = "system/*.write"


def register(root: typer.Typer) -> None:
    root.command("push")(push)


@include(ServerFlags, "server")
def push(
    server: ServerFlags,
    study: StudyOption,
    fhir_url: RequiredFhirUrl,
    site: Annotated[str | None, typer.Option("--site", metavar="ID")] = None,
    every: Annotated[
        str | None,
        typer.Option(
            metavar="INTERVAL",
            help="instead: store a scheduler job that pushes every INTERVAL (15m, 1h)",
        ),
    ] = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Deliver the pending writes (Consent, ResearchSubject) to a site's FHIR server.

    Each write is conditional on its identifier, so pushing twice creates nothing twice. With
    the server unreachable the writes stay pending and the exit code is 3. With --every, a
    scheduler job does it (edc scheduler run), acting as the scheduler's user.
    """
    from edc.actions import push as action
    from edc.actions.workspace import Workspace

    settings = state.settings()
    spec = server.spec(settings, fhir_url, scope=SCOPE)
    if every is not None:
        from edc.actions import scheduler

        job = scheduler.add_push(settings, study, spec, scheduler.parse_every(every))
        state.say(f"scheduled {job}: push {study} to {fhir_url} every {every}")
        return
    with Workspace.open(settings) as workspace:
        result = action.push(workspace, study, spec, site=site)
    view = render.View[action.PushResult](
        sections=(render.Section("delivered"),),
        headline=lambda r: f"{len(r.delivered):,} delivered, {r.pending:,} pending",
    )
    state.emit(result, fmt, view)
