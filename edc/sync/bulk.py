"""Bulk Data pull: one ``$export`` (Group or Patient level), then the files ingested as a batch.

The export is Group-level: the Group named by ``--group``, or else the study's enrollment Group
that edc keeps on the server (``edc.sync.enrollment_group``, members from the ResearchSubjects,
which are pulled by REST first). A Patient-level export, every patient of the hospital, only
when asked for (``--patient-level``). Files go to a private scratch directory that is removed
afterwards, or by the next sync if this one is killed (``edc.fhir.scratch``).

``_since`` is the previous export's ``transactionTime`` (kept as each type's cursor), so only
what changed since then comes back. A patient who joined the study since then has older data
that ``_since`` leaves out: after the export, such patients get their full history through REST
searches (mapping guide §9.3). Bulk jobs may be lost when the server restarts (status 404): the
export is then kicked off again, once. Cursors move only after every file has been ingested.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from edc.fhir import BulkExportError, UnsupportedFeatureError, scratch
from edc.fhir import bulk as fhir_bulk
from edc.sync import enrollment_group
from edc.sync.directory import ordered_types
from edc.sync.incoming import Incoming, instant
from edc.sync.rest import RestPuller
from edc.synced_types import TYPES

log = logging.getLogger("edc.sync")
# Kick-offs per pull: a job lost to a server restart is started once more.
KICK_OFFS = 2


def pull_bulk(puller: RestPuller, data_dir: Path) -> tuple[str, ...]:
    """Export, ingest and advance the cursors; returns the types the server lacks (skipped).

    :raises UnsupportedFeatureError: when the server offers no export at that level.
    :raises BulkExportError: when the export fails (or fails again after a lost job).
    """
    fhir, options = puller.fhir, puller.options
    caps = fhir.capabilities()
    level, owner = ("patient", "Patient") if options.patient_level else ("group", "Group")
    caps.require(f"a {level}-level Bulk Data export", owner, operation="export")
    types = [t for t in options.types if t in caps.resources]
    skipped = tuple(t for t in options.types if t not in caps.resources)
    cursor = puller.cursors()
    group = options.group
    if group is None and not options.patient_level:
        puller.plan()  # the study's ResearchSubjects must be searchable
        puller.pull_subjects(cursor.get("ResearchSubject", {}))
        patient_ids = [pid for _, pid in puller.patients()]
        group = enrollment_group.ensure(fhir, puller.ingestor.scope.code, patient_ids)
        cursor = puller.cursors()
    sinces = [instant(cursor.get(t, {}).get("since")) for t in types]
    earliest = min(sinces) if sinces and None not in sinces else None  # type: ignore[type-var]
    since = _text(earliest) if earliest is not None else None
    through = min((int(cursor.get(t, {}).get("patients_through", 0)) for t in types), default=0)
    with scratch.export_directory(data_dir / "bulk") as work:
        result = _export(puller, work, level, group, types, since)
        files: dict[str, list[Path]] = {}
        for resource_type, path, _ in result.files:
            files.setdefault(resource_type, []).append(path)
        received = 0
        for resource_type in ordered_types(files):
            for path in files[resource_type]:
                batch: list[Incoming] = []
                with path.open("rb") as stream:
                    for number, line in enumerate(stream, 1):
                        if line.strip():
                            batch.append(
                                Incoming(
                                    line.rstrip(b"\r\n"), f"{path.name}:{number}", resource_type
                                )
                            )
                        if len(batch) >= options.batch_size:
                            puller.ingestor.ingest(batch)
                            received += len(batch)
                            puller.progress.update(received, note=resource_type)
                            batch = []
                if batch:
                    puller.ingestor.ingest(batch)
                    received += len(batch)
                    puller.progress.update(received, note=resource_type)
    patients = puller.patients()
    if since is not None:
        _backfill(puller, [pid for link, pid in patients if link > through], types)
    newest_link = max((link for link, _ in patients), default=through)
    since_now = result.manifest.transaction_time
    puller.ingestor.save_cursor(
        {t: {"since": since_now, "patients_through": newest_link} for t in types}
    )
    return skipped


def _export(
    puller: RestPuller,
    directory: Path,
    level: str,
    group: str | None,
    types: list[str],
    since: str | None,
) -> fhir_bulk.ExportResult:
    for attempt in range(1, KICK_OFFS + 1):
        try:
            query = fhir_bulk.ExportQuery(
                level=level, group_id=group if level == "group" else None, types=types, since=since
            )
            return fhir_bulk.export(puller.fhir, directory, query)
        except BulkExportError as exc:
            if exc.status != 404 or attempt == KICK_OFFS:
                raise
            log.warning("The export job is gone (server restarted?): starting it again")
    raise AssertionError("unreachable")  # pragma: no cover


def _backfill(puller: RestPuller, patient_ids: list[str], types: list[str]) -> None:
    if not patient_ids:
        return
    try:
        params, _ = puller.plan()
    except UnsupportedFeatureError as exc:
        log.warning("Cannot fetch the history of %d new patients: %s", len(patient_ids), exc)
        return
    for resource_type in TYPES:
        if (
            resource_type in types
            and resource_type in params
            and resource_type != "ResearchSubject"
        ):
            puller.backfill(resource_type, params[resource_type], patient_ids)


def _text(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
