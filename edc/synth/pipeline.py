"""Run a generation: plan in order, render in parallel, write in order.

The main process walks the patients in number order and decides enrollment and allocation
(``Enroller``: permuted blocks are sequential); rendering a patient - EHR record, conduct,
defects, serialization - depends only on (seed, patient, allocation), so chunks of patients are
rendered by worker processes (fork: they inherit the compiled study) and written back in chunk
order. Output bytes are the same for any number of workers. Memory stays flat: at most
``WINDOW`` chunks are in flight.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import datetime as dt
import gc
import multiprocessing
from collections.abc import Iterator
from typing import Any

import orjson

from edc.progress import Progress
from edc.synth import defects, layout
from edc.synth.conduct import ConductGenerator, SubjectConduct
from edc.synth.enrollment import Allocation, Enroller, consent_intention
from edc.synth.population import Population, PopulationPatient
from edc.synth.rng import Purpose, stream
from edc.synth.writer import DirectoryWriter

CHUNK = 250  # patients per task
WINDOW = 6  # chunks in flight

Line = tuple[str, bytes, dict[str, Any] | None]  # resource type, NDJSON line, defect record


@dataclasses.dataclass(frozen=True)
class Rendered:
    lines: list[Line]
    truth: list[tuple[str, bytes]]
    latest: str  # ISO date of the patient's last record
    enrolled: bool


class Renderer:
    """Turns a planned patient into NDJSON lines (in the main process or a worker)."""

    def __init__(self, population: Population, conduct: ConductGenerator, defect_rate: float):
        self.population = population
        self.conduct = conduct
        self.defect_rate = defect_rate

    def render(self, number: int, allocation: Allocation | None) -> Rendered:
        patient = self.population.patient(number)
        lines: list[Line] = [
            (r["resourceType"], _dumps(r), None) for r in self.population.record(patient)
        ]
        truth: list[tuple[str, bytes]] = []
        latest = patient.state.screening_date
        subject_id = None
        if allocation is not None:
            enrolled = allocation.subject
            subject_id = enrolled.subject_id
            done = self.conduct.subject(enrolled, patient)
            lines += self.conduct_lines(done, number)
            latest = max(latest, last_day(done))
            truth.append(("allocations", allocation_truth(done, patient, allocation)))
            truth += [("visits", _dumps(row)) for row in done.visits]
        consents, consent_day = consent_intention(
            self.population.seed, self.population.profile.conduct, patient
        )
        truth.insert(
            0,
            (
                "patients",
                _dumps(
                    {
                        "patient": patient.patient_id,
                        "number": number,
                        "site": patient.site.id,
                        "screening_date": patient.state.screening_date.isoformat(),
                        "eligible": patient.eligible,
                        "failed": list(patient.failed),
                        **({"undecided": list(patient.undecided)} if patient.undecided else {}),
                        # What the patient would answer if asked to consent (and when).
                        "consents": consents,
                        "consent_date": consent_day.isoformat(),
                        "enrolled": allocation is not None,
                        "subject": subject_id,
                    }
                ),
            ),
        )
        return Rendered(lines, truth, latest.isoformat(), allocation is not None)

    def conduct_lines(self, done: SubjectConduct, number: int) -> list[Line]:
        """A subject's conduct resources as NDJSON lines, some responses damaged at random."""
        draw = stream(self.population.seed, Purpose.DEFECTS, number)
        forms = iter(done.forms)
        lines: list[Line] = []
        for resource in done.resources:
            defect = None
            if resource["resourceType"] == "QuestionnaireResponse":
                defect = defects.inject(
                    resource, next(forms), self.conduct.filler, draw, self.defect_rate
                )
            line = _dumps(resource)
            if defect is not None and defect.kind == defects.MALFORMED:
                line = defects.malformed(line[:-1]) + b"\n"
            lines.append((resource["resourceType"], line, defect.record() if defect else None))
        return lines


def last_day(done: SubjectConduct) -> dt.date:
    """The subject's last recorded day (milestones and visits)."""
    days = [
        *done.milestones.values(),
        *(dt.date.fromisoformat(v["date"]) for v in done.visits if v["date"]),
    ]
    return max(days) if days else done.subject.consent_date


def allocation_truth(
    done: SubjectConduct, patient: PopulationPatient, allocation: Allocation | None
) -> bytes:
    """The truth/allocations line of a subject (list position when the generator allocated)."""
    enrolled = done.subject
    return _dumps(
        {
            "subject": enrolled.subject_id,
            "patient": patient.patient_id,
            "site": patient.site.id,
            "arm": enrolled.arm_id,
            "block": allocation.block if allocation else None,
            "block_size": allocation.block_size if allocation else None,
            "position": allocation.position if allocation else None,
            "stratum": allocation.stratum if allocation else None,
            "consent_date": enrolled.consent_date.isoformat(),
            "milestones": {k: v.isoformat() for k, v in done.milestones.items()},
        }
    )


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value) + b"\n"


_RENDERER: Renderer | None = None  # set in the parent before forking workers


def _render_chunk(plans: list[tuple[int, Allocation | None]]) -> list[Rendered]:
    if _RENDERER is None:
        raise RuntimeError("no renderer: _render_chunk runs only inside pipeline.run")
    return [_RENDERER.render(number, allocation) for number, allocation in plans]


@dataclasses.dataclass
class Totals:
    patients: int = 0
    eligible: int = 0
    subjects: int = 0
    resources: int = 0
    defects: int = 0
    latest: str = "0000-01-01"
    # Criterion id -> patients it could not be decided for (taken as passed: reported).
    undecided: dict[str, int] = dataclasses.field(default_factory=dict)


def run(
    renderer: Renderer,
    enroller: Enroller,
    writer: DirectoryWriter,
    *,
    workers: int,
    progress: Progress,
) -> Totals:
    """Generate every patient of the population into ``writer``."""
    global _RENDERER  # workers inherit the renderer through fork
    population = renderer.population
    for hospital in population.hospitals.values():
        writer.write("Organization", _dumps(hospital))
    totals = Totals()

    def plans() -> Iterator[list[tuple[int, Allocation | None]]]:
        for start in range(0, population.count, CHUNK):
            chunk = []
            for number in range(start, min(start + CHUNK, population.count)):
                patient = population.patient(number)
                totals.eligible += patient.eligible
                for criterion_id in patient.undecided:
                    totals.undecided[criterion_id] = totals.undecided.get(criterion_id, 0) + 1
                chunk.append((number, enroller.consider(patient)))
            yield chunk

    _RENDERER = renderer
    try:
        for rendered in _results(plans(), workers):
            _write(writer, rendered, totals)
            progress.update(totals.patients, population.count, f"{totals.subjects:,} subjects")
    finally:
        _RENDERER = None
    return totals


def _results(
    chunks: Iterator[list[tuple[int, Allocation | None]]], workers: int
) -> Iterator[list[Rendered]]:
    if workers <= 1:
        for chunk in chunks:
            yield _render_chunk(chunk)
        return
    context = multiprocessing.get_context("fork")
    # Objects the workers inherit (compiled study, CTCAE, templates) never become garbage:
    # freezing them keeps the children's collector from walking, and so copying, those pages.
    gc.freeze()
    try:
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            pending: collections.deque[concurrent.futures.Future[list[Rendered]]] = (
                collections.deque()
            )
            for chunk in chunks:
                pending.append(pool.submit(_render_chunk, chunk))
                while len(pending) >= WINDOW:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
    finally:
        gc.unfreeze()


def _write(writer: DirectoryWriter, chunk: list[Rendered], totals: Totals) -> None:
    for rendered in chunk:
        totals.patients += 1
        totals.subjects += rendered.enrolled
        totals.latest = max(totals.latest, rendered.latest)
        for resource_type, line, defect in rendered.lines:
            number = writer.write(resource_type, line)
            totals.resources += 1
            if defect is not None:
                totals.defects += 1
                record = {**defect, "file": layout.type_file(resource_type), "line": number}
                writer.truth("defects", _dumps(record))
        for name, line in rendered.truth:
            writer.truth(name, line)


def transaction_time(latest: str) -> str:
    """The Bulk ``transactionTime``: the day after the last record, end of day UTC."""
    day = dt.date.fromisoformat(latest) + dt.timedelta(days=1)
    return f"{day.isoformat()}T23:59:59Z"
