"""Randomization and analysis plan -> ResearchStudy extensions, defined in the Bundle.

R4 ResearchStudy holds the arms, the blinding (as a design category) and the objectives, but
not the allocation ratio, block sizes, stratification factors, blinded roles, nor the analysis
plan. They travel as two complex extensions on the protocol ResearchStudy, ``randomization``
and ``analysis-plan``, whose StructureDefinitions (canonical under the study's base, versioned
with the protocol) are in the same Bundle, so the hospital's copy of the study is complete and
says what each part means (mapping guide: "extensions with a published definition").
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from edc.compiler.context import CompileContext
from edc.compiler.datatypes import number
from edc.protocol.model import Endpoint, StratificationFactor

FHIR_EXTENSION = "http://hl7.org/fhir/StructureDefinition/Extension"


@dataclasses.dataclass(frozen=True)
class Part:
    """One sub-extension: a value of ``type``, or (``parts``) a complex one."""

    name: str
    short: str
    type: str | None = None
    parts: tuple[Part, ...] = ()
    repeats: bool = False


def _value(name: str, short: str, type_: str, repeats: bool = False) -> Part:
    return Part(name, short, type_, repeats=repeats)


RANDOMIZATION = (
    _value("method", "permuted-block | minimization", "code"),
    Part(
        "ratio",
        "an arm's allocation weight",
        parts=(
            _value("arm", "ResearchStudy.arm.name", "string"),
            _value("weight", "weight", "positiveInt"),
        ),
        repeats=True,
    ),
    _value("blockSize", "a permuted block size (drawn per block)", "positiveInt", repeats=True),
    _value("minimizationProbability", "chance of the least-imbalancing arm", "decimal"),
    _value("minimizationImbalance", "range | variance", "code"),
    Part(
        "stratificationFactor",
        "a factor randomization is stratified by",
        parts=(
            _value("id", "factor id", "code"),
            _value("title", "what it is", "string"),
            _value("kind", "site | protocol", "code"),
            _value("level", "a level", "code", repeats=True),
            _value("source", "Questionnaire canonical and linkId the level is read from", "string"),
            _value("derivation", "how the level is derived from the answer", "string"),
        ),
        repeats=True,
    ),
    _value("event", "the schedule event randomization is", "code"),
    _value("blinding", "open-label | single-blind | double-blind | triple-blind", "code"),
    _value("blindedRole", "participant | investigator | outcome-assessor", "code", repeats=True),
)

ANALYSIS_PLAN = (
    _value("population", "intention-to-treat | per-protocol | modified-intention-to-treat", "code"),
    _value("alpha", "two-sided significance level", "decimal"),
    _value("unit", "what one value belongs to: patient | vertebra", "code"),
    Part(
        "multiplicity",
        "how the family-wise error rate is kept",
        parts=(
            _value("method", "none | bonferroni | holm | hierarchical", "code"),
            _value("comparison", "two arms compared (arm:arm), with alpha", "string", repeats=True),
            _value("order", "an endpoint, in hierarchical testing order", "code", repeats=True),
        ),
    ),
    Part(
        "endpoint",
        "an endpoint and how it is analysed",
        parts=(
            _value("id", "endpoint id", "code"),
            _value("kind", "primary | secondary | exploratory", "code"),
            _value("title", "title (also ResearchStudy.objective.name)", "string"),
            _value("measure", "Questionnaire canonical and linkId measured", "string"),
            _value("visit", "visit id (PlanDefinition action id)", "code", repeats=True),
            _value("baselineVisit", "baseline visit id", "code"),
            _value("summary", "change-from-baseline | value | proportion", "code"),
            _value("test", "the statistical test", "code"),
            _value("covariate", "a covariate", "string", repeats=True),
            _value("descriptive", "summarised per arm only, never tested", "boolean"),
            _value("responder", "who counts as a responder", "string"),
        ),
        repeats=True,
    ),
)


def definitions(ctx: CompileContext) -> list[dict[str, Any]]:
    """The StructureDefinitions of the two extensions."""
    return [
        _definition(ctx, "randomization", "Randomization", RANDOMIZATION),
        _definition(ctx, "analysis-plan", "Analysis plan", ANALYSIS_PLAN),
    ]


def extensions(ctx: CompileContext) -> list[dict[str, Any]]:
    """The protocol ResearchStudy's ``randomization`` and ``analysis-plan`` extensions."""
    return [
        {"url": _url(ctx, "randomization"), "extension": _randomization(ctx)},
        {"url": _url(ctx, "analysis-plan"), "extension": _analysis(ctx)},
    ]


def _url(ctx: CompileContext, name: str) -> str:
    return ctx.naming.canonical("StructureDefinition", name)


def _sub(name: str, key: str, value: Any) -> dict[str, Any]:
    return {"url": name, key: value}


def _randomization(ctx: CompileContext) -> list[dict[str, Any]]:
    r = ctx.protocol.randomization
    result = [_sub("method", "valueCode", r.method)]
    result += [
        {
            "url": "ratio",
            "extension": [
                _sub("arm", "valueString", arm),
                _sub("weight", "valuePositiveInt", weight),
            ],
        }
        for arm, weight in r.ratio.items()
    ]
    result += [_sub("blockSize", "valuePositiveInt", size) for size in r.block_sizes]
    if r.minimization is not None:
        probability = Decimal(str(r.minimization.probability))
        result.append(_sub("minimizationProbability", "valueDecimal", number(probability)))
        result.append(_sub("minimizationImbalance", "valueCode", r.minimization.imbalance))
    result += [_factor(ctx, factor) for factor in r.stratify_by]
    result.append(_sub("event", "valueCode", r.event))
    result.append(_sub("blinding", "valueCode", r.blinding))
    result += [_sub("blindedRole", "valueCode", role) for role in r.blinded_roles]
    return result


def _factor(ctx: CompileContext, factor: StratificationFactor) -> dict[str, Any]:
    parts = [
        _sub("id", "valueCode", factor.id),
        _sub("title", "valueString", factor.title),
        _sub("kind", "valueCode", factor.kind),
    ]
    parts += [_sub("level", "valueCode", level) for level in factor.levels]
    source = factor.source
    if source is not None:
        questionnaire = ctx.naming.versioned("Questionnaire", source.form)
        parts.append(_sub("source", "valueString", f"{questionnaire}#{source.item}"))
        if source.bands:
            bands = [
                f"{band.level} if below {number(band.below)}"
                if band.below is not None
                else f"{band.level} otherwise"
                for band in source.bands
            ]
            parts.append(_sub("derivation", "valueString", "; ".join(bands)))
        elif source.map:
            mapped = [f"{answer} -> {level}" for answer, level in source.map.items()]
            parts.append(_sub("derivation", "valueString", "; ".join(mapped)))
    return {"url": "stratificationFactor", "extension": parts}


def _analysis(ctx: CompileContext) -> list[dict[str, Any]]:
    plan = ctx.protocol.analysis
    result = [
        _sub("population", "valueCode", plan.population),
        _sub("alpha", "valueDecimal", number(Decimal(str(plan.alpha)))),
        _sub("unit", "valueCode", plan.unit),
    ]
    if plan.multiplicity is not None:
        m = plan.multiplicity
        parts = [_sub("method", "valueCode", m.method)]
        for comparison in m.comparisons:
            alpha = f" alpha {comparison.alpha}" if comparison.alpha is not None else ""
            parts.append(_sub("comparison", "valueString", ":".join(comparison.arms) + alpha))
        parts += [_sub("order", "valueCode", endpoint) for endpoint in m.order]
        result.append({"url": "multiplicity", "extension": parts})
    result += [_endpoint(ctx, endpoint) for endpoint in plan.endpoints]
    return result


def _endpoint(ctx: CompileContext, endpoint: Endpoint) -> dict[str, Any]:
    measure = endpoint.measure
    questionnaire = ctx.naming.versioned("Questionnaire", measure.form)
    parts = [
        _sub("id", "valueCode", endpoint.id),
        _sub("kind", "valueCode", endpoint.kind),
        _sub("title", "valueString", endpoint.title),
        _sub("measure", "valueString", f"{questionnaire}#{measure.item}"),
    ]
    parts += [_sub("visit", "valueCode", v) for v in endpoint.visits or (measure.visit,)]
    if measure.baseline_visit:
        parts.append(_sub("baselineVisit", "valueCode", measure.baseline_visit))
    parts.append(_sub("summary", "valueCode", endpoint.summary))
    parts.append(_sub("test", "valueCode", endpoint.test))
    parts += [_sub("covariate", "valueString", c) for c in endpoint.covariates]
    if endpoint.descriptive:
        parts.append(_sub("descriptive", "valueBoolean", True))
    if endpoint.responder is not None:
        r = endpoint.responder
        amounts = [
            f"at least {number(r.points)} points" if r.points else "",
            f"at least {number(r.percent)}% of baseline" if r.percent else "",
        ]
        joiner = " and " if r.combine == "both" else " or "
        rule = f"{r.improvement} of " + joiner.join(a for a in amounts if a)
        parts.append(_sub("responder", "valueString", rule))
    return {"url": "endpoint", "extension": parts}


def _definition(
    ctx: CompileContext, name: str, title: str, parts: tuple[Part, ...]
) -> dict[str, Any]:
    url = _url(ctx, name)
    elements: list[dict[str, Any]] = [
        {
            "id": "Extension",
            "path": "Extension",
            "short": title,
            "definition": f"{title} of the study, as the protocol gives it.",
            "min": 0,
            "max": "1",
        }
    ]
    elements += _elements("Extension", parts)
    elements += [
        {"id": "Extension.url", "path": "Extension.url", "fixedUri": url},
        {"id": "Extension.value[x]", "path": "Extension.value[x]", "max": "0"},
    ]
    return {
        "resourceType": "StructureDefinition",
        "id": ctx.naming.resource_id("extension", name),
        "url": url,
        "version": ctx.version,
        "name": ctx.naming.computable_name("extension", name),
        "title": f"{ctx.protocol.study.short_title}: {title}",
        "status": "active",
        **({"date": ctx.date} if ctx.date else {}),
        "publisher": ctx.protocol.study.sponsor.name,
        "description": f"{title} of the study (edc protocol compiler).",
        "fhirVersion": "4.0.1",
        "kind": "complex-type",
        "abstract": False,
        "context": [{"type": "element", "expression": "ResearchStudy"}],
        "type": "Extension",
        "baseDefinition": FHIR_EXTENSION,
        "derivation": "constraint",
        "differential": {"element": elements},
    }


def _elements(base: str, parts: tuple[Part, ...]) -> list[dict[str, Any]]:
    plain = ".".join(segment.split(":")[0] for segment in base.split("."))  # no slice names
    result: list[dict[str, Any]] = [
        {
            "id": f"{base}.extension",
            "path": f"{plain}.extension",
            "slicing": {"discriminator": [{"type": "value", "path": "url"}], "rules": "open"},
        }
    ]
    for part in parts:
        slice_id = f"{base}.extension:{part.name}"
        slice_path = f"{plain}.extension"
        result.append(
            {
                "id": slice_id,
                "path": slice_path,
                "sliceName": part.name,
                "short": part.short,
                "min": 0,
                "max": "*" if part.repeats else "1",
            }
        )
        if part.parts:
            result += _elements(slice_id, part.parts)
        result.append({"id": f"{slice_id}.url", "path": f"{slice_path}.url", "fixedUri": part.name})
        value: dict[str, Any] = {"id": f"{slice_id}.value[x]", "path": f"{slice_path}.value[x]"}
        if part.type is None:
            value["max"] = "0"
        else:
            value["type"] = [{"code": part.type}]
        result.append(value)
    return result
