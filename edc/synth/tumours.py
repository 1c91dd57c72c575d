"""Primary tumours of spinal metastases: how each is coded and scored, and how it behaves.

One row per primary site the generator knows. Sources:

* Tokuhashi primary-site groups: revised score (Tokuhashi 2005; clinical-content.md 2.6) -
  the row's ``tokuhashi`` is an answer code of fhir_mappings/instruments/tokuhashi-revised.yaml.
* Tomita growth rate: Tomita 2001 (clinical-content.md 2.7; seed 003's table): slow for
  breast, thyroid, prostate; moderate for kidney, uterus; rapid for lung, liver, stomach,
  colon and unknown primaries. Sites the table does not name are ``moderate`` (assumption).
* Lesion type mix (osteolytic / mixed / osteoblastic) by primary: ASSUMPTION from the usual
  radiology (prostate often blastic or mixed, breast mixed, kidney/thyroid/liver/myeloma lytic).
  With the seed-001 mix this gives 73% / 22% / 5% lytic / mixed / blastic patients, near the
  78.3% / 20.1% / 1.6% split of vertebral lesions quoted in seed 004's introduction
  (Barragan-Campos 2006, a vertebroplasty series, so selected for lytic lesions).
* Visceral metastases (none / treatable / untreatable) by primary: ASSUMPTION (lung, liver
  and GI primaries spread to organs more often than prostate or thyroid).
* Codes: SNOMED CT only where the code was checked in several independent public sources
  (see fhir_mappings/terminology/ehr-codes.yaml); otherwise our local code system.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

SNOMED = "http://snomed.info/sct"
LOCAL = "https://edc.example.org/fhir/CodeSystem/spine-oncology"


@dataclasses.dataclass(frozen=True)
class Primary:
    key: str
    display: str
    system: str
    code: str
    tokuhashi: str
    tomita: str
    lesion_types: Mapping[str, float]  # osteolytic / mixed / osteoblastic
    visceral: Mapping[str, float]  # none / treatable / untreatable


_LYTIC = {"osteolytic": 0.95, "mixed": 0.05, "osteoblastic": 0.0}
_MOSTLY_LYTIC = {"osteolytic": 0.8, "mixed": 0.17, "osteoblastic": 0.03}
_GI = {"osteolytic": 0.75, "mixed": 0.2, "osteoblastic": 0.05}
_ORGANS_HIGH = {"none": 0.45, "treatable": 0.25, "untreatable": 0.30}
_ORGANS_MID = {"none": 0.6, "treatable": 0.25, "untreatable": 0.15}
_ORGANS_LOW = {"none": 0.75, "treatable": 0.17, "untreatable": 0.08}


def _row(
    key: str,
    display: str,
    code: tuple[str, str],
    tokuhashi: str,
    tomita: str,
    lesion_types: Mapping[str, float],
    visceral: Mapping[str, float],
) -> Primary:
    return Primary(key, display, code[0], code[1], tokuhashi, tomita, lesion_types, visceral)


PRIMARIES: Mapping[str, Primary] = {
    row.key: row
    for row in (
        _row(
            "lung",
            "Malignant tumor of lung",
            (SNOMED, "363358000"),
            "lung",
            "rapid",
            _MOSTLY_LYTIC,
            _ORGANS_HIGH,
        ),
        _row(
            "breast",
            "Malignant tumor of breast",
            (SNOMED, "254837009"),
            "breast",
            "slow",
            {"osteolytic": 0.65, "mixed": 0.3, "osteoblastic": 0.05},
            _ORGANS_MID,
        ),
        _row(
            "prostate",
            "Malignant tumor of prostate",
            (SNOMED, "399068003"),
            "prostate",
            "slow",
            {"osteolytic": 0.3, "mixed": 0.45, "osteoblastic": 0.25},
            _ORGANS_LOW,
        ),
        _row(
            "kidney",
            "Malignant tumor of kidney",
            (SNOMED, "363518003"),
            "kidney",
            "moderate",
            _LYTIC,
            _ORGANS_MID,
        ),
        _row(
            "thyroid",
            "Malignant tumor of thyroid gland",
            (SNOMED, "363478007"),
            "thyroid",
            "slow",
            _LYTIC,
            _ORGANS_LOW,
        ),
        _row(
            "stomach",
            "Malignant tumor of stomach",
            (SNOMED, "363349007"),
            "stomach",
            "rapid",
            _GI,
            _ORGANS_HIGH,
        ),
        _row(
            "esophagus",
            "Malignant tumor of esophagus",
            (SNOMED, "363402007"),
            "esophagus",
            "rapid",
            _GI,
            _ORGANS_HIGH,
        ),
        _row(
            "liver",
            "Malignant tumor of liver",
            (LOCAL, "primary-liver"),
            "liver",
            "rapid",
            _LYTIC,
            _ORGANS_HIGH,
        ),
        _row(
            "colon",
            "Malignant tumor of colon",
            (LOCAL, "primary-colon"),
            "other",
            "rapid",
            _GI,
            _ORGANS_HIGH,
        ),
        _row(
            "rectum",
            "Malignant tumor of rectum",
            (LOCAL, "primary-rectum"),
            "rectum",
            "rapid",
            _GI,
            _ORGANS_MID,
        ),
        _row(
            "pancreas",
            "Malignant tumor of pancreas",
            (LOCAL, "primary-pancreas"),
            "pancreas",
            "rapid",
            _GI,
            _ORGANS_HIGH,
        ),
        _row(
            "melanoma",
            "Malignant melanoma",
            (LOCAL, "primary-melanoma"),
            "other",
            "rapid",
            _MOSTLY_LYTIC,
            _ORGANS_HIGH,
        ),
        _row(
            "myeloma",
            "Multiple myeloma",
            (LOCAL, "primary-myeloma"),
            "other",
            "moderate",
            _LYTIC,
            _ORGANS_LOW,
        ),
        _row(
            "unknown",
            "Malignant tumor of unknown primary site",
            (LOCAL, "primary-unknown"),
            "unidentified",
            "rapid",
            _MOSTLY_LYTIC,
            _ORGANS_MID,
        ),
        _row(
            "other",
            "Other primary malignant tumor",
            (LOCAL, "primary-other"),
            "other",
            "moderate",
            _MOSTLY_LYTIC,
            _ORGANS_MID,
        ),
    )
}

# Default primary-site mix of spinal metastases: seed 001 (review): lung 31%, breast 24%,
# GI tract 9%, prostate 8%, melanoma 4%, unknown 2%, kidney 1%, others including multiple
# myeloma 13%. The GI 9% is split colon 4 / stomach 3 / liver 2 and "others" 13% into
# myeloma 6 / thyroid 2 / other 5 (ASSUMPTION: the review does not break them down).
DEFAULT_MIX: Mapping[str, float] = {
    "lung": 31,
    "breast": 24,
    "colon": 4,
    "stomach": 3,
    "liver": 2,
    "prostate": 8,
    "melanoma": 4,
    "unknown": 2,
    "kidney": 1,
    "myeloma": 6,
    "thyroid": 2,
    "other": 5,
}
