"""EHR facts a protocol's criteria read that the population model does not produce on its own.

The population model (``latent``, ``ehr``) knows the facts of the example studies: lesions,
ESCC, Frankel, ECOG, KPS, pain, platelets, INR, survival, opioids. A new protocol's criterion may
read another laboratory value (haemoglobin, white cells, creatinine...). Without that value in
the record its expression cannot decide, and the criterion used to pass unnoticed. Here every
LOINC code a criterion compares is found in its expression, and each patient's record gets a
result for it: from a reference distribution of referred oncology patients for the common
laboratory tests, else spread around the threshold the criterion compares it with (so the
criterion rejects some patients and admits most). A code neither known nor compared with a
number gets nothing, and its criterion is reported as undecided.

Values are drawn from a stream keyed on the run, the patient and the code, so a record is the
same whenever it is rendered (screening, and again for the conduct). The reference numbers are
ASSUMPTIONS: typical adult values in metastatic cancer (anaemia and raised creatinine a little
more common than in the general population).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re

import numpy as np

from edc.protocol.model import Eligibility

LOINC = "http://loinc.org"


@dataclasses.dataclass(frozen=True)
class LabFact:
    """One laboratory result to add to every record: what, in which unit, how distributed."""

    code: str
    display: str
    unit: str
    mean: float
    sd: float
    low: float
    high: float
    decimals: int = 1

    def value(self, namespace: str, number: int) -> float:
        seed = hashlib.sha256(f"{namespace}|{number}|{self.code}".encode()).digest()
        draw = np.random.default_rng(int.from_bytes(seed[:8], "big"))
        for _ in range(50):
            value = float(draw.normal(self.mean, self.sd))
            if self.low <= value <= self.high:
                return round(value, self.decimals)
        return round(min(max(self.mean, self.low), self.high), self.decimals)


# LOINC code -> (display, UCUM unit, mean, SD, low, high): ASSUMPTIONS (see the docstring).
REFERENCE: dict[str, tuple[str, str, float, float, float, float]] = {
    "718-7": ("Hemoglobin [Mass/volume] in Blood", "g/dL", 12.0, 1.8, 5.0, 18.0),
    "6690-2": ("Leukocytes [#/volume] in Blood by Automated count", "10*9/L", 7.0, 2.6, 0.8, 30.0),
    "751-8": ("Neutrophils [#/volume] in Blood by Automated count", "10*9/L", 4.6, 2.0, 0.1, 20.0),
    "2160-0": ("Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.95, 0.3, 0.3, 6.0),
    "1751-7": ("Albumin [Mass/volume] in Serum or Plasma", "g/dL", 3.8, 0.5, 1.5, 5.5),
    "1975-2": ("Bilirubin.total [Mass/volume] in Serum or Plasma", "mg/dL", 0.7, 0.4, 0.1, 8.0),
    "1742-6": ("Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L",
               28.0, 16.0, 5.0, 400.0),
    "17861-6": ("Calcium [Mass/volume] in Serum or Plasma", "mg/dL", 9.6, 0.8, 6.0, 15.0),
}  # fmt: skip
# Codes the population model records itself (ehr.py): never added twice.
ALREADY_RECORDED = frozenset({"777-3", "6301-6", "38214-3", "89247-1", "89243-0"})

_CODE = re.compile(
    r"system\s*=\s*'http://loinc\.org'\s*and\s*code\s*=\s*'(?P<code>[0-9]+-[0-9])'"
    r"|code\s*=\s*'(?P<code2>[0-9]+-[0-9])'\s*and\s*system\s*=\s*'http://loinc\.org'"
)
# The number a criterion compares the value with, after the code's where(...) and aggregate.
_THRESHOLD = re.compile(r"(?:<=|>=|<|>)\s*(?P<number>[0-9]+(?:\.[0-9]+)?)\s*$")


def needed_labs(eligibility: Eligibility) -> tuple[LabFact, ...]:
    """The laboratory results the protocol's criteria read that the records lack, in code
    order (a code in several criteria once). A criterion that also reads a code the model
    records already (pain as VAS or NRS) has its fact and gets nothing more."""
    found: dict[str, LabFact] = {}
    for criterion in (*eligibility.inclusion, *eligibility.exclusion):
        expression = " ".join((criterion.expression or "").split())
        threshold = _THRESHOLD.search(expression)
        codes = [match["code"] or match["code2"] for match in _CODE.finditer(expression)]
        if any(code in ALREADY_RECORDED for code in codes):
            continue  # the record has the fact (VAS or NRS: the model writes VAS)
        for code in codes:
            if code in found:
                continue
            if code in REFERENCE:
                display, unit, mean, sd, low, high = REFERENCE[code]
                found[code] = LabFact(code, display, unit, mean, sd, low, high)
            elif threshold is not None:
                limit = float(threshold["number"])
                spread = max(abs(limit) * 0.25, 0.5)
                found[code] = LabFact(
                    code, f"LOINC {code}", "1", limit + spread, spread, 0.0, limit + 6 * spread
                )
    return tuple(found[code] for code in sorted(found))
