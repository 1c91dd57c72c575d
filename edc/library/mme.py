"""Oral morphine milligram equivalent (MME) conversion factors, kept as data with their source."""

from __future__ import annotations

import csv
import dataclasses
import io
from decimal import Decimal


@dataclasses.dataclass(frozen=True)
class MmeFactor:
    """Daily dose x ``factor`` = daily oral morphine equivalents (mg/day)."""

    opioid: str
    daily_dose_unit: str
    factor: Decimal


def parse_mme_factors(text: str) -> dict[str, MmeFactor]:
    """Read the CDC 2022 table (``#`` lines are the source note) keyed by opioid name."""
    rows = csv.DictReader(io.StringIO("".join(ln for ln in text.splitlines(True) if ln[:1] != "#")))
    return {
        row["opioid"]: MmeFactor(
            opioid=row["opioid"],
            daily_dose_unit=row["daily_dose_unit"],
            factor=Decimal(row["cdc_2022_factor"]),
        )
        for row in rows
    }
