"""One batch of received resources -> the warehouse, in one transaction with its cursor.

In order: parse; store raw (once per version, fast path); check R4 structure of what is new;
normalize by type (subjects before what refers to them); when a patient is enrolled, normalize
the data of that patient stored by earlier runs; resolve "unknown subject" problems that no
longer apply; record problems (and input that is not a resource at all); write the cursor.
Commit. A crash anywhere before the commit leaves nothing of the batch and the cursor where it
was, so the next run reads the batch again; a crash after it leaves nothing to redo.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import select

from edc.clock import Clock
from edc.sync import cursors, deletions, echo, forms, locked, prescreen, safety, subjects
from edc.sync.incoming import Incoming, Parsed, Rejected, parse, r4_problems
from edc.sync.scope import StudyScope
from edc.sync.store import Problem, Stored, record_problems, store_resources
from edc.sync.work import UNKNOWN_SUBJECT, Work, latest_versions
from edc.synced_types import TYPES
from edc.warehouse import audit, db, screening
from edc.warehouse.batch import BatchWriter
from edc.warehouse.tables.fhir import DataProblemRow, RawResourceRow

log = logging.getLogger("edc.sync")
# Types whose normalization needs the subject: normalized again when their patient enrolls.
DEPENDENT_TYPES = ("Consent", "Encounter", "QuestionnaireResponse", "AdverseEvent")
UNREADABLE = "(unreadable)"
_NORMALIZERS: Mapping[str, Callable[[Work, Sequence[Stored]], Any]] = {
    "ResearchSubject": subjects.normalize_research_subjects,
    "Consent": subjects.normalize_consents,
    "Encounter": subjects.normalize_encounters,
    "QuestionnaireResponse": forms.normalize_responses,
    "AdverseEvent": safety.normalize_adverse_events,
}


@dataclasses.dataclass
class TypeCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    # Held here, deleted on the server since, newly reported as problems (not in the total).
    deleted: int = 0

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged + self.rejected


@dataclasses.dataclass(frozen=True)
class SyncRun:
    """The sync job and run that receive data, and who started it: named on each received
    version's audit row (its reason), with the source in the row itself (issue 10).

    :ivar job: ``edc sync`` for the command, ``scheduled job <job id>`` for ``edc scheduler``.
    :ivar run: the run's id (the ``job_run`` row of a scheduled run; a fresh id per command,
        also in the command's log records).
    :ivar started_by: the user who ran the command (``--user``/``EDC_USER``/login name), or
        ``scheduler`` for a scheduled run.
    """

    job: str
    run: str
    started_by: str

    def describe(self, what: str = "received") -> str:
        """The audit reason: ``received by edc sync run 1a2b3c, started by alice``."""
        return f"{what} by {self.job} run {self.run}, started by {self.started_by}"


class Ingestor:
    """Ingests batches for one study from one source, counting what happened per type.

    :param actor: who the audit trail names (the command or the scheduled job, or the person
        who entered the data in the web application).
    :param role: the actor's role ("system" for commands and jobs: then each received version is
        audited once, as its raw resource, and the form rows derived from it get no audit rows
        of their own; a person's role keeps an audit row per derived row, as for entered forms).
    :param reason: why data already stored is changed, when a person changes it.
    :param run: the sync run, named on each received version's audit row (None: the rows
        carry ``reason``, as for data a person entered).
    """

    def __init__(
        self,
        maker: db.SessionMaker,
        scope: StudyScope,
        source: str,
        clock: Clock,
        *,
        actor: str = "edc sync",
        role: str = "system",
        reason: str | None = None,
        run: SyncRun | None = None,
    ) -> None:
        self.maker = maker
        self.scope = scope
        self.source = source
        self.clock = clock
        self.actor = actor
        self.role = role
        self.reason = reason
        self.run = run
        self.counts: dict[str, TypeCounts] = {}
        self._counted: set[tuple[str, str, str]] = set()

    @property
    def rejected(self) -> int:
        return sum(c.rejected for c in self.counts.values())

    def ingest(
        self, batch: Sequence[Incoming], cursor: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        """Ingest one batch and save ``cursor`` (by resource type) in the same transaction."""
        with _without_cycle_collection():
            self._ingest(batch, cursor)

    def _ingest(
        self, batch: Sequence[Incoming], cursor: Mapping[str, Mapping[str, Any]] | None
    ) -> None:
        parsed: list[Parsed] = []
        rejected: list[Rejected] = []
        for item in batch:
            result = parse(item)
            if isinstance(result, Parsed):
                parsed.append(result)
            else:
                rejected.append(result)
        with self._unit_of_work() as work:
            parsed, for_screening = prescreen.split(work, parsed)
            screened = prescreen.store(work, for_screening)
            stored = store_resources(
                work.writer, self.source, parsed, self.clock.now(),
                received_by=self.run.describe() if self.run else None,
            )  # fmt: skip
            locked.hold_back(work, stored)
            self._normalize(work, stored)
            work.problems += [Problem(r.kind, r.message, r.field_path, rejected=r)
                              for r in rejected]  # fmt: skip
            cursors.save(
                session=work.session,
                source=self.source,
                study_id=self.scope.study_id,
                values=cursor or {},
                clock=self.clock,
            )
        self._count(stored, work.rejected, rejected)
        for (resource_type, state), count in screened.items():
            counts = self.counts.setdefault(resource_type, TypeCounts())
            setattr(counts, state, getattr(counts, state) + count)
        log.info(
            "batch committed",
            extra={"resources": len(batch), "rejected": len(rejected) + len(work.rejected)},
        )

    def report_deletions(self, resource_type: str, deleted: Mapping[str, str]) -> None:
        """Record the deletions at the source of resources we hold (``edc.sync.deletions``)."""
        if not deleted:
            return  # no write transaction for nothing
        with self._unit_of_work() as work:
            new = deletions.report(work, resource_type, deleted)
        if new:
            self.counts.setdefault(resource_type, TypeCounts()).deleted += new

    @contextlib.contextmanager
    def _unit_of_work(self) -> Iterator[Work]:
        """One transaction with the audit context bound; the problems found are recorded last."""
        with db.transaction(self.maker) as session:
            audit.bind(
                session, actor=self.actor, role=self.role, clock=self.clock, reason=self.reason
            )
            writer = BatchWriter(session)
            work = Work(
                session, writer, self.scope, self.source, self.clock,
                audit_derived=self.role != "system",
            )  # fmt: skip
            yield work
            session.flush()  # patient links made by this batch: problems name their subject
            record_problems(
                writer,
                study_id=self.scope.study_id,
                source=self.source,
                problems=work.problems,
                detected_at=self.clock.now(),
            )

    def save_cursor(self, cursor: Mapping[str, Mapping[str, Any]]) -> None:
        """Write cursors alone (a pull that found nothing new still moves on)."""
        self.ingest([], cursor)

    def _normalize(self, work: Work, stored: list[Stored]) -> None:
        fresh = [s for s in stored if s.state != "unchanged"]
        for item in fresh:
            for path, message in r4_problems(item.parsed, self.scope.questionnaire_urls):
                work.problem(item, "invalid_resource", message, path)
        by_type: dict[str, list[Stored]] = {}
        for item in echo.link_entered(work, stored):
            if item.raw_id not in work.rejected:
                by_type.setdefault(item.parsed.resource_type, []).append(item)
        enrolled: list[str] = []
        for resource_type in (*TYPES, *sorted(set(by_type) - set(TYPES))):
            normalize = _NORMALIZERS.get(resource_type)
            if normalize is not None and resource_type in by_type:
                found = normalize(work, by_type[resource_type])
                if resource_type == "ResearchSubject":
                    enrolled = list(found)
        moved = self.run.describe("screening data made trial data") if self.run else None
        for patient_id in enrolled:  # their EHR data kept for screening is trial data now
            screening.move_to_trial(
                work.writer, study_id=work.scope.study_id, source=work.source,
                patient_id=patient_id, reason=moved,
            )  # fmt: skip
        again = echo.link_entered(work, _stored_for_patients(work, enrolled)) if enrolled else []
        for resource_type in DEPENDENT_TYPES:
            items = [s for s in again if s.parsed.resource_type == resource_type]
            if items:
                _NORMALIZERS[resource_type](work, items)
        _resolve_unknown_subjects(work, [s.raw_id for s in (*stored, *again)])

    def _count(
        self, stored: Iterable[Stored], rejected_ids: set[int], unreadable: Iterable[Rejected]
    ) -> None:
        for item in stored:
            key = (item.parsed.resource_type, item.parsed.logical_id, item.parsed.version_key)
            counts = self.counts.setdefault(item.parsed.resource_type, TypeCounts())
            if item.raw_id in rejected_ids and item.state != "unchanged":
                counts.rejected += 1
            elif key in self._counted:
                continue  # seen again within this run (overlapping pages): counted once
            elif item.raw_id in rejected_ids:
                counts.rejected += 1
            else:
                setattr(counts, item.state, getattr(counts, item.state) + 1)
            self._counted.add(key)
        for bad in unreadable:
            self.counts.setdefault(bad.resource_type or UNREADABLE, TypeCounts()).rejected += 1


@contextlib.contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Suspend the cyclic garbage collector for one batch.

    A batch allocates a few hundred thousand short-lived objects (parsed JSON, rows) with no
    reference cycles: reference counting frees them all. The cyclic collector would instead scan
    them again and again as they pile up; measured on 10,000 responses it took a tenth of the
    whole ingest time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _stored_for_patients(work: Work, patient_ids: Sequence[str]) -> list[Stored]:
    """What earlier runs stored for these patients, of the types that need the subject."""
    rows = work.session.execute(
        select(
            RawResourceRow.id,
            RawResourceRow.json_text,
            RawResourceRow.sha256,
            RawResourceRow.resource_type,
            RawResourceRow.logical_id,
            RawResourceRow.version_id,
            RawResourceRow.last_updated,
            RawResourceRow.patient_id,
        ).where(
            RawResourceRow.source == work.source,
            RawResourceRow.patient_id.in_(list(patient_ids)),
            RawResourceRow.resource_type.in_(DEPENDENT_TYPES),
        )
    ).all()
    reported = work.already_reported(int(row.id) for row in rows)
    found = []
    for row in rows:
        if int(row.id) in reported:
            continue
        parsed = Parsed(
            orjson.loads(row.json_text), row.json_text, row.sha256,
            row.resource_type, str(row.logical_id), row.version_id, row.last_updated,
            f"stored #{row.id}", row.patient_id,
        )  # fmt: skip
        found.append(Stored(parsed, int(row.id), "unchanged"))
    return latest_versions(found)


def _resolve_unknown_subjects(work: Work, raw_ids: Sequence[int]) -> None:
    settled = sorted(set(raw_ids) - work.rejected)
    if not settled:
        return
    problems = work.session.scalars(
        select(DataProblemRow).where(
            DataProblemRow.study_id == work.scope.study_id,
            DataProblemRow.kind == UNKNOWN_SUBJECT,
            DataProblemRow.status == "open",
            DataProblemRow.raw_resource_id.in_(settled),
        )
    ).all()
    if problems:
        with audit.reason(work.session, "the patient has been enrolled since"):
            for problem in problems:
                problem.status = "resolved"
