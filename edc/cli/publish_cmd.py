"""`edc publish FILE --fhir-url URL`: register a protocol and publish its definitions."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from edc import config
from edc.cli import fhir_args


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "publish",
        help="register a protocol and publish its FHIR definitions to a server",
        description=(
            "Check and register the protocol, then send its definitions (ResearchStudy per "
            "study and site, PlanDefinitions, Questionnaires, Groups, CodeSystems, ValueSets, "
            "Locations, Organization) in one transaction of conditional PUTs. Only what the "
            "server lacks or holds in another form is sent, so publishing twice changes "
            "nothing. Exit 2: the protocol has problems, or the server holds this version with "
            "other content (nothing is sent). Exit 3: the server is unreachable or lacks what "
            "publishing needs (named)."
        ),
    )
    parser.add_argument("file", type=Path, help="protocol YAML file")
    fhir_args.add_server_arguments(parser, required=True, scope="system/*.read system/*.write")
    parser.set_defaults(run=_publish)


def _publish(args: argparse.Namespace, settings: config.Settings) -> int:
    from edc.actions import publish

    server = fhir_args.server_spec(args, settings)
    result = publish.publish(settings, args.file, server)
    summary = result.registered.checked.summary()
    print(f"{summary}")
    print(
        f"published to {result.server_url}: {result.sent} sent, "
        f"{result.unchanged} already there unchanged"
    )
    return 0
