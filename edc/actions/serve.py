"""`edc serve`: the web application on an ASGI server (uvicorn)."""

from __future__ import annotations

import dataclasses

from edc import config, errors


@dataclasses.dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    secure_cookies: bool = False
    log_level: str = "info"

    def check(self) -> None:
        """:raises errors.BadInputError: a port outside 1..65535."""
        if not 0 < self.port < 65536:
            raise errors.BadInputError(f"--port must be within 1..65535, got {self.port}")


def serve(settings: config.Settings, options: ServeOptions) -> None:
    """Serve the pages and the API until interrupted.

    :raises errors.BadInputError: a port outside 1..65535, or the warehouse is missing or not
        migrated.
    """
    options.check()
    # Imported here: the web stack is loaded only by the command that serves it.
    import uvicorn

    from edc.web.app import create_app

    app = create_app(settings, secure_cookies=options.secure_cookies)
    uvicorn.run(
        app, host=options.host, port=options.port, log_level=options.log_level, server_header=False
    )
