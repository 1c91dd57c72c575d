"""Downloading one Bulk Data file: streamed to disk line by line, restarted if the link drops."""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import BinaryIO

import httpx

from edc.fhir import errors, http
from edc.fhir.client import FhirClient

log = logging.getLogger("edc.fhir.bulk")


@dataclasses.dataclass(frozen=True)
class ExportFile:
    """One file listed in a Bulk manifest (``output[]``, ``error[]`` or ``deleted[]``)."""

    type: str
    url: str
    count: int | None = None


def download_file(client: FhirClient, item: ExportFile, path: Path, *, auth: bool) -> int:
    """Stream ``item`` to ``path`` and return the number of (non-empty) NDJSON lines.

    Lines are written as received, byte for byte. The file appears only when complete (it is
    written to ``<path>.part`` first, which is removed whatever happens). A connection that
    drops mid-file restarts the file, within the client's retry policy.

    :param auth: send the access token (the manifest's ``requiresAccessToken``).
    :raises errors.BulkExportError: when the file cannot be fetched, or the token would go to
        an untrusted origin.
    """
    if auth and not client.origins.allows(item.url):
        raise errors.BulkExportError(
            "manifest asks for our access token on another server; refusing",
            method="GET",
            url=item.url,
            details=f"trusted: {client.origins.describe()} (--fhir-trust-origin adds one)",
        )
    part = path.with_name(path.name + ".part")
    try:
        lines = _download_to(client, item, part, auth=auth)
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
    if item.count is not None and item.count != lines:
        log.warning("%s: manifest says %d resources, file has %d", item.url, item.count, lines)
    return lines


def _download_to(client: FhirClient, item: ExportFile, part: Path, *, auth: bool) -> int:
    policy = client.retry
    attempt = 0
    while True:
        attempt += 1
        try:
            return _stream_to(client, item.url, part, auth=auth)
        except httpx.TransportError as exc:  # dropped after the headers: start the file again
            if attempt >= policy.max_attempts or _deadline_passed(client):
                raise _failed(item, f"download kept failing: {exc!r}", None) from exc
            log.warning("Download of %s broke off (%r); starting it again", item.url, exc)
            policy.sleep(policy.backoff(attempt))
        except (errors.FhirRequestError, errors.NetworkError) as exc:
            raise _failed(item, "could not download export file", exc.status, exc) from exc


def _deadline_passed(client: FhirClient) -> bool:
    return client.deadline is not None and time.monotonic() >= client.deadline


def _stream_to(client: FhirClient, url: str, part: Path, *, auth: bool) -> int:
    headers = {"Accept": http.FHIR_NDJSON}
    lines = 0
    with client.stream("GET", url, headers=headers, auth=auth) as response, part.open("wb") as out:
        pending = b""
        for chunk in response.iter_bytes():
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                lines += _write_line(out, line)
        lines += _write_line(out, pending)
    return lines


def _write_line(out: BinaryIO, line: bytes) -> int:
    line = line.rstrip(b"\r")
    if not line.strip():
        return 0
    out.write(line + b"\n")
    return 1


def _failed(
    item: ExportFile,
    message: str,
    status: int | None,
    cause: errors.NetworkError | errors.FhirRequestError | None = None,
) -> errors.BulkExportError:
    return errors.BulkExportError(
        message, method="GET", url=item.url, status=status, issues=cause.issues if cause else ()
    )
