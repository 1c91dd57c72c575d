"""The latent state of one referred patient: everything the EHR and the forms are rendered from.

One state per patient, drawn from the profile's population in a fixed order from the patient's
own stream. Tumour, metastases, lesions, neurology and performance are drawn first and every
score is derived from them (``edc.synth.clinical``), so SINS, Tokuhashi, Tomita, Bilsky,
Frankel, KPS and ECOG always agree. Clinical shares not given by the profile are ASSUMPTIONS,
named where they are drawn.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from edc.synth import clinical, opioids
from edc.synth.profile import Population
from edc.synth.rng import Draw
from edc.synth.tumours import PRIMARIES

LESION_TYPES = ("osteolytic", "mixed", "osteoblastic")
# ASSUMPTION: patients with at least one pathological fracture, by dominant lesion type
# (lytic lesions weaken the body most), when the profile gives no fracture share.
_FRACTURE_BY_TYPE = {"osteolytic": 0.55, "mixed": 0.4, "osteoblastic": 0.2}
# Other ASSUMPTIONS in ``sample_patient`` (no seed reports them): 85% of a patient's lesions
# share the dominant type; besides the index lesion, 30% of the others of a fractured patient
# are fractured too; the posterior wall is involved at ESCC >= 1b and in 25% of the rest; pain
# is mechanical in 70% of fractured index lesions and 30% of the others; opioid dose follows
# pain with correlation 0.6; patients in little pain (VAS < 4) use opioids half as often.
# Facts are dated within the look-back windows the example criteria use: pain 0-10 days
# before screening (criteria: 14), labs 1-21 (30), ECOG/KPS 0-14 (30).
# ASSUMPTION: Frankel grade by ESCC grade (deficits follow high-grade compression).
_FRANKEL = {
    "3": {"E": 0.3, "D": 0.4, "C": 0.2, "B": 0.06, "A": 0.04},
    "2": {"E": 0.55, "D": 0.32, "C": 0.1, "B": 0.02, "A": 0.01},
    "low": {"E": 0.97, "D": 0.03},
}


@dataclasses.dataclass(frozen=True, slots=True)
class Lesion:
    level: int  # vertebra index, C1=1 .. S1=25
    kind: str  # osteolytic | mixed | osteoblastic
    fracture: bool
    collapse: str  # SINS collapse answer code
    posterolateral: str  # SINS posterolateral answer code


@dataclasses.dataclass(frozen=True, slots=True)
class FactDates:
    """How many days before screening each fact was recorded."""

    diagnosis: int
    metastasis: int
    imaging: int
    performance: int
    pain: int
    labs: int
    survival: int
    opioid: int


@dataclasses.dataclass(frozen=True)
class PatientState:
    number: int
    site_index: int
    female: bool
    birth_date: dt.date
    screening_date: dt.date
    primary: str
    visceral: str  # none | treatable | untreatable
    extraspinal: int  # extraspinal bone metastases
    lesions: tuple[Lesion, ...]  # by level
    index: int  # position of the index lesion in ``lesions``
    escc: str
    frankel: str
    posterior_wall: bool
    alignment: str
    pain_character: str  # SINS pain answer code
    kps: int
    pain: Decimal  # VAS 0-10 at screening
    pain_z: float
    regimen: tuple[opioids.Dose, ...]
    medd_z: float
    platelets: int
    inr: Decimal
    survival_weeks: int
    days_before: FactDates

    @property
    def index_lesion(self) -> Lesion:
        return self.lesions[self.index]

    @property
    def ecog(self) -> int:
        return clinical.ecog_from_kps(self.kps)

    def day(self, days_before: int) -> dt.date:
        return self.screening_date - dt.timedelta(days=days_before)

    def tokuhashi(self) -> dict[str, str]:
        return clinical.tokuhashi_answers(
            kps=self.kps,
            extraspinal=self.extraspinal,
            vertebral=len(self.lesions),
            visceral=self.visceral,
            primary=self.primary,
            frankel=self.frankel,
        )


def parse_levels(spec: str) -> range:
    """``"T1-T12"`` -> vertebra indexes 8..19 (a single name is one level).

    :raises ValueError: for an unknown vertebra or a reversed range.
    """
    first, _, last = spec.partition("-")
    low = clinical.vertebra_index(first.strip())
    high = clinical.vertebra_index((last or first).strip())
    if high < low:
        raise ValueError(f"reversed level range {spec!r}")
    return range(low, high + 1)


def sample_patient(
    draw: Draw,
    population: Population,
    *,
    number: int,
    count: int,
    start: dt.date,
    site_weights: Sequence[float],
) -> PatientState:
    """Draw one referred patient (patient ``number`` of ``count``, screened from ``start``,
    at a site chosen in proportion to ``site_weights``)."""
    # Referrals arrive evenly over the recruitment period, in patient-number order.
    offset = int((number + draw.uniform()) / count * population.recruitment_days)
    screening = start + dt.timedelta(days=offset)
    site_index = draw.pick(list(enumerate(site_weights)))
    if draw.chance(population.minor_share):
        age = draw.uniform(14.0, 17.9)
    else:
        age = population.age.marginal().ppf(draw.uniform())
    birth = screening - dt.timedelta(days=int(age * 365.25))
    female = draw.chance(population.female_share)
    primary = draw.pick(list(population.primary_sites.items()))
    row = PRIMARIES[primary]
    type_mix = population.lesion_types or row.lesion_types
    dominant = draw.pick(list(type_mix.items()))
    levels = _levels(draw, population, draw.pick(list(population.lesion_count.items())))
    fracture_share = population.fracture_share
    if fracture_share is None:
        fracture_share = _FRACTURE_BY_TYPE[dominant]
    fractured = draw.chance(fracture_share)
    index = draw.integer(0, len(levels) - 1)
    lesions = tuple(
        _lesion(draw, level, dominant, fractured and (i == index or draw.chance(0.3)))
        for i, level in enumerate(levels)
    )
    escc = draw.pick(list(population.escc.items()))
    frankel = draw.pick(list(_FRANKEL.get(escc, _FRANKEL["low"]).items()))
    posterior_wall = escc in {"1b", "1c", "2", "3"} or draw.chance(0.25)
    visceral = draw.pick(list(row.visceral.items()))
    # ASSUMPTION: extraspinal bone metastases 0 / 1-2 / 3+ in 35 / 35 / 30%.
    extraspinal = draw.pick([(0, 0.35), (1, 0.2), (2, 0.15), (3, 0.15), (5, 0.15)])
    kps = _kps(draw, visceral, frankel, age)
    pain_z = draw.z()
    if draw.chance(population.low_pain_share):
        pain = clinical.decimal_1(draw.uniform(0.5, 3.9))
    else:
        pain = clinical.decimal_1(population.pain.marginal(0, 10).at(pain_z))
    index_lesion = lesions[index]
    pain_character = (
        "pain-free"
        if pain < 1
        else (
            "mechanical" if draw.chance(0.7 if index_lesion.fracture else 0.3) else "non-mechanical"
        )
    )
    medd_z = 0.6 * pain_z + 0.8 * draw.z()
    on_opioid = draw.chance(population.opioid_share if pain >= 4 else population.opioid_share / 2)
    target = population.medd.marginal(0, None).at(medd_z)
    regimen = opioids.regimen(draw, target) if on_opioid else ()
    platelets, inr = _labs(draw, population)
    alignment = _alignment(draw, index_lesion.collapse)
    state = PatientState(
        number=number,
        site_index=site_index,
        female=female,
        birth_date=birth,
        screening_date=screening,
        primary=primary,
        visceral=visceral,
        extraspinal=extraspinal,
        lesions=lesions,
        index=index,
        escc=escc,
        frankel=frankel,
        posterior_wall=posterior_wall,
        alignment=alignment,
        pain_character=pain_character,
        kps=kps,
        pain=pain,
        pain_z=pain_z,
        regimen=regimen,
        medd_z=medd_z,
        platelets=platelets,
        inr=inr,
        survival_weeks=0,
        days_before=FactDates(
            diagnosis=draw.integer(120, 2200),
            metastasis=draw.integer(14, 180),
            imaging=draw.integer(3, 30),
            performance=draw.integer(0, 14),
            pain=draw.integer(0, 10),
            labs=draw.integer(1, 21),
            survival=draw.integer(0, 7),
            opioid=draw.integer(7, 90),
        ),
    )
    low, high = clinical.survival_weeks_band(
        clinical.total("tokuhashi-revised", "tokuhashi-total", state.tokuhashi())
    )
    return dataclasses.replace(state, survival_weeks=draw.integer(low, high))


def _levels(draw: Draw, population: Population, count: int) -> list[int]:
    ranges = [(parse_levels(spec), weight) for spec, weight in population.levels.items()]
    chosen: list[int] = []
    while len(chosen) < min(count, 25):
        # Metastases are often contiguous (seed 001): extend the last level 60% of the time.
        if chosen and draw.chance(0.6):
            level = chosen[-1] + draw.pick([(-1, 1.0), (1, 1.0)])
        else:
            span = draw.pick(ranges)
            level = span[draw.integer(0, len(span) - 1)]
        if 1 <= level <= 25 and level not in chosen:
            chosen.append(level)
    return sorted(chosen)


def _lesion(draw: Draw, level: int, dominant: str, fracture: bool) -> Lesion:
    kind = dominant if draw.chance(0.85) else draw.pick([(t, 1.0) for t in LESION_TYPES])
    if fracture:
        collapse = "over-50" if draw.chance(0.3) else "under-50"
    else:
        collapse = "involved-over-50" if draw.chance(0.4) else "collapse-none"
    posterolateral = draw.pick([("none", 0.5), ("unilateral", 0.35), ("bilateral", 0.15)])
    return Lesion(level, kind, fracture, collapse, posterolateral)


def _kps(draw: Draw, visceral: str, frankel: str, age: float) -> int:
    # ASSUMPTION: a latent performance score lowered by untreatable organ metastases, motor
    # deficits and age, scaled so that about 10% of referred patients have ECOG >= 3.
    score = draw.z() - {"none": 0.0, "treatable": 0.4, "untreatable": 0.8}[visceral]
    score -= {"E": 0.0, "D": 0.5, "C": 1.2, "B": 2.0, "A": 2.5}[frankel]
    score -= max(0.0, age - 65) * 0.02
    return 10 * min(10, max(1, round(7.4 + 1.4 * score)))


def _labs(draw: Draw, population: Population) -> tuple[int, Decimal]:
    # Platelets x10^9/L and INR. ASSUMPTION: normal platelets ~ N(235, 65); after chemotherapy
    # a share is thrombocytopenic (12-74); INR ~ N(1.03, 0.09), anticoagulated 1.51-2.8.
    if draw.chance(population.thrombocytopenia_share):
        platelets = round(draw.uniform(12, 74))
    else:
        platelets = round(min(600.0, max(80.0, draw.normal(235, 65))))
    if draw.chance(population.high_inr_share):
        inr = draw.uniform(1.51, 2.8)
    else:
        inr = min(1.45, max(0.85, draw.normal(1.03, 0.09)))
    return platelets, Decimal(round(inr * 100)) / 100


def _alignment(draw: Draw, collapse: str) -> str:
    # ASSUMPTION: deformity follows collapse of more than half the body.
    if collapse == "over-50":
        return draw.pick([("normal", 0.52), ("deformity", 0.4), ("subluxation", 0.08)])
    return draw.pick([("normal", 0.93), ("deformity", 0.05), ("subluxation", 0.02)])
