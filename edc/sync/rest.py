"""Incremental REST pull: the study's subjects, then each type for the study's patients.

Paging follows the server's advice in reverse: offset paging (``_offset``, SEKMET's ``next``
links) skips and repeats resources when one on an earlier page changes during the pull, so each
page is a fresh search ``_lastUpdated=ge<last instant seen>&_sort=_lastUpdated`` and what comes
back twice is recognised by ``(id, versionId)``. Instants are kept as the server wrote them (ms
precision; ``ge`` because two writes can share a millisecond). A page whose resources all share
the instant it started from (more same-millisecond writes than a page holds) is left by the
offset ``next`` link instead.

Patients are those linked to the study at this source (``patient_link``, filled by the subjects).
Patients already pulled are searched from the cursor minus the overlap window; patients new to
the study get their full history (their older data is older than the cursor), in chunks of
``PATIENTS_PER_SEARCH``. Each page is committed as it arrives; the cursor of a type moves only
when the whole type has been read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Generator, Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import select

from edc.fhir import FhirClient, SearchPage, UnsupportedFeatureError
from edc.progress import Progress
from edc.sync import cursors, deletions
from edc.sync.incoming import Incoming, instant
from edc.sync.ingest import Ingestor
from edc.sync.pages import matched_resources
from edc.warehouse import db
from edc.warehouse.tables.subjects import PatientLinkRow

log = logging.getLogger("edc.sync")

PATIENTS_PER_SEARCH = 50
# Without these the study cannot be followed at all; other types are skipped when missing.
REQUIRED_TYPES = ("ResearchSubject", "Patient", "QuestionnaireResponse")
# The search parameter that names the patient, in order of preference, per type.
PATIENT_PARAMS = {"Patient": ("_id",), "AdverseEvent": ("subject", "patient")}


@dataclasses.dataclass(frozen=True)
class PullOptions:
    types: tuple[str, ...]
    page_size: int
    overlap_seconds: float
    batch_size: int
    group: str | None
    # Bulk: export every patient of the server instead of a Group (see edc.sync.bulk).
    patient_level: bool = False


class RestPuller:
    """Pulls one study's data from one server into the warehouse."""

    def __init__(
        self, fhir: FhirClient, ingestor: Ingestor, options: PullOptions, progress: Progress
    ) -> None:
        self.fhir = fhir
        self.ingestor = ingestor
        self.options = options
        self.progress = progress
        self.maker: db.SessionMaker = ingestor.maker
        self._received = 0
        # Types whose deletions can be read (type-level history); set by ``pull``.
        self.with_history: set[str] = set()

    def pull(self) -> tuple[str, ...]:
        """Pull every type; returns the types the server does not offer (skipped)."""
        params, skipped = self.plan()
        caps = self.fhir.capabilities()
        self.with_history = {t for t in params if caps.supports(t, interactions=["history-type"])}
        blind = sorted(params.keys() - self.with_history)
        if blind:
            log.warning(
                "The server offers no type history for %s: deletions there go unnoticed",
                ", ".join(blind),
            )
        cursor = self.cursors()
        if "ResearchSubject" in params:
            self.pull_subjects(cursor.get("ResearchSubject", {}))
        for resource_type in self.options.types:
            if resource_type != "ResearchSubject" and resource_type in params:
                self.pull_type(resource_type, params[resource_type], cursor.get(resource_type, {}))
        return skipped

    def plan(self) -> tuple[dict[str, str], tuple[str, ...]]:
        """The patient search parameter of each type the server offers, and those it lacks.

        :raises UnsupportedFeatureError: when a type we cannot do without is missing.
        """
        caps = self.fhir.capabilities()
        params: dict[str, str] = {}
        gaps: list[str] = []
        skipped: list[str] = []
        for resource_type in self.options.types:
            wanted = ("study",) if resource_type == "ResearchSubject" else None
            candidates = wanted or PATIENT_PARAMS.get(resource_type, ("patient", "subject"))
            usable = [
                p
                for p in candidates
                if caps.supports(
                    resource_type, interactions=["search-type"], search_params=[p, "_lastUpdated"]
                )
            ]
            if usable:
                params[resource_type] = usable[0]
            elif resource_type in REQUIRED_TYPES:
                gaps += caps.missing(
                    resource_type,
                    interactions=["search-type"],
                    search_params=[candidates[0], "_lastUpdated"],
                )
            else:
                skipped.append(resource_type)
        if gaps:
            raise UnsupportedFeatureError(
                f"the FHIR server ({caps.software or 'unknown software'}) cannot be synced",
                "Its CapabilityStatement (/metadata) lacks:\n" + "\n".join(f"  {g}" for g in gaps),
            )
        for resource_type in skipped:
            log.warning("The server does not offer %s searches: skipped", resource_type)
        return params, tuple(skipped)

    def cursors(self) -> dict[str, dict[str, Any]]:
        with db.transaction(self.maker) as session:
            return cursors.load(
                session=session, source=self.ingestor.source, study_id=self.ingestor.scope.study_id
            )

    def pull_subjects(self, cursor: dict[str, Any]) -> None:
        """The study's ResearchSubjects changed since the cursor; the cursor moves per page."""
        studies = ",".join(self.ingestor.scope.research_study_references)
        newest = cursor.get("since")
        for page, resources in self.scan(
            "ResearchSubject", [("study", studies)], self._since(cursor)
        ):
            newest = _later(newest, _newest(resources))
            value = {**cursor, "since": newest} if newest else dict(cursor)
            self.ingest(resources, page, "ResearchSubject", {"ResearchSubject": value})
        self.deletions("ResearchSubject", self._since(cursor))

    def pull_type(self, resource_type: str, param: str, cursor: dict[str, Any]) -> None:
        """One type for every study patient: incremental for known ones, full for new ones."""
        since = self._since(cursor)
        through = int(cursor.get("patients_through", 0))
        patients = self.patients()
        known = [pid for link, pid in patients if link <= through]
        new = [pid for link, pid in patients if link > through]
        upper: str | None = None
        for chunk, start in [
            *((c, since) for c in _chunks(known)),
            *((c, None) for c in _chunks(new)),
        ]:
            for page, resources in self.scan(resource_type, [(param, ",".join(chunk))], start):
                upper = upper or _search_time(page) or _newest(resources)
                self.ingest(resources, page, resource_type, None)
        self.deletions(resource_type, since)
        value: dict[str, Any] = {
            "patients_through": max((link for link, _ in patients), default=through)
        }
        moved = upper or cursor.get("since")
        if moved:
            value["since"] = moved
        self.ingestor.save_cursor({resource_type: value})

    def deletions(self, resource_type: str, since: str | None) -> None:
        """Report what the server deleted since the cursor (before the cursor moves past it).

        A first pull has nothing to compare: what is already deleted never arrived.
        """
        if since is None or resource_type not in self.with_history:
            return
        pages = self.fhir.history_pages(resource_type, since)
        self.ingestor.report_deletions(resource_type, deletions.deleted_in(pages, resource_type))

    def backfill(self, resource_type: str, param: str, patient_ids: Sequence[str]) -> None:
        """The full history of these patients for one type (after an incremental Bulk export)."""
        for chunk in _chunks(list(patient_ids)):
            for page, resources in self.scan(resource_type, [(param, ",".join(chunk))], None):
                self.ingest(resources, page, resource_type, None)

    def patients(self) -> list[tuple[int, str]]:
        """(patient_link id, Patient id) of every patient of the study at this source."""
        with db.transaction(self.maker) as session:
            rows = session.execute(
                select(PatientLinkRow.id, PatientLinkRow.patient_id)
                .where(
                    PatientLinkRow.study_id == self.ingestor.scope.study_id,
                    PatientLinkRow.source == self.ingestor.source,
                )
                .order_by(PatientLinkRow.id)
            )
            return [(int(link), str(pid)) for link, pid in rows]

    def scan(
        self, resource_type: str, params: list[tuple[str, str]], since: str | None
    ) -> Iterator[tuple[SearchPage, list[bytes]]]:
        """Every resource matching ``params`` changed at or after ``since``, page by page."""
        position = since
        while True:
            query = [*params, ("_sort", "_lastUpdated"), ("_count", str(self.options.page_size))]
            if position:
                query.append(("_lastUpdated", f"ge{position}"))
            page = next(iter(self.fhir.search_pages(resource_type, query)))
            resources = matched_resources(page)
            yield page, resources
            if len(resources) < self.options.page_size or page.next_url is None:
                return
            newest = _newest(resources)
            if newest is None or newest == position:
                # Every resource on the page has the instant we started from: more writes in one
                # millisecond than a page holds. Read on by offset until the instant moves.
                newest = yield from self._past_instant(resource_type, page, position)
                if newest is None:
                    return
            position = newest

    def _past_instant(
        self, resource_type: str, page: SearchPage, position: str | None
    ) -> Generator[tuple[SearchPage, list[bytes]], None, str | None]:
        for later in self.fhir.search_pages(resource_type, resume_from=page.next_url):
            resources = matched_resources(later)
            yield later, resources
            newest = _newest(resources)
            if newest is not None and newest != position:
                return newest
        return None

    def ingest(
        self,
        resources: list[bytes],
        page: SearchPage,
        resource_type: str,
        cursor: dict[str, dict[str, Any]] | None,
    ) -> None:
        batch = [
            Incoming(raw, f"{page.url} #{n}", resource_type) for n, raw in enumerate(resources)
        ]
        self.ingestor.ingest(batch, cursor)
        self._received += len(batch)
        self.progress.update(self._received, note=resource_type)

    def _since(self, cursor: dict[str, Any]) -> str | None:
        value = instant(cursor.get("since"))
        if value is None:
            return None
        start = value - dt.timedelta(seconds=self.options.overlap_seconds)
        return start.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[i : i + PATIENTS_PER_SEARCH] for i in range(0, len(ids), PATIENTS_PER_SEARCH)]


def _newest(resources: Sequence[bytes]) -> str | None:
    """The latest ``meta.lastUpdated`` among the resources, as the server wrote it."""
    best: tuple[dt.datetime, str] | None = None
    for raw in resources:
        text = _last_updated(raw)
        when = instant(text)
        if when is not None and text is not None and (best is None or when > best[0]):
            best = (when, text)
    return best[1] if best else None


def _last_updated(raw: bytes) -> str | None:
    try:
        resource = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    meta = resource.get("meta") if isinstance(resource, dict) else None
    value = meta.get("lastUpdated") if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


def _later(a: str | None, b: str | None) -> str | None:
    """The later of two instants (texts as the server wrote them); None counts as earliest."""
    when_a, when_b = instant(a), instant(b)
    if when_a is None:
        return b if when_b is not None else a
    return b if when_b is not None and when_b > when_a else a


def _search_time(page: SearchPage) -> str | None:
    """When the server ran the search (``Bundle.meta.lastUpdated``), if it says."""
    meta = page.bundle.get("meta")
    value = meta.get("lastUpdated") if isinstance(meta, dict) else None
    return value if isinstance(value, str) and instant(value) is not None else None
