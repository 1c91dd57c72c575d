"""`edc generate`: a synthetic multi-center population and trial conduct as FHIR R4 NDJSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from edc import config
from edc.progress import StreamProgress


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "generate",
        help="generate synthetic hospital patients and their trial conduct (FHIR R4 NDJSON)",
        description=(
            "Write a seeded, reproducible population of referred patients (EHR records: "
            "Patient, Conditions, Observations, opioid MedicationRequests) across the study's "
            "sites and the trial conduct of those enrolled (Consent, ResearchSubject, "
            "Encounters, QuestionnaireResponses, Procedure, AdverseEvents) as one NDJSON file "
            "per resource type, with manifest.json and truth/ sidecars. Published numbers come "
            "from the study's synthetic profile (<study>.synthetic.yaml). The same seed "
            "always gives the same bytes."
        ),
    )
    parser.add_argument("--study", type=Path, required=True, help="protocol YAML file")
    parser.add_argument(
        "--out", type=Path, required=True, help="output directory (must not exist, or be empty)"
    )
    parser.add_argument("--patients", type=int, required=True, help="referred patients")
    parser.add_argument(
        "--sites", type=int, default=None, help="how many of the protocol's sites (default: all)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--defect-rate",
        type=float,
        default=0.0,
        help="share of QuestionnaireResponses given a data-quality defect",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="synthetic profile (default: <study>.synthetic.yaml beside it)",
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: 2 for large runs)"
    )
    parser.set_defaults(run=_generate)


def _generate(args: argparse.Namespace, settings: config.Settings) -> int:
    from edc.actions import generate

    options = generate.GenerateOptions(
        study=args.study,
        out=args.out,
        patients=args.patients,
        seed=args.seed,
        sites=args.sites,
        defect_rate=args.defect_rate,
        profile=args.profile,
        workers=args.workers,
    )
    progress = StreamProgress(sys.stderr, "generate", "patients")
    result = generate.generate(options, progress)
    print(f"wrote {result.out}: {result.summary()}")
    return 0
