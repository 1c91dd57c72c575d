"""`edc randomization open|verify` and `edc randomize`: concealed, committed, never twice.

``open`` (the unblinded statistician, once per study) draws a secret seed, writes it to a file
only they keep, expands it into the allocation lists (permuted blocks per stratum) or the draws
minimization will use, stores those where only the randomize action and the unblinded
statistician read them, and records the SHA-256 commitment in the audit trail - printed before
the first subject is randomized. ``randomize`` allocates one enrolled, consented subject: the
stratum's next list position, or minimization over the earlier subjects, with the study's scheme
row locked so concurrent randomizations take turns. The subject's plan of visits is made and
their ResearchSubject (status on-study; the arm only in an open-label study) queued. ``verify``
recomputes the commitment and every allocation from the revealed seed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import secrets
from decimal import Decimal
from pathlib import Path

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from edc import errors
from edc.actions import visits
from edc.actions.consent import study_refs
from edc.actions.workspace import Study, Workspace
from edc.compiler.naming import Naming
from edc.trial import permissions, strata, writeback
from edc.trial import randomization as rules
from edc.trial.permissions import Action
from edc.warehouse import audit, enrollment, outbox
from edc.warehouse import randomization as store
from edc.warehouse.batch import BatchWriter
from edc.warehouse.tables.randomization import RandomizationSchemeRow
from edc.warehouse.tables.subjects import AllocationRow, PatientLinkRow, SubjectRow

ON_STUDY = "on-study"
# Subject statuses from which a subject may be randomized (R4 research-subject-status).
RANDOMIZABLE = frozenset({"eligible", "pending-on-study", "on-study", "on-study-intervention"})


def design_of(study: Study, length: int) -> rules.Design:
    """The allocation design the protocol describes (site levels are the study's sites).

    :param length: positions per stratum to expand the lists to (minimization: assignments).
    """
    sites = [s.code for s in study.sites]
    return rules.design_of(study.protocol.randomization, sites, length)


def expand(
    design: rules.Design, seed: bytes
) -> tuple[list[rules.Slot], list[tuple[float, ...]], str]:
    """The lists (or draws) a seed gives for a design, and their digest."""
    if design.method == "minimization":
        draws = rules.minimization_draws(seed, design.length)
        return [], draws, rules.draws_digest(draws)
    lists = rules.block_lists(design, seed, design.length)
    slots = [slot for stratum in sorted(lists) for slot in lists[stratum]]
    return slots, [], rules.lists_digest(lists)


@dataclasses.dataclass(frozen=True)
class OpenResult:
    study: str
    method: str
    commitment: str
    strata: int
    positions: int
    seed_file: Path


def open_randomization(
    workspace: Workspace, study_code: str, seed_file: Path, *, length: int | None = None
) -> OpenResult:
    """Draw the seed, store the lists, record the commitment.

    :param length: list positions per stratum (minimization: assignments); default twice the
        study's target enrollment.
    :raises errors.BadInputError: an unknown study, a study already open, a seed file that
        exists or cannot be written, or a user who is not the unblinded statistician.
    """
    now = workspace.clock.now()
    if seed_file.exists():
        raise errors.BadInputError(f"{seed_file} exists: the seed is never written over")
    wrote = False
    try:
        with workspace.transaction() as session:
            study = workspace.study(session, study_code)
            workspace.act(session, study, Action.OPEN_RANDOMIZATION, None)
            existing = store.find_scheme(session, study_id=study.id)
            if existing is not None:
                raise errors.BadInputError(
                    f"randomization of {study.code} is open already "
                    f"(commitment {existing.commitment})"
                )
            size = length or 2 * study.protocol.study.target_enrollment
            if size < 1:
                raise errors.BadInputError("--length must be at least 1")
            design = design_of(study, size)
            seed = secrets.token_bytes(rules.SEED_BYTES)
            slots, draws, digest = expand(design, seed)
            commitment = rules.commitment(design, seed, digest)
            scheme = RandomizationSchemeRow(
                study_id=study.id,
                protocol_version_id=study.protocol_version_id,
                method=design.method,
                design_json=design.canonical(),
                commitment=commitment,
                opened_at=now,
            )
            session.add(scheme)
            session.flush()
            store.store_lists(BatchWriter(session), scheme_id=scheme.id, slots=slots, draws=draws)
            # The seed reaches its file before the commit: a commitment is never recorded for
            # a seed nobody kept (and a failed commit removes the file again).
            _write_seed(seed_file, seed)
            wrote = True
    except BaseException:
        if wrote:
            seed_file.unlink(missing_ok=True)
        raise
    return OpenResult(
        study.code, design.method, commitment, len(rules.all_strata(design)), size, seed_file
    )


def _write_seed(path: Path, seed: bytes) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise errors.BadInputError(f"{path} exists: the seed is never written over") from None
    except OSError as exc:
        raise errors.BadInputError(f"cannot write the seed to {path}: {exc}") from None
    with os.fdopen(descriptor, "w") as stream:
        stream.write(seed.hex() + "\n")


@dataclasses.dataclass(frozen=True)
class RandomizeResult:
    study: str
    site: str
    subject: str
    sequence: int
    arm: str  # as the acting user may see it
    stratum: str | None
    factors: dict[str, str]
    randomized_at: dt.datetime
    commitment: str
    planned_visits: int


def randomize(workspace: Workspace, study_code: str, subject_code: str) -> RandomizeResult:
    """Allocate an arm to one subject.

    :raises errors.BadInputError: an unknown study or subject, randomization not open, a
        subject without consent or already randomized, a factor level missing from the
        subject's forms, a used-up list, or a user who may not randomize at the subject's site.
        Nothing is written.
    """
    now = workspace.clock.now()
    with workspace.transaction() as session:
        study = workspace.study(session, study_code)
        scheme = store.find_scheme(session, study_id=study.id)
        if scheme is None:
            raise errors.BadInputError(
                f"randomization of {study.code} is not open",
                "the unblinded statistician opens it: edc randomization open",
            )
        store.lock_scheme(session, scheme_id=scheme.id)
        subject = _subject(session, study, subject_code)
        site = study.site_by_id(subject.site_id)
        actor = workspace.act(session, study, Action.RANDOMIZE, site.code)
        _check_randomizable(session, study, subject)
        design = rules.Design.from_json(orjson.loads(scheme.design_json))
        levels = _levels(session, study, subject, site.code)
        sequence = store.next_sequence(session, study_id=study.id)
        allocation = _allocate(session, study, scheme, design, subject, levels, sequence, now)
        with audit.reason(session, f"randomized (sequence {sequence})"):
            subject.status = ON_STUDY
        planned = visits.update_plans(session, study, [subject.id], "randomized")
        _queue_subject(session, study, subject, allocation, now)
        visible = permissions.may_see_arms(actor.grants, study.blinding, site.code)
    return RandomizeResult(
        study.code,
        site.code,
        subject.subject_code,
        sequence,
        permissions.shown_arm(allocation.arm, visible=visible) or "",
        allocation.stratum,
        dict(levels),
        now,
        scheme.commitment,
        planned,
    )


def _subject(session: Session, study: Study, code: str) -> SubjectRow:
    subject = session.scalars(
        select(SubjectRow).where(SubjectRow.study_id == study.id, SubjectRow.subject_code == code)
    ).one_or_none()
    if subject is None:
        raise errors.BadInputError(
            f"no subject {code!r} in {study.code}", "enroll the patient first: edc enroll"
        )
    return subject


def _check_randomizable(session: Session, study: Study, subject: SubjectRow) -> None:
    existing = store.find_allocation(session, subject_id=subject.id)
    if existing is not None:
        raise errors.BadInputError(
            f"subject {subject.subject_code} is already randomized "
            f"(on {existing.randomized_at.date()}, sequence {existing.sequence or 'outside edc'})"
        )
    link = session.scalars(
        select(PatientLinkRow).where(PatientLinkRow.subject_id == subject.id)
    ).one_or_none()
    consents = enrollment.consents(session, link=link) if link is not None else []
    if not consents:
        raise errors.BadInputError(
            f"subject {subject.subject_code} has no recorded consent: not randomized"
        )
    if subject.status not in RANDOMIZABLE:
        raise errors.BadInputError(
            f"subject {subject.subject_code} is {subject.status}, not enrolled: not randomized"
        )


def _levels(session: Session, study: Study, subject: SubjectRow, site: str) -> dict[str, str]:
    """Each factor's level for the subject: the site, or the answer on the subject's form."""
    protocol = study.protocol
    naming = Naming(protocol.study.canonical_base, protocol.study.id, study.version)
    levels = {}
    for factor in protocol.randomization.stratify_by:
        if factor.kind == "site":
            levels[factor.id] = site
            continue
        if factor.source is None:
            raise errors.EdcError(f"protocol factor {factor.id} has no source")  # checked
        url = naming.canonical("Questionnaire", factor.source.form)
        found = store.latest_answer(
            session, subject_id=subject.id, questionnaire_url=url, link_id=factor.source.item
        )
        where = f"form {factor.source.form}, item {factor.source.item}"
        if found is None or found[0] is None:
            raise errors.BadInputError(
                f"subject {subject.subject_code}: stratification factor {factor.id} has no value "
                f"({where}: no completed form with an answer)",
                "the site records the form first (it reaches edc by sync); nothing was written",
            )
        # A derived factor (bands of a number, a mapped answer) is read from the data itself.
        level = strata.level_of(factor.source, found[0])
        if level is None or level not in factor.levels:
            answered = str(found[0]) if isinstance(found[0], Decimal) else repr(found[0])
            raise errors.BadInputError(
                f"subject {subject.subject_code}: {where} answered {answered}, not a level of "
                f"{factor.id} ({', '.join(factor.levels)})"
            )
        levels[factor.id] = level
    return levels


def _allocate(
    session: Session,
    study: Study,
    scheme: RandomizationSchemeRow,
    design: rules.Design,
    subject: SubjectRow,
    levels: dict[str, str],
    sequence: int,
    now: dt.datetime,
) -> AllocationRow:
    stratum = block = position = None
    if design.method == "minimization":
        draws = store.draws_at(session, scheme_id=scheme.id, sequence=sequence)
        if draws is None:
            raise errors.BadInputError(
                f"the minimization draws of {study.code} are used up at sequence {sequence}",
                "the unblinded statistician must extend the scheme",
            )
        minimizer = rules.Minimizer(design)
        for earlier, arm in store.factor_levels(store.history(session, study_id=study.id)):
            minimizer.record(earlier, arm)
        arm = minimizer.choose(levels, rules.Replay(draws))
    else:
        stratum = rules.stratum_of(design, levels)
        taken = store.allocated_in_stratum(session, study_id=study.id, stratum=stratum)
        slot = store.slot_at(session, scheme_id=scheme.id, stratum=stratum, position=taken + 1)
        if slot is None:
            raise errors.BadInputError(
                f"the allocation list of stratum {stratum} is used up ({taken} positions)",
                "the unblinded statistician must extend the lists",
            )
        arm, block, position = slot.arm, slot.block, slot.position
    allocation = AllocationRow(
        study_id=study.id,
        subject_id=subject.id,
        arm=arm,
        stratum=stratum,
        block_number=block,
        sequence_in_block=position,
        sequence=sequence,
        factors=levels,
        randomized_at=now,
    )
    session.add(allocation)
    session.flush()
    return allocation


def _queue_subject(
    session: Session, study: Study, subject: SubjectRow, allocation: AllocationRow, now: dt.datetime
) -> None:
    link = session.scalars(
        select(PatientLinkRow).where(PatientLinkRow.subject_id == subject.id)
    ).one()
    consents = enrollment.consents(session, link=link)
    site = study.site_by_id(subject.site_id)
    refs = study_refs(study, site.code)
    first = consents[0]
    resource = writeback.research_subject(
        refs,
        subject_code=subject.subject_code,
        patient_id=link.patient_id,
        status=subject.status,
        consent_on=first.signed_at.date(),
        consent_key=writeback.consent_identifier(refs, link.patient_id, first.form_version),
        arm=allocation.arm if permissions.writes_arm_to_ehr(study.blinding) else None,
    )
    outbox.enqueue(
        session,
        study_id=study.id,
        site_id=subject.site_id,
        resource=resource,
        key=(refs.subject_system, subject.subject_code),
        operation="upsert",
        now=now,
    )


@dataclasses.dataclass(frozen=True)
class VerifyResult:
    study: str
    commitment: str
    allocations: int
    mismatches: list[str]


def verify(workspace: Workspace, study_code: str, seed_file: Path) -> VerifyResult:
    """Prove every allocation followed the committed lists (from the revealed seed).

    :raises errors.BadInputError: an unknown study, randomization never opened, an unreadable
        seed file, or a user who may not verify.
    :raises errors.CheckFailedError: (exit 1) the seed does not match the commitment, or an
        allocation (or a stored list position) differs from what the seed gives.
    """
    seed = _read_seed(seed_file)
    with workspace.transaction() as session:
        study = workspace.study(session, study_code)
        actor = workspace.act(session, study, Action.VERIFY_RANDOMIZATION, None)
        scheme = store.find_scheme(session, study_id=study.id)
        if scheme is None:
            raise errors.BadInputError(f"randomization of {study.code} was never opened")
        design = rules.Design.from_json(orjson.loads(scheme.design_json))
        stored_slots = store.read_slots(session, scheme_id=scheme.id)
        stored_draws = store.read_draws(session, scheme_id=scheme.id)
        slots, draws, digest = expand(design, seed)
        allocations = store.history(session, study_id=study.id)
        codes = {
            s.id: s.subject_code
            for s in session.scalars(select(SubjectRow).where(SubjectRow.study_id == study.id))
        }
        visible = permissions.may_see_arms(actor.grants, study.blinding)
    if rules.commitment(design, seed, digest) != scheme.commitment:
        raise errors.CheckFailedError(
            f"the seed in {seed_file} does not match {study.code}'s commitment {scheme.commitment}"
        )
    mismatches = []
    if stored_slots != slots or [tuple(d) for d in stored_draws] != draws:
        mismatches.append("the stored allocation lists differ from the lists the seed gives")
    mismatches += _replay(design, slots, draws, allocations, codes, visible)
    if mismatches:
        raise errors.CheckFailedError(
            f"{len(mismatches)} allocation(s) of {study.code} did not follow the committed lists",
            "\n".join(f"  {m}" for m in mismatches),
        )
    return VerifyResult(study.code, scheme.commitment, len(allocations), [])


def _replay(
    design: rules.Design,
    slots: list[rules.Slot],
    draws: list[tuple[float, ...]],
    allocations: list[AllocationRow],
    codes: dict[int, str],
    visible: bool,
) -> list[str]:
    found = []
    by_position = {(s.stratum, s.block, s.position): s.arm for s in slots}
    minimizer = rules.Minimizer(design)
    for expected_sequence, row in enumerate(allocations, 1):
        who = f"sequence {row.sequence} (subject {codes.get(row.subject_id, row.subject_id)})"
        if row.sequence != expected_sequence:
            found.append(f"{who}: sequence {expected_sequence} is missing")
        levels = dict(row.factors or {})
        if design.method == "minimization":
            index = (row.sequence or 0) - 1
            expected = (
                minimizer.choose(levels, rules.Replay(draws[index]))
                if 0 <= index < len(draws)
                else None
            )
            minimizer.record(levels, row.arm)
        else:
            position = (row.stratum or "", row.block_number or 0, row.sequence_in_block or 0)
            expected = by_position.get(position)
            if row.stratum != rules.stratum_of(design, levels):
                found.append(f"{who}: stratum {row.stratum} does not match its factors {levels}")
        if expected != row.arm:
            shown = (
                f"allocated {row.arm}, the committed list gives {expected}"
                if visible
                else "the arm differs from the committed list"
            )
            found.append(f"{who}: {shown}")
    return found


def _read_seed(path: Path) -> bytes:
    try:
        text = path.read_text().strip()
        seed = bytes.fromhex(text)
    except FileNotFoundError:
        raise errors.BadInputError(f"seed file not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise errors.BadInputError(f"{path} does not hold a seed (hex): {exc}") from None
    if len(seed) != rules.SEED_BYTES:
        raise errors.BadInputError(f"{path}: a seed has {rules.SEED_BYTES} bytes, not {len(seed)}")
    return seed
