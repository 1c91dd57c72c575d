"""`edc generate`: a synthetic multi-center population and trial conduct as FHIR R4 NDJSON."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption


def register(root: typer.Typer) -> None:
    root.command("generate")(generate)


@dataclasses.dataclass(frozen=True)
class GenerateReport:
    """What `edc generate` wrote: where, how many of each, how fast."""

    out: Path
    patients: int
    eligible: int
    subjects: int
    resources: int
    defects: int
    seconds: float
    files: dict[str, int]


def generate(
    study: Annotated[Path, typer.Option(metavar="FILE", help="protocol YAML file")],
    out: Annotated[
        Path, typer.Option(metavar="DIR", help="output directory (must not exist, or be empty)")
    ],
    patients: Annotated[int, typer.Option(metavar="N", help="referred patients")],
    sites: Annotated[
        int | None,
        typer.Option(metavar="N", help="how many of the protocol's sites (default: all)"),
    ] = None,
    seed: Annotated[int, typer.Option(metavar="N", help="random seed")] = 0,
    defect_rate: Annotated[
        float,
        typer.Option(metavar="RATE", help="share of QuestionnaireResponses given a defect (0..1)"),
    ] = 0.0,
    profile: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="synthetic profile (default: <study>.synthetic.yaml)"),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(metavar="N", help="worker processes (default: 2 for large runs)")
    ] = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Generate synthetic hospital patients and their trial conduct (FHIR R4 NDJSON).

    Writes a seeded, reproducible population of referred patients (EHR records: Patient,
    Conditions, Observations, opioid MedicationRequests) across the study's sites and the trial
    conduct of those enrolled (Consent, ResearchSubject, Encounters, QuestionnaireResponses,
    Procedure, AdverseEvents) as one NDJSON file per resource type, with manifest.json and
    truth/ sidecars. Published numbers come from the study's synthetic profile
    (<study>.synthetic.yaml). The same seed always gives the same bytes.
    """
    from edc.actions import generate as generate_action

    options = generate_action.GenerateOptions(
        study=study,
        out=out,
        patients=patients,
        seed=seed,
        sites=sites,
        defect_rate=defect_rate,
        profile=profile,
        workers=workers,
    )
    result = generate_action.generate(options, state.progress("generate", "patients"))
    totals = result.totals
    report = GenerateReport(
        out=result.out,
        patients=totals.patients,
        eligible=totals.eligible,
        subjects=totals.subjects,
        resources=totals.resources,
        defects=totals.defects,
        seconds=round(result.seconds, 3),
        files={item["type"]: item["count"] for item in result.manifest.get("output", [])},
    )
    headline = f"wrote {result.out}: {result.summary()}"
    state.emit(report, fmt, render.View(headline=lambda _: headline))
