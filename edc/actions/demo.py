"""`edc demo`: the whole data path on one example study, on the embedded default or a server.

Compile and register an example protocol, generate a synthetic three-site trial, bring it into
the warehouse (straight from the NDJSON files, or through a FHIR server: publish, load, sync)
and summarize what arrived per site and what was rejected. Running it again reuses the
generated files (the generator is deterministic) and the sync finds nothing new.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from edc import config, errors
from edc.actions import generate, load, protocol, publish, sync
from edc.fhir.target import ServerSpec
from edc.library import mappings_root
from edc.progress import Progress, SilentProgress
from edc.synth import layout
from edc.warehouse import db, migrate, site_summary

DEFAULT_STUDY = "spine-mwa-01"


def example_study(name: str = DEFAULT_STUDY) -> Path:
    """The shipped example protocol file (works from a wheel install too)."""
    path = Path(str(mappings_root().joinpath("studies", f"{name}.yaml")))
    if not path.is_file():
        raise errors.BadInputError(f"no example study {name!r} in fhir_mappings/studies")
    return path


@dataclasses.dataclass(frozen=True)
class DemoOptions:
    """``edc demo`` flags. ``server``: run through a FHIR server instead of the files."""

    study: Path
    patients: int = 300
    seed: int = 2027
    defect_rate: float = 0.02
    server: ServerSpec | None = None


@dataclasses.dataclass(frozen=True)
class DemoResult:
    """What the demo did: data generated (or reused), synced, and what arrived per site."""

    study_code: str
    data_dir: Path
    database: str  # the warehouse URL, password masked
    generated: str
    sync: sync.SyncResult
    sites: list[site_summary.SiteSummary]
    problems: list[site_summary.ProblemGroup]
    rejected: int


ProgressFor = Callable[[str, str], Progress]


def _silent(stage: str, unit: str) -> Progress:
    return SilentProgress()


def demo(
    settings: config.Settings, options: DemoOptions, progress_for: ProgressFor = _silent
) -> DemoResult:
    """Run the demo into ``settings`` (the warehouse and data directory).

    :raises errors.ProblemsError: the protocol file has problems.
    :raises errors.BadInputError: bad options or an unusable data directory.
    :param progress_for: makes the progress reporter of a stage ("generate", ...) and unit.
    :raises edc.fhir.NetworkError: (exit 3) with a server, when it cannot be reached.
    """
    _check_options(options)
    checked = protocol.check(options.study)  # a bad protocol stops us before anything is written
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.database_url)
    study_code = checked.loaded.protocol.study.id
    directory = (
        settings.data_dir
        / "demo"
        / (f"{study_code.lower()}-p{options.patients}-s{options.seed}-d{options.defect_rate:g}")
    )
    directory.parent.mkdir(parents=True, exist_ok=True)
    generated = _generated(options, directory, progress_for("generate", "patients"))
    if options.server is None:
        protocol.register(settings, options.study)
        request = sync.SyncRequest(study=study_code, source_dir=directory)
    else:
        publish.publish(settings, options.study, options.server)
        load.load(directory, options.server, progress=progress_for("load", "patients"))
        request = sync.SyncRequest(study=study_code, server=options.server)
    synced = sync.sync(
        settings, request, progress=progress_for("sync", "resources"), actor="edc demo"
    )
    engine = migrate.open_engine(settings.database_url)
    try:
        with db.transaction(db.make_sessionmaker(engine)) as session:
            sites = site_summary.list_site_summaries(
                session=session, study_code=study_code, source=synced.source
            )
            problems = site_summary.list_problem_groups(session=session, study_code=study_code)
            rejected = site_summary.count_rejected(session=session, study_code=study_code)
    finally:
        engine.dispose()
    database = config.mask_url(settings.database_url)
    return DemoResult(
        study_code, settings.data_dir, database, generated, synced, sites, problems, rejected
    )


def _check_options(options: DemoOptions) -> None:
    if options.patients < 1:
        raise errors.BadInputError(f"--patients must be at least 1, got {options.patients}")
    if options.seed < 0:
        raise errors.BadInputError(f"--seed must not be negative, got {options.seed}")
    if not 0 <= options.defect_rate <= 1:
        raise errors.BadInputError(f"--defect-rate must be within 0..1, got {options.defect_rate}")
    if options.server is not None:
        options.server.check()


def _generated(options: DemoOptions, directory: Path, progress: Progress) -> str:
    """Generate the data once; a later run with the same options reuses it (same bytes)."""
    if (directory / layout.MANIFEST).is_file():
        return f"reused {directory}"
    result = generate.generate(
        generate.GenerateOptions(
            study=options.study,
            out=directory,
            patients=options.patients,
            seed=options.seed,
            defect_rate=options.defect_rate,
        ),
        progress,
    )
    return f"{directory}: {result.summary()}"
