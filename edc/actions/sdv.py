"""`edc sdv mark|coverage`: source data verification by the monitor, and its coverage per site.

``mark`` records that a monitor verified a subject's form (its newest version, at a visit when
given) or one answer of it against the source; the plan (``edc.trial.sdv``) says which answers
need it (entered by the site, not computed, not from the EHR). ``coverage`` counts, per site,
the answers needing SDV and those verified (by a form or item mark on that very version), in
one query for the study.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from edc import errors
from edc.actions import queries
from edc.actions.workspace import Study, Workspace, library
from edc.trial import sdv as plan
from edc.trial.permissions import Action
from edc.warehouse.tables.crf import FormResponseRow, ItemValueRow
from edc.warehouse.tables.monitoring import SdvMarkRow
from edc.warehouse.tables.subjects import SubjectRow


@dataclasses.dataclass(frozen=True)
class MarkRequest:
    study: str
    subject: str
    form: str
    visit: str | None = None
    item: str | None = None


@dataclasses.dataclass(frozen=True)
class MarkResult:
    study: str
    subject: str
    form: str
    visit: str | None
    item: str | None
    response_id: int
    verified_by: str
    verified_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class SiteCoverage:
    site: str
    forms: int
    items_needing_sdv: int
    items_verified: int
    coverage: float | None


@dataclasses.dataclass(frozen=True)
class CoverageResult:
    study: str
    sites: list[SiteCoverage]


def mark(workspace: Workspace, request: MarkRequest) -> MarkResult:
    """Record an SDV mark (a monitor at the subject's site).

    :raises errors.BadInputError: unknown study, subject, form, visit or item; an item that
        needs no SDV (computed); the same mark made already; a user who may not verify.
    """
    now = workspace.clock.now()
    with workspace.transaction() as session:
        study = workspace.study(session, request.study)
        subject = queries.subject_row(session, study, request.subject)
        response = queries.response_row(session, study, subject, request.form, request.visit)
        if request.item is not None:
            if request.item in plan.derived_link_ids(study.protocol, library()).get(
                request.form, frozenset()
            ):
                raise errors.BadInputError(
                    f"item {request.item!r} of form {request.form} is computed: it needs no SDV"
                )
            queries.check_item(session, response, request.form, request.item)
        site = study.site_by_id(subject.site_id)
        actor = workspace.act(session, study, Action.VERIFY_SOURCE, site.code)
        same = session.scalars(
            select(SdvMarkRow).where(
                SdvMarkRow.response_id == response.id,
                SdvMarkRow.link_id.is_(None)
                if request.item is None
                else SdvMarkRow.link_id == request.item,
            )
        ).first()
        if same is not None:
            what = f"item {request.item}" if request.item else "the form"
            raise errors.BadInputError(
                f"{what} of {request.form} ({subject.subject_code}) was verified already, "
                f"by {same.verified_by} on {same.verified_at.date()}"
            )
        session.add(
            SdvMarkRow(
                subject_id=subject.id,
                response_id=response.id,
                link_id=request.item,
                verified_by=actor.username,
                verified_at=now,
            )
        )
        session.flush()
    return MarkResult(
        study.code,
        subject.subject_code,
        request.form,
        response.visit_id,
        request.item,
        response.id,
        actor.username,
        now,
    )


def site_coverage(session: Session, study: Study, site_ids: list[int]) -> list[SiteCoverage]:
    urls = queries.form_urls(study)
    derived = plan.derived_link_ids(study.protocol, library())
    computed = [
        and_(ItemValueRow.questionnaire_url == urls[form], ItemValueRow.link_id.in_(sorted(ids)))
        for form, ids in derived.items()
        if ids and form in urls
    ]
    verified = exists().where(
        SdvMarkRow.response_id == ItemValueRow.response_id,
        or_(SdvMarkRow.link_id.is_(None), SdvMarkRow.link_id == ItemValueRow.link_id),
    )
    query = (
        select(
            SubjectRow.site_id,
            func.count(func.distinct(ItemValueRow.response_id)),
            func.count(),
            func.count().filter(verified),
        )
        .select_from(ItemValueRow)
        .join(FormResponseRow, FormResponseRow.id == ItemValueRow.response_id)
        .join(SubjectRow, SubjectRow.id == FormResponseRow.subject_id)
        .where(
            SubjectRow.study_id == study.id,
            SubjectRow.site_id.in_(site_ids),
            ItemValueRow.questionnaire_url.in_(sorted(urls.values())),
            ItemValueRow.answer_index == 0,
        )
        .group_by(SubjectRow.site_id)
    )
    if computed:
        query = query.where(~or_(*computed))
    counted = {int(site): (int(f), int(n), int(v)) for site, f, n, v in session.execute(query)}
    lines = []
    for site_id in site_ids:
        forms, needing, done = counted.get(site_id, (0, 0, 0))
        code = study.site_by_id(site_id).code
        lines.append(SiteCoverage(code, forms, needing, done, plan.coverage(done, needing)))
    return lines


def coverage(workspace: Workspace, study_code: str, site: str | None = None) -> CoverageResult:
    """SDV coverage per site the user may see.

    :raises errors.BadInputError: unknown study or site; no right to view there.
    """
    with workspace.transaction() as session:
        study = workspace.study(session, study_code)
        sites = workspace.sites_for(session, study, Action.VIEW_DATA, site)
        return CoverageResult(study.code, site_coverage(session, study, [s.id for s in sites]))
