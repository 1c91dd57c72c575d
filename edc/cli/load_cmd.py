"""`edc load`: load a generated directory into a FHIR server (idempotent)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from edc import config
from edc.progress import StreamProgress

_SHOWN_BAD_LINES = 10


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "load",
        help="load a directory written by `edc generate` into a FHIR server",
        description=(
            "Stream the generated NDJSON patient by patient into the server in transaction "
            "Bundles of conditional creates (on each resource's identifier), so a second load "
            "creates nothing. The study definitions must be published on the server first. "
            "Lines that are not JSON (injected defects) are skipped and listed. Exit 3 when "
            "the server cannot be reached."
        ),
    )
    parser.add_argument("directory", type=Path, help="the --out directory of `edc generate`")
    parser.add_argument("--fhir-url", required=True, help="FHIR R4 base URL")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=500,
        help="entries per transaction (whole patients; default 500)",
    )
    parser.add_argument(
        "--max-attempts", type=int, default=5, help="tries per request before giving up (default 5)"
    )
    parser.set_defaults(run=_load)


def _load(args: argparse.Namespace, settings: config.Settings) -> int:
    from edc.actions import load
    from edc.fhir import RetryPolicy

    progress = StreamProgress(sys.stderr, "load", "patients")
    result = load.load(
        args.directory,
        args.fhir_url,
        batch_entries=max(1, args.batch_size),
        retry=RetryPolicy(max_attempts=max(1, args.max_attempts)),
        progress=progress,
    )
    for line in result.summary_lines():
        print(line)
    if result.bad_lines:
        print(f"skipped {len(result.bad_lines)} unreadable line(s):", file=sys.stderr)
        for bad in result.bad_lines[:_SHOWN_BAD_LINES]:
            print(f"  {bad.file}:{bad.line}: {bad.reason}", file=sys.stderr)
    print(f"loaded {result.patients:,} patients in {result.seconds:.1f} s")
    return 0
