"""Opioid regimens that give a target daily oral morphine equivalent (MEDD).

A regimen is what a patient takes per day: oral opioids in mg/day, transdermal fentanyl as
patch strength in ug/h. Its MEDD is computed by ``edc.library.scoring`` from the MEDD form's
answers (CDC 2022 factors, fhir_mappings/terminology/mme/cdc-2022.csv), the same numbers the
population's MedicationRequests carry, so form and EHR always agree.

Doses are rounded to the steps prescribers use (ASSUMPTION, common practice): morphine 10 mg/day,
oxycodone 5 mg/day, hydromorphone 2 mg/day, tramadol 50 mg/day, fentanyl patches 12.5 ug/h.
The choice of opioid is also an assumption (morphine and oxycodone most common, fentanyl
patches for higher doses, tramadol for low ones).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from edc.library.answers import Answers
from edc.library.score_tables import mme_factors
from edc.synth.rng import Draw

FENTANYL = "fentanyl-transdermal"
_STEP = {
    "morphine": Decimal(10),
    "oxycodone": Decimal(5),
    "hydromorphone": Decimal(2),
    "tramadol": Decimal(50),
    FENTANYL: Decimal("12.5"),
}
_MAX_TRAMADOL = Decimal(400)  # mg/day, the usual ceiling
# RxNorm ingredient codes checked in more than one public source; the others carry only our
# local code (fhir_mappings/terminology/ehr-codes.yaml).
RXNORM = {"morphine": "7052", "oxycodone": "7804", FENTANYL: "4337", "tramadol": "10689"}
DISPLAY = {
    "morphine": "Morphine (oral)",
    "oxycodone": "Oxycodone (oral)",
    "hydromorphone": "Hydromorphone (oral)",
    "tramadol": "Tramadol (oral)",
    FENTANYL: "Fentanyl (transdermal patch)",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Dose:
    """One opioid of a regimen: mg/day by mouth, or ug/h for a fentanyl patch."""

    opioid: str
    amount: Decimal

    @property
    def unit(self) -> str:
        return "ug/h" if self.opioid == FENTANYL else "mg/d"


def medd(regimen: Sequence[Dose]) -> Fraction:
    """MEDD of a regimen (sum of amount x CDC 2022 factor)."""
    factors = mme_factors()
    return sum((factors[d.opioid] * Fraction(d.amount) for d in regimen), Fraction(0))


def _rounded(opioid: str, mme: float) -> Decimal:
    step = _STEP[opioid]
    factor = float(mme_factors()[opioid])
    return step * round(mme / factor / float(step))


def regimen(draw: Draw, target: float, preferred: str | None = None) -> tuple[Dose, ...]:
    """A regimen whose MEDD is near ``target`` (mg/day oral morphine; 0 or less: none).

    :param preferred: the opioid to keep using (follow-up visits titrate the same drug).
    """
    if target < 2.5:
        return ()
    choices = [("morphine", 0.4), ("oxycodone", 0.3), ("hydromorphone", 0.1)]
    if target >= 50:
        choices.append((FENTANYL, 0.15))
    if target <= 60:
        choices.append(("tramadol", 0.15))
    opioid = preferred if preferred in dict(choices) else draw.pick(choices)
    if opioid == FENTANYL:
        # A patch for about 70% of the need, morphine for breakthrough pain.
        patch = max(_STEP[FENTANYL], _rounded(FENTANYL, 0.7 * target))
        rest = target - float(medd([Dose(FENTANYL, patch)]))
        breakthrough = _rounded("morphine", rest) if rest > 5 else Decimal(0)
        doses = [Dose(FENTANYL, patch)]
        if breakthrough > 0:
            doses.append(Dose("morphine", breakthrough))
        return tuple(doses)
    amount = max(_STEP[opioid], _rounded(opioid, target))
    if opioid == "tramadol":
        amount = min(amount, _MAX_TRAMADOL)
    return (Dose(opioid, amount),)


def medd_answers(doses: Sequence[Dose]) -> Answers:
    """The MEDD form's answers for a regimen (see fhir_mappings/instruments/medd.yaml)."""
    if not doses:
        return {"medd-none": True}
    entries: list[Answers] = [
        {"medd-opioid": d.opioid, ("medd-patch" if d.opioid == FENTANYL else "medd-dose"): d.amount}
        for d in doses
    ]
    return {"medd-none": False, "medd-entry": entries}
