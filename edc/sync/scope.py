"""What a sync needs to know about one study, read from its registered protocol versions.

Every registered version counts: a response to Questionnaire ``pain|1.0`` is still checked
against version 1.0 after 1.1 is registered. Built once per run from the compiled Bundles in the
warehouse (and the server ids recorded when they were published).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from edc.library.ctcae import MEDDRA
from edc.sync.qindex import QuestionnaireIndex, build_index, value_set_codes
from edc.warehouse import studies
from edc.warehouse.tables.fhir import PublishedDefinitionRow
from edc.warehouse.tables.study import ProtocolVersionRow


@dataclasses.dataclass(frozen=True)
class StudyScope:
    """One study's registered definitions, indexed for sync.

    :ivar research_studies: ResearchStudy id (ours, or the server's from publishing) -> site
        code, or None for the protocol-level study.
    :ivar visits: visit PlanDefinition canonical URL (no version) -> (visit id, unscheduled).
    :ivar ctcae: MedDRA LLT code -> CTCAE term, for the study's CTCAE version(s).
    """

    study_id: int
    code: str
    questionnaires: Mapping[tuple[str, str], QuestionnaireIndex]
    questionnaire_urls: frozenset[str]
    research_studies: Mapping[str, str | None]
    sites: Mapping[str, int]
    visits: Mapping[str, tuple[str, bool]]
    arms: frozenset[str]
    ctcae: Mapping[str, str]
    ctcae_systems: frozenset[str]
    # MedDRA code -> the CTCAE grades defined for the term (grade-N properties of the CodeSystem).
    ctcae_grades: Mapping[str, frozenset[int]]
    subject_systems: frozenset[str]
    # Identifier systems of what was entered in edc and written to the sites' servers.
    entered_systems: frozenset[str] = frozenset()

    @property
    def research_study_references(self) -> list[str]:
        return [f"ResearchStudy/{rid}" for rid in sorted(self.research_studies)]


def load_scope(*, session: Session, study_code: str) -> StudyScope:
    """Read a study's registered versions.

    :raises errors.BadInputError: when the study is not registered.
    """
    study = studies.get_study(session=session, code=study_code)
    sites = {site.code: site.id for site in studies.list_sites(session=session, study_id=study.id)}
    questionnaires: dict[tuple[str, str], QuestionnaireIndex] = {}
    research: dict[str, str | None] = {}
    by_key: dict[str, str | None] = {}
    visits: dict[str, tuple[str, bool]] = {}
    arms: set[str] = set()
    ctcae: dict[str, str] = {}
    ctcae_grades: dict[str, frozenset[int]] = {}
    ctcae_systems = {MEDDRA}
    subject_systems: set[str] = set()
    entered_systems: set[str] = set()
    for version in studies.list_protocol_versions(session=session, study_id=study.id):
        bundle = orjson.loads(version.bundle_json)
        resources = [entry["resource"] for entry in bundle["entry"]]
        value_sets = value_set_codes(resources)
        for resource in resources:
            kind = resource["resourceType"]
            if kind == "Questionnaire":
                index = build_index(resource, value_sets)
                questionnaires[(index.url, index.version)] = index
            elif kind == "ResearchStudy":
                site_code = _site_code(resource, study.code)
                research[str(resource["id"])] = site_code
                for identifier in resource.get("identifier", ()):
                    by_key[f"{identifier['system']}|{identifier['value']}"] = site_code
                arms |= {str(arm["name"]) for arm in resource.get("arm", ())}
                base = _canonical_base(resource)
                if base:
                    subject_systems.add(f"{base}/sid/subject/{study.code}")
                    entered_systems.add(f"{base}/sid/entered/{study.code}")
            elif kind == "PlanDefinition":
                visits.update(_visits(resource))
            elif kind == "CodeSystem" and resource.get("name") == "CTCAE":
                ctcae_systems.add(str(resource["url"]))
                for concept in resource.get("concept", ()):
                    ctcae[str(concept["code"])] = str(concept["display"])
                    ctcae_grades[str(concept["code"])] = _defined_grades(concept)
    # Servers that assign their own ids: the ids recorded when the study was published.
    published = session.execute(
        select(PublishedDefinitionRow.canonical_url, PublishedDefinitionRow.server_id)
        .join(ProtocolVersionRow)
        .where(
            ProtocolVersionRow.study_id == study.id,
            PublishedDefinitionRow.resource_type == "ResearchStudy",
        )
    )
    for key, server_id in published:
        if key in by_key:
            research.setdefault(server_id, by_key[key])
    return StudyScope(
        study_id=study.id,
        code=study.code,
        questionnaires=questionnaires,
        questionnaire_urls=frozenset(url for url, _ in questionnaires),
        research_studies=research,
        sites=sites,
        visits=visits,
        arms=frozenset(arms),
        ctcae=ctcae,
        ctcae_systems=frozenset(ctcae_systems),
        ctcae_grades=ctcae_grades,
        subject_systems=frozenset(subject_systems),
        entered_systems=frozenset(entered_systems),
    )


def _defined_grades(concept: Mapping[str, Any]) -> frozenset[int]:
    names = {str(p.get("code")) for p in concept.get("property", ())}
    return frozenset(grade for grade in range(1, 6) if f"grade-{grade}" in names)


def _site_code(resource: Mapping[str, Any], study_code: str) -> str | None:
    """The site of a site-level ResearchStudy (identifier ``<study>-<site>``), else None."""
    if not resource.get("partOf"):
        return None
    for identifier in resource.get("identifier", ()):
        system, value = str(identifier.get("system", "")), str(identifier.get("value", ""))
        if system.endswith("/sid/site-study") and value.startswith(f"{study_code}-"):
            return value.removeprefix(f"{study_code}-")
    return None


def _canonical_base(resource: Mapping[str, Any]) -> str | None:
    for identifier in resource.get("identifier", ()):
        system = str(identifier.get("system", ""))
        if "/sid/" in system:
            return system.split("/sid/", 1)[0]
    return None


def _visits(plan: Mapping[str, Any]) -> dict[str, tuple[str, bool]]:
    """Visit canonical -> (visit id, unscheduled), from the protocol-level schedule."""
    found = {}
    for action in plan.get("action", ()):
        canonical = action.get("definitionCanonical")
        if isinstance(canonical, str) and "/PlanDefinition/" in canonical:
            url = canonical.split("|", 1)[0]
            found[url] = (str(action["id"]), action.get("cardinalityBehavior") == "multiple")
    return found
