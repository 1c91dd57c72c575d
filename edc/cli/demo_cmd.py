"""`edc demo`: the whole path on an example study (embedded default, or through a server)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FhirUrlOption, FormatOption, ServerFlags, include
from edc.cli.sync_cmd import COUNT_COLUMNS

if TYPE_CHECKING:
    from edc.actions.demo import DemoResult

SCOPE = "system/*.*"


def register(root: typer.Typer) -> None:
    root.command("demo")(demo)


def _headline(result: DemoResult) -> list[str]:
    problems = sum(group.count for group in result.problems)
    return [
        f"generated: {result.generated}",
        f"synced: {'; '.join(result.stages)}",
        *result.path_lines(),
        f"per site as {result.viewer} (randomized per arm masked unless unblinded)",
        f"rejected (kept raw for the monitors): {result.rejected} ({problems} problems)",
        f"warehouse: {result.database}",
        *(result.locked.lines() if result.locked else []),
    ]


DEMO_VIEW: render.View[DemoResult] = render.View(
    sections=(
        render.Section(
            "sync.counts", title="synced", key="type", total="total", columns=COUNT_COLUMNS
        ),
        render.Section("sites", title="per site"),
        render.Section("problems", title="rejected, by reason"),
    ),
    headline=_headline,
)


@include(ServerFlags, "server")
def demo(
    server: ServerFlags,
    study: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="protocol file (default: the shipped spine-mwa-01)"),
    ] = None,
    patients: Annotated[int, typer.Option(metavar="N", help="hospital patients")] = 300,
    seed: Annotated[int, typer.Option(metavar="N", help="generator seed")] = 2027,
    defect_rate: Annotated[
        float,
        typer.Option(
            metavar="RATE", help="share of responses made invalid on purpose, to show rejection"
        ),
    ] = 0.02,
    fhir_url: FhirUrlOption = None,
    fmt: FormatOption = render.Format.table,
    serve: Annotated[
        bool, typer.Option(help="then open the demo study in the web application (edc serve)")
    ] = False,
    port: Annotated[int, typer.Option(metavar="N", help="port for --serve")] = 8000,
) -> None:
    """Run the site's path on an example study and summarize it.

    Generates three hospitals' patients (FHIR R4 NDJSON), syncs them into the warehouse
    (EDC_DATABASE_URL, default a SQLite file in EDC_DATA_DIR), pre-screens them, consents and
    enrolls the candidates who agree, opens randomization (the SHA-256 commitment is printed),
    randomizes, lets the trial's forms and adverse events flow in (generated from edc's own
    allocations, a few deliberately bad) and prints per site: screened, eligible, excluded,
    consented, enrolled, randomized per arm (masked unless --user
    demo-unblinded-statistician), forms and adverse events, and what was rejected and why.
    Needs no server; with --fhir-url the same data goes through that server (publish, load,
    sync, push). Running it again reuses the generated files and the warehouse. Ends with a
    web login per role (new passwords on every run) for `edc serve`.
    """
    # Imported here: the demo pulls in every subsystem, which other commands need not load.
    from edc.actions import demo as demo_action

    settings = state.settings()
    viewer = {"viewer": settings.user} if settings.user.startswith("demo-") else {}
    options = demo_action.DemoOptions(
        study=study or demo_action.example_study(),
        patients=patients,
        seed=seed,
        defect_rate=defect_rate,
        server=server.spec(settings, fhir_url, scope=SCOPE) if fhir_url else None,
        **viewer,  # the demo's people: --user demo-unblinded-statistician sees the arms
    )
    result = demo_action.demo(settings, options, state.progress)
    state.emit(result, fmt, DEMO_VIEW)
    from edc.actions import demo_users
    from edc.actions import serve as serve_action

    state.say("web logins (new passwords on every run; open with `edc serve`):")
    for login in demo_users.demo_logins(settings, result.study_code):
        where = f"site {login.site}" if login.site else "all sites"
        state.say(f"  {login.username:<28} {login.password:<14} {login.role} ({where})")
    if serve:
        serve_options = serve_action.ServeOptions(port=port)
        serve_options.check()
        state.say(f"edc: serving http://127.0.0.1:{port}/ ; Ctrl-C stops")
        serve_action.serve(settings, serve_options)
