"""`edc export`: tabulation datasets (SDTM-like) from locked data, with a manifest.

Only a locked study is exported, unless ``snapshot`` (an interim look, marked as not locked in
the manifest). Each dataset is written as CSV and Parquet; the manifest lists every file with its
SHA-256, the protocol version and its hash, the lock event with its signature, and the audit
chain head the signature was bound to. Nothing in the files depends on when or where the export
ran (no times of export, rows in a fixed order, values formatted the same on SQLite and
PostgreSQL): exporting the same lock twice gives the same bytes.

Arms are exported as ``(blinded)`` unless ``unblinded`` is asked for, which is refused to every
role the study blinds (``edc.trial.permissions``) and, for a locked blinded study, until the
unblinded statistician has unblinded it (``edc lock unblind``, signed; the manifest names that
signature). A snapshot (interim look) may be unblinded by the unblinded statistician before.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import decimal
import hashlib
import io
import re
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edc import config, errors
from edc.actions import export_ehr
from edc.actions.workspace import Study, Workspace
from edc.export import adam, clinical, define, design, xport
from edc.export.tables import Dataset
from edc.library import load_library
from edc.trial import permissions
from edc.trial.permissions import Action
from edc.warehouse import checkpoints, locks
from edc.warehouse.tables.crf import FormResponseRow, ItemValueRow, VisitRow
from edc.warehouse.tables.lock import ExportManifestRow, LockEventRow
from edc.warehouse.tables.monitoring import DeviationRow
from edc.warehouse.tables.safety import AdverseEventRow
from edc.warehouse.tables.subjects import AllocationRow, SubjectRow

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
DATASET_LABELS = {
    "dm": "Demographics",
    "ds": "Disposition",
    "sv": "Subject Visits",
    "qs": "Questionnaires",
    "ae": "Adverse Events",
    "ta": "Trial Arms",
    "te": "Trial Elements",
    **clinical.DATASET_LABELS,
    "tv": "Trial Visits",
    "ti": "Trial Inclusion/Exclusion Criteria",
    "ts": "Trial Summary",
    "adsl": "Subject-Level Analysis Dataset",
    "adae": "Adverse Event Analysis Dataset",
}
# Variable labels (XPORT v5: at most 40 characters).
LABELS = {
    "STUDYID": "Study Identifier",
    "DOMAIN": "Domain Abbreviation",
    "USUBJID": "Unique Subject Identifier",
    "SUBJID": "Subject Identifier for the Study",
    "SITEID": "Study Site Identifier",
    "RFSTDTC": "Subject Reference Start Date/Time",
    "ARMCD": "Planned Arm Code",
    "ARM": "Description of Planned Arm",
    "DSDECOD": "Standardized Disposition Term",
    "VISIT": "Visit Name",
    "SVSTDTC": "Start Date/Time of Visit",
    "QSCAT": "Category of Question",
    "QSTESTCD": "Question Short Name",
    "QSTEST": "Question Name",
    "QSREPNUM": "Repetition Number",
    "QSORRES": "Finding in Original Units",
    "QSSTRESN": "Numeric Finding in Standard Units",
    "AETERM": "Reported Term for the Adverse Event",
    "AEDECOD": "Dictionary-Derived Term",
    "AELLTCD": "Lowest Level Term Code",
    "AETOXGR": "Standard Toxicity Grade",
    "AESER": "Serious Event",
    "AESTDTC": "Start Date/Time of Adverse Event",
    "AEENDTC": "End Date/Time of Adverse Event",
    "TAETORD": "Planned Order of Element within Arm",
    "ETCD": "Element Code",
    "VISITNUM": "Visit Number",
    "TVSTRL": "Visit Start Rule",
    "VISITDY": "Planned Study Day of Visit",
    "TVANCHOR": "Visit Anchor Event",
    "IETESTCD": "Incl/Excl Criterion Short Name",
    "IETEST": "Inclusion/Exclusion Criterion",
    "IECAT": "Inclusion/Exclusion Category",
    "TSSEQ": "Sequence Number",
    "TSPARMCD": "Trial Summary Parameter Short Name",
    "TSPARM": "Trial Summary Parameter",
    "TSVAL": "Parameter Value",
    "ELEMENT": "Description of Element",
    "EPOCH": "Epoch",
    "TESTRL": "Rule for Start of Element",
    "TEENRL": "Rule for End of Element",
    "TEDUR": "Planned Duration of Element",
    **clinical.LABELS,
    "TRT01P": "Planned Treatment for Period 01",
    "TRT01A": "Actual Treatment for Period 01",
    "STRATUM": "Randomization Stratum",
    "RANDDT": "Date of Randomization",
    "ITTFL": "Intent-To-Treat Population Flag",
    "SAFFL": "Safety Population Flag",
    "PPROTFL": "Per-Protocol Population Flag",
    "DVMAJN": "Number of Major Protocol Deviations",
    "PARAMCD": "Parameter Code",
    "PARAM": "Parameter",
    "AVISIT": "Analysis Visit",
    "AVAL": "Analysis Value",
    "BASE": "Baseline Value",
    "CHG": "Change from Baseline",
    "ABLFL": "Baseline Record Flag",
    "ANL01FL": "Analysis Flag 01 (endpoint visit)",
    "ASTDT": "Analysis Start Date",
    "AENDT": "Analysis End Date",
    "TRTEMFL": "Treatment Emergent Analysis Flag",
}


@dataclasses.dataclass(frozen=True)
class ExportRequest:
    study: str
    out: Path
    snapshot: bool = False
    unblinded: bool = False
    xpt: bool = False


@dataclasses.dataclass(frozen=True)
class ExportedFile:
    name: str
    sha256: str
    rows: int


@dataclasses.dataclass(frozen=True)
class ExportResult:
    study: str
    out: Path
    locked: bool
    files: tuple[ExportedFile, ...]
    manifest_sha256: str


def export(settings: config.Settings, workspace: Workspace, request: ExportRequest) -> ExportResult:
    """Write the study's datasets and manifest into ``request.out`` (new or empty).

    :raises errors.BadInputError: (exit 2, nothing written) an unknown study, a study not locked
        without ``snapshot``, an unblinded export asked by a blinded role, a role that may not
        export, or an output folder that holds files.
    """
    if request.out.exists() and any(request.out.iterdir()):
        raise errors.BadInputError(f"{request.out} is not empty", "export into a new folder")
    with workspace.transaction() as session:
        study = workspace.study(session, request.study)
        actor = workspace.act(session, study, Action.EXPORT, None)
        lock = study_lock(session, study)
        if lock is None and not request.snapshot:
            raise errors.BadInputError(
                f"{study.code} is not locked: nothing exported",
                f"lock it (edc lock lock --study {study.code}), or export --snapshot for an "
                "interim look that the manifest marks as not locked",
            )
        if request.unblinded and not permissions.may_see_arms(actor.grants, study.blinding):
            raise errors.BadInputError(
                f"{workspace.username} may not export arms unblinded in {study.code}",
                f"{actor.grant} is blinded; only the unblinded statistician exports arms",
            )
        unblinding = _unblinding(session, study)
        if request.unblinded and lock is not None and not _arms_open(study, unblinding):
            raise errors.BadInputError(
                f"{study.code} is not unblinded: arms are exported as masked codes",
                f"the unblinded statistician unblinds it (edc lock unblind --study {study.code})"
                ", signed, after lock",
            )
        datasets = build_datasets(session, study, show_arms=request.unblinded)
        head = (lock.audit_rows, lock.audit_head_hash) if lock else _current_head(session)
    created = lock.at if lock else workspace.clock.now()
    xpt = {d.name: _xpt(d, created) for d in datasets} if request.xpt else {}  # checks first
    request.out.mkdir(parents=True, exist_ok=True)
    files: list[ExportedFile] = []
    for dataset in datasets:
        files += _write(request.out, dataset)
        if dataset.name in xpt:
            files.append(_file(request.out, f"{dataset.name}.xpt", xpt[dataset.name], dataset))
    dictionary = define.dictionary(study.protocol, load_library(), datasets, LABELS, DATASET_LABELS)
    files.append(_document(request.out, "define.json", define.to_json(dictionary)))
    files.append(_document(request.out, "define.html", define.to_html(dictionary)))
    manifest = {
        "format": FORMAT_VERSION,
        "study": study.code,
        "protocol": {"version": study.version, "sha256": study.protocol_sha256},
        "locked": lock is not None,
        "lock_event": _lock_json(lock),
        "audit_head": {"rows": head[0], "hash": head[1]},
        "arms": "unblinded" if request.unblinded else "blinded",
        "unblinding": unblinding,
        "files": [dataclasses.asdict(f) for f in files],
    }
    text = orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"
    (request.out / MANIFEST).write_bytes(text)
    digest = hashlib.sha256(text).hexdigest()
    if lock is not None:
        with workspace.transaction() as session:
            workspace.act(session, study, Action.EXPORT, None)
            session.add(
                ExportManifestRow(
                    study_id=study.id,
                    lock_event_id=lock.id,
                    format="csv",
                    created_at=workspace.clock.now(),
                    manifest_json=text.decode(),
                    sha256=digest,
                )
            )
    checkpoints.record(
        settings, workspace.engine, event=f"export {study.code} {digest}", clock=workspace.clock
    )
    return ExportResult(study.code, request.out, lock is not None, tuple(files), digest)


def study_lock(session: Session, study: Study) -> LockEventRow | None:
    """The signed event that locked the whole study, if it is locked now."""
    state = locks.states(session=session, study_id=study.id).get(locks.STUDY_UNIT)
    if state is None or state.state != "locked":
        return None
    return session.get(LockEventRow, state.lock_event_id)


def _unblinding(session: Session, study: Study) -> dict[str, Any] | None:
    """The study's signed unblinding as the manifest shows it (None: still blinded)."""
    from edc.actions import lock as lock_action

    row = lock_action.unblinding(session, study.id)
    if row is None:
        return None
    return {
        "signed_at": _datetime(row.at),
        "signer": row.actor,
        "role": row.signer_role,
        "meaning": row.meaning,
        "reason": row.reason,
        "lock_event_id": row.lock_event_id,
        "signature_sha256": row.signature_sha256,
    }


def _arms_open(study: Study, unblinding: dict[str, Any] | None) -> bool:
    """Whether the locked study's arms may be exported: unblinded, or never blinded."""
    return unblinding is not None or study.protocol.randomization.blinding == "open-label"


def arms_open(session: Session, study: Study) -> bool:
    """Whether the study's arms may be shown by arm: unblinded (signed), or open-label."""
    return _arms_open(study, _unblinding(session, study))


def _current_head(session: Session) -> tuple[int, str]:
    from edc.warehouse import chain

    return chain.head(session.connection())


def _lock_json(lock: LockEventRow | None) -> dict[str, Any] | None:
    if lock is None:
        return None
    return {
        "id": lock.id,
        "state": lock.state,
        "signed_at": _datetime(lock.at),
        "signer": lock.actor,
        "role": lock.signer_role,
        "meaning": lock.meaning,
        "reason": lock.reason,
        "signature_sha256": lock.signature_sha256,
    }


def _text(value: Any) -> str:
    """One value as the files hold it, the same whichever database it came from."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, dt.datetime):
        return _datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float | decimal.Decimal):
        number = decimal.Decimal(str(value)).normalize()
        return format(number, "f")
    return str(value)


def _datetime(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _shown_arm(arm: str | None, show: bool) -> str | None:
    return arm if show or arm is None else permissions.MASKED_ARM


def build_datasets(session: Session, study: Study, *, show_arms: bool) -> list[Dataset]:
    subjects = list(
        session.scalars(
            select(SubjectRow).where(SubjectRow.study_id == study.id).order_by(SubjectRow.id)
        )
    )
    code_of = {s.id: s.subject_code for s in subjects}
    allocations = {
        a.subject_id: a
        for a in session.scalars(select(AllocationRow).where(AllocationRow.study_id == study.id))
    }
    arms = {subject_id: a.arm for subject_id, a in allocations.items()}
    titles = {arm.id: arm.title for arm in study.protocol.arms}
    sites = {site.id: site.code for site in study.sites}

    def usubjid(subject_id: int) -> str:
        return f"{study.code}-{code_of[subject_id]}"

    dm_rows = []
    for s in subjects:
        arm = arms.get(s.id)
        shown = arm if show_arms or arm is None else permissions.MASKED_ARM
        title = titles.get(arm, "") if show_arms and arm else ("" if arm is None else shown)
        dm_rows.append(
            tuple(
                _text(v)
                for v in (
                    study.code,
                    "DM",
                    usubjid(s.id),
                    s.subject_code,
                    sites.get(s.site_id),
                    s.enrolled_at,
                    shown,
                    title,
                )
            )
        )
    ds_rows = [
        (study.code, "DS", usubjid(s.id), _text(s.status)) for s in subjects
    ]  # fmt: skip
    visits = session.execute(
        select(VisitRow.subject_id, VisitRow.visit_id, VisitRow.visit_date)
        .join(SubjectRow, SubjectRow.id == VisitRow.subject_id)
        .where(SubjectRow.study_id == study.id)
    ).all()
    sv_rows = sorted(
        (study.code, "SV", usubjid(v.subject_id), v.visit_id, _text(v.visit_date)) for v in visits
    )
    items = session.execute(
        select(
            FormResponseRow.subject_id,
            FormResponseRow.questionnaire_url,
            FormResponseRow.visit_id,
            ItemValueRow.link_id,
            ItemValueRow.answer_index,
            ItemValueRow.value_number,
            ItemValueRow.value_text,
            ItemValueRow.value_code,
            ItemValueRow.value_date,
            ItemValueRow.value_bool,
        )
        .join(FormResponseRow, FormResponseRow.id == ItemValueRow.response_id)
        .join(SubjectRow, SubjectRow.id == FormResponseRow.subject_id)
        .where(SubjectRow.study_id == study.id)
    ).all()
    qs_rows = []
    for i in items:
        result = next(
            (v for v in (i.value_code, i.value_text, i.value_number, i.value_date, i.value_bool)
             if v is not None),
            None,
        )  # fmt: skip
        qs_rows.append(
            (
                study.code,
                "QS",
                usubjid(i.subject_id),
                i.questionnaire_url.rsplit("/", 1)[-1],
                i.link_id[:8].upper(),
                i.link_id,
                str(i.answer_index),
                _text(result),
                _text(i.value_number),
                _text(i.visit_id),
            )
        )
    events = session.scalars(
        select(AdverseEventRow)
        .join(SubjectRow, SubjectRow.id == AdverseEventRow.subject_id)
        .where(SubjectRow.study_id == study.id)
    ).all()
    ae_rows = sorted(
        tuple(
            _text(v)
            for v in (
                study.code,
                "AE",
                usubjid(e.subject_id),
                e.verbatim or e.ctcae_term,  # the "Other, specify" text where given
                e.ctcae_term,
                e.meddra_llt_code,
                e.grade,
                e.serious,
                e.onset_at or e.onset_date,
                e.resolved_at or e.resolution_date,
            )
        )
        for e in events
    )
    last_visit: dict[int, dt.date] = {}
    for v in visits:
        last_visit[v.subject_id] = max(v.visit_date, last_visit.get(v.subject_id, v.visit_date))
    major = dict(
        session.execute(
            select(DeviationRow.subject_id, func.count())
            .where(DeviationRow.study_id == study.id, DeviationRow.severity == "major")
            .group_by(DeviationRow.subject_id)
        ).all()
    )
    facts = [
        adam.SubjectFacts(
            usubjid(s.id),
            s.subject_code,
            sites.get(s.site_id, ""),
            _shown_arm(arms.get(s.id), show_arms),
            allocations[s.id].stratum if s.id in allocations else None,
            allocations[s.id].randomized_at.astimezone(dt.UTC).date()
            if s.id in allocations
            else None,
            last_visit.get(s.id),
            int(major.get(s.id, 0)),
        )
        for s in subjects
    ]
    tabulation = [
        Dataset(
            "dm",
            ("STUDYID", "DOMAIN", "USUBJID", "SUBJID", "SITEID", "RFSTDTC", "ARMCD", "ARM"),
            dm_rows,
        ),
        Dataset("ds", ("STUDYID", "DOMAIN", "USUBJID", "DSDECOD"), ds_rows),
        Dataset("sv", ("STUDYID", "DOMAIN", "USUBJID", "VISIT", "SVSTDTC"), sv_rows),
        Dataset(
            "qs",
            (
                "STUDYID",
                "DOMAIN",
                "USUBJID",
                "QSCAT",
                "QSTESTCD",
                "QSTEST",
                "QSREPNUM",
                "QSORRES",
                "QSSTRESN",
                "VISIT",
            ),
            sorted(qs_rows),
        ),
        Dataset(
            "ae",
            (
                "STUDYID",
                "DOMAIN",
                "USUBJID",
                "AETERM",
                "AEDECOD",
                "AELLTCD",
                "AETOXGR",
                "AESER",
                "AESTDTC",
                "AEENDTC",
            ),
            ae_rows,
        ),
    ]
    references = {
        usubjid(s.id): s.enrolled_at.astimezone(dt.UTC).date() if s.enrolled_at else None
        for s in subjects
    }
    tabulation += export_ehr.ehr_domains(session, study, usubjid, references, tabulation)
    adsl = adam.adsl(study.code, facts)
    by_name = {d.name: d for d in tabulation}
    analysis = [
        adsl,
        *(adam.bds(study.code, f, by_name["qs"].rows, adsl) for f in families(study)),
        adam.adae(study.code, by_name["ae"].rows, adsl),
    ]
    return [*tabulation, *design.trial_design(study.protocol), *analysis]


def families(study: Study) -> list[adam.Family]:
    """One family per form item the endpoints measure (its visits, one baseline)."""
    found: dict[tuple[str, str], list[str]] = {}
    baselines: dict[tuple[str, str], str | None] = {}
    for endpoint in study.protocol.analysis.endpoints:
        measure = endpoint.measure
        key = (measure.form, measure.item)
        found.setdefault(key, []).append(measure.visit)
        baselines.setdefault(key, measure.baseline_visit)
    families: list[adam.Family] = []
    for (form, item), visits in sorted(found.items()):
        name = "ad" + re.sub(r"[^a-z0-9]", "", form.lower())[:6]
        if any(f.name == name for f in families):  # a second item of the same form
            name = f"{name[:7]}{len(families) % 10}"
        category = f"{study.code.lower()}-{form}"
        families.append(adam.Family(name, category, item, baselines[form, item], frozenset(visits)))
    return families


def _xpt(dataset: Dataset, created: dt.datetime) -> bytes:
    columns = [(name, LABELS.get(name, name)) for name in dataset.columns]
    label = DATASET_LABELS.get(dataset.name, dataset.name)
    return xport.write(dataset.name.upper(), label, columns, dataset.rows, created=created)


def _document(out: Path, name: str, data: bytes) -> ExportedFile:
    (out / name).write_bytes(data)
    return ExportedFile(name, hashlib.sha256(data).hexdigest(), 0)


def _file(out: Path, name: str, data: bytes, dataset: Dataset) -> ExportedFile:
    (out / name).write_bytes(data)
    return ExportedFile(name, hashlib.sha256(data).hexdigest(), len(dataset.rows))


def _write(out: Path, dataset: Dataset) -> list[ExportedFile]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(dataset.columns)
    writer.writerows(dataset.rows)
    table = pa.table(
        {
            name: pa.array([row[i] for row in dataset.rows], type=pa.string())
            for i, name in enumerate(dataset.columns)
        }
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="none", store_schema=False)
    return [
        _file(out, f"{dataset.name}.csv", buffer.getvalue().encode(), dataset),
        _file(out, f"{dataset.name}.parquet", sink.getvalue().to_pybytes(), dataset),
    ]
