"""`edc protocol check|compile|register`: validate, compile to FHIR R4, record in the warehouse."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from edc import config


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "protocol",
        help="check or compile a study protocol file",
        description=(
            "A protocol file (YAML) describes one version of a trial: study, sites, arms and "
            "randomization, eligibility, visit schedule, forms, adverse events and analysis "
            "plan. Every problem is reported with file:line and field path (exit code 2)."
        ),
    )
    sub = parser.add_subparsers(dest="protocol_command", metavar="ACTION", required=True)

    check = sub.add_parser(
        "check", help="validate a protocol file and report every problem at once"
    )
    check.add_argument("file", type=Path, help="protocol YAML file")
    check.set_defaults(run=_check)

    compile_ = sub.add_parser(
        "compile",
        help="compile a protocol to a FHIR R4 transaction Bundle",
        description=(
            "Compile to one transaction Bundle (ResearchStudy per study and site, schedule of "
            "activities, Questionnaires, eligibility Groups, CTCAE terminology) of conditional "
            "PUTs keyed on canonical URL + version. The same file always gives the same bytes; "
            "nothing is written when the protocol has problems."
        ),
    )
    compile_.add_argument("file", type=Path, help="protocol YAML file")
    compile_.add_argument(
        "-o", "--output", type=Path, required=True, help="where to write the Bundle (JSON)"
    )
    compile_.set_defaults(run=_compile)

    register_ = sub.add_parser(
        "register",
        help="check, compile and record a protocol version in the warehouse",
        description=(
            "Record the study, its sites and this protocol version (YAML source, compiled "
            "Bundle and its SHA-256) in the warehouse, audited. Registering the same file again "
            "changes nothing; the same study.version with different content is refused "
            "(exit 2): bump study.version for an amendment."
        ),
    )
    register_.add_argument("file", type=Path, help="protocol YAML file")
    register_.set_defaults(run=_register)


def _check(args: argparse.Namespace, settings: config.Settings) -> int:
    from edc.actions import protocol

    checked = protocol.check(args.file)
    print(f"ok: {checked.summary()}")
    return 0


def _compile(args: argparse.Namespace, settings: config.Settings) -> int:
    from edc.actions import protocol

    checked = protocol.compile_to(args.file, args.output)
    print(f"wrote {args.output}: {checked.summary()}", file=sys.stdout)
    return 0


def _register(args: argparse.Namespace, settings: config.Settings) -> int:
    from edc.actions import protocol

    registered = protocol.register(settings, args.file)
    state = "registered" if registered.created else "already registered"
    print(f"{state}: {registered.checked.summary()}")
    return 0
