"""CTCAE terminology (NCI Common Terminology Criteria for Adverse Events), one file per version.

Each CTCAE term is a MedDRA Lowest Level Term; we keep NCI's file as published (see the
SOURCE.md beside it) and look terms up by their exact name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

OTHER_SPECIFY_SUFFIX = " - Other, specify"
# The code system of CTCAE term codes (MedDRA LLT codes) in ValueSets, forms and AdverseEvents:
# HL7 THO's URI for MedDRA.
MEDDRA = "https://www.meddra.org"

# The MedDRA version each CTCAE release is coded with.
MEDDRA_VERSION = {"5.0": "20.1", "6.0": "28.0"}


@dataclasses.dataclass(frozen=True)
class CtcaeTerm:
    """One CTCAE term; ``grades[g]`` is the grade text, or None when grade g does not apply."""

    meddra_code: int
    soc: str
    term: str
    grades: Mapping[int, str | None]
    definition: str | None

    @property
    def needs_specify(self) -> bool:
        """True for the "<SOC> - Other, specify" terms, which need a verbatim description."""
        return self.term.endswith(OTHER_SPECIFY_SUFFIX)

    def allowed_grades(self) -> tuple[int, ...]:
        return tuple(grade for grade, text in sorted(self.grades.items()) if text is not None)


@dataclasses.dataclass(frozen=True)
class CtcaeTerminology:
    version: str
    meddra_version: str
    source: str
    terms: tuple[CtcaeTerm, ...]
    _by_name: Mapping[str, CtcaeTerm] = dataclasses.field(init=False, repr=False, compare=False)
    _by_code: Mapping[int, CtcaeTerm] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Frozen dataclass: indexes are set once here, through object.__setattr__.
        object.__setattr__(self, "_by_name", {term.term: term for term in self.terms})
        object.__setattr__(self, "_by_code", {term.meddra_code: term for term in self.terms})

    def find_term(self, name: str) -> CtcaeTerm | None:
        """The term with exactly this name (case and spacing as NCI publishes it), or None."""
        return self._by_name.get(name)

    def find_code(self, meddra_code: int) -> CtcaeTerm | None:
        return self._by_code.get(meddra_code)


def parse_ctcae(version: str, data: Mapping[str, Any]) -> CtcaeTerminology:
    """Build the terminology from NCI's file as normalized in fhir_mappings (JSON)."""
    terms = tuple(
        CtcaeTerm(
            meddra_code=int(row["meddra_code"]),
            soc=row["soc"],
            term=row["term"],
            grades={int(grade): text for grade, text in row["grades"].items()},
            definition=row.get("definition"),
        )
        for row in data["terms"]
    )
    return CtcaeTerminology(
        version=version,
        meddra_version=MEDDRA_VERSION[version],
        source=data["source"],
        terms=terms,
    )
