"""Load a generated directory into a FHIR server, idempotently, in transaction Bundles.

The study definitions must already be on the server (site ResearchStudies by their compiled
ids, Questionnaires by canonical ``url|version``): generated resources refer to them as they
are, so the load checks first and stops with a clear message when they are missing.

Then: the hospitals (Organizations) in one transaction, then the patients, streamed patient by
patient from the NDJSON files (``edc.synth.layout.read_patients``) and grouped into
transactions of about ``batch_entries`` entries. Every entry is a conditional create on the
resource's first identifier (``ifNoneExist``): a second load creates nothing and reports every
resource as already present. References between a patient's resources become the entries'
``urn:uuid`` fullUrls; references to Organizations become the server's ids.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlencode

from edc import errors
from edc.fhir import (
    FhirClient,
    ResourceNotFoundError,
    RetryPolicy,
    entry_results,
    resources,
    search_token,
)
from edc.fhir.target import ServerSpec
from edc.progress import Progress, SilentProgress
from edc.synth import layout

log = logging.getLogger("edc.load")
_NAMESPACE = uuid.UUID("2f4b7c9e-8d1a-5e3f-b6c2-9a0d1e2f3a4b")


@dataclasses.dataclass
class TypeCount:
    created: int = 0
    present: int = 0


@dataclasses.dataclass(frozen=True)
class LoadResult:
    counts: dict[str, TypeCount]
    patients: int
    bad_lines: list[layout.BadLine]
    seconds: float

    def summary_lines(self) -> list[str]:
        lines = [f"{'type':<24}{'created':>10}{'present':>10}"]
        for name in layout.sort_types(self.counts):
            count = self.counts[name]
            lines.append(f"{name:<24}{count.created:>10,}{count.present:>10,}")
        return lines


def load(
    directory: Path,
    server: ServerSpec | str,
    *,
    batch_entries: int = 500,
    retry: RetryPolicy | None = None,
    progress: Progress | None = None,
) -> LoadResult:
    """Load ``directory`` (the output of ``edc generate``) into ``server``.

    :param server: the server (with SMART credentials if it needs them), or its base URL.
    :raises errors.BadInputError: an unusable server URL, not a generated directory, a file
        that does not match the manifest, or the study definitions are not published on the
        server.
    :raises errors.ProblemsError: a manifest entry without its type, url or sha256, or a url
        that leads out of the directory.
    :raises edc.fhir.NetworkError: (exit 3) when the server cannot be reached after retries.
    """
    started = time.monotonic()
    progress = progress or SilentProgress()
    spec = (ServerSpec(server) if isinstance(server, str) else server).check()
    manifest = read_manifest(directory)
    _verify_files(directory, manifest)
    counts: dict[str, TypeCount] = {}
    bad: list[layout.BadLine] = []
    patients = 0
    with spec.client(retry=retry) as fhir:
        check_published(fhir, manifest)
        organizations = _organizations(fhir, directory, counts)
        batch: list[list[dict[str, Any]]] = []
        size = 0
        total = next((o["count"] for o in manifest["output"] if o["type"] == "Patient"), 0)
        log.info("load started", extra={"server": fhir.base_url, "patients": total})
        for record in layout.read_patients(directory, manifest, bad):
            batch.append(record.resources)
            size += len(record.resources)
            if size >= batch_entries:
                patients += _send(fhir, batch, organizations, counts)
                log.info("batch loaded", extra={"entries": size, "patients": patients})
                batch, size = [], 0
                progress.update(patients, total)
        if batch:
            patients += _send(fhir, batch, organizations, counts)
            progress.update(patients, total)
    created = sum(c.created for c in counts.values())
    log.info("load finished", extra={"patients": patients, "created": created})
    progress.finish(f"{patients:,} patients, {created:,} created")
    return LoadResult(counts, patients, bad, time.monotonic() - started)


def read_manifest(directory: Path) -> dict[str, Any]:
    """The generated directory's manifest, every entry checked before any file is opened.

    Each ``output[]`` entry needs a resource ``type``, a ``sha256`` and a ``url`` naming a file
    in the directory itself (not absolute, no ``..``, no sub-folder); the study facts the load
    checks the server for must be lists and maps of text.

    :raises errors.BadInputError: when the directory has no manifest of ours.
    :raises errors.ProblemsError: every bad entry, as ``manifest.json output[2].url: ...``.
    """
    manifest = layout.read_manifest(directory)
    where = str(directory / layout.MANIFEST)
    problems: list[errors.Problem] = []

    def bad(field: str, message: str) -> None:
        problems.append(errors.Problem(where, field, message))

    output = manifest.get("output")
    if not isinstance(output, list):
        bad("output", "missing, or not a list of files")
        output = []
    for index, item in enumerate(output):
        field = f"output[{index}]"
        if not isinstance(item, dict):
            bad(field, "not an object")
            continue
        if not resources.is_type_name(item.get("type")):
            bad(f"{field}.type", f"missing or not a resource type name: {item.get('type')!r}")
        if not isinstance(item.get("sha256"), str):
            bad(f"{field}.sha256", "missing")
        url = item.get("url")
        if not isinstance(url, str) or not url:
            bad(f"{field}.url", "missing")
        elif not _plain_file_name(url):
            bad(f"{field}.url", f"{url!r} is not a file name in this directory")
    extension = manifest["extension"]
    if not isinstance(extension.get("site_studies", {}), dict) or not all(
        isinstance(v, str) for v in extension.get("site_studies", {}).values()
    ):
        bad("extension.site_studies", "not a map of site to ResearchStudy id")
    questionnaires = extension.get("questionnaires", [])
    if not isinstance(questionnaires, list) or not all(isinstance(q, str) for q in questionnaires):
        bad("extension.questionnaires", "not a list of canonical url|version")
    if problems:
        raise errors.ProblemsError(f"{where}: {len(problems)} problem(s)", problems)
    return manifest


def _plain_file_name(url: str) -> bool:
    path = PurePosixPath(url)
    return (
        len(path.parts) == 1
        and path.name not in ("", ".", "..")
        and "\\" not in url
        and ":" not in url
        and not url.startswith(".")
    )


def _verify_files(directory: Path, manifest: Mapping[str, Any]) -> None:
    for item in manifest.get("output", []):
        path = directory / item["url"]
        digest = hashlib.sha256()
        try:
            with path.open("rb") as stream:
                while block := stream.read(1 << 20):
                    digest.update(block)
        except OSError as exc:
            raise errors.BadInputError(f"cannot read {path}: {exc.strerror}") from None
        if digest.hexdigest() != item.get("sha256"):
            raise errors.BadInputError(
                f"{path} does not match its SHA-256 in the manifest", "regenerate the directory"
            )


def check_published(fhir: FhirClient, manifest: Mapping[str, Any]) -> None:
    """Stop unless the study's site ResearchStudies and Questionnaires are on the server.

    :raises errors.BadInputError: listing what is missing.
    """
    extension = manifest["extension"]
    missing: list[str] = []
    for study_id in extension.get("site_studies", {}).values():
        try:
            fhir.read("ResearchStudy", study_id)
        except ResourceNotFoundError:
            missing.append(f"ResearchStudy/{study_id}")
    for canonical in extension.get("questionnaires", []):
        url, _, version = canonical.partition("|")
        found = next(iter(fhir.search_pages("Questionnaire", {"url": url, "version": version})))
        if not found.resources:
            missing.append(f"Questionnaire {canonical}")
    if missing:
        study = extension.get("study", {})
        raise errors.BadInputError(
            f"study {study.get('id')} v{study.get('version')} is not published on "
            f"{fhir.base_url}: missing {', '.join(missing[:5])}"
            + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""),
            "publish the study definitions first (edc publish PROTOCOL --fhir-url URL, or POST "
            "the bundle from edc protocol compile as a transaction), then load again",
        )


def _organizations(
    fhir: FhirClient, directory: Path, counts: dict[str, TypeCount]
) -> dict[str, str]:
    path = directory / layout.type_file("Organization")
    resources = list(layout.read_lines(path)) if path.exists() else []
    if not resources:
        return {}
    response = fhir.transaction(_bundle(resources, {}))
    mapping = {}
    for resource, result in zip(resources, entry_results(response.body), strict=True):
        _count(counts, resource["resourceType"], result.status)
        mapping[str(resource["id"])] = _server_id(result.location)
    return mapping


def _send(
    fhir: FhirClient,
    batch: list[list[dict[str, Any]]],
    organizations: Mapping[str, str],
    counts: dict[str, TypeCount],
) -> int:
    resources = [resource for record in batch for resource in record]
    response = fhir.transaction(_bundle(resources, organizations))
    for resource, result in zip(resources, entry_results(response.body), strict=True):
        _count(counts, resource["resourceType"], result.status)
    return len(batch)


def _count(counts: dict[str, TypeCount], resource_type: str, status: int) -> None:
    count = counts.setdefault(resource_type, TypeCount())
    if status == 201:
        count.created += 1
    else:
        count.present += 1


def _server_id(location: str | None) -> str:
    """``.../Organization/<id>/_history/1`` -> ``<id>``."""
    if not location:
        raise errors.ExternalSystemError("the server did not say where it stored a resource")
    parts = location.split("/_history/")[0].rstrip("/").split("/")
    return parts[-1]


def _urn(resource: Mapping[str, Any]) -> str:
    key = f"{resource['resourceType']}/{resource['id']}"
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, key)}"


def _bundle(
    resources: Iterable[dict[str, Any]], organizations: Mapping[str, str]
) -> dict[str, Any]:
    resources = list(resources)
    local = {f"{r['resourceType']}/{r['id']}": _urn(r) for r in resources}
    entries = []
    for resource in resources:
        body = {k: v for k, v in resource.items() if k not in ("id", "meta")}
        body = _rewrite(body, local, organizations)
        request: dict[str, str] = {"method": "POST", "url": resource["resourceType"]}
        key = layout.load_key(resource)
        if key is not None:
            request["ifNoneExist"] = urlencode({"identifier": search_token(*key)})
        entries.append(
            {
                "fullUrl": local[f"{resource['resourceType']}/{resource['id']}"],
                "resource": body,
                "request": request,
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _rewrite(node: Any, local: Mapping[str, str], organizations: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                if value in local:
                    value = local[value]
                elif value.startswith("Organization/"):
                    org = organizations.get(value.removeprefix("Organization/"))
                    value = f"Organization/{org}" if org else value
            else:
                value = _rewrite(value, local, organizations)
            result[key] = value
        return result
    if isinstance(node, list):
        return [_rewrite(item, local, organizations) for item in node]
    return node
