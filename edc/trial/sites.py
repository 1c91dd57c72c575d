"""Which site a hospital patient belongs to, from their Patient resource.

A patient is screened at their own site only. The Patient names its hospital in
``managingOrganization``: the site is the one whose name (or code) matches the organization's
name (from the Organization resource when the source holds it, else the reference's display),
compared without case and surrounding spaces. A study with one site takes every patient there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def site_of_patient(
    patient: Mapping[str, Any],
    sites: Sequence[tuple[str, str]],
    organizations: Mapping[str, str] | None = None,
) -> str | None:
    """The code of the patient's site, or None when no site matches.

    :param sites: (code, name) of the study's sites.
    :param organizations: Organization id -> name, for the source's organizations.
    """
    if len(sites) == 1:
        return sites[0][0]
    organization = patient.get("managingOrganization")
    if not isinstance(organization, Mapping):
        return None
    names = []
    reference = organization.get("reference")
    if isinstance(reference, str) and reference.startswith("Organization/") and organizations:
        names.append(organizations.get(reference.removeprefix("Organization/"), ""))
    if isinstance(organization.get("display"), str):
        names.append(organization["display"])
    wanted = {_key(name) for name in names if name}
    for code, name in sites:
        if _key(name) in wanted or _key(code) in wanted:
            return code
    return None


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()
