"""Downloading one Bulk Data file: streamed to disk line by line, restarted if the link drops."""

from __future__ import annotations

import dataclasses
import logging
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
    written to ``<path>.part`` first). A connection that drops mid-file restarts the file, within
    the client's retry policy.

    :param auth: send the access token (the manifest's ``requiresAccessToken``).
    :raises errors.BulkExportError: when the file cannot be fetched, or the token would go to
        another server than the FHIR server.
    """
    if auth and not http.same_origin(item.url, client.base_url):
        raise errors.BulkExportError(
            "manifest asks for our access token on another server; refusing",
            method="GET",
            url=item.url,
        )
    part = path.with_name(path.name + ".part")
    policy = client.retry
    attempt = 0
    while True:
        attempt += 1
        try:
            lines = _stream_to(client, item.url, part, auth=auth)
        except httpx.TransportError as exc:  # dropped after the headers: start the file again
            if attempt >= policy.max_attempts:
                part.unlink(missing_ok=True)
                raise _failed(item, f"download kept failing: {exc!r}", None) from exc
            log.warning("Download of %s broke off (%r); starting it again", item.url, exc)
            policy.sleep(policy.backoff(attempt))
            continue
        except (errors.FhirRequestError, errors.NetworkError) as exc:
            part.unlink(missing_ok=True)
            raise _failed(item, "could not download export file", exc.status, exc) from exc
        part.replace(path)
        if item.count is not None and item.count != lines:
            log.warning("%s: manifest says %d resources, file has %d", item.url, item.count, lines)
        return lines


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
