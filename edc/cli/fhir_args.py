"""Flags shared by the commands that talk to a FHIR server: its URL and SMART credentials."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from edc import config, errors

if TYPE_CHECKING:  # the FHIR client loads only when a command runs
    from edc.fhir.target import ServerSpec


def add_server_arguments(parser: argparse.ArgumentParser, *, required: bool, scope: str) -> None:
    """``--fhir-url`` and the ``--smart-*`` flags (defaults from ``EDC_FHIR_*``)."""
    parser.add_argument(
        "--fhir-url", required=required, metavar="URL", help="the FHIR R4 server's base URL"
    )
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=5,
        metavar="N",
        help="tries per request before giving up (default 5; waits honour Retry-After)",
    )
    smart = parser.add_argument_group(
        "SMART Backend Services (when the server needs a token; or EDC_FHIR_CLIENT_ID, "
        "EDC_FHIR_KEY_FILE, EDC_FHIR_KID, EDC_FHIR_ALG, EDC_FHIR_TOKEN_URL)"
    )
    smart.add_argument("--smart-client-id", metavar="ID", help="our registered client id")
    smart.add_argument("--smart-key", type=Path, metavar="FILE", help="private key, PEM")
    smart.add_argument("--smart-kid", metavar="KID", help="id of the registered public key")
    smart.add_argument("--smart-alg", choices=("RS384", "ES384"), help="default RS384")
    smart.add_argument("--smart-scope", default=scope, help=f"scopes to ask for (default {scope})")
    smart.add_argument("--smart-token-url", metavar="URL", help="default: discovered")


def server_spec(args: argparse.Namespace, settings: config.Settings) -> ServerSpec:
    """The server the flags name, checked (no network yet).

    :raises errors.BadInputError: an unusable URL, or SMART settings given only in part.
    """
    from edc.fhir.target import ServerSpec, SmartSpec

    defaults = settings.smart
    client_id = args.smart_client_id or defaults.client_id
    key_file = args.smart_key or defaults.key_file
    kid = args.smart_kid or defaults.kid
    smart = None
    if client_id is not None and key_file is not None and kid is not None:
        smart = SmartSpec(
            client_id=client_id,
            key_file=key_file,
            kid=kid,
            scope=args.smart_scope,
            alg=args.smart_alg or defaults.alg,
            token_url=args.smart_token_url or defaults.token_url,
        )
    elif (client_id, key_file, kid) != (None, None, None):
        raise errors.BadInputError(
            "SMART credentials are incomplete",
            "give all of --smart-client-id, --smart-key and --smart-kid (or EDC_FHIR_*)",
        )
    return ServerSpec(args.fhir_url, smart, max_attempts=args.max_attempts).check()
