"""Options shared by several commands: one definition each, the same metavar everywhere.

Metavars: ``URL`` (a FHIR base or token URL), ``FILE``, ``DIR``, ``ID`` (a study code, job
id, client or key id), ``N`` (a count), ``SECONDS``, ``RATE`` (a share within 0..1).

``FormatOption`` goes on every command that reports data. Groups of flags that travel
together (the SMART credentials, the sync source) are dataclasses whose fields are Typer
options; ``include(Flags, "name")`` adds those options to a command and hands the command one
``Flags`` instance as its parameter ``name``.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from edc.cli.render import Format

if TYPE_CHECKING:  # loaded only when a command runs
    from edc import config
    from edc.fhir.target import ServerSpec

R = TypeVar("R")

FormatOption = Annotated[
    Format,
    typer.Option(
        "--format",
        help="table (for people), json or csv (for programs; messages go to stderr)",
        case_sensitive=False,
    ),
]
ProtocolFile = Annotated[Path, typer.Argument(metavar="FILE", help="protocol YAML file")]
StudyOption = Annotated[str, typer.Option("--study", metavar="ID", help="the study's code")]
FhirUrlOption = Annotated[
    str | None, typer.Option("--fhir-url", metavar="URL", help="the FHIR R4 server's base URL")
]
RequiredFhirUrl = Annotated[
    str, typer.Option("--fhir-url", metavar="URL", help="the FHIR R4 server's base URL")
]
SMART_PANEL = "SMART Backend Services (or EDC_FHIR_* settings)"
PatientSourceOption = Annotated[
    str | None,
    typer.Option(
        "--patient-source",
        metavar="SOURCE",
        help="the server URL or directory the patient was synced from, when the id is on several",
    ),
]


class SmartAlg(enum.StrEnum):
    RS384 = "RS384"
    ES384 = "ES384"


@dataclasses.dataclass(frozen=True)
class ServerFlags:
    """How to reach a FHIR server: retries and SMART credentials (``--fhir-url`` is separate,
    since it is required by some commands and optional for others)."""

    max_attempts: Annotated[
        int,
        typer.Option(
            metavar="N", help="tries per request before giving up (waits honour Retry-After)"
        ),
    ] = 5
    smart_client_id: Annotated[
        str | None,
        typer.Option(metavar="ID", help="our registered client id", rich_help_panel=SMART_PANEL),
    ] = None
    smart_key: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="private key, PEM", rich_help_panel=SMART_PANEL),
    ] = None
    smart_kid: Annotated[
        str | None,
        typer.Option(
            metavar="ID", help="id of the registered public key", rich_help_panel=SMART_PANEL
        ),
    ] = None
    smart_alg: Annotated[
        SmartAlg | None,
        typer.Option(help="signing algorithm (default RS384)", rich_help_panel=SMART_PANEL),
    ] = None
    smart_scope: Annotated[
        str | None,
        typer.Option(
            metavar="SCOPES",
            help="scopes to ask for (default: what the command needs)",
            rich_help_panel=SMART_PANEL,
        ),
    ] = None
    smart_token_url: Annotated[
        str | None,
        typer.Option(metavar="URL", help="default: discovered", rich_help_panel=SMART_PANEL),
    ] = None
    smart_allow_http: Annotated[
        bool,
        typer.Option(
            "--smart-allow-http",
            help="allow SMART over plain http off 127.0.0.1 (tokens in clear; test networks)",
            rich_help_panel=SMART_PANEL,
        ),
    ] = False
    fhir_trust_origin: Annotated[
        list[str] | None,
        typer.Option(
            metavar="URL",
            help="another server edc may send this server's requests to (its authorisation "
            "server, its Bulk status host); repeatable; also EDC_FHIR_TRUSTED_ORIGINS",
        ),
    ] = None

    def spec(self, settings: config.Settings, url: str, *, scope: str) -> ServerSpec:
        """The server these flags and the settings name, checked (no network yet).

        :raises errors.BadInputError: an unusable URL, or SMART settings given only in part.
        """
        from edc import errors
        from edc.fhir.target import ServerSpec, SmartSpec

        defaults = settings.smart
        client_id = self.smart_client_id or defaults.client_id
        key_file = self.smart_key or defaults.key_file
        kid = self.smart_kid or defaults.kid
        smart = None
        if client_id is not None and key_file is not None and kid is not None:
            smart = SmartSpec(
                client_id=client_id,
                key_file=key_file,
                kid=kid,
                scope=self.smart_scope or scope,
                alg=self.smart_alg.value if self.smart_alg else defaults.alg,
                token_url=self.smart_token_url or defaults.token_url,
                allow_http=self.smart_allow_http or defaults.allow_http,
            )
        elif (client_id, key_file, kid) != (None, None, None):
            raise errors.BadInputError(
                "SMART credentials are incomplete",
                "give all of --smart-client-id, --smart-key and --smart-kid (or EDC_FHIR_*)",
            )
        trusted = (*settings.fhir_trusted_origins, *(self.fhir_trust_origin or ()))
        return ServerSpec(
            url,
            smart,
            max_attempts=self.max_attempts,
            trusted_origins=tuple(dict.fromkeys(trusted)),
        ).check()


def include(flags_type: type[Any], name: str) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Add the options of the dataclass ``flags_type`` to a command; it receives them as one
    ``flags_type`` instance in its parameter ``name``."""
    hints = typing.get_type_hints(flags_type, include_extras=True)
    fields = dataclasses.fields(flags_type)

    def decorate(command: Callable[..., R]) -> Callable[..., R]:
        own_hints = typing.get_type_hints(command, include_extras=True)
        # Typer passes every parameter by keyword: keyword-only lets the order be the help's.
        own = [
            p.replace(
                annotation=own_hints.get(p.name, p.annotation), kind=inspect.Parameter.KEYWORD_ONLY
            )
            for p in inspect.signature(command).parameters.values()
        ]
        added = [
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                # A field without a default is a required option.
                default=inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default,
                annotation=hints[f.name],
            )
            for f in fields
        ]

        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> R:
            kwargs[name] = flags_type(**{f.name: kwargs.pop(f.name) for f in fields})
            return command(*args, **kwargs)

        # The group's options take the place of its parameter (the help lists them there).
        at = next(i for i, p in enumerate(own) if p.name == name)
        parameters = own[:at] + added + own[at + 1 :]
        wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return wrapper

    return decorate
