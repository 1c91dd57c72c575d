"""`edc sync --study ID (--source DIR | --fhir-url URL)`: pull a study's data into the warehouse."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from edc.cli import render, state
from edc.cli.options import FhirUrlOption, FormatOption, ServerFlags, StudyOption, include
from edc.synced_types import TYPES

if TYPE_CHECKING:
    from edc import config
    from edc.actions.sync import SyncRequest, SyncResult

SCOPE = "system/*.read"


def register(root: typer.Typer) -> None:
    root.command("sync", help=_HELP)(sync)


_HELP = (
    "Pull a study's patients, subjects, forms and adverse events into the warehouse.\n\n"
    "Pulls, for the study's patients: " + ", ".join(TYPES) + ". Raw JSON is kept as received "
    "(once per version); subjects, consents, visits, form responses with typed item values, and "
    "adverse events are normalized. Incremental: each source remembers how far it got, saved "
    "with the data, so an interrupted sync loses and duplicates nothing when run again. A REST "
    "pull also reads each type's history: a resource deleted on the server is kept here and "
    "reported as a data problem (deleted_at_source), never removed. "
    "Resources that fail checks are kept raw and listed as data problems, grouped by reason; "
    "they do not fail the sync (exit 0) unless --strict (exit 1). Exit 2: bad options, unknown "
    "study, unreadable directory. Exit 3: the server stayed unreachable or the export failed."
)


@dataclasses.dataclass(frozen=True)
class SourceFlags:
    """What to sync and from where (shared by `edc sync` and `edc scheduler add`)."""

    study: StudyOption
    source: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="a directory of NDJSON files in the Bulk layout "
            "(<Type>.ndjson, <Type>.<n>.ndjson)",
        ),
    ] = None
    fhir_url: FhirUrlOption = None
    bulk: Annotated[bool, typer.Option("--bulk", help="pull with Bulk Data $export")] = False
    group: Annotated[
        str | None,
        typer.Option(
            metavar="ID",
            help="Group to export (default: the study's enrollment Group, kept by edc on the "
            "server from the study's ResearchSubjects; needs system/Group.write)",
        ),
    ] = None
    patient_level: Annotated[
        bool,
        typer.Option(
            "--patient-level",
            help="export every patient of the server instead of a Group (all stored raw)",
        ),
    ] = False
    types: Annotated[
        str | None, typer.Option(metavar="T,T", help="resource types to pull (default: all)")
    ] = None
    time_limit: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="stop a pull from a server after this long (exit 3; what was stored stays); "
            "scheduled jobs default to 6 hours",
        ),
    ] = None

    def request(
        self, settings: config.Settings, server: ServerFlags, **options: Any
    ) -> SyncRequest:
        """The sync request these flags describe; ``options`` set the other fields.

        :raises errors.BadInputError: neither or both of --source and --fhir-url, a bad server.
        """
        from edc.actions import sync as sync_action

        spec = server.spec(settings, self.fhir_url, scope=SCOPE) if self.fhir_url else None
        types: tuple[str, ...] = TYPES
        if self.types:
            types = tuple(t.strip() for t in self.types.split(",") if t.strip())
        request = sync_action.SyncRequest(
            study=self.study,
            source_dir=self.source,
            server=spec,
            bulk=self.bulk,
            group=self.group,
            patient_level=self.patient_level,
            types=types,
            time_limit=self.time_limit,
            **options,
        )
        return request.check()


def _summary(result: SyncResult) -> list[str]:
    lines = []
    deleted = [f"{name} {c.deleted:,}" for name, c in result.counts.items() if c.deleted]
    if deleted:
        kept = "kept here, reported as data problems"
        lines.append(f"deleted on the server since ({kept}): {', '.join(deleted)}")
    if result.skipped:
        lines.append(f"not offered by the server (skipped): {', '.join(result.skipped)}")
    lines.append(f"synced {result.study} from {result.source} in {result.seconds:.1f} s")
    return lines


# Per type. "deleted": held here, deleted on the server since (reported as data problems).
COUNT_COLUMNS = ("type", "new", "updated", "unchanged", "rejected", "deleted")
SYNC_VIEW: render.View[SyncResult] = render.View(
    sections=(
        render.Section("counts", key="type", total="total", columns=COUNT_COLUMNS),
        render.Section("problems", title="rejected, by reason"),
    ),
    headline=_summary,
    extra={"rejected": lambda r: r.rejected},
)


@include(ServerFlags, "server")
@include(SourceFlags, "what")
def sync(
    what: SourceFlags,
    server: ServerFlags,
    batch_size: Annotated[int, typer.Option(metavar="N", help="resources per transaction")] = 1000,
    page_size: Annotated[int, typer.Option(metavar="N", help="resources per search page")] = 200,
    overlap: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", help="how far back before the last sync a REST pull starts"
        ),
    ] = 300.0,
    strict: Annotated[
        bool, typer.Option("--strict", help="exit 1 if anything was rejected")
    ] = False,
    progress_interval: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="without a terminal: at most one progress line per interval on stderr",
        ),
    ] = 5.0,
    fmt: FormatOption = render.Format.table,
) -> None:
    from edc.actions import sync as sync_action

    settings = state.settings()
    request = what.request(
        settings,
        server,
        batch_size=batch_size,
        page_size=page_size,
        overlap_seconds=overlap,
        strict=strict,
    )
    progress = state.progress("sync", "resources", interval=progress_interval)
    result = sync_action.sync(settings, request, progress=progress)
    state.emit(result, fmt, SYNC_VIEW)
    if result.rejected:
        state.say(f"{result.rejected} resource(s) rejected: kept raw and recorded as data problems")
