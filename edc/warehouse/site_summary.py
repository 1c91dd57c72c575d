"""Read-only summaries of a study in the warehouse: per site, and the data problems found."""

from __future__ import annotations

import collections
import dataclasses
import re

import orjson
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from edc.warehouse.tables import (
    AdverseEventRow,
    DataProblemRow,
    FormResponseRow,
    RawResourceRow,
    SiteRow,
    StudyRow,
    SubjectRow,
)


@dataclasses.dataclass(frozen=True)
class SiteSummary:
    code: str
    name: str
    patients: int
    subjects: int
    forms: int
    adverse_events_by_grade: dict[int, int]
    serious_adverse_events: int


@dataclasses.dataclass(frozen=True)
class ProblemGroup:
    """Problems of one kind whose messages differ only in quoted values and numbers."""

    kind: str
    pattern: str
    count: int
    example: str  # one full message with where it was found


def list_site_summaries(*, session: Session, study_code: str, source: str) -> list[SiteSummary]:
    """Per site of ``study_code``: patients received from ``source``, subjects, form responses,
    adverse events by CTCAE grade.

    Patients are not trial data yet (no subject), so they are counted from the raw Patient
    resources by the hospital named in ``managingOrganization.display``, matched to the site's
    name; a patient whose hospital names no site is not counted.
    """
    study_id = session.scalar(select(StudyRow.id).where(StudyRow.code == study_code))
    sites = list(
        session.scalars(select(SiteRow).where(SiteRow.study_id == study_id).order_by(SiteRow.code))
    )
    patients = _patients_by_hospital(session, source)

    def per_site(query: Select[int, int]) -> dict[int, int]:
        return {int(site_id): int(count) for site_id, count in session.execute(query)}

    subjects = per_site(
        select(SubjectRow.site_id, func.count())
        .where(SubjectRow.study_id == study_id)
        .group_by(SubjectRow.site_id)
    )
    forms = per_site(
        select(SubjectRow.site_id, func.count())
        .join(FormResponseRow, FormResponseRow.subject_id == SubjectRow.id)
        .where(SubjectRow.study_id == study_id)
        .group_by(SubjectRow.site_id)
    )
    grades: dict[int, dict[int, int]] = collections.defaultdict(dict)
    serious: collections.Counter[int] = collections.Counter()
    rows = session.execute(
        select(SubjectRow.site_id, AdverseEventRow.grade, AdverseEventRow.serious, func.count())
        .join(AdverseEventRow, AdverseEventRow.subject_id == SubjectRow.id)
        .where(SubjectRow.study_id == study_id)
        .group_by(SubjectRow.site_id, AdverseEventRow.grade, AdverseEventRow.serious)
    )
    for site_id, grade, is_serious, count in rows:
        grades[site_id][grade] = grades[site_id].get(grade, 0) + count
        if is_serious:
            serious[site_id] += count
    return [
        SiteSummary(
            code=site.code,
            name=site.name,
            patients=patients.get(site.name, 0),
            subjects=subjects.get(site.id, 0),
            forms=forms.get(site.id, 0),
            adverse_events_by_grade=dict(sorted(grades[site.id].items())),
            serious_adverse_events=serious[site.id],
        )
        for site in sites
    ]


def _patients_by_hospital(session: Session, source: str) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    seen: set[str] = set()
    rows = session.execute(
        select(RawResourceRow.logical_id, RawResourceRow.json_text).where(
            RawResourceRow.source == source, RawResourceRow.resource_type == "Patient"
        )
    )
    for logical_id, json_text in rows:
        if logical_id in seen:
            continue  # an older version of a patient already counted
        seen.add(str(logical_id))
        try:
            organization = orjson.loads(json_text).get("managingOrganization") or {}
        except orjson.JSONDecodeError:
            continue
        counts[str(organization.get("display", ""))] += 1
    return counts


def count_rejected(*, session: Session, study_code: str) -> int:
    """Inputs with an open problem: stored resources, plus lines that were not resources."""
    study_id = session.scalar(select(StudyRow.id).where(StudyRow.code == study_code))
    open_problems = (DataProblemRow.study_id == study_id) & (DataProblemRow.status == "open")
    resources = session.scalar(
        select(func.count(func.distinct(DataProblemRow.raw_resource_id))).where(open_problems)
    )
    texts = session.scalar(
        select(func.count(func.distinct(DataProblemRow.raw_sha256))).where(
            open_problems, DataProblemRow.raw_resource_id.is_(None)
        )
    )
    return int(resources or 0) + int(texts or 0)


def last_problem_id(*, session: Session, study_code: str) -> int:
    """The newest data problem's id in the study (0 when there is none): what a later
    ``list_problem_groups(after_id=...)`` leaves out."""
    study_id = session.scalar(select(StudyRow.id).where(StudyRow.code == study_code))
    found = session.scalar(
        select(func.max(DataProblemRow.id)).where(DataProblemRow.study_id == study_id)
    )
    return int(found or 0)


def list_problem_groups(
    *, session: Session, study_code: str, after_id: int = 0
) -> list[ProblemGroup]:
    """Open data problems of the study (those recorded after problem ``after_id``), grouped by
    kind and message, most frequent first."""
    study_id = session.scalar(select(StudyRow.id).where(StudyRow.code == study_code))
    groups: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    rows = session.execute(
        select(
            DataProblemRow.kind,
            DataProblemRow.message,
            DataProblemRow.field_path,
            DataProblemRow.location,
            RawResourceRow.resource_type,
            RawResourceRow.logical_id,
        )
        .outerjoin(RawResourceRow, RawResourceRow.id == DataProblemRow.raw_resource_id)
        .where(
            DataProblemRow.study_id == study_id,
            DataProblemRow.status == "open",
            DataProblemRow.id > after_id,
        )
        .order_by(DataProblemRow.id)
    )
    for kind, message, field_path, location, resource_type, logical_id in rows:
        where = f"{resource_type}/{logical_id}" if logical_id else (location or "?")
        place = f"{where} {field_path}" if field_path else where
        groups[(kind, _pattern(message))].append(f"{message} ({place})")
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [ProblemGroup(kind, pattern, len(seen), seen[0]) for (kind, pattern), seen in ordered]


_QUOTED = re.compile(r"'[^']*'")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")


def _pattern(message: str) -> str:
    """``"15.0 is above the maximum 10"`` -> ``"<n> is above the maximum <n>"``."""
    return _NUMBER.sub("<n>", _QUOTED.sub("'...'", message))
