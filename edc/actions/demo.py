"""`edc demo`: the site's path on an example study, on the embedded default or through a server.

Generation is split around edc (``edc.synth.stages``): the generator writes the hospitals'
population (patients and their EHR records); edc syncs it (kept for screening at each site),
pre-screens, and the sites consent and enroll the candidates who agree (``edc.actions.demo_site``);
the forms of the screening visits come in; the unblinded statistician opens randomization (the
commitment is printed) and every subject is randomized; then the rest of the trial flows in,
generated from the arms edc allocated. Through a FHIR server (``server``) the data is loaded into
it and synced from it, and edc's own writes are pushed to it. The report gives per site the
CONSORT numbers (randomized per arm, masked unless the viewer is the unblinded statistician),
forms and adverse events, and what was rejected. Running it again reuses the generated files
and the warehouse: nothing new arrives.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edc import config, errors
from edc.actions import (
    demo_lock,
    demo_site,
    generate,
    load,
    protocol,
    publish,
    push,
    randomize,
    screen,
    sync,
)
from edc.actions.workspace import Study, Workspace
from edc.fhir.target import ServerSpec
from edc.library import mappings_root
from edc.progress import Progress, SilentProgress
from edc.sync.ingest import TypeCounts
from edc.synth import layout, stages
from edc.trial.permissions import Action
from edc.warehouse import db, migrate, site_summary, study_overview
from edc.warehouse import randomization as randomization_store

DEFAULT_STUDY = "spine-mwa-01"
SEED_FILE = "randomization-seed.hex"


def example_study(name: str = DEFAULT_STUDY) -> Path:
    """The shipped example protocol file (works from a wheel install too)."""
    path = Path(str(mappings_root().joinpath("studies", f"{name}.yaml")))
    if not path.is_file():
        raise errors.BadInputError(f"no example study {name!r} in fhir_mappings/studies")
    return path


@dataclasses.dataclass(frozen=True)
class DemoOptions:
    """``edc demo`` flags. ``server``: run through a FHIR server instead of the files.

    :ivar viewer: the demo user the summary is shown to: the trial statistician, blind to
        the arms like every blinded role, unless the unblinded statistician is asked for.
    """

    study: Path
    patients: int = 300
    seed: int = 2027
    defect_rate: float = 0.02
    server: ServerSpec | None = None
    viewer: str = "demo-statistician"


@dataclasses.dataclass(frozen=True)
class DemoSite:
    """One site's numbers: CONSORT (screening to randomization), then what was collected."""

    site: str
    name: str
    screened: int
    eligible: int
    excluded: int
    undetermined: int
    consented: int
    enrolled: int
    randomized: dict[str, int]  # per arm, masked for a blinded viewer
    forms: int
    adverse_events: dict[str, int]  # by CTCAE grade ("G1": n)
    serious: int
    deviations: int  # open ones, found by the deviation engine or recorded
    open_queries: int  # open or answered, not yet closed


@dataclasses.dataclass(frozen=True)
class DemoResult:
    """What the demo did: generated (or reused), synced, the sites' path, and per site."""

    study_code: str
    data_dir: Path
    database: str  # the warehouse URL, password masked
    generated: str
    sync: sync.SyncResult  # every stage's counts added up
    stages: list[str]  # what each sync brought
    site_path: demo_site.SitePath | None  # None: reused from an earlier run
    commitment: str
    verified: int
    viewer: str
    sites: list[DemoSite]
    problems: list[site_summary.ProblemGroup]
    rejected: int
    locked: demo_lock.DemoLock | None = None  # the signed lock and the export made from it

    def path_lines(self) -> list[str]:
        """The sites' path in a few lines (for people)."""
        lines = []
        path = self.site_path
        if path is not None:
            lines.append(
                f"pre-screened {path.screened:,} patients: {path.candidates:,} candidates; "
                f"asked {path.asked:,}, {path.declined:,} declined, {len(path.refused):,} "
                f"refused at enrollment, {len(path.enrolled):,} enrolled"
            )
            lines += [f"  not randomized: {why}" for why in path.not_randomized]
        lines.append(
            "randomization commitment (SHA-256, recorded before the first subject): "
            f"{self.commitment}"
        )
        lines.append(
            f"verified from the revealed seed: {self.verified:,} allocations followed the "
            "committed lists"
        )
        return lines


ProgressFor = Callable[[str, str], Progress]


def _silent(stage: str, unit: str) -> Progress:
    return SilentProgress()


def demo(
    settings: config.Settings, options: DemoOptions, progress_for: ProgressFor = _silent
) -> DemoResult:
    """Run the demo into ``settings`` (the warehouse and data directory).

    :raises errors.ProblemsError: the protocol file has problems.
    :raises errors.BadInputError: bad options or an unusable data directory.
    :raises edc.fhir.NetworkError: (exit 3) with a server, when it cannot be reached.
    """
    _check_options(options)
    checked = protocol.check(options.study)  # a bad protocol stops us before anything is written
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.database_url)
    study = checked.loaded.protocol.study
    base = (
        settings.data_dir
        / "demo"
        / f"{study.id.lower()}-p{options.patients}-s{options.seed}-d{options.defect_rate:g}"
    )
    hospital = base / "hospital"
    base.mkdir(parents=True, exist_ok=True)
    generate_options = generate.GenerateOptions(
        study=options.study,
        out=hospital,
        patients=options.patients,
        seed=options.seed,
        defect_rate=options.defect_rate,
    )
    generated = _population(generate_options, progress_for("generate", "patients"))
    if options.server is None:
        protocol.register(settings, options.study)
    else:
        publish.publish(settings, options.study, options.server)
        load.load(hospital, options.server, progress=progress_for("load", "patients"))
    syncs = [("population", _sync(settings, study.id, hospital, options, progress_for, bulk=True))]
    sites = [site.id for site in checked.loaded.protocol.study.sites]
    demo_site.set_up_people(settings, study.id, sites)
    path = None
    if _commitment(settings, study.id) is None:
        path = _site_path(settings, options, generate_options, base, syncs, progress_for)
    seed_file = base / SEED_FILE
    with Workspace.open(settings, user=demo_site.UNBLINDED) as workspace:
        verified = randomize.verify(workspace, study.id, seed_file).allocations
    commitment = _commitment(settings, study.id) or ""
    summary = _summary(settings, options, study.id, generated, syncs, path, commitment, verified)
    return dataclasses.replace(summary, locked=demo_lock.lock_and_export(settings, study.id, base))


def _check_options(options: DemoOptions) -> None:
    if options.patients < 1:
        raise errors.BadInputError(f"--patients must be at least 1, got {options.patients}")
    if options.seed < 0:
        raise errors.BadInputError(f"--seed must not be negative, got {options.seed}")
    if not 0 <= options.defect_rate <= 1:
        raise errors.BadInputError(f"--defect-rate must be within 0..1, got {options.defect_rate}")
    if options.server is not None:
        options.server.check()


def _population(options: generate.GenerateOptions, progress: Progress) -> str:
    """Generate the hospitals' population once; a later run reuses it (same bytes)."""
    if (options.out / layout.MANIFEST).is_file():
        return f"reused {options.out}"
    result = generate.generate(options, progress, population_only=True)
    return f"{options.out}: {result.summary()}"


def _sync(
    settings: config.Settings,
    study: str,
    directory: Path,
    options: DemoOptions,
    progress_for: ProgressFor,
    *,
    bulk: bool = False,
) -> sync.SyncResult:
    if options.server is None:
        request = sync.SyncRequest(study=study, source_dir=directory)
    else:
        # Pre-screening needs every patient of the hospital (a Patient-level Bulk export);
        # later, the study's own (REST).
        request = sync.SyncRequest(
            study=study, server=options.server, bulk=bulk, patient_level=bulk
        )
    return sync.sync(
        settings, request, progress=progress_for("sync", "resources"), actor="edc demo"
    )


def _commitment(settings: config.Settings, study: str) -> str | None:
    with Workspace.open(settings) as workspace, workspace.transaction() as session:
        found = workspace.study(session, study)
        scheme = randomization_store.find_scheme(session, study_id=found.id)
        return scheme.commitment if scheme else None


def _site_path(
    settings: config.Settings,
    options: DemoOptions,
    generate_options: generate.GenerateOptions,
    base: Path,
    syncs: list[tuple[str, sync.SyncResult]],
    progress_for: ProgressFor,
) -> demo_site.SitePath:
    hospital = generate_options.out
    prepared = generate.prepare(generate_options)
    study = prepared.loaded.protocol.study.id
    truth = list(layout.read_lines(hospital / layout.TRUTH / "patients.ndjson"))
    if options.server is None:
        ids = {p["patient"]: p["patient"] for p in truth}
    else:
        ids = demo_site.warehouse_ids(settings, study, prepared.population.run.namespace)
    with demo_site.People(settings) as people:
        return _site_path_as(
            people,
            settings,
            options,
            generate_options,
            base,
            syncs,
            progress_for,
            prepared,
            truth,
            ids,
        )


def _site_path_as(
    people: demo_site.People,
    settings: config.Settings,
    options: DemoOptions,
    generate_options: generate.GenerateOptions,
    base: Path,
    syncs: list[tuple[str, sync.SyncResult]],
    progress_for: ProgressFor,
    prepared: generate.Prepared,
    truth: list[dict[str, Any]],
    ids: dict[str, str],
) -> demo_site.SitePath:
    study = prepared.loaded.protocol.study.id
    path = demo_site.screen_and_enroll(people, study, truth, ids)
    first_day = min((s.consent_date for s in path.enrolled), default=None)
    if first_day is None:
        raise errors.BadInputError("no patient was enrolled: use more --patients")
    path.seed_file = base / SEED_FILE
    path.commitment = demo_site.open_randomization(people, study, path.seed_file, first_day)
    extension = {"parameters": {"seed": generate_options.seed}, "study": {"id": study}}
    first = stages.write_conduct(
        prepared.renderer, path.enrolled, "screening", base / "conduct-1-screening",
        extension=extension,
    )  # fmt: skip
    syncs.append(
        ("screening visits", _deliver(settings, options, study, first.out, 1, progress_for))
    )
    randomized = demo_site.randomize_all(people, study, path.enrolled, path.not_randomized)
    allocations = base / "allocations.ndjson"
    stages.write_allocations(allocations, demo_site.with_arms(people, study, randomized))
    second = stages.write_conduct(
        prepared.renderer, stages.read_allocations(allocations), "treatment",
        base / "conduct-2-treatment", extension=extension,
    )  # fmt: skip
    syncs.append(("treatment", _deliver(settings, options, study, second.out, 2, progress_for)))
    if options.server is not None:
        with Workspace.open(settings, user=demo_site.ADMIN) as workspace:
            push.push(workspace, study, options.server)
    return path


def _deliver(
    settings: config.Settings,
    options: DemoOptions,
    study: str,
    stage: Path,
    number: int,
    progress_for: ProgressFor,
) -> sync.SyncResult:
    """Bring a conduct stage to the hospital's EHR (its export, or its server) and sync."""
    hospital = stage.parent / "hospital"
    if options.server is None:
        for path in sorted(stage.glob("*.ndjson")):
            kind = path.name.removesuffix(".ndjson")
            if kind != "Patient":  # the hospital's export has them already
                shutil.copyfile(path, hospital / f"{kind}.{number}.ndjson")
    else:
        load.load(stage, options.server, progress=progress_for("load", "patients"))
    return _sync(settings, study, hospital, options, progress_for)


def _summary(
    settings: config.Settings,
    options: DemoOptions,
    study: str,
    generated: str,
    syncs: list[tuple[str, sync.SyncResult]],
    path: demo_site.SitePath | None,
    commitment: str,
    verified: int,
) -> DemoResult:
    with Workspace.open(settings, user=options.viewer) as workspace:
        with workspace.transaction() as session:
            found = workspace.study(session, study)
            actor = workspace.act(session, found, Action.VIEW_VISITS, None)
            consort = screen.site_numbers(
                session, found, found.sites, visible=workspace.sees_arms(actor, found)
            )
    engine = migrate.open_engine(settings.database_url)
    try:
        with db.transaction(db.make_sessionmaker(engine)) as session:
            source = syncs[0][1].source
            collected = site_summary.list_site_summaries(
                session=session, study_code=study, source=source
            )
            problems = site_summary.list_problem_groups(session=session, study_code=study)
            rejected = site_summary.count_rejected(session=session, study_code=study)
            deviations = study_overview.count_open_deviations(
                session=session, study_id=found.id, site_ids=None
            )
            queries = study_overview.count_open_queries(
                session=session, study_id=found.id, site_ids=None
            )
    finally:
        engine.dispose()
    numbers = {n.site: n for n in consort}
    sites = [
        DemoSite(
            site=s.code,
            name=s.name,
            screened=numbers[s.code].assessed,
            eligible=numbers[s.code].eligible,
            excluded=numbers[s.code].ineligible,
            undetermined=numbers[s.code].undetermined,
            consented=numbers[s.code].consented,
            enrolled=numbers[s.code].enrolled,
            randomized=numbers[s.code].randomized,
            forms=s.forms,
            adverse_events={f"G{g}": n for g, n in s.adverse_events_by_grade.items()},
            serious=s.serious_adverse_events,
            deviations=deviations.get(_site_id(found, s.code), 0),
            open_queries=queries.get(_site_id(found, s.code), 0),
        )
        for s in collected
    ]
    stages = [
        f"{stage}: {sum(c.total for c in result.counts.values()):,} resources"
        for stage, result in syncs
    ]
    return DemoResult(
        study, settings.data_dir, config.mask_url(settings.database_url), generated,
        _added_up(syncs), stages, path, commitment, verified, options.viewer, sites, problems,
        rejected,
    )  # fmt: skip


def _site_id(study: Study, code: str) -> int:
    return study.site(code).id


def _added_up(syncs: list[tuple[str, sync.SyncResult]]) -> sync.SyncResult:
    counts: dict[str, TypeCounts] = {}
    for _, result in syncs:
        for kind, count in result.counts.items():
            total = counts.setdefault(kind, TypeCounts())
            for field in ("new", "updated", "unchanged", "rejected", "deleted"):
                setattr(total, field, getattr(total, field) + getattr(count, field))
    first = syncs[0][1]
    seconds = sum(result.seconds for _, result in syncs)
    return dataclasses.replace(first, counts=counts, seconds=seconds)
