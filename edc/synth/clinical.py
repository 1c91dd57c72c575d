"""Clinical classifications derived from a latent patient: one state, every score agrees.

The answers below use the answer codes of the instruments in fhir_mappings/instruments and are
scored by ``edc.library.scoring`` (the project's own point tables), so a SINS, Tokuhashi or
Tomita total always follows from the same lesions, performance and neurology as the EHR facts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from edc.library import scoring
from edc.library.score_tables import ECOG_GRADES, KPS_VALUES
from edc.synth.tumours import PRIMARIES

# Vertebra index as in ehr-codes.yaml: C1=1 .. C7=7, T1=8 .. T12=19, L1=20 .. L5=24, S1=25.
VERTEBRAE: tuple[str, ...] = (
    *(f"C{n}" for n in range(1, 8)),
    *(f"T{n}" for n in range(1, 13)),
    *(f"L{n}" for n in range(1, 6)),
    "S1",
)
KPS_CODE: Mapping[int, str] = {value: code for code, value in KPS_VALUES.items() if value > 0}
ECOG_CODE: Mapping[int, str] = {grade: code for code, grade in ECOG_GRADES.items()}


def vertebra(index: int) -> str:
    """``17`` -> ``"T10"``."""
    return VERTEBRAE[index - 1]


def vertebra_index(name: str) -> int:
    return VERTEBRAE.index(name) + 1


def region(index: int) -> str:
    """cervical / thoracic / lumbar / sacral."""
    return {"C": "cervical", "T": "thoracic", "L": "lumbar", "S": "sacral"}[vertebra(index)[0]]


def ecog_from_kps(kps: int) -> int:
    """ECOG grade from KPS: 0 ~ KPS 90-100, 1 ~ 70-80, 2 ~ 50-60, 3 ~ 30-40, 4 ~ 10-20 (the
    correspondence the German MII oncology IG uses; clinical-content.md 2.5)."""
    if kps >= 90:
        return 0
    return min(4, (89 - kps) // 20 + 1)


def sins_location(index: int) -> str:
    """SINS location (Fisher 2010): junctional occiput-C2, C7-T2, T11-L1, L5-S1; mobile C3-C6,
    L2-L4; semi-rigid T3-T10; rigid S2-S5 (not in our C1-S1 range)."""
    name = vertebra(index)
    if name in {"C1", "C2", "C7", "T1", "T2", "T11", "T12", "L1", "L5", "S1"}:
        return "junctional"
    if name[0] == "C" or name in {"L2", "L3", "L4"}:
        return "mobile"
    return "semi-rigid"


_SINS_LESION = {"osteolytic": "lytic", "mixed": "mixed", "osteoblastic": "blastic"}


def sins_answers(
    *, level: int, pain: str, kind: str, alignment: str, collapse: str, posterolateral: str
) -> dict[str, str]:
    """SINS answers for the index lesion."""
    return {
        "sins-location": sins_location(level),
        "sins-pain": pain,
        "sins-lesion": _SINS_LESION[kind],
        "sins-alignment": alignment,
        "sins-collapse": collapse,
        "sins-posterolateral": posterolateral,
    }


def tokuhashi_answers(
    *, kps: int, extraspinal: int, vertebral: int, visceral: str, primary: str, frankel: str
) -> dict[str, str]:
    """Revised Tokuhashi answers (Tokuhashi 2005)."""
    return {
        "tokuhashi-condition": "kps-80-100"
        if kps >= 80
        else "kps-50-70"
        if kps >= 50
        else "kps-10-40",
        "tokuhashi-extraspinal": "ext-0"
        if extraspinal == 0
        else "ext-1-2"
        if extraspinal <= 2
        else "ext-3-plus",
        "tokuhashi-vertebral": "vb-1"
        if vertebral == 1
        else "vb-2"
        if vertebral == 2
        else "vb-3-plus",
        "tokuhashi-organs": {
            "none": "organ-none",
            "treatable": "organ-removable",
            "untreatable": "organ-unremovable",
        }[visceral],
        "tokuhashi-primary": PRIMARIES[primary].tokuhashi,
        "tokuhashi-palsy": "frankel-e"
        if frankel == "E"
        else "frankel-c-d"
        if frankel in {"C", "D"}
        else "frankel-a-b",
    }


def tomita_answers(*, primary: str, visceral: str, solitary: bool) -> dict[str, str]:
    """Tomita answers (Tomita 2001): growth of the primary, visceral and bone metastases."""
    return {
        "tomita-growth": PRIMARIES[primary].tomita,
        "tomita-visceral": visceral,
        "tomita-bone": "solitary" if solitary else "multiple",
    }


def total(instrument: str, score: str, answers: Mapping[str, object]) -> int:
    """A complete-sum score of derived answers (never None: every item is answered)."""
    value = scoring.score(instrument, score, answers)  # type: ignore[arg-type]
    if value is None:
        raise ValueError(f"{instrument}: incomplete derived answers {answers}")
    return int(value)


def survival_weeks_band(tokuhashi_total: int) -> tuple[int, int]:
    """Investigator-estimated survival (weeks) from the revised Tokuhashi prognosis bands:
    0-8 < 6 months, 9-11 >= 6 months, 12-15 >= 1 year (Tokuhashi 2005, NICE CG75)."""
    if tokuhashi_total <= 8:
        return (4 + tokuhashi_total, 25)
    if tokuhashi_total <= 11:
        return (26, 51)
    return (52, 104)


def levels_text(levels: Sequence[int]) -> str:
    return ", ".join(vertebra(level) for level in levels)


def decimal_1(value: float) -> Decimal:
    """One decimal place, as recorded on a 10 cm line or a syringe."""
    return Decimal(round(value * 10)) / 10
