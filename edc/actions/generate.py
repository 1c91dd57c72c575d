"""Generate a synthetic multi-center population and its trial conduct as FHIR R4 NDJSON.

Orchestration of ``edc generate``: check the inputs, load and compile the protocol, read its
synthetic profile, then stream patients through ``edc.synth.pipeline`` into a temporary
directory that is renamed into place at the end (nothing half-written is ever visible).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from pathlib import Path
from typing import Any

import edc
from edc import errors
from edc.compiler import CompiledStudy, compile_protocol
from edc.compiler.naming import Naming
from edc.library import Library, load_library
from edc.progress import Progress, SilentProgress
from edc.protocol import LoadedProtocol, load_protocol
from edc.protocol import forms as protocol_forms
from edc.synth import adverse_events, layout, pipeline
from edc.synth.conduct import ConductGenerator, questionnaires_by_form
from edc.synth.enrollment import Enroller
from edc.synth.population import Population
from edc.synth.profile import Profile, default_profile
from edc.synth.profile_load import load_profile, profile_path_for
from edc.synth.writer import DirectoryWriter

# Below this many patients one process is faster than starting workers.
PARALLEL_FROM = 2_000


@dataclasses.dataclass(frozen=True)
class GenerateOptions:
    """What to generate (``edc generate`` flags).

    :ivar sites: how many of the protocol's sites (None: all).
    :ivar profile: the synthetic profile (None: ``<study>.synthetic.yaml`` beside the
        protocol when it exists, else generic defaults).
    :ivar workers: worker processes (None: 2 when there are enough patients and CPUs).
    """

    study: Path
    out: Path
    patients: int
    seed: int = 0
    sites: int | None = None
    defect_rate: float = 0.0
    profile: Path | None = None
    workers: int | None = None


@dataclasses.dataclass(frozen=True)
class GenerateResult:
    out: Path
    manifest: dict[str, Any]
    totals: pipeline.Totals
    seconds: float

    def summary(self) -> str:
        t = self.totals
        return (
            f"{t.patients:,} patients ({t.eligible:,} eligible, {t.subjects:,} enrolled), "
            f"{t.resources:,} resources, {t.defects:,} defects in {self.seconds:.1f} s "
            f"({t.patients / max(self.seconds, 1e-9):,.0f} patients/s)"
            + undecided_note(t.undecided)
        )


def undecided_note(undecided: dict[str, int]) -> str:
    """The criteria the run could not decide, said out loud (they were taken as passed)."""
    if not undecided:
        return ""
    listed = ", ".join(f"{cid} for {n:,} patient(s)" for cid, n in sorted(undecided.items()))
    return (
        f"; undecided criteria, taken as passed (give them a rule in the profile, or EHR data "
        f"their expression can read; see truth/patients.ndjson): {listed}"
    )


def check_options(options: GenerateOptions) -> None:
    """Reject bad flags before any work.

    :raises errors.BadInputError: naming the flag.
    """
    if options.patients < 1:
        raise errors.BadInputError(f"--patients must be at least 1, got {options.patients}")
    if options.seed < 0:
        raise errors.BadInputError(f"--seed must not be negative, got {options.seed}")
    if options.sites is not None and options.sites < 1:
        raise errors.BadInputError(f"--sites must be at least 1, got {options.sites}")
    if not 0 <= options.defect_rate <= 1:
        raise errors.BadInputError(f"--defect-rate must be within 0..1, got {options.defect_rate}")
    if options.workers is not None and options.workers < 1:
        raise errors.BadInputError(f"--workers must be at least 1, got {options.workers}")
    DirectoryWriter.check(options.out)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A protocol loaded, compiled and read with its profile into a population and renderer."""

    loaded: LoadedProtocol
    compiled: CompiledStudy
    profile: Profile
    profile_file: str | None
    population: Population
    renderer: pipeline.Renderer
    sites: int

    def extension(self, totals: pipeline.Totals, options: GenerateOptions) -> dict[str, Any]:
        """The manifest's description of this run."""
        study = self.loaded.protocol.study
        conduct = self.renderer.conduct
        return {
            "generator": layout.GENERATOR,
            "edc_version": edc.__version__,
            "parameters": {
                "seed": options.seed,
                "sites": self.sites,
                "patients": options.patients,
                "defect_rate": options.defect_rate,
            },
            "study": {
                "id": study.id,
                "version": study.version,
                "canonical_base": study.canonical_base,
                "protocol_sha256": hashlib.sha256(self.loaded.source_text.encode()).hexdigest(),
                "compiled_sha256": self.compiled.sha256,
            },
            "profile": self.profile_file,
            "namespace": self.population.run.namespace,
            "site_studies": {
                site.id: conduct.site_study_id(site.id) for site in self.population.sites
            },
            "questionnaires": sorted(conduct.filler.canonical(f) for f in conduct.filler.forms),
            "totals": {
                "patients": totals.patients,
                "eligible": totals.eligible,
                "subjects": totals.subjects,
                "defects": totals.defects,
                **(
                    {"undecided": dict(sorted(totals.undecided.items()))}
                    if totals.undecided
                    else {}
                ),
            },
        }


def prepare(options: GenerateOptions) -> Prepared:
    """Load, check and compile the study, read its profile, set up population and conduct.

    :raises errors.BadInputError: an unreadable study or profile file, more sites than the
        protocol has.
    :raises errors.ProblemsError: every problem of the protocol or profile, located.
    """
    library = load_library()
    loaded = load_protocol(options.study, library)
    protocol = loaded.protocol
    available = len(protocol.study.sites)
    sites = options.sites or available
    if sites > available:
        raise errors.BadInputError(
            f"--sites {sites}: {protocol.study.id} has only {available} site(s)",
            "use at most the number of sites in the protocol",
        )
    compiled = compile_protocol(protocol, library)
    study = protocol.study
    naming = Naming(study.canonical_base, study.id, study.version)
    form_ids = [f.id for f in protocol.forms] + sorted(protocol_forms.builtin_form_ids(protocol))
    questionnaires = questionnaires_by_form(form_ids, compiled, naming)
    profile, profile_file = _profile(options, protocol.study.id, questionnaires, loaded, library)
    population = Population(
        protocol, profile, seed=options.seed, sites=sites, patients=options.patients
    )
    conduct = ConductGenerator(population, compiled, library)
    renderer = pipeline.Renderer(population, conduct, options.defect_rate)
    return Prepared(loaded, compiled, profile, profile_file, population, renderer, sites)


def _sentinel_arms(prepared: Prepared) -> set[str]:
    """The arms the profile lets the run's test SAE happen in (see ``Profile.test_sae``)."""
    conduct = prepared.renderer.conduct
    return {
        arm.id
        for arm in prepared.loaded.protocol.arms
        if adverse_events.sentinel_event(
            conduct.ae_rates, conduct.ctcae, arm.id, prepared.profile.test_sae
        )
        is not None
    }


class _NobodyEnrolls:
    """The enroller of a population-only run: the enrolling system decides later."""

    def consider(self, patient: object) -> None:
        return None


def generate(
    options: GenerateOptions, progress: Progress | None = None, *, population_only: bool = False
) -> GenerateResult:
    """Generate the directory ``options.out``.

    :param population_only: write the hospitals' patients and EHR records only (the first
        stage, for an enrolling system: ``edc.synth.stages``), no trial conduct.
    :raises errors.BadInputError: bad flags, an unreadable study or profile file, more sites
        than the protocol has, an ``--out`` that exists and is not empty or cannot be written.
    :raises errors.ProblemsError: every problem of the protocol or profile, located.
    """
    started = time.monotonic()
    progress = progress or SilentProgress()
    check_options(options)
    prepared = prepare(options)
    population = prepared.population
    enroller: Any = (
        _NobodyEnrolls()
        if population_only
        else Enroller(
            prepared.loaded.protocol,
            prepared.profile.conduct,
            population.run,
            options.seed,
            sentinel_arms=_sentinel_arms(prepared),
            levels_of=prepared.renderer.conduct.stratum_levels,
        )
    )
    workers = options.workers or _default_workers(options.patients)
    with DirectoryWriter(options.out) as writer:
        totals = pipeline.run(
            prepared.renderer, enroller, writer, workers=workers, progress=progress
        )
        manifest = writer.commit(
            transaction_time=pipeline.transaction_time(totals.latest),
            request=(
                f"edc generate --study {options.study.name} --sites {prepared.sites} "
                f"--patients {options.patients} --seed {options.seed}"
                + (f" --defect-rate {options.defect_rate}" if options.defect_rate else "")
                + (" (population)" if population_only else "")
            ),
            extension=prepared.extension(totals, options),
        )
    elapsed = time.monotonic() - started
    progress.finish(
        f"{totals.patients:,} patients, {totals.subjects:,} subjects, "
        f"{totals.resources:,} resources"
    )
    return GenerateResult(options.out, manifest, totals, elapsed)


def _profile(
    options: GenerateOptions,
    study_id: str,
    questionnaires: dict[str, dict[str, Any]],
    loaded: LoadedProtocol,
    library: Library,
) -> tuple[Profile, str | None]:
    path = options.profile
    if path is None:
        beside = profile_path_for(options.study)
        path = beside if beside.exists() else None
    if path is None:
        return default_profile(study_id), None
    if not path.exists():
        raise errors.BadInputError(f"synthetic profile not found: {path}")
    return load_profile(path, loaded.protocol, questionnaires, library), path.name


def _default_workers(patients: int) -> int:
    return 2 if patients >= PARALLEL_FROM and (os.cpu_count() or 1) >= 2 else 1
