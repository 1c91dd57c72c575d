"""The shared state of one ingest transaction: session, fast writer, study, problems found.

Normalizers (``edc.sync.subjects``, ``forms``, ``safety``) receive a ``Work`` and the stored
resources of their type; what they cannot normalize they report with ``work.problem`` and leave
raw. ORM writes go through ``work.guarded``, a savepoint per resource, so that one resource the
database refuses becomes a problem instead of failing the whole batch.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from edc import errors
from edc.clock import Clock
from edc.sync.scope import StudyScope
from edc.sync.store import Problem, Stored
from edc.warehouse.batch import BatchWriter
from edc.warehouse.tables.fhir import DataProblemRow
from edc.warehouse.tables.subjects import PatientLinkRow

log = logging.getLogger("edc.sync")

# The problem kind of data that names a patient not (yet) enrolled: resolved on enrollment.
UNKNOWN_SUBJECT = "unknown_subject"


@dataclasses.dataclass
class Work:
    """One batch's transaction and what it has found so far."""

    session: Session
    writer: BatchWriter
    scope: StudyScope
    source: str
    clock: Clock
    # Whether rows derived from received resources get audit rows of their own: only when a
    # person writes (an entered form). A job's received versions are audited once each, as
    # their raw resource; what is derived from them is checked by `edc audit verify --derived`.
    audit_derived: bool = True
    problems: list[Problem] = dataclasses.field(default_factory=list)
    rejected: set[int] = dataclasses.field(default_factory=set)
    # Patient id on this source -> subject id (None: linked but not enrolled), loaded on demand.
    _subjects: dict[str, int | None] = dataclasses.field(default_factory=dict)

    def problem(
        self,
        stored: Stored,
        kind: str,
        message: str,
        path: str | None = None,
        *,
        rejected: bool = True,
    ) -> None:
        """Record a problem with a stored resource.

        :param rejected: the resource stays raw, not normalized (False: normalized anyway, the
            problem is for the monitors).
        """
        self.problems.append(Problem(kind, message, path, raw_id=stored.raw_id))
        if rejected:
            self.rejected.add(stored.raw_id)

    def load_subjects(self, patient_ids: Iterable[str]) -> None:
        """Look up the subjects of these patients (one query for the whole batch)."""
        wanted = sorted(set(patient_ids) - self._subjects.keys())
        for start in range(0, len(wanted), 2_000):
            rows = self.session.execute(
                select(PatientLinkRow.patient_id, PatientLinkRow.subject_id).where(
                    PatientLinkRow.study_id == self.scope.study_id,
                    PatientLinkRow.source == self.source,
                    PatientLinkRow.patient_id.in_(wanted[start : start + 2_000]),
                )
            )
            for patient_id, subject_id in rows:
                self._subjects[patient_id] = subject_id
        for patient_id in wanted:
            self._subjects.setdefault(patient_id, None)

    def subject_of(self, patient_id: str) -> int | None:
        """The subject enrolled as this patient (``load_subjects`` first), or None."""
        if patient_id not in self._subjects:
            self.load_subjects([patient_id])
        return self._subjects.get(patient_id)

    def linked(self, patient_id: str, subject_id: int) -> None:
        """Note a patient link made in this transaction."""
        self._subjects[patient_id] = subject_id

    def guarded(self, stored: Stored, write: Callable[[], None]) -> bool:
        """Run ORM ``write`` in a savepoint; a refusal by the database becomes a problem.

        :returns: whether the write went through.
        """
        try:
            with self.session.begin_nested():
                write()
        except (IntegrityError, DataError) as exc:
            # DataError: a value the column cannot hold (PostgreSQL: too long for VARCHAR(n)).
            self.problem(stored, "refused_by_database", str(exc.orig).strip().splitlines()[0])
            return False
        except errors.BadInputError as exc:
            self.problem(stored, "refused_by_database", exc.message)
            return False
        return True

    def already_reported(self, raw_ids: Iterable[int]) -> set[int]:
        """Which of these stored resources have problems recorded for this study (other than
        "unknown subject", which is tried again: the subject may have been enrolled since)."""
        wanted = sorted(set(raw_ids))
        found: set[int] = set()
        for start in range(0, len(wanted), 2_000):
            found |= set(
                self.session.scalars(
                    select(DataProblemRow.raw_resource_id).where(
                        DataProblemRow.study_id == self.scope.study_id,
                        DataProblemRow.kind != UNKNOWN_SUBJECT,
                        DataProblemRow.raw_resource_id.in_(wanted[start : start + 2_000]),
                    )
                )
            )
        return found


def update_reason(stored: Stored, given: str | None = None) -> str:
    """The audit trail's reason for changing rows because the source sent a newer version
    (``given``: the reason of the person who changed it in edc, when one did)."""
    version = stored.parsed.version_id
    if given:
        return f"{given} (versionId {version})" if version else given
    return f"updated at source to versionId {version}" if version else "updated at source"


def latest_versions(items: Iterable[Stored]) -> list[Stored]:
    """One per resource: the latest version among ``items`` (a batch may carry several)."""
    latest: dict[tuple[str, str], Stored] = {}
    for stored in items:
        key = (stored.parsed.resource_type, stored.parsed.logical_id)
        current = latest.get(key)
        if current is None or newer(stored.parsed.version_id, current.parsed.version_id):
            latest[key] = stored
    return list(latest.values())


def newer(version: str | None, than: str | None) -> bool:
    """Whether FHIR versionId ``version`` is later than ``than`` (numbers compare as numbers;
    otherwise, lacking an order, the version seen later wins)."""
    if version is not None and than is not None and version.isdigit() and than.isdigit():
        return int(version) > int(than)
    return version != than
