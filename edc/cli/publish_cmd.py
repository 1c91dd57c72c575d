"""`edc publish FILE --fhir-url URL`: register a protocol and publish its definitions."""

from __future__ import annotations

import dataclasses

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, ProtocolFile, RequiredFhirUrl, ServerFlags, include

SCOPE = "system/*.read system/*.write"


def register(root: typer.Typer) -> None:
    root.command("publish")(publish)


@dataclasses.dataclass(frozen=True)
class PublishReport:
    """What `edc publish` reports: the protocol, the server, definitions sent and unchanged."""

    study: str
    version: str
    sha256: str
    server_url: str
    sent: int
    unchanged: int
    definitions: list[dict[str, object]]
    left_out: list[str]


@include(ServerFlags, "server")
def publish(
    file: ProtocolFile,
    fhir_url: RequiredFhirUrl,
    server: ServerFlags,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Register a protocol and publish its FHIR definitions to a server.

    Check and register the protocol, then send its definitions (ResearchStudy per study and
    site, PlanDefinitions, Questionnaires, Groups, CodeSystems, ValueSets, Locations,
    Organization; the StructureDefinitions of edc's extensions when the server takes them,
    else left out and named) in one transaction of conditional PUTs. Only what the server
    lacks or holds in another form is sent, so publishing twice changes nothing. Exit 2: the
    protocol has problems, or the server holds this version with other content (nothing is
    sent). Exit 3: the server is unreachable or lacks what publishing needs (named).
    """
    from edc.actions import publish as publish_action

    settings = state.settings()
    result = publish_action.publish(settings, file, server.spec(settings, fhir_url, scope=SCOPE))
    overview = result.registered.checked.overview()
    report = PublishReport(
        study=overview.study,
        version=overview.version,
        sha256=overview.sha256,
        server_url=result.server_url,
        sent=result.sent,
        unchanged=result.unchanged,
        definitions=[
            {
                "resource_type": p.definition.resource_type,
                "key": p.definition.key,
                "server_id": p.server_id,
                "version_id": p.version_id,
                "sent": p.sent,
            }
            for p in result.published
        ],
        left_out=list(result.left_out),
    )
    view = render.View[PublishReport](
        headline=lambda r: [
            overview.text(),
            f"published to {r.server_url}: {r.sent} sent, {r.unchanged} already there unchanged",
            *(
                [f"left out (the server does not take them): {', '.join(r.left_out)}"]
                if r.left_out
                else []
            ),
        ]
    )
    state.emit(report, fmt, view)
