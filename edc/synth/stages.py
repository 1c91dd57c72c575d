"""The generator in stages, for an enrolling system between them (``edc demo``).

``edc generate`` stands in for the enrolling system: it decides who enrolls and which arm they
get, and writes the population and the conduct in one pass. When edc itself enrolls and
randomizes, generation splits into stages around it:

1. the *population* - the hospitals' referred patients and their EHR records, with the truth
   about each (eligibility, and whether they would consent if asked: ``truth/patients``);
2. the *screening* conduct of the subjects edc enrolled - the visits before randomization, where
   the forms that stratify are filled;
3. the *treatment* conduct of the subjects edc randomized, with the arms edc allocated.

Stages 2 and 3 read the subjects from an allocations file (NDJSON, one ``EnrolledSubject`` per
line, written from the warehouse by the enrolling system) and write a directory of their own
(each subject's Patient, so ``edc load`` can send it, and the phase's resources). The same
seed and subjects give the same bytes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import orjson

from edc import errors
from edc.synth import layout
from edc.synth.enrollment import EnrolledSubject
from edc.synth.pipeline import Renderer, Totals, allocation_truth, last_day
from edc.synth.writer import DirectoryWriter

Phase = Literal["screening", "treatment"]


def write_allocations(path: Path, subjects: Iterable[EnrolledSubject]) -> int:
    """Write subjects as an allocations file; returns how many."""
    lines = [orjson.dumps(_as_json(s), option=orjson.OPT_SORT_KEYS) + b"\n" for s in subjects]
    path.write_bytes(b"".join(lines))
    return len(lines)


def read_allocations(path: Path) -> list[EnrolledSubject]:
    """The subjects of an allocations file.

    :raises errors.BadInputError: an unreadable file or a line that is not a subject, naming
        the file and line.
    """
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise errors.BadInputError(f"cannot read allocations {path}: {exc}") from None
    subjects = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = orjson.loads(line)
            subjects.append(
                EnrolledSubject(
                    patient_id=str(data["patient"]),
                    site_id=str(data["site"]),
                    subject_id=str(data["subject"]),
                    arm_id=str(data.get("arm") or ""),
                    consent_date=dt.date.fromisoformat(data["consent_date"]),
                    randomization_date=dt.date.fromisoformat(data["randomization_date"])
                    if data.get("randomization_date")
                    else None,
                    sentinel_sae=bool(data.get("sentinel_sae", False)),
                )
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise errors.BadInputError(f"{path}:{number}: not a subject ({exc})") from None
    return subjects


def _as_json(subject: EnrolledSubject) -> dict[str, object]:
    return {
        "patient": subject.patient_id,
        "site": subject.site_id,
        "subject": subject.subject_id,
        "arm": subject.arm_id or None,
        "consent_date": subject.consent_date.isoformat(),
        "randomization_date": subject.randomization_date.isoformat()
        if subject.randomization_date
        else None,
        "sentinel_sae": subject.sentinel_sae,
    }


@dataclasses.dataclass(frozen=True)
class StageResult:
    out: Path
    phase: Phase
    subjects: int
    resources: int
    defects: int


def write_conduct(
    renderer: Renderer,
    subjects: Sequence[EnrolledSubject],
    phase: Phase,
    out: Path,
    *,
    extension: dict[str, object],
) -> StageResult:
    """Write one conduct phase of ``subjects`` into a new directory ``out``.

    :raises KeyError: for a subject whose patient is not in the population.
    :raises errors.BadInputError: when ``out`` exists and is not empty.
    """
    population, conduct = renderer.population, renderer.conduct
    totals = Totals()
    with DirectoryWriter(out) as writer:
        for enrolled in subjects:
            patient = population.find(enrolled.patient_id)
            done = (
                conduct.screening(enrolled, patient)
                if phase == "screening"
                else conduct.treatment(enrolled, patient)
            )
            record = population.record(patient)
            writer.write("Patient", orjson.dumps(record[0]) + b"\n")
            for resource_type, line, defect in renderer.conduct_lines(done, patient.number):
                number = writer.write(resource_type, line)
                totals.resources += 1
                if defect is not None:
                    totals.defects += 1
                    defect_record = {
                        **defect,
                        "file": layout.type_file(resource_type),
                        "line": number,
                    }
                    writer.truth("defects", orjson.dumps(defect_record) + b"\n")
            if phase == "treatment":
                writer.truth("allocations", allocation_truth(done, patient, None))
            for row in done.visits:
                writer.truth("visits", orjson.dumps(row) + b"\n")
            totals.latest = max(totals.latest, last_day(done).isoformat())
            totals.subjects += 1
        writer.commit(
            transaction_time=f"{totals.latest}T23:59:59Z",
            request=f"conduct {phase} of {len(subjects)} subject(s)",
            extension={**extension, "generator": layout.GENERATOR, "phase": phase},
        )
    return StageResult(out, phase, totals.subjects, totals.resources, totals.defects)
