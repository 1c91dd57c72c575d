"""Study identity -> ResearchStudy (protocol + one per site), sponsor Organization, site Locations.

R4 ResearchStudy (mapping guide section 2): ``arm[]`` with the arm id as its join-key name,
``enrollment`` -> the eligibility Group, ``protocol`` -> the schedule PlanDefinition, design
classifiers as NCIt ``category`` codes, endpoints as ``objective``. R4 has no target-enrollment
element, so it travels in the R5 cross-version extension (``recruitment.targetNumber``). Site
studies follow the CDISC mapping pattern: ``partOf`` the protocol study, their own ``site``.
"""

from __future__ import annotations

from typing import Any

from edc.compiler import plan_extensions
from edc.compiler.context import CompileContext
from edc.compiler.datatypes import coding, ncit, reference

VULCAN = "http://hl7.org/fhir/uv/vulcan-schedule/StructureDefinition"
TARGET_NUMBER = (
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-ResearchStudy.recruitment.targetNumber"
)
ARM_TYPE = "http://hl7.org/fhir/research-study-arm-type"
OBJECTIVE_TYPE = "http://terminology.hl7.org/CodeSystem/research-study-objective-type"
PHASE = "http://terminology.hl7.org/CodeSystem/research-study-phase"
PURPOSE = "http://terminology.hl7.org/CodeSystem/research-study-prim-purp-type"
# Lifecycle (mapping guide 2.1): a compiled, not yet approved protocol is "in-review".
COMPILED_STATUS = "in-review"

# NCIt design classifiers: CDISC controlled terminology (blinding C49659/C28233/C15228/C66959,
# intervention model C82637/C82638/C82639), as used by USDM and the Vulcan example.
_BLINDING = {
    "open-label": ("C49659", "Open Label Study"),
    "single-blind": ("C28233", "Single Blind Study"),
    "double-blind": ("C15228", "Double Blind Study"),
    "triple-blind": ("C66959", "Triple Blind Study"),
}
_MODEL = {
    "parallel": ("C82639", "Parallel Study"),
    "crossover": ("C82637", "Crossover Study"),
    "factorial": ("C82638", "Factorial Study"),
}


def organization(ctx: CompileContext) -> dict[str, Any]:
    sponsor = ctx.protocol.study.sponsor
    return {
        "resourceType": "Organization",
        "id": f"org-{sponsor.id.lower()}",
        "identifier": [
            {"system": ctx.naming.identifier_system("organization"), "value": sponsor.id}
        ],
        "active": True,
        "name": sponsor.name,
    }


def locations(ctx: CompileContext) -> list[dict[str, Any]]:
    result = []
    for site in ctx.protocol.study.sites:
        address: dict[str, Any] = {"country": site.country}
        if site.city:
            address["city"] = site.city
        result.append(
            {
                "resourceType": "Location",
                "id": f"{ctx.naming.slug}-site-{site.id.lower()}",
                "identifier": [
                    {
                        "system": ctx.naming.identifier_system("site"),
                        "value": site_key(ctx, site.id),
                    }
                ],
                "status": "active",
                "name": site.name,
                "address": address,
            }
        )
    return result


def site_key(ctx: CompileContext, site_id: str) -> str:
    return f"{ctx.protocol.study.id}-{site_id}"


def protocol_study(ctx: CompileContext, *, soa_id: str, eligibility_id: str) -> dict[str, Any]:
    protocol, naming = ctx.protocol, ctx.naming
    study = protocol.study
    identifiers: list[dict[str, Any]] = [
        {
            "use": "official",
            "system": naming.identifier_system("sponsor-protocol"),
            "value": study.id,
        },
        {
            "use": "usual",
            "system": naming.identifier_system("protocol-version"),
            "value": version_key(ctx),
        },
    ]
    identifiers += [
        {"use": "secondary", "system": registry.system, "value": registry.value}
        for registry in study.registry_ids
    ]
    resource: dict[str, Any] = {
        "resourceType": "ResearchStudy",
        "id": naming.resource_id("study"),
        "meta": {"profile": [f"{VULCAN}/ResearchStudySoa"]},
        # Randomization and analysis plan: R4 has no element for them (plan_extensions).
        "extension": [_target(study.target_enrollment), *plan_extensions.extensions(ctx)],
        "identifier": identifiers,
        "title": study.title,
        "protocol": [{"reference": f"PlanDefinition/{soa_id}"}],
        "status": COMPILED_STATUS,
        "primaryPurposeType": {
            "coding": [{"system": PURPOSE, "code": study.design.primary_purpose}]
        },
        "phase": {"coding": [{"system": PHASE, "code": study.phase}]},
        "category": _categories(ctx),
        "condition": [{"coding": [coding(condition)]} for condition in study.conditions],
        "focus": [
            {"text": intervention.name}
            for intervention in dict.fromkeys(i for arm in protocol.arms for i in arm.interventions)
        ],
        "keyword": [{"text": keyword} for keyword in study.keywords],
        "description": study.description or study.title,
        "enrollment": [{"reference": f"Group/{eligibility_id}"}],
        "sponsor": {
            "reference": f"Organization/{organization(ctx)['id']}",
            "display": study.sponsor.name,
        },
        "site": [
            {"reference": f"Location/{loc['id']}", "display": loc["name"]} for loc in locations(ctx)
        ],
        "arm": [
            {
                "name": arm.id,
                "type": {"coding": [{"system": ARM_TYPE, "code": arm.type}], "text": arm.title},
                "description": arm.description,
            }
            for arm in protocol.arms
        ],
        "objective": [
            {
                "name": endpoint.title,
                "type": {"coding": [{"system": OBJECTIVE_TYPE, "code": endpoint.kind}]},
            }
            for endpoint in protocol.analysis.endpoints
        ],
    }
    if study.planned_start:
        resource["period"] = {"start": study.planned_start.isoformat()}
    for key in ("focus", "keyword"):
        if not resource[key]:
            del resource[key]
    return resource


def version_key(ctx: CompileContext) -> str:
    """The identifier value that names one version of the protocol study."""
    return f"{ctx.protocol.study.id}-{ctx.version}"


def site_studies(ctx: CompileContext, *, protocol_study_id: str) -> list[dict[str, Any]]:
    result = []
    for site, location in zip(ctx.protocol.study.sites, locations(ctx), strict=True):
        resource: dict[str, Any] = {"resourceType": "ResearchStudy"}
        resource["id"] = ctx.naming.resource_id("site", site.id)
        if site.target_enrollment:
            resource["extension"] = [
                {"url": TARGET_NUMBER, "valueUnsignedInt": site.target_enrollment}
            ]
        key = site_key(ctx, site.id)
        resource["identifier"] = [
            ctx.naming.identifier("site-study", key),
            ctx.naming.identifier("site-study-version", f"{key}-{ctx.version}", use="usual"),
        ]
        resource["title"] = f"{ctx.protocol.study.short_title} at {site.name}"
        resource["partOf"] = [{"reference": f"ResearchStudy/{protocol_study_id}"}]
        resource["status"] = COMPILED_STATUS
        if site.principal_investigator:
            resource["principalInvestigator"] = {"display": site.principal_investigator}
        resource["site"] = [reference(location, site.name)]
        result.append(resource)
    return result


def _target(count: int) -> dict[str, Any]:
    return {"url": TARGET_NUMBER, "valueUnsignedInt": count}


def _categories(ctx: CompileContext) -> list[dict[str, Any]]:
    design = ctx.protocol.study.design
    blinding = _BLINDING[ctx.protocol.randomization.blinding]
    model = _MODEL[design.intervention_model]
    return [
        ncit("C98388", "Interventional Study"),
        ncit("C15417", "Randomized Clinical Trial"),
        ncit(*blinding),
        ncit(*model),
    ]
