"""`edc sync`: pull a study's patients and trial data from a FHIR source into the warehouse.

Sources (``edc.sync``): a FHIR server over REST (incremental by ``_lastUpdated``), the same
server through Bulk Data ``$export`` (``bulk=True``), or a directory of NDJSON files in the Bulk
layout (the embedded default, no server needed). Whatever the source, each batch of resources is
stored raw and normalized in one transaction together with the cursor that covers it.

Resources that fail checks are kept raw and recorded as data problems; they do not make the sync
fail (exit 0): they are the monitors' work, and a scheduled sync must not fail on every run
because one response is bad. ``strict=True`` (``--strict``) turns any rejection into exit 1.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from edc import config, errors, logs
from edc.actions import monitor
from edc.clock import Clock, SystemClock
from edc.fhir import FhirClient
from edc.fhir.target import ServerSpec
from edc.progress import Progress, SilentProgress
from edc.sync import bulk as bulk_pull
from edc.sync import cursors, directory, rest
from edc.sync.ingest import Ingestor, SyncRun, TypeCounts
from edc.sync.scope import load_scope
from edc.synced_types import TYPES
from edc.warehouse import checkpoints, db, migrate, site_summary

ClientFactory = Callable[[ServerSpec], FhirClient]
log = logging.getLogger("edc.sync")


@dataclasses.dataclass(frozen=True)
class SyncRequest:
    """What to pull, from where, and how.

    :ivar source_dir: a directory of NDJSON files, or None for a server.
    :ivar server: the FHIR server, or None for a directory.
    :ivar bulk: pull from the server with Bulk Data ``$export``.
    :ivar group: Group id for a Group-level export (else the study's enrollment Group, kept by
        edc on the server).
    :ivar patient_level: export every patient of the server instead (Bulk only).
    :ivar types: resource types to pull (default: all of ``edc.synced_types.TYPES``).
    :ivar batch_size: resources per transaction (directory and Bulk files).
    :ivar page_size: resources per search page (REST).
    :ivar overlap_seconds: how far before the last cursor a REST pull starts again, for clock
        skew and transactions that commit late (mapping guide §9.4: 5 minutes).
    :ivar time_limit: seconds the whole pull from a server may take (None: no limit); past it
        the sync stops with exit 3, keeping what it committed, and the next run continues.
    """

    study: str
    source_dir: Path | None = None
    server: ServerSpec | None = None
    bulk: bool = False
    group: str | None = None
    patient_level: bool = False
    types: tuple[str, ...] = TYPES
    batch_size: int = 1_000
    page_size: int = 200
    overlap_seconds: float = 300.0
    strict: bool = False
    time_limit: float | None = None

    def check(self) -> SyncRequest:
        """Refuse inconsistent or unusable options before anything is touched.

        :raises errors.BadInputError: naming the option.
        """
        if (self.source_dir is None) == (self.server is None):
            raise errors.BadInputError("give exactly one of --source DIR and --fhir-url URL")
        if self.source_dir is not None:
            if self.bulk or self.group or self.patient_level:
                raise errors.BadInputError("--bulk and --group need --fhir-url, not --source")
            if not self.source_dir.is_dir():
                raise errors.BadInputError(f"--source {self.source_dir}: not a readable directory")
        if (self.group or self.patient_level) and not self.bulk:
            raise errors.BadInputError(
                "--group and --patient-level are for Bulk export: add --bulk"
            )
        if self.group and self.patient_level:
            raise errors.BadInputError("give --group or --patient-level, not both")
        if self.server is not None:
            self.server.check()
        unknown = sorted(set(self.types) - set(TYPES))
        if unknown:
            raise errors.BadInputError(
                f"cannot sync {', '.join(unknown)}", f"types: {', '.join(TYPES)}"
            )
        for name in ("batch_size", "page_size"):
            if getattr(self, name) < 1:
                raise errors.BadInputError(f"--{name.replace('_', '-')} must be at least 1")
        if self.overlap_seconds < 0:
            raise errors.BadInputError("--overlap must not be negative")
        if self.time_limit is not None and self.time_limit <= 0:
            raise errors.BadInputError("--time-limit must be positive")
        return self


@dataclasses.dataclass(frozen=True)
class SyncResult:
    """What one sync did: per type, resources new, updated, unchanged and rejected."""

    study: str
    source: str
    counts: dict[str, TypeCounts]
    skipped: tuple[str, ...]
    seconds: float
    # The problems this sync recorded, grouped by reason (what `edc sync` prints).
    problems: tuple[site_summary.ProblemGroup, ...] = ()

    @property
    def rejected(self) -> int:
        return sum(c.rejected for c in self.counts.values())

    def lines(self) -> list[str]:
        """A table of the counts, one type per line."""
        out = [f"{'type':<26}{'new':>9}{'updated':>9}{'unchanged':>11}{'rejected':>10}"]
        for name in directory.ordered_types(self.counts):
            c = self.counts[name]
            out.append(f"{name:<26}{c.new:>9,}{c.updated:>9,}{c.unchanged:>11,}{c.rejected:>10,}")
        total = TypeCounts()
        for c in self.counts.values():
            total.new, total.updated = total.new + c.new, total.updated + c.updated
            total.unchanged, total.rejected = (
                total.unchanged + c.unchanged,
                total.rejected + c.rejected,
            )
        out.append(
            f"{'total':<26}{total.new:>9,}{total.updated:>9,}{total.unchanged:>11,}"
            f"{total.rejected:>10,}"
        )
        deleted = [f"{name} {c.deleted:,}" for name, c in self.counts.items() if c.deleted]
        if deleted:
            kept = "kept here, reported as data problems"
            out.append(f"deleted on the server since ({kept}): {', '.join(deleted)}")
        if self.skipped:
            out.append(f"not offered by the server (skipped): {', '.join(self.skipped)}")
        return out


def sync(
    settings: config.Settings,
    request: SyncRequest,
    *,
    clock: Clock | None = None,
    client_factory: ClientFactory | None = None,
    progress: Progress | None = None,
    actor: str = "edc sync",
    run: SyncRun | None = None,
) -> SyncResult:
    """Pull ``request.study``'s data from the source into the configured warehouse.

    :param run: the job and run named on each received version's audit row, and who started
        it (default: ``edc sync``, a fresh run id, and ``settings.user``).

    :raises errors.BadInputError: (exit 2) bad options, an unknown study, an unreadable source
        directory, or a warehouse that is missing or not migrated; nothing is written.
    :raises errors.CheckFailedError: (exit 1) with ``strict``, when resources were rejected
        (they are stored and recorded all the same).
    :raises edc.fhir.NetworkError: (exit 3) the server stayed unreachable; what was committed
        before stays, and the next run continues from there.
    :raises edc.fhir.BulkExportError: (exit 3) the export job failed.
    :raises edc.fhir.DeadlineError: (exit 3) ``time_limit`` passed; what was committed stays.
    """
    request.check()
    run = run or SyncRun("edc sync", uuid.uuid4().hex[:12], settings.user)
    with logs.context(study=request.study, sync_run=run.run):
        result = _sync(
            settings, request, clock or SystemClock(), client_factory, progress, actor, run
        )
        # New data may show deviations, or remove their cause: the engine runs after every sync.
        monitor.after_sync(settings, request.study, clock)
        return result


def _sync(
    settings: config.Settings,
    request: SyncRequest,
    clock: Clock,
    client_factory: ClientFactory | None,
    progress: Progress | None,
    actor: str,
    run: SyncRun,
) -> SyncResult:
    progress = progress or SilentProgress()
    started = time.monotonic()
    deadline = started + request.time_limit if request.time_limit is not None else None
    engine = db.relax_durability(migrate.open_engine(settings.database_url))
    try:
        maker = db.make_sessionmaker(engine)
        with db.transaction(maker) as session:
            scope = load_scope(session=session, study_code=request.study)
            problems_before = site_summary.last_problem_id(
                session=session, study_code=request.study
            )
        skipped: tuple[str, ...] = ()
        if request.source_dir is not None:
            source = str(request.source_dir.resolve())
            log.info("sync started", extra={"source": source, "types": len(request.types)})
            ingestor = Ingestor(maker, scope, source, clock, actor=actor, run=run)
            with db.transaction(maker) as session:
                cursor = cursors.load(session=session, source=source, study_id=scope.study_id)
            directory.pull_directory(
                ingestor,
                request.source_dir,
                cursor,
                types=frozenset(request.types),
                batch_size=request.batch_size,
                progress=progress,
            )
        elif request.server is not None:
            make_client = client_factory or (
                lambda spec: spec.client(clock=clock, deadline=deadline)
            )
            with make_client(request.server) as fhir:
                source = fhir.base_url
                how = "bulk" if request.bulk else "rest"
                log.info("sync started", extra={"source": source, "mode": how})
                ingestor = Ingestor(maker, scope, source, clock, actor=actor, run=run)
                options = rest.PullOptions(
                    types=request.types,
                    page_size=request.page_size,
                    overlap_seconds=request.overlap_seconds,
                    batch_size=request.batch_size,
                    group=request.group,
                    patient_level=request.patient_level,
                )
                puller = rest.RestPuller(fhir, ingestor, options, progress)
                if request.bulk:
                    skipped = bulk_pull.pull_bulk(puller, settings.data_dir)
                else:
                    skipped = puller.pull()
        progress.finish(f"{sum(c.total for c in ingestor.counts.values()):,} resources")
        with db.transaction(maker) as session:
            problems = site_summary.list_problem_groups(
                session=session, study_code=request.study, after_id=problems_before
            )
        _checkpoint(settings, engine, clock)
    finally:
        engine.dispose()
    result = SyncResult(
        request.study,
        source,
        ingestor.counts,
        skipped,
        time.monotonic() - started,
        tuple(problems),
    )
    for name, counts in result.counts.items():
        log.info(
            "synced type", extra={"source": source, "type": name, **dataclasses.asdict(counts)}
        )
    log.info(
        "sync finished",
        extra={"source": source, "seconds": round(result.seconds, 3), "rejected": result.rejected},
    )
    if request.strict and result.rejected:
        raise errors.CheckFailedError(
            f"{result.rejected} resource(s) rejected (kept raw, recorded as data problems)",
            "\n".join(result.lines()),
        )
    return result


def _checkpoint(settings: config.Settings, engine: Engine, clock: Clock) -> None:
    # The data is committed whatever happens here; a checkpoint that cannot be written is an
    # error in the log, and `edc audit verify` reports what it cannot check.
    try:
        checkpoints.record(settings, engine, event="sync", clock=clock)
    except errors.UserError as exc:
        log.error("No audit checkpoint was written after this sync: %s", exc)
