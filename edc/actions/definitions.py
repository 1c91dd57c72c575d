"""A registered study as the pages need it: its protocol, Questionnaires and CTCAE terms.

Read from the newest registered protocol version (YAML source and compiled Bundle) and kept
in memory per version: a registered version never changes (a new one gets a new row), so the
cache never serves stale definitions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy.orm import Session

from edc import errors
from edc.compiler.naming import Naming
from edc.library import CtcaeTerminology, load_library
from edc.protocol import Protocol, parse_protocol
from edc.warehouse import studies
from edc.warehouse.tables import ProtocolVersionRow


@dataclasses.dataclass(frozen=True)
class StudyDefinition:
    """One registered protocol version, parsed."""

    study_id: int
    protocol_version_id: int
    protocol: Protocol
    # form id -> its compiled Questionnaire (this version)
    questionnaires: Mapping[str, Mapping[str, Any]]
    ctcae: CtcaeTerminology

    @property
    def code(self) -> str:
        return self.protocol.study.id

    @property
    def open_label(self) -> bool:
        return self.protocol.randomization.blinding == "open-label"

    def form_title(self, form_id: str) -> str:
        questionnaire = self.questionnaires.get(form_id)
        return str(questionnaire.get("title", form_id)) if questionnaire else form_id

    def questionnaire(self, form_id: str) -> Mapping[str, Any]:
        """:raises errors.NotFoundError: the study has no such form."""
        found = self.questionnaires.get(form_id)
        if found is None:
            raise errors.NotFoundError(
                f"no form {form_id!r} in {self.code}",
                f"forms: {', '.join(sorted(self.questionnaires))}",
            )
        return found


def load_definition(*, session: Session, study_id: int) -> StudyDefinition:
    """The newest registered version of a study (parsed once per version and process).

    :raises errors.NotFoundError: when the study has no registered version.
    """
    newest = studies.find_newest_version(session=session, study_id=study_id)
    if newest is None:
        raise errors.NotFoundError("the study has no registered protocol version")
    version_id, sha256 = newest
    cached = _CACHE.get((version_id, sha256))
    if cached is None:
        row = session.get_one(ProtocolVersionRow, version_id)
        cached = _parsed(study_id, version_id, row.source_yaml, row.bundle_json)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[(version_id, sha256)] = cached
    return cached


# Parsed definitions by (protocol version id, bundle SHA-256): a registered version never
# changes, and the SHA-256 tells a reused id in another warehouse apart.
_CACHE: dict[tuple[int, str], StudyDefinition] = {}
_CACHE_SIZE = 32


def _parsed(study_id: int, version_id: int, source_yaml: str, bundle_json: str) -> StudyDefinition:
    library = load_library()
    protocol = parse_protocol(source_yaml, f"protocol version #{version_id}", library).protocol
    study = protocol.study
    naming = Naming(study.canonical_base, study.id, study.version)
    # Questionnaire URLs are <base>/Questionnaire/<study slug>-<form id> (edc.compiler.naming).
    prefix = naming.canonical("Questionnaire", "")
    questionnaires = {
        str(resource["url"]).removeprefix(prefix): resource
        for entry in orjson.loads(bundle_json)["entry"]
        if (resource := entry["resource"])["resourceType"] == "Questionnaire"
        and str(resource["url"]).startswith(prefix)
    }
    ctcae = library.find_ctcae(protocol.adverse_events.ctcae_version)
    if ctcae is None:  # the protocol check refuses such a protocol at registration
        raise errors.BadInputError(f"CTCAE {protocol.adverse_events.ctcae_version} not shipped")
    return StudyDefinition(study_id, version_id, protocol, questionnaires, ctcae)
