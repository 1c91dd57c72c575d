"""`edc serve`: the web application (pages for sites, monitors and statisticians; JSON API)."""

from __future__ import annotations

from typing import Annotated

import typer

from edc.cli import state

HostOption = Annotated[str, typer.Option(metavar="HOST", help="address to listen on")]
PortOption = Annotated[int, typer.Option(metavar="N", help="port to listen on")]


def register(root: typer.Typer) -> None:
    root.command("serve")(serve)


def serve(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    secure_cookies: Annotated[
        bool, typer.Option(help="mark the session cookie Secure (when served behind HTTPS)")
    ] = False,
) -> None:
    """Serve the web application and its JSON API until Ctrl-C.

    Pages (login, study dashboard, subjects, a site's screening worklist with consent,
    enrollment and randomization, CRF entry rendered by LHC-Forms, adverse events, monitoring:
    deviations, the query inbox and SDV; lock signing, exports and the analysis report) and the
    JSON API under /api/v1/ (OpenAPI at /api/v1/openapi.json, browsable at
    /api/v1/docs), over the warehouse (EDC_DATABASE_URL, default the SQLite file in
    EDC_DATA_DIR). Users log in with a password; every page and API call is limited to the
    user's studies, sites and role.
    """
    from edc.actions import serve as serve_action

    options = serve_action.ServeOptions(host, port, secure_cookies)
    options.check()
    state.say(f"edc: serving http://{host}:{port}/ (API docs at /api/v1/docs); Ctrl-C stops")
    serve_action.serve(state.settings(), options)
