"""`edc sync --study ID (--source DIR | --fhir-url URL)`: pull a study's data into the warehouse."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edc import config, errors
from edc.cli import fhir_args
from edc.progress import StreamProgress
from edc.synced_types import TYPES

if TYPE_CHECKING:
    from edc.actions.sync import SyncRequest


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sync",
        help="pull a study's patients, subjects, forms and adverse events into the warehouse",
        description=(
            "Pull, for the study's patients: "
            + ", ".join(TYPES)
            + ". Raw JSON is kept as received (once per version); subjects, consents, visits, "
            "form responses with typed item values, and adverse events are normalized. "
            "Incremental: each source remembers how far it got, saved with the data, so an "
            "interrupted sync loses and duplicates nothing when run again. Resources that fail "
            "checks are kept raw and listed as data problems; they do not fail the sync "
            "(exit 0) unless --strict (exit 1). Exit 2: bad options, unknown study, unreadable "
            "directory. Exit 3: the server stayed unreachable or the export failed."
        ),
    )
    add_source_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=1000, help="resources per transaction")
    parser.add_argument("--page-size", type=int, default=200, help="resources per search page")
    parser.add_argument(
        "--overlap",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how far back before the last sync a REST pull starts (default 300)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 if anything was rejected")
    parser.add_argument(
        "--progress-interval",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="at most one progress line per interval on stderr (0: one per batch)",
    )
    parser.set_defaults(run=_sync)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """What to sync and from where (shared with ``edc scheduler add``)."""
    parser.add_argument("--study", required=True, metavar="ID", help="the study's code")
    parser.add_argument(
        "--source",
        type=Path,
        metavar="DIR",
        help="a directory of NDJSON files in the Bulk layout (<Type>.ndjson, <Type>.<n>.ndjson)",
    )
    fhir_args.add_server_arguments(parser, required=False, scope="system/*.read")
    parser.add_argument("--bulk", action="store_true", help="pull with Bulk Data $export")
    parser.add_argument("--group", metavar="ID", help="Group to export (default: Patient level)")
    parser.add_argument(
        "--types", metavar="T,T", help="resource types to pull (default: all of them)"
    )


def sync_request(
    args: argparse.Namespace, settings: config.Settings, **options: Any
) -> SyncRequest:
    """The request the source flags describe; ``options`` set the other fields.

    :raises errors.BadInputError: neither or both of --source and --fhir-url, or a bad server.
    """
    from edc.actions import sync

    if (args.source is None) == (args.fhir_url is None):
        raise errors.BadInputError("give exactly one of --source DIR and --fhir-url URL")
    server = fhir_args.server_spec(args, settings) if args.fhir_url else None
    types = tuple(t.strip() for t in args.types.split(",") if t.strip()) if args.types else TYPES
    return sync.SyncRequest(
        study=args.study,
        source_dir=args.source,
        server=server,
        bulk=args.bulk,
        group=args.group,
        types=types,
        **options,
    )


def _sync(args: argparse.Namespace, settings: config.Settings) -> int:
    from edc.actions import sync

    request = sync_request(
        args,
        settings,
        batch_size=args.batch_size,
        page_size=args.page_size,
        overlap_seconds=args.overlap,
        strict=args.strict,
    )
    progress = StreamProgress(sys.stderr, "sync", "resources", interval=args.progress_interval)
    result = sync.sync(settings, request, progress=progress)
    for line in result.lines():
        print(line)
    print(f"synced {result.study} from {result.source} in {result.seconds:.1f} s")
    if result.rejected:
        print(
            f"{result.rejected} resource(s) rejected: kept raw and recorded as data problems",
            file=sys.stderr,
        )
    return 0
