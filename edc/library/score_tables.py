"""Published point tables, keyed by our answer codes: the data behind ``edc.library.scoring``.

Written from the publications (and shared/reference/clinical-content.md section 2), NOT from
the option weights in fhir_mappings/instruments: the scoring tests compare the two, so each
must stand on its own. Codes are the answer codes of the instrument files.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Mapping
from fractions import Fraction

from edc.library.mme import parse_mme_factors

# ODI v2.1a (Fairbank & Pynsent 2000): 10 sections, statements scored 0 (first) .. 5 (last).
ODI_POINTS: Mapping[str, Mapping[str, int]] = {
    f"odi-q{section:02}": {f"s{section}-{points}": points for points in range(6)}
    for section in range(1, 11)
}

# EORTC QLQ-BM22 (Chow 2009): scale -> (items 31-52, symptom scale?). Responses 1-4.
BM22_SCALES: Mapping[str, tuple[tuple[str, ...], bool]] = {
    "ps": (tuple(f"bm22-q{n}" for n in range(31, 36)), True),  # painful sites
    "pc": (tuple(f"bm22-q{n}" for n in range(36, 39)), True),  # painful characteristics
    "fi": (tuple(f"bm22-q{n}" for n in range(39, 47)), False),  # functional interference
    "pa": (tuple(f"bm22-q{n}" for n in range(47, 53)), False),  # psychosocial aspects
}

# Karnofsky (LOINC answer list LL4986-7) and ECOG (LOINC 89247-1 answers).
KPS_VALUES: Mapping[str, int] = {
    "LA29175-9": 100,
    "LA29176-7": 90,
    "LA29177-5": 80,
    "LA29178-3": 70,
    "LA29179-1": 60,
    "LA29180-9": 50,
    "LA29181-7": 40,
    "LA29182-5": 30,
    "LA29183-3": 20,
    "LA29184-1": 10,
    "LA9627-6": 0,
}
ECOG_GRADES: Mapping[str, int] = {
    "LA9622-7": 0,
    "LA9623-5": 1,
    "LA9624-3": 2,
    "LA9625-0": 3,
    "LA9626-8": 4,
    "LA9627-6": 5,
}

# Revised Tokuhashi (Spine 2005;30:2186), 0-15.
_TOKUHASHI_PRIMARY = {
    **dict.fromkeys(("lung", "osteosarcoma", "stomach", "bladder", "esophagus", "pancreas"), 0),
    **dict.fromkeys(("liver", "gallbladder", "unidentified"), 1),
    "other": 2,
    **dict.fromkeys(("kidney", "uterus"), 3),
    "rectum": 4,
    **dict.fromkeys(("thyroid", "breast", "prostate", "carcinoid"), 5),
}
TOKUHASHI_POINTS: Mapping[str, Mapping[str, int]] = {
    "tokuhashi-condition": {"kps-10-40": 0, "kps-50-70": 1, "kps-80-100": 2},
    "tokuhashi-extraspinal": {"ext-3-plus": 0, "ext-1-2": 1, "ext-0": 2},
    "tokuhashi-vertebral": {"vb-3-plus": 0, "vb-2": 1, "vb-1": 2},
    "tokuhashi-organs": {"organ-unremovable": 0, "organ-removable": 1, "organ-none": 2},
    "tokuhashi-primary": _TOKUHASHI_PRIMARY,
    "tokuhashi-palsy": {"frankel-a-b": 0, "frankel-c-d": 1, "frankel-e": 2},
}

# Tomita (Spine 2001;26:298), 2-10.
TOMITA_POINTS: Mapping[str, Mapping[str, int]] = {
    "tomita-growth": {"slow": 1, "moderate": 2, "rapid": 4},
    "tomita-visceral": {"none": 0, "treatable": 2, "untreatable": 4},
    "tomita-bone": {"solitary": 1, "multiple": 2},
}

# SINS (Fisher 2010, Spine 35:E1221), 0-18. Pain: mechanical 3, non-mechanical 1, free 0.
SINS_POINTS: Mapping[str, Mapping[str, int]] = {
    "sins-location": {"junctional": 3, "mobile": 2, "semi-rigid": 1, "rigid": 0},
    "sins-pain": {"mechanical": 3, "non-mechanical": 1, "pain-free": 0},
    "sins-lesion": {"lytic": 2, "mixed": 1, "blastic": 0},
    "sins-alignment": {"subluxation": 4, "deformity": 2, "normal": 0},
    "sins-collapse": {"over-50": 3, "under-50": 2, "involved-over-50": 1, "collapse-none": 0},
    "sins-posterolateral": {"bilateral": 3, "unilateral": 1, "none": 0},
}


@functools.cache
def mme_factors() -> Mapping[str, Fraction]:
    """CDC 2022 MME factors by MEDD answer code (the opioid name, '-' for spaces), read from
    the terminology table fhir_mappings/terminology/mme/cdc-2022.csv (the primary source)."""
    path = importlib.resources.files("fhir_mappings").joinpath("terminology", "mme", "cdc-2022.csv")
    factors = parse_mme_factors(path.read_text("utf-8"))
    return {name.replace(" ", "-"): Fraction(row.factor) for name, row in factors.items()}
