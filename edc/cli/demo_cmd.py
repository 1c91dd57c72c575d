"""`edc demo`: the whole path on an example study (embedded default, or through a server)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from edc import config
from edc.cli import fhir_args
from edc.progress import StreamProgress


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="run the whole path on an example study and summarize it",
        description=(
            "Compile an example protocol, generate a synthetic three-site trial (FHIR R4 "
            "NDJSON, with a few deliberately bad responses), sync it into the warehouse "
            "(EDC_DATABASE_URL, default a SQLite file in EDC_DATA_DIR) and print per site: "
            "patients, subjects, forms and adverse events by grade, and what was rejected and "
            "why. Needs no server; with --fhir-url the same data goes through that server "
            "(publish, load, sync). Running it again reuses the generated files."
        ),
    )
    parser.add_argument(
        "--study",
        type=Path,
        help="protocol file (default: the shipped spine-mwa-01 example)",
    )
    parser.add_argument("--patients", type=int, default=300, help="hospital patients (default 300)")
    parser.add_argument("--seed", type=int, default=2027, help="generator seed (default 2027)")
    parser.add_argument(
        "--defect-rate",
        type=float,
        default=0.02,
        help="share of responses made invalid on purpose, to show rejection (default 0.02)",
    )
    fhir_args.add_server_arguments(parser, required=False, scope="system/*.*")
    parser.set_defaults(run=_demo)


def _demo(args: argparse.Namespace, settings: config.Settings) -> int:
    # Imported here: the demo pulls in every subsystem, which other commands need not load.
    from edc.actions import demo

    options = demo.DemoOptions(
        study=args.study or demo.example_study(),
        patients=args.patients,
        seed=args.seed,
        defect_rate=args.defect_rate,
        server=fhir_args.server_spec(args, settings) if args.fhir_url else None,
    )
    result = demo.demo(
        settings, options, lambda stage, unit: StreamProgress(sys.stderr, stage, unit)
    )
    print("\n".join(result.report()))
    print(f"\nwarehouse: {settings.database_url}")
    return 0
