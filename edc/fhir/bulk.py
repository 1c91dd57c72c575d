"""Bulk Data export: kick off, wait for the manifest, download NDJSON, clean up.

Spec: FHIR Bulk Data Access STU3 3.0.0, "Export" (https://hl7.org/fhir/uv/bulkdata/export.html)
and mapping guide §9.3. Incremental pulls pass the previous manifest's ``transactionTime`` as
``_since``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path

import httpx

from edc.fhir import errors, http, resources
from edc.fhir.bundles import FhirResponse
from edc.fhir.client import FhirClient
from edc.fhir.outcome import Issue, issues_from_bytes
from edc.fhir.transfer import ExportFile, download_file
from edc.progress import Progress, SilentProgress

log = logging.getLogger("edc.fhir.bulk")

LEVELS = ("system", "patient", "group")
# Without a Retry-After, poll after 1 s, then 1.5x longer each time up to a minute.
FIRST_POLL = 1.0
MAX_POLL = 60.0


@dataclasses.dataclass(frozen=True)
class Manifest:
    """The completed job's manifest (``transactionTime``, ``output[]``, ``error[]``, ...)."""

    transaction_time: str
    request: str
    requires_access_token: bool
    output: tuple[ExportFile, ...]
    error: tuple[ExportFile, ...]
    deleted: tuple[ExportFile, ...]
    raw: bytes

    @classmethod
    def from_response(cls, response: FhirResponse) -> Manifest:
        """Read a manifest from the status endpoint's 200 answer.

        :raises errors.BulkExportError: when it lacks ``transactionTime`` or is not JSON.
        """
        try:
            body = response.body
        except errors.FatalNetworkError as exc:
            raise _job_error(response.url, "manifest is not JSON", status=response.status) from exc
        transaction_time = body.get("transactionTime")
        if not isinstance(transaction_time, str):
            raise _job_error(response.url, "manifest has no transactionTime", response.status)
        return cls(
            transaction_time=transaction_time,
            request=str(body.get("request") or ""),
            requires_access_token=body.get("requiresAccessToken") is True,
            output=_files(body.get("output")),
            error=_files(body.get("error")),
            deleted=_files(body.get("deleted")),
            raw=response.raw,
        )


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """A finished export: the manifest, the files written, and what the server reported.

    :ivar files: ``(type, path, resources written)`` for each output file.
    :ivar deleted: paths of the ``deleted[]`` files (Bundles of deletions since ``_since``).
    :ivar issues: every issue from the ``error[]`` files (warnings included).
    """

    manifest: Manifest
    files: tuple[tuple[str, Path, int], ...]
    deleted: tuple[Path, ...]
    issues: tuple[Issue, ...]


@dataclasses.dataclass(frozen=True)
class ExportQuery:
    """What to export: the kick-off request's level and parameters.

    :ivar level: ``system`` (``[base]/$export``), ``patient`` or ``group`` (needs ``group_id``).
    :ivar types: resource types to export (``_type``); empty means all.
    :ivar since: only resources changed after this instant (``_since``).
    :ivar type_filters: ``_typeFilter`` queries, e.g. ``Observation?category=laboratory``.
    :ivar post: kick off with POST and a Parameters body (the 4.0 ballot makes POST the SHALL).
    :ivar lenient: let the server ignore parameters it does not support (else it must refuse).
    """

    level: str = "group"
    group_id: str | None = None
    types: Sequence[str] = ()
    since: str | None = None
    type_filters: Sequence[str] = ()
    post: bool = False
    lenient: bool = False

    def __post_init__(self) -> None:
        if self.level not in LEVELS or (self.level == "group") != (self.group_id is not None):
            raise ValueError(f"level must be one of {LEVELS}, with group_id exactly for 'group'")


def kick_off(client: FhirClient, query: ExportQuery) -> str:
    """Start an export and return its status URL (from ``Content-Location``).

    We poll that URL and DELETE it with our access token, so it must be on the FHIR server's
    origin or one trusted by setting (``FhirClient(trusted_origins=...)``).

    :raises errors.FhirRequestError: when the server refuses the request (unknown Group, ...).
    :raises errors.BulkExportError: when it answers without starting an async job, or its
        status URL is on an untrusted origin (nothing is sent there).
    """
    paths = {
        "system": "$export",
        "patient": "Patient/$export",
        "group": f"Group/{query.group_id}/$export",
    }
    path = paths[query.level]
    pairs = [("_outputFormat", http.FHIR_NDJSON)]
    if query.types:
        pairs.append(("_type", ",".join(query.types)))
    if query.since:
        pairs.append(("_since", query.since))
    pairs += [("_typeFilter", type_filter) for type_filter in query.type_filters]
    handling = "lenient" if query.lenient else "strict"
    headers = {"Prefer": f"respond-async, handling={handling}"}
    if query.post:
        parameter = [
            {"name": k, ("valueInstant" if k == "_since" else "valueString"): v} for k, v in pairs
        ]
        parameters = {"resourceType": "Parameters", "parameter": parameter}
        response = client.request("POST", path, body=parameters, headers=headers, idempotent=False)
    else:
        response = client.request("GET", path, params=pairs, headers=headers)
    if response.status != 202 or not response.location:
        why = "kick-off did not start an async job (no 202 with Content-Location)"
        raise _job_error(response.url, why, response.status)
    try:  # the spec says absolute; a relative one is read against the kick-off URL
        status_url = str(httpx.URL(response.url).join(response.location))
    except httpx.InvalidURL:
        raise _job_error(response.url, "Content-Location is not a URL", response.status) from None
    if not client.origins.allows(status_url):
        raise errors.BulkExportError(
            "the export's status URL is on another server; refusing to send our token there",
            method="GET",
            url=status_url,
            status=response.status,
            details=f"trusted: {client.origins.describe()}; if that server is the FHIR server's "
            "own status host, trust it with --fhir-trust-origin URL (EDC_FHIR_TRUSTED_ORIGINS)",
        )
    return status_url


def wait_for_manifest(
    client: FhirClient, status_url: str, *, max_wait: dt.timedelta = dt.timedelta(hours=6)
) -> Manifest:
    """Poll the status URL until the manifest is ready, honouring ``Retry-After``.

    Waiting uses the client's retry policy (its ``sleep`` and ``clock``). The job is left as
    it is: call :func:`delete_job` afterwards (:func:`export` does, also on failure).

    :param max_wait: overall deadline.
    :raises errors.BulkExportError: when the job fails (4xx/5xx status with an OperationOutcome)
        or does not finish within ``max_wait``.
    """
    policy = client.retry
    deadline = policy.clock.now() + max_wait
    delay = FIRST_POLL
    while True:
        try:
            response = client.request("GET", status_url, headers={"Accept": "application/json"})
        except errors.DeadlineError:
            raise
        except (errors.FhirRequestError, errors.NetworkError) as exc:
            raise errors.BulkExportError(
                "export job failed",
                method="GET",
                url=status_url,
                status=exc.status,
                issues=exc.issues,
            ) from exc
        if response.status == 200:
            return Manifest.from_response(response)
        if response.status != 202:
            why = "unexpected answer from the status endpoint"
            raise _job_error(status_url, why, response.status)
        header = response.headers.get("Retry-After")
        asked = http.parse_retry_after(str(header), policy.clock) if header else None
        delay = asked if asked is not None else min(delay * 1.5, MAX_POLL)
        note = response.headers.get("X-Progress", "?")
        log.info("Export in progress (%s); next poll in %.1f s", note, delay)
        if policy.clock.now() + dt.timedelta(seconds=delay) > deadline:
            raise _job_error(status_url, f"export did not finish within {max_wait}", 202)
        policy.sleep(delay)


def download(
    client: FhirClient,
    manifest: Manifest,
    directory: Path,
    *,
    progress: Progress | None = None,
) -> ExportResult:
    """Stream every output, deleted and error file to ``directory``, one NDJSON line at a time.

    Files are named ``<Type>.<n>.ndjson``, ``deleted.<n>.ndjson`` and ``error.<n>.ndjson``: the
    only part that comes from the server is the type, used only when it is a resource type name
    (``"../../x"`` is refused before anything is written). The access token is sent only when
    the manifest says ``requiresAccessToken``.

    :raises errors.BulkExportError: when a file cannot be fetched, or an output type is not a
        resource type name.
    """
    progress = progress or SilentProgress()
    for item in manifest.output:
        if not resources.is_type_name(item.type):
            raise errors.BulkExportError(
                f"the manifest lists an output file of type {item.type[:80]!r}, which is not a "
                "resource type name",
                method="GET",
                url=item.url,
            )
    directory.mkdir(parents=True, exist_ok=True)
    token = manifest.requires_access_token
    files, done = [], 0
    for index, item in enumerate(manifest.output):
        path = directory / f"{item.type}.{index}.ndjson"
        written = download_file(client, item, path, auth=token)
        files.append((item.type, path, written))
        done += written
        progress.update(done, note=item.type)
    deleted = tuple(
        _fetch(client, item, directory / f"deleted.{i}.ndjson", token)
        for i, item in enumerate(manifest.deleted)
    )
    issues: list[Issue] = []
    for i, item in enumerate(manifest.error):
        path = _fetch(client, item, directory / f"error.{i}.ndjson", token)
        for line in path.read_bytes().splitlines():
            issues += issues_from_bytes(line)
    progress.finish(f"{done:,} resources in {len(files)} files")
    return ExportResult(manifest, tuple(files), deleted, tuple(issues))


def delete_job(client: FhirClient, status_url: str) -> None:
    """``DELETE`` the status URL: the server may drop the files (or cancel a running job).

    Best effort: a failure is logged, not raised (the server expires jobs on its own).
    """
    try:
        client.request("DELETE", status_url, headers={"Accept": "application/json"})
    except (errors.FhirRequestError, errors.NetworkError) as exc:
        log.warning("Could not delete bulk job %s: %s", status_url, exc)


def export(
    client: FhirClient,
    directory: Path,
    query: ExportQuery,
    *,
    max_wait: dt.timedelta = dt.timedelta(hours=6),
    allow_errors: bool = False,
    progress: Progress | None = None,
) -> ExportResult:
    """Run one export end to end: kick-off, wait, download, DELETE (always, even on failure).

    Arguments as in :func:`kick_off`, :func:`wait_for_manifest` and :func:`download`.

    :param allow_errors: return even when the ``error[]`` files hold errors (partial export).
    :raises errors.BulkExportError: when the job fails, times out, or reports errors.
    """
    status_url = kick_off(client, query)
    try:
        manifest = wait_for_manifest(client, status_url, max_wait=max_wait)
        result = download(client, manifest, directory, progress=progress)
    finally:
        delete_job(client, status_url)
    failures = [issue for issue in result.issues if issue.is_error]
    if failures and not allow_errors:
        raise errors.BulkExportError(
            "export finished with errors", method="GET", url=status_url, status=200, issues=failures
        )
    return result


def _fetch(client: FhirClient, item: ExportFile, path: Path, token: bool) -> Path:
    download_file(client, item, path, auth=token)
    return path


def _files(value: object) -> tuple[ExportFile, ...]:
    items = value if isinstance(value, list) else []
    return tuple(
        ExportFile(
            type=str(item.get("type") or "unknown"),
            url=str(item["url"]),
            count=item["count"] if isinstance(item.get("count"), int) else None,
        )
        for item in items
        if isinstance(item, dict) and isinstance(item.get("url"), str)
    )


def _job_error(url: str, message: str, status: int | None) -> errors.BulkExportError:
    return errors.BulkExportError(message, method="GET", url=url, status=status)
