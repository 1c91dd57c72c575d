"""Ids, identifiers and timestamps of generated resources: deterministic, never "now".

A run (study, version, seed, number of sites and patients) has an 8-hex namespace; every
logical id and identifier value carries it, so two runs never collide on a server and the
same run always produces the same ids (loading twice is idempotent). Each resource's FIRST
identifier is its load key (``edc load`` creates it conditionally on that identifier).

Times are the synthetic world's: each record is stamped with when it happened, in the site's
time zone (a fixed standard offset per country; daylight saving is ignored).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import re
from typing import Any

MAX_ID = 64  # FHIR R4 id: [A-Za-z0-9\-\.]{1,64}
# Standard UTC offsets of the countries sites are in (ISO 3166 alpha-2); others use UTC.
_UTC_OFFSETS_MINUTES = {
    "CN": 480,
    "HK": 480,
    "TW": 480,
    "SG": 480,
    "JP": 540,
    "KR": 540,
    "IN": 330,
    "AU": 600,
    "GB": 0,
    "IE": 0,
    "PT": 0,
    "DE": 60,
    "FR": 60,
    "IT": 60,
    "ES": 60,
    "NL": 60,
    "BE": 60,
    "CH": 60,
    "AT": 60,
    "SE": 60,
    "PL": 60,
    "US": -300,
    "CA": -300,
    "BR": -180,
}


def site_timezone(country: str) -> dt.timezone:
    return dt.timezone(dt.timedelta(minutes=_UTC_OFFSETS_MINUTES.get(country, 0)))


@functools.lru_cache(maxsize=8192)  # the same visit, form and site names over and over
def slug(text: str) -> str:
    """Lower-case letters, digits and single hyphens (for ids built from names)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


@dataclasses.dataclass(frozen=True)
class RunIds:
    """Naming for one generator run."""

    base: str  # the protocol's canonical base, e.g. https://edc.example.org/fhir
    study_id: str
    namespace: str

    @classmethod
    def create(
        cls, *, base: str, study_id: str, version: str, seed: int, sites: int, patients: int
    ) -> RunIds:
        key = f"edc-synth|{study_id}|{version}|seed={seed}|sites={sites}|patients={patients}"
        return cls(base, study_id, hashlib.sha256(key.encode()).hexdigest()[:8])

    def patient_id(self, number: int) -> str:
        return f"syn-{self.namespace}-{number:07d}"

    def patient_number(self, patient_id: str) -> int:
        """The number of one of this run's patients.

        :raises KeyError: when the id is not one of this run's patient ids.
        """
        prefix = f"syn-{self.namespace}-"
        tail = patient_id.removeprefix(prefix)
        if tail == patient_id or not tail.isdigit():
            raise KeyError(f"{patient_id!r} is not a patient of this run")
        return int(tail)

    def subject_id(self, site_id: str, sequence: int) -> str:
        """Subject ID: site, run tag, sequence at the site (e.g. ``01-3FA9C2-0007``)."""
        return f"{site_id}-{self.namespace[:6].upper()}-{sequence:04d}"

    def system(self, kind: str) -> str:
        return f"{self.base}/sid/{kind}"

    def synthetic(self, resource_id: str) -> dict[str, str]:
        """The load-key identifier of a resource that has no natural identifier."""
        return {"system": self.system("synthetic"), "value": resource_id}

    def mrn(self, site_id: str, number: int) -> dict[str, Any]:
        """A hospital medical record number (each site is its own hospital)."""
        return {
            "use": "usual",
            "type": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                ]
            },
            "system": self.system(f"synthetic-mrn/{slug(site_id)}"),
            "value": f"MRN-{self.namespace}-{number:07d}",
        }


def resource_id(owner: str, *parts: str) -> str:
    """``<owner>-<parts>``, hashed down when longer than FHIR's 64 characters."""
    value = "-".join([owner, *(slug(part) for part in parts)])
    if len(value) <= MAX_ID:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:16]
    return f"{owner[: MAX_ID - 17]}-{digest}"


def at(day: dt.date, minute_of_day: int, tz: dt.timezone) -> str:
    """An R4 dateTime/instant in the site's zone, e.g. ``2027-01-04T09:30:00+08:00``."""
    moment = dt.datetime.combine(day, dt.time(minute_of_day // 60, minute_of_day % 60), tz)
    return moment.isoformat()


def meta(last_updated: str) -> dict[str, str]:
    return {"versionId": "1", "lastUpdated": last_updated}
