"""`edc screen`: pre-screen the patients of a site against the study's current criteria.

Patients are read in batches with one query each (``edc.warehouse.screening``), evaluated by a
``Screener`` compiled once - in two worker processes when there are enough patients - and their
records replaced batch by batch. A patient whose data, protocol version and screening date are
unchanged since the last run keeps its record (``rescreen`` evaluates everyone again). The
report lists candidates first (every EHR criterion met, then fewest unknowns), then screen
failures with the criteria that failed and their evidence, and per site the CONSORT numbers:
assessed, eligible, excluded by criterion, undetermined, consented, enrolled, randomized per
arm (masked for blinded users). Screening data stays at its site: a user screens only the sites
they hold a role at. ``purge`` applies the retention rule.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import datetime as dt
import multiprocessing
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson

from edc import errors
from edc.actions.workspace import Study, Workspace
from edc.fhirpath.evidence import Evidence
from edc.progress import Progress, SilentProgress
from edc.trial import eligibility, permissions
from edc.trial.eligibility import Screener, Screening, patient_record
from edc.trial.permissions import Action
from edc.warehouse import screening as store
from edc.warehouse import screening_log, site_progress
from edc.warehouse.batch import BatchWriter

CHUNK = 250  # patients per evaluation task
WINDOW = 6  # tasks in flight
PARALLEL_FROM = 1_000  # below this many patients one process is faster than starting workers


@dataclasses.dataclass(frozen=True)
class ScreenRequest:
    """What to screen.

    :ivar site: one site's code (None: every site the acting user may screen).
    :ivar as_of: the screening date the criteria's windows count from (None: today).
    :ivar as_of_by_patient: a screening date per patient id (a replay of past screenings).
    :ivar patients: only these patient ids.
    :ivar rescreen: evaluate patients whose data and protocol did not change, too.
    :ivar listing: read back every patient's result for the report.
    """

    study: str
    site: str | None = None
    as_of: dt.date | None = None
    as_of_by_patient: Mapping[str, dt.date] | None = None
    patients: tuple[str, ...] = ()
    rescreen: bool = False
    workers: int | None = None
    listing: bool = True


@dataclasses.dataclass(frozen=True)
class CriterionLine:
    criterion_id: str
    result: str
    reason: str
    evidence: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class PatientLine:
    """One patient's screening, as reported."""

    site: str
    patient: str
    status: str  # candidate | undetermined | screen failure | consented | enrolled
    outcome: str
    unknown: int
    failed: tuple[CriterionLine, ...]
    undecided: tuple[CriterionLine, ...]
    as_of: dt.date
    protocol_version: str
    data_seen: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class SiteNumbers:
    """CONSORT numbers of one site (purged screenings included through their tallies)."""

    site: str
    assessed: int
    eligible: int
    ineligible: int
    undetermined: int
    excluded_by_criterion: dict[str, int]
    consented: int
    enrolled: int
    randomized: dict[str, int]


@dataclasses.dataclass(frozen=True)
class ScreenResult:
    study: str
    protocol_version: str
    evaluated: int
    unchanged: int
    seconds: float
    patients: list[PatientLine]
    sites: list[SiteNumbers]

    @property
    def rate(self) -> float:
        return self.evaluated / self.seconds if self.seconds > 0 else 0.0


def screen(
    workspace: Workspace, request: ScreenRequest, progress: Progress | None = None
) -> ScreenResult:
    """Screen, store the results, and report.

    :raises errors.BadInputError: an unknown study, site or patient, or a user who may not
        screen there (nothing is written).
    """
    progress = progress or SilentProgress()
    started = time.monotonic()
    today = request.as_of or workspace.clock.now().date()
    with workspace.transaction() as session:
        study = workspace.study(session, request.study)
        sites = workspace.sites_for(session, study, Action.SCREEN, request.site)
        patients = store.list_patients(
            session,
            study_id=study.id,
            site_ids=[site.id for site in sites],
            patient_ids=request.patients,
        )
    _check_patients(request, patients, study)
    evaluated = unchanged = 0
    screener = _Evaluator(workspace.screener(study), request.workers, len(patients))
    try:
        for batch, outcomes in screener.run(workspace, study, patients, request, today):
            evaluated += len(outcomes)
            unchanged += batch - len(outcomes)
            progress.update(evaluated + unchanged, len(patients), f"{unchanged:,} unchanged")
            if not outcomes:
                continue
            with workspace.transaction() as session:
                workspace.act(session, study, Action.SCREEN, _site_code(study, outcomes))
                store.replace_records(
                    BatchWriter(session),
                    study_id=study.id,
                    protocol_version_id=study.protocol_version_id,
                    screened_at=workspace.clock.now(),
                    records=outcomes,
                )
    finally:
        screener.close()
    seconds = time.monotonic() - started
    progress.finish(f"{evaluated:,} screened, {unchanged:,} unchanged")
    with workspace.transaction() as session:
        actor = workspace.act(session, study, Action.SCREEN, request.site)
        lines = _lines(session, study, sites, request) if request.listing else []
        numbers = site_numbers(session, study, sites, visible=workspace.sees_arms(actor, study))
    return ScreenResult(study.code, study.version, evaluated, unchanged, seconds, lines, numbers)


def _site_code(study: Study, outcomes: Sequence[store.RecordToSave]) -> str | None:
    codes = {study.site_by_id(r.site_id).code for r in outcomes}
    return codes.pop() if len(codes) == 1 else None


def _check_patients(
    request: ScreenRequest, found: Sequence[tuple[str, str, int]], study: Study
) -> None:
    if not request.patients:
        return
    missing = sorted(set(request.patients) - {pid for _, pid, _ in found})
    if missing:
        where = f" at site {request.site}" if request.site else ""
        raise errors.BadInputError(
            f"no screening data for patient(s) {', '.join(missing)} in {study.code}{where}",
            "sync the site's EHR data first; enrolled patients are screened at enrollment",
        )


# --- evaluation, in this process or in workers ------------------------------------------------

_SCREENER: Screener | None = None  # the screener workers inherit (fork) from the parent


Task = list[tuple[tuple[str, str], int, str, tuple[str, ...], dict[str, Any]]]


def _evaluate_task(task: Task) -> list[store.RecordToSave]:
    if _SCREENER is None:
        raise RuntimeError("no screener: workers are forked by _Evaluator")
    return [evaluate_one(_SCREENER, *item) for item in task]


def evaluate_one(
    screener: Screener,
    key: tuple[str, str],
    site_id: int,
    as_of: str,
    texts: Sequence[str],
    data_seen: dict[str, Any],
) -> store.RecordToSave:
    """Screen one patient's stored data (as JSON texts) into a record to store."""
    day = dt.date.fromisoformat(as_of)
    return to_record(screen_texts(screener, texts, day), site_id, key, day, data_seen)


def screen_texts(screener: Screener, texts: Sequence[str], as_of: dt.date) -> Screening:
    """Screen one patient's stored resources (JSON texts) as of a screening date."""
    return screener.screen(patient_record(orjson.loads(text) for text in texts), as_of)


def to_record(
    screening: Screening,
    site_id: int,
    key: tuple[str, str],
    as_of: dt.date,
    data_seen: dict[str, Any],
) -> store.RecordToSave:
    return store.RecordToSave(
        site_id=site_id,
        source=key[0],
        patient_id=key[1],
        as_of=as_of,
        outcome=screening.outcome,
        failed=sum(1 for r in screening.results if r.passes is False),
        unknown=len(screening.unknown()),
        data_seen=data_seen,
        results=tuple(
            (
                r.criterion_id,
                r.exclusion,
                r.result,
                r.suggested,
                r.reason,
                [e.as_json() for e in r.evidence],
            )
            for r in screening.results
        ),
    )


class _Evaluator:
    def __init__(self, screener: Screener, workers: int | None, patients: int) -> None:
        global _SCREENER
        count = workers or (2 if patients >= PARALLEL_FROM and (os.cpu_count() or 1) >= 2 else 1)
        self.local = screener if count <= 1 else None
        self.pool = None
        if count > 1:
            _SCREENER = screener  # compiled once here; the forked workers inherit it
            context = multiprocessing.get_context("fork")
            self.pool = concurrent.futures.ProcessPoolExecutor(count, mp_context=context)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def run(
        self,
        workspace: Workspace,
        study: Study,
        patients: Sequence[tuple[str, str, int]],
        request: ScreenRequest,
        today: dt.date,
    ) -> Iterator[tuple[int, list[store.RecordToSave]]]:
        """(patients in the chunk, records of those that needed screening), chunk by chunk."""
        tasks = self._tasks(workspace, study, patients, request, today)
        if self.local is not None:
            for size, task in tasks:
                yield size, [evaluate_one(self.local, *item) for item in task]
            return
        if self.pool is None:
            raise RuntimeError("an evaluator has a local screener or a pool")
        pending: collections.deque[tuple[int, concurrent.futures.Future[list[store.RecordToSave]]]]
        pending = collections.deque()
        for size, task in tasks:
            pending.append((size, self.pool.submit(_evaluate_task, task)))
            while len(pending) >= WINDOW:
                done_size, future = pending.popleft()
                yield done_size, future.result()
        while pending:
            done_size, future = pending.popleft()
            yield done_size, future.result()

    def _tasks(
        self,
        workspace: Workspace,
        study: Study,
        patients: Sequence[tuple[str, str, int]],
        request: ScreenRequest,
        today: dt.date,
    ) -> Iterator[tuple[int, Task]]:
        by_patient = request.as_of_by_patient or {}
        for start in range(0, len(patients), CHUNK):
            chunk = patients[start : start + CHUNK]
            keys = [(source, pid) for source, pid, _ in chunk]
            with workspace.transaction() as session:
                connection = session.connection()
                data = store.load_patient_data(connection, study_id=study.id, keys=keys)
                previous = store.previous_records(connection, study_id=study.id, keys=keys)
            task: Task = []
            for source, pid, site_id in chunk:
                patient = data.get((source, pid))
                if patient is None:
                    continue
                as_of = by_patient.get(pid, today)
                before = previous.get((source, pid))
                current = (study.protocol_version_id, patient.data_seen["sha256"], as_of)
                if before == current and not request.rescreen:
                    continue
                item = ((source, pid), site_id, as_of.isoformat(), patient.texts, patient.data_seen)
                task.append(item)
            yield len(chunk), task


# --- the report -------------------------------------------------------------------------------


def _lines(
    session: Any, study: Study, sites: Sequence[Any], request: ScreenRequest
) -> list[PatientLine]:
    stored = screening_log.read_screenings(
        session,
        study_id=study.id,
        site_ids=[site.id for site in sites],
        patient_ids=request.patients,
    )
    linked = site_progress.linked_patients(session, study_id=study.id)
    versions = {study.protocol_version_id: study.version}
    lines = []
    for record in stored:
        failed, undecided = [], []
        for criterion_id, exclusion, result, suggested, reason, evidence in record.results:
            line = CriterionLine(
                criterion_id,
                result if result != "investigator" else f"investigator ({suggested or 'no data'})",
                reason,
                tuple(str(Evidence.from_json(e)) for e in evidence),
            )
            if eligibility.passes(result, exclusion) is False:
                failed.append(line)
            elif result == "unknown":
                undecided.append(line)
        status = _status(record.outcome, linked.get((record.source, record.patient_id)))
        lines.append(
            PatientLine(
                site=study.site_by_id(record.site_id).code,
                patient=record.patient_id,
                status=status,
                outcome=record.outcome,
                unknown=record.unknown,
                failed=tuple(failed),
                undecided=tuple(undecided),
                as_of=record.as_of,
                protocol_version=versions.get(record.protocol_version_id, "older"),
                data_seen=record.data_seen,
            )
        )
    order = {"eligible": 0, "undetermined": 1, "ineligible": 2}
    return sorted(lines, key=lambda x: (order[x.outcome], x.unknown, x.site, x.patient))


def _status(outcome: str, enrolled: bool | None) -> str:
    if enrolled is not None:
        return "enrolled" if enrolled else "consented"
    return {"eligible": "candidate", "undetermined": "undetermined"}.get(outcome, "screen failure")


def site_numbers(
    session: Any,
    study: Study,
    sites: Sequence[Any],
    *,
    visible: bool,
    records: Sequence[screening_log.StoredScreening] | None = None,
) -> list[SiteNumbers]:
    """The CONSORT numbers of each site.

    :param records: the sites' current screenings, when the caller has read them already.
    """
    if records is None:
        records = screening_log.read_screenings(
            session, study_id=study.id, site_ids=[s.id for s in sites]
        )
    outcomes: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    excluded: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for record in records:
        outcomes[record.site_id][record.outcome] += 1
        for criterion_id, exclusion, result, _, _, _ in record.results:
            if eligibility.passes(result, exclusion) is False:
                excluded[record.site_id][criterion_id] += 1
    for tally in screening_log.tallies(session, study_id=study.id):
        outcomes[tally.site_id].update(
            eligible=tally.eligible, ineligible=tally.ineligible, undetermined=tally.undetermined
        )
        excluded[tally.site_id].update(tally.failed_by_criterion)
    consented = site_progress.consented_by_site(session, study_id=study.id)
    enrolled = site_progress.enrolled_by_site(session, study_id=study.id)
    randomized = site_progress.randomized_by_site(session, study_id=study.id)
    numbers = []
    for site in sites:
        counts = outcomes[site.id]
        arms = randomized.get(site.id, {})
        if not visible and arms:
            arms = {permissions.MASKED_ARM: sum(arms.values())}
        numbers.append(
            SiteNumbers(
                site=site.code,
                assessed=sum(counts.values()),
                eligible=counts["eligible"],
                ineligible=counts["ineligible"],
                undetermined=counts["undetermined"],
                excluded_by_criterion=dict(sorted(excluded[site.id].items())),
                consented=consented.get(site.id, 0),
                enrolled=enrolled.get(site.id, 0),
                randomized=dict(sorted(arms.items())),
            )
        )
    return numbers


# --- the retention rule -----------------------------------------------------------------------

_AGE = re.compile(r"^(\d+)([dw])$")


def parse_age(text: str, *, flag: str = "--purge-older-than") -> dt.timedelta:
    """``90d`` or ``12w``.

    :raises errors.BadInputError: for anything else, naming ``flag``.
    """
    match = _AGE.match(text.strip())
    if not match:
        raise errors.BadInputError(f"{flag} {text!r}: expected days or weeks", "e.g. 90d or 12w")
    days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
    return dt.timedelta(days=days)


@dataclasses.dataclass(frozen=True)
class PurgeResult:
    study: str
    before: dt.datetime
    purged: screening_log.Purged


def purge(
    workspace: Workspace, study_code: str, site: str | None, older_than: dt.timedelta
) -> PurgeResult:
    """Delete screening data of patients who never consented, screened before now - age.

    Counts are kept (``screening_tally``, audited) so CONSORT numbers stay complete.

    :raises errors.BadInputError: unknown study or site, or a user who may not purge there.
    """
    now = workspace.clock.now()
    before = now - older_than
    with workspace.transaction() as session:
        study = workspace.study(session, study_code)
        sites = [study.site(site)] if site else list(study.sites)
        for chosen in sites:
            workspace.act(session, study, Action.PURGE_SCREENING, chosen.code)
        purged = screening_log.purge(
            session,
            study_id=study.id,
            site_ids=[s.id for s in sites],
            before=before,
            now=now,
            is_failed=lambda row: (
                eligibility.passes(str(row["result"]), bool(row["exclusion"])) is False
            ),
        )
    return PurgeResult(study.code, before, purged)
