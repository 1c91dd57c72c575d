"""What edc writes to a site's FHIR server for data entered in edc (pure: dicts out).

A QuestionnaireResponse or AdverseEvent entered in the browser (and the Encounter of a visit
recorded in edc) is source data the hospital keeps too. The copy for the server carries an
identifier in the study's namespace (``<canonical base>/sid/entered/<study>``, value the id
edc gave it), the write is conditional on it (so delivering twice creates it once, and a
changed form updates it), and it has no ``id``: the server names its own copy. A reference
to an Encounter edc itself recorded becomes a logical reference by that identifier, since its
id on the server is not known when the form is queued.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

# Types whose ``identifier`` is one Identifier in R4 (Encounter's is a list).
SINGLE_IDENTIFIER = frozenset({"QuestionnaireResponse", "AdverseEvent"})


def entered_system(canonical_base: str, study_code: str) -> str:
    return f"{canonical_base}/sid/entered/{study_code}"


def for_server(
    resource: Mapping[str, Any], *, system: str, is_entered: Any
) -> tuple[dict[str, Any], tuple[str, str]]:
    """The resource as it goes to the server, and the identifier its write is conditional on.

    :param is_entered: whether a logical id is one edc gave (``edc.actions.entry.is_entered_id``).
    """
    kind = str(resource["resourceType"])
    key = (system, str(resource["id"]))
    sent = copy.deepcopy(dict(resource))
    sent.pop("id", None)
    sent.pop("meta", None)
    identifier = {"system": key[0], "value": key[1]}
    sent["identifier"] = identifier if kind in SINGLE_IDENTIFIER else [identifier]
    encounter = (sent.get("encounter") or {}).get("reference", "")
    if encounter.startswith("Encounter/") and is_entered(encounter.removeprefix("Encounter/")):
        sent["encounter"] = {
            "type": "Encounter",
            "identifier": {"system": system, "value": encounter.removeprefix("Encounter/")},
        }
    return sent, key
