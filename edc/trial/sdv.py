"""Risk-based source data verification: which answers a monitor must verify at the source.

A value that came from the hospital's EHR (Observations, Procedures, Conditions, adverse events
synced as FHIR resources) is its own source: it needs no SDV. Calculated scores are computed
from the answers (and recomputed on ingest): verifying the answers verifies them. What remains
are the answers the site's staff entered on the forms: those need SDV. A mark on a whole form
(no linkId) verifies every answer of that form version; a new version (corrected data) needs
verifying again, so a mark names the response version it was made on.
"""

from __future__ import annotations

from collections.abc import Iterable

from edc.library import Library
from edc.protocol.forms import form_content
from edc.protocol.model import Protocol


def derived_link_ids(protocol: Protocol, library: Library) -> dict[str, frozenset[str]]:
    """Form id -> linkIds whose values are computed (they need no SDV)."""
    return {
        form.id: frozenset(score.id for score in form_content(form, library).scores)
        for form in protocol.forms
    }


def coverage(verified: int, needing: int) -> float | None:
    """Share of the answers needing SDV that are verified (None when none need it)."""
    return round(verified / needing, 4) if needing else None


def unknown_items(asked: Iterable[str], known: Iterable[str]) -> list[str]:
    known_set = set(known)
    return sorted(set(asked) - known_set)
