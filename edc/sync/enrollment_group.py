"""The study's enrollment Group on a site's FHIR server: what a Bulk sync exports by default.

A Patient-level export hands over every patient of the hospital (and edc would store them all
raw); a Group-level export only the Group's members (Bulk Data "Group export", mapping guide
§9.3). When no Group is named, edc keeps one itself: an actual ``Group`` identified by
``ENROLLMENT_SYSTEM|<study code>`` whose members are the study's patients at this server, as
the study's ResearchSubjects name them. It is written only when its members change, so that a
sync that finds nobody new writes nothing. Keeping it needs write access to Group on the
server (SMART scope ``system/Group.write``); a site whose EHR maintains its own cohort Group
names it with ``--group`` instead.
"""

from __future__ import annotations

import logging
from typing import Any

from edc import errors
from edc.fhir import AuthError, FhirClient, search_token

log = logging.getLogger("edc.sync")

ENROLLMENT_SYSTEM = "urn:edc:enrollment-group"


def ensure(fhir: FhirClient, study_code: str, patient_ids: list[str]) -> str:
    """The id of the study's enrollment Group on the server, its members made ``patient_ids``.

    :raises errors.BadInputError: when the server does not let us write the Group (403),
        saying how to name a Group instead.
    :raises edc.fhir.NetworkError: when the server fails.
    """
    token = search_token(ENROLLMENT_SYSTEM, study_code)
    found = list(fhir.search("Group", {"identifier": token}))
    wanted = sorted(set(patient_ids))
    if len(found) == 1 and _members(found[0]) == wanted:
        return str(found[0]["id"])
    group = {
        "resourceType": "Group",
        "identifier": [{"system": ENROLLMENT_SYSTEM, "value": study_code}],
        "active": True,
        "type": "person",
        "actual": True,
        "name": f"{study_code}: patients enrolled in the study (kept by edc for Bulk export)",
        "quantity": len(wanted),
        "member": [{"entity": {"reference": f"Patient/{pid}"}} for pid in wanted],
    }
    try:
        stored = fhir.update_conditional(group, {"identifier": token}).body
    except AuthError as exc:
        raise errors.BadInputError(
            f"cannot keep the study's enrollment Group on {fhir.base_url}: {exc.message}",
            "grant edc system/Group.write there, or name a Group the EHR keeps with --group ID "
            "(or export every patient of the server with --patient-level)",
        ) from None
    log.info("Enrollment Group %s of %s now has %d members", stored["id"], study_code, len(wanted))
    return str(stored["id"])


def _members(group: dict[str, Any]) -> list[str]:
    references = [
        str((member.get("entity") or {}).get("reference", ""))
        for member in group.get("member") or []
        if isinstance(member, dict)
    ]
    return sorted(ref.removeprefix("Patient/") for ref in references)
