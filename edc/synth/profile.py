"""The synthetic-data profile of a study: the published numbers the generator reproduces.

A profile (``<study>.synthetic.yaml`` beside the protocol file) holds, as data with the source
of every number: the referral population (age, sex, primary sites, lesions, labs, pain,
opioids), the rule behind each eligibility criterion, conduct rates (declines, late and missed
visits), the per-arm per-visit score targets (mean, SD, range) and the adverse-event rates.
A protocol without a profile still generates, from ``default_profile``: the population below,
no score targets (plausible values within each item's bounds), a small rate for each expected
adverse event, and eligibility judged by the protocol's own FHIRPath criteria.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edc.items.model import Strict
from edc.synth.marginals import Marginal, fit
from edc.synth.tumours import DEFAULT_MIX

AnswerValue = bool | int | float | str | dict[str, float] | None
RuleKind = Literal[
    "age-at-least",
    "pain-at-least",
    "lesion-count-at-most",
    "lesions-all-of-type",
    "lesions-between",
    "pathological-fracture",
    "frankel-all-in",
    "active-opioid",
    "survival-at-least-weeks",
    "survival-below-weeks",
    "coagulopathy",
    "escc-in",
    "ecog-at-least",
    "investigator",
]


class Numbers(Strict):
    """A published mean ± SD, with the range when the paper gives one."""

    mean: float
    sd: float = Field(ge=0)
    min: float | None = None
    max: float | None = None
    source: str | None = None

    def marginal(self, low: float | None = None, high: float | None = None) -> Marginal:
        """The fitted distribution; ``low``/``high`` bound it when the paper gives no range."""
        lo = self.min if self.min is not None else low
        hi = self.max if self.max is not None else high
        return fit(self.mean, self.sd, lo, hi)


class Population(Strict):
    """Who is referred to screening (the hospitals' EHR before the trial)."""

    age: Numbers
    minor_share: float = Field(default=0.003, ge=0, le=1)
    female_share: float = Field(ge=0, le=1)
    primary_sites: dict[str, float]
    lesion_types: dict[Literal["osteolytic", "mixed", "osteoblastic"], float] | None = None
    lesion_count: dict[int, float]
    levels: dict[str, float]
    fracture_share: float | None = Field(default=None, ge=0, le=1)
    escc: dict[Literal["0", "1a", "1b", "1c", "2", "3"], float]
    pain: Numbers
    low_pain_share: float = Field(ge=0, le=1)
    opioid_share: float = Field(ge=0, le=1)
    medd: Numbers
    thrombocytopenia_share: float = Field(ge=0, le=1)
    high_inr_share: float = Field(ge=0, le=1)
    recruitment_days: int = Field(default=730, gt=0)


class Rule(Strict):
    """What makes a criterion's statement true for a latent patient (see edc.synth.truth)."""

    rule: RuleKind
    value: float | list[str] | list[int] | None = None
    platelets_below: float | None = None
    inr_above: float | None = None
    share: float | None = Field(default=None, ge=0, le=1)


class ExpectedShare(Strict):
    value: float = Field(ge=0, le=1)
    tolerance: float = Field(gt=0, le=1)
    source: str


class VisitTiming(Strict):
    """Shares of scheduled visits done on time, out of window (late / early), or missed."""

    late: float = Field(default=0.05, ge=0, le=1)
    early: float = Field(default=0.02, ge=0, le=1)
    missed: float = Field(default=0.05, ge=0, le=1)


class Conduct(Strict):
    # Defaults are ASSUMPTIONS (no seed reports them): see the example profiles.
    decline_share: float = Field(default=0.15, ge=0, le=1)
    withdrawal_share: float = Field(default=0.03, ge=0, le=1)
    visit_timing: VisitTiming = VisitTiming()
    unscheduled_share: float = Field(default=0.12, ge=0, le=1)
    missing_item_share: float = Field(default=0.02, ge=0, le=1)
    late_sae_share: float = Field(default=0.2, ge=0, le=1)


class Target(Strict):
    """Per-visit values of one item or score: ``visits`` for every arm, ``arms`` per arm."""

    source: str
    visits: dict[str, Numbers] = Field(default_factory=dict)
    arms: dict[str, dict[str, Numbers]] = Field(default_factory=dict)
    per_level: bool = Field(default=False, description="the numbers are per treated vertebra")

    def numbers(self, arm: str, visit: str) -> Numbers | None:
        return self.arms.get(arm, {}).get(visit) or self.visits.get(visit)


class AdverseEventRate(Strict):
    """How often one CTCAE term occurs, per arm (``"*"``: every arm)."""

    term: str
    specify: str | None = None
    per: Literal["patient", "vertebra"] = "patient"
    rate: dict[str, float]
    grades: dict[int, float]
    onset_days: tuple[int, int] = (0, 7)
    relatedness: Literal["related", "possible", "unlikely", "not-related"] = "possible"
    outcome: Literal["by-grade", "not-resolved"] = "by-grade"
    form_flag: str | None = Field(default=None, description="form.item set true when it occurs")
    source: str

    def rate_for(self, arm: str) -> float:
        return self.rate.get(arm, self.rate.get("*", 0.0))


# The population a protocol without a profile gets. Sources: seed 001 (review) for the
# primary-site mix (tumours.DEFAULT_MIX) and lesion regions (70% thoracic, 20% lumbar, 10%
# cervical), and "more than 50% of patients" with several involved levels; seed 003 (review):
# 12-16% present with spinal cord compression (ESCC 2/3 share 0.14). Age: the two seed series
# (60.97 ± 14.15 in seed 004, 67.56 ± 11.43 in seed 000) pooled roughly. Pain 6-9 on VAS and
# opioid use are ASSUMPTIONS, as are the lab shares (a few % thrombocytopenic after
# chemotherapy or anticoagulated).
DEFAULT_POPULATION = Population(
    age=Numbers(mean=64.0, sd=12.5, min=22, max=92),
    female_share=0.5,
    primary_sites=dict(DEFAULT_MIX),
    lesion_count={1: 0.45, 2: 0.25, 3: 0.12, 4: 0.08, 5: 0.05, 6: 0.03, 7: 0.02},
    levels={"C1-C7": 0.10, "T1-T12": 0.70, "L1-L5": 0.20},
    escc={"0": 0.45, "1a": 0.2, "1b": 0.12, "1c": 0.09, "2": 0.08, "3": 0.06},
    pain=Numbers(mean=6.8, sd=1.6, min=4, max=10),
    low_pain_share=0.08,
    opioid_share=0.75,
    medd=Numbers(mean=70.0, sd=45.0, min=10, max=300),
    thrombocytopenia_share=0.06,
    high_inr_share=0.05,
)


class TestSae(Strict):
    """Where the run's test SAE goes: one grade-3 serious event reported late, so every run
    exercises the late-report paths. By default the first subject allocated to an arm where
    some per-patient term that can be grade 3 has a rate above zero, with the first such term;
    never an arm or a term the profile gives no adverse events."""

    arm: str | None = Field(default=None, description="only in this arm (default: any)")
    term: str | None = Field(default=None, description="this CTCAE term (grade 3 must exist)")
    specify: str | None = None
    source: str | None = None


class Profile(Strict):
    format: Literal[1]
    study: str
    # A study that does not model its own referral population gets the default one.
    population: Population = DEFAULT_POPULATION
    eligibility: dict[str, Rule] = Field(default_factory=dict)
    expected_eligible_share: ExpectedShare | None = None
    conduct: Conduct = Conduct()
    targets: dict[str, Target] = Field(default_factory=dict)
    answers: dict[str, dict[str, AnswerValue]] = Field(default_factory=dict)
    adverse_events: tuple[AdverseEventRate, ...] = ()
    test_sae: TestSae = TestSae()


def default_profile(study_id: str) -> Profile:
    """The profile of a protocol that ships none (no targets, FHIRPath eligibility)."""
    return Profile(format=1, study=study_id, population=DEFAULT_POPULATION)
