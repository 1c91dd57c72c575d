"""The protocol file format: strict, frozen pydantic models for every part of a study protocol.

One protocol file describes one version of one multi-center randomized trial: its identity,
sites, arms and randomization, eligibility criteria, visit schedule, forms, adverse-event
collection and analysis plan. Cross-references (arms named in the ratio, visit anchors, forms
at visits, library instruments, CTCAE terms) are checked by ``edc.protocol.checks``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, PositiveInt, StringConstraints

from edc.items.model import Code, Coding, Item, Score, Strict, Text, Variable
from edc.protocol.edit_checks import EditCheck
from edc.protocol.monitoring import Monitoring

Version = Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)*[a-z]?$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]

# http://terminology.hl7.org/CodeSystem/research-study-phase
Phase = Literal[
    "n-a",
    "early-phase-1",
    "phase-1",
    "phase-1-phase-2",
    "phase-2",
    "phase-2-phase-3",
    "phase-3",
    "phase-4",
]
# http://terminology.hl7.org/CodeSystem/research-study-prim-purp-type
PrimaryPurpose = Literal[
    "treatment",
    "prevention",
    "diagnostic",
    "supportive-care",
    "screening",
    "health-services-research",
    "basic-science",
    "device-feasibility",
]
# http://hl7.org/fhir/research-study-arm-type
ArmType = Literal[
    "experimental",
    "active-comparator",
    "placebo-comparator",
    "sham-comparator",
    "no-intervention",
    "other-arm-type",
]


class Site(Strict):
    """A participating center; gets its own site-level ResearchStudy."""

    id: Code
    name: Text
    country: CountryCode
    city: str | None = None
    principal_investigator: str | None = None
    target_enrollment: PositiveInt | None = None


class Sponsor(Strict):
    id: Code
    name: Text


class RegistryId(Strict):
    """A trial registry number (ClinicalTrials.gov, ChiCTR, EU CT, ...)."""

    system: Text
    value: Text


class Amendment(Strict):
    """One entry of the amendment history; the newest one names this file's version."""

    version: Version
    date: dt.date
    summary: Text


class Design(Strict):
    allocation: Literal["randomized"] = "randomized"
    intervention_model: Literal["parallel", "crossover", "factorial"] = "parallel"
    primary_purpose: PrimaryPurpose = "treatment"


class Study(Strict):
    """Identity and version of the trial."""

    id: Code = Field(description="sponsor protocol number, e.g. SPINE-MWA-01")
    version: Version
    title: Text
    short_title: Text
    description: str | None = None
    phase: Phase
    design: Design = Design()
    conditions: tuple[Coding, ...] = Field(min_length=1)
    keywords: tuple[str, ...] = ()
    sponsor: Sponsor
    registry_ids: tuple[RegistryId, ...] = ()
    target_enrollment: PositiveInt
    planned_start: dt.date | None = None
    sites: tuple[Site, ...] = Field(min_length=1)
    amendments: tuple[Amendment, ...] = ()
    canonical_base: Annotated[str, StringConstraints(pattern=r"^https?://\S+[^/]$")] = (
        "https://edc.example.org/fhir"
    )


class Intervention(Strict):
    name: Text
    type: Literal["procedure", "drug", "device", "behavioral", "other"]
    code: Coding | None = None


class Arm(Strict):
    """A treatment arm; ``id`` is what ResearchSubject.assignedArm carries: keep it neutral."""

    id: Code
    title: Text
    type: ArmType
    description: Text
    interventions: tuple[Intervention, ...] = ()


class Band(Strict):
    """A level of a factor derived from a number: values below ``below`` (none: the rest)."""

    level: Code
    below: Decimal | None = None


class StratumSource(Strict):
    """Where a stratification factor's level is read from: an item on a form.

    A choice item whose codes are the levels gives the level itself; otherwise the level is
    derived from an item the study collects anyway (``edc.trial.strata``): a number by
    ``bands`` (a KPS band from the KPS score), a choice or boolean answer by ``map``
    (answer code, or true/false -> level).
    """

    form: Code
    item: Code
    bands: tuple[Band, ...] = ()
    map: dict[str, Code] = Field(default_factory=dict)


class StratificationFactor(Strict):
    """A factor randomization is stratified by: the site, or a protocol factor with levels."""

    id: Code
    title: Text
    kind: Literal["site", "protocol"]
    levels: tuple[Code, ...] = ()
    source: StratumSource | None = None


class Minimization(Strict):
    """Pocock-Simon minimization over the stratification factors (taken as margins).

    Each new subject goes to the arm that leaves the factor levels it shares with earlier
    subjects least imbalanced with ``probability``, otherwise to another arm at random.
    """

    probability: float = Field(gt=0, le=1, description="chance of the least-imbalancing arm")
    imbalance: Literal["range", "variance"] = "range"


class Randomization(Strict):
    """Stratified permuted blocks (block size drawn per block) or minimization.

    ``event`` is the schedule event randomization is (visits anchored on events before it,
    e.g. screening, are where stratification factors are collected).
    """

    method: Literal["permuted-block", "minimization"] = "permuted-block"
    block_sizes: tuple[PositiveInt, ...] = ()
    minimization: Minimization | None = None
    ratio: dict[Code, PositiveInt] = Field(description="arm id -> allocation weight")
    stratify_by: tuple[StratificationFactor, ...] = ()
    event: Code = "randomization"
    blinding: Literal["open-label", "single-blind", "double-blind", "triple-blind"]
    blinded_roles: tuple[Literal["participant", "investigator", "outcome-assessor"], ...] = ()


class Criterion(Strict):
    """An inclusion or exclusion criterion.

    ``expression`` is FHIRPath evaluated against the patient's record: a Bundle of the Patient and
    their resources, with ``%patient`` and ``%screeningDate`` (use ``%screeningDate.toDate()``)
    set. For inclusion it is true when the criterion is met; for exclusion, true when the
    exclusion applies. An empty result means "unknown" (data missing).
    """

    id: Code
    text: Text
    assessment: Literal["ehr", "investigator"]
    expression: str | None = None


class Eligibility(Strict):
    inclusion: tuple[Criterion, ...] = Field(min_length=1)
    exclusion: tuple[Criterion, ...] = ()


class Window(Strict):
    """Acceptable visit dates as offsets in days from the anchor (absolute, not +/- deviations)."""

    low: int
    high: int


class Event(Strict):
    """A milestone visits can be anchored on (consent, randomization, index procedure).

    Events and visits after randomization may apply to some arms only (``arms``), and may count
    from another anchor in some arms (``arm_anchors``: a per-arm "day 0"); see
    ``edc.protocol.arms``.
    """

    id: Code
    title: Text
    anchor: Code | None = None
    offset_days: int = 0
    window: Window | None = None
    arms: tuple[Code, ...] = Field(
        default=(), description="only in these arms (default: every arm)"
    )
    arm_anchors: dict[Code, Code] = Field(
        default_factory=dict, description="arm id -> the anchor in that arm instead of `anchor`"
    )


class Visit(Strict):
    """A planned (or unscheduled) visit and the forms due at it."""

    id: Code
    title: Text
    anchor: Code | None = None
    offset_days: int = 0
    window: Window | None = None
    unscheduled: bool = False
    forms: tuple[Code, ...] = ()
    arms: tuple[Code, ...] = Field(
        default=(), description="only in these arms (default: every arm)"
    )
    arm_anchors: dict[Code, Code] = Field(
        default_factory=dict, description="arm id -> the anchor in that arm instead of `anchor`"
    )


class Schedule(Strict):
    events: tuple[Event, ...] = Field(min_length=1)
    visits: tuple[Visit, ...] = Field(min_length=1)


class Form(Strict):
    """A case report form: a library instrument, study-specific items, or both."""

    id: Code
    title: str | None = None
    instrument: Code | None = None
    items: tuple[Item, ...] = ()
    variables: tuple[Variable, ...] = ()
    scores: tuple[Score, ...] = ()
    arms: tuple[Code, ...] = Field(
        default=(), description="due only in these arms, at any visit listing it (default: every)"
    )


class ExpectedAdverseEvent(Strict):
    """An adverse event the protocol anticipates, named by its exact CTCAE term."""

    term: Text
    specify: str | None = Field(
        default=None, description="verbatim for '<SOC> - Other, specify' terms"
    )
    note: str | None = None


class AdverseEvents(Strict):
    ctcae_version: Literal["5.0", "6.0"]
    form_id: Code = "ae"
    serious_report_hours: PositiveInt = Field(
        description="a serious AE must reach the sponsor within this many hours of awareness"
    )
    expected: tuple[ExpectedAdverseEvent, ...] = ()


class Measure(Strict):
    """What an endpoint measures: an item or score of a form, at a visit."""

    form: Code
    item: Code
    visit: Code
    baseline_visit: Code | None = None


class Responder(Strict):
    """Who counts as a responder on an endpoint's measure, from its baseline visit: an
    improvement of at least ``points``, or of at least ``percent`` of the baseline value
    (``combine: both`` needs the two)."""

    improvement: Literal["decrease", "increase"] = Field(
        description="which way is better (pain: decrease)"
    )
    points: float | None = Field(default=None, gt=0)
    percent: float | None = Field(default=None, gt=0, le=100)
    combine: Literal["either", "both"] = "either"


class Endpoint(Strict):
    id: Code
    kind: Literal["primary", "secondary", "exploratory"]
    title: Text
    measure: Measure
    summary: Literal["change-from-baseline", "value", "proportion"]
    test: Literal["ancova", "t-test", "mann-whitney", "chi-square", "fisher-exact", "mixed-model"]
    covariates: tuple[Text, ...] = ()
    # Additions (format 1, optional; an older file means what it meant):
    descriptive: bool = Field(
        default=False, description="summarised per arm only: no test, outside multiplicity"
    )
    responder: Responder | None = None
    visits: tuple[Code, ...] = Field(
        default=(), description="every visit of a repeated measure (mixed model), in order"
    )


class Comparison(Strict):
    """One pairwise comparison of arms, with its share of the alpha."""

    arms: tuple[Code, Code]
    alpha: float | None = Field(default=None, gt=0, lt=1)


class Multiplicity(Strict):
    """How the family-wise error rate is kept with more than one comparison or endpoint.

    ``comparisons`` default to every pair of arms; ``order`` lists the tested endpoints in the
    order of a hierarchical (fixed-sequence) procedure.
    """

    method: Literal["none", "bonferroni", "holm", "hierarchical"]
    comparisons: tuple[Comparison, ...] = ()
    order: tuple[Code, ...] = ()


class AnalysisPlan(Strict):
    population: Literal["intention-to-treat", "per-protocol", "modified-intention-to-treat"]
    alpha: float = Field(gt=0, lt=1)
    endpoints: tuple[Endpoint, ...] = Field(min_length=1)
    # Additions (optional): the unit each value belongs to, and multiplicity.
    unit: Literal["patient", "vertebra"] = "patient"
    multiplicity: Multiplicity | None = None


class Protocol(Strict):
    """A whole protocol file."""

    format: Literal[1] = Field(description="version of the protocol file format")
    study: Study
    arms: tuple[Arm, ...] = Field(min_length=2)
    randomization: Randomization
    eligibility: Eligibility
    schedule: Schedule
    forms: tuple[Form, ...] = Field(min_length=1)
    adverse_events: AdverseEvents
    analysis: AnalysisPlan
    monitoring: Monitoring = Monitoring()
    edit_checks: tuple[EditCheck, ...] = ()


__all__ = [
    "AdverseEvents",
    "AnalysisPlan",
    "Arm",
    "Code",
    "Coding",
    "Comparison",
    "Criterion",
    "Endpoint",
    "Event",
    "Form",
    "Item",
    "Minimization",
    "Multiplicity",
    "Protocol",
    "Randomization",
    "Responder",
    "Schedule",
    "Score",
    "Site",
    "Study",
    "Text",
    "Variable",
    "Visit",
    "Window",
]
