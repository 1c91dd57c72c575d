"""Protocol -> FHIR R4 definitions, as one deterministic transaction Bundle (mapping guide)."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from edc.compiler import (
    adverse_events,
    bundle,
    eligibility,
    plan_extensions,
    research_study,
    schedule,
    validate,
)
from edc.compiler.context import CompileContext
from edc.compiler.questionnaire import QuestionnaireBuilder, instrument_questionnaire
from edc.library import Library
from edc.protocol import forms as protocol_forms
from edc.protocol.edit_checks import other_forms
from edc.protocol.model import Protocol


@dataclasses.dataclass(frozen=True)
class CompiledStudy:
    """The compiled definitions of one protocol version."""

    bundle: dict[str, Any]
    json_bytes: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.json_bytes).hexdigest()

    @property
    def resources(self) -> list[dict[str, Any]]:
        return [entry["resource"] for entry in self.bundle["entry"]]

    def find(self, resource_type: str, resource_id: str) -> dict[str, Any] | None:
        return next(
            (
                r
                for r in self.resources
                if r["resourceType"] == resource_type and r["id"] == resource_id
            ),
            None,
        )

    def questionnaires(self) -> dict[str, dict[str, Any]]:
        """Questionnaires by ``url|version``."""
        return {
            f"{r['url']}|{r['version']}": r
            for r in self.resources
            if r["resourceType"] == "Questionnaire"
        }


def compile_protocol(
    protocol: Protocol, library: Library, *, model_check: bool = True
) -> CompiledStudy:
    """Compile a checked protocol (see ``edc.protocol.load_protocol``).

    :param model_check: also parse every resource with its R4B model (see ``validate``);
        ``edc protocol check`` leaves it out to stay fast, fhirkit's strict R4 check always runs.

    :raises validate.InvalidOutputError: if an emitted resource is not valid R4 (a bug).
    """
    ctx = CompileContext.create(protocol, library)
    builder = QuestionnaireBuilder(ctx.questionnaire_settings())
    form_contents = [protocol_forms.form_content(form, library) for form in protocol.forms]
    form_contents += [eligibility.checklist_form(ctx), adverse_events.ae_form(ctx)]
    form_ids = {content.form_id for content in form_contents}
    # Checks reading only their own form can run in a form filler; the others need the EDC.
    single_form = [c for c in protocol.edit_checks if not other_forms(c, form_ids)]
    ae_checks = adverse_events.grade_checks(
        adverse_events.terminology(ctx), protocol.adverse_events.form_id
    )
    questionnaires = [
        builder.build(
            content,
            constraints=[c for c in single_form if c.form == content.form_id]
            + [c for c in ae_checks if c.form == content.form_id],
        )
        for content in form_contents
    ]
    adverse_events.toggle_grades(ctx, questionnaires[-1])
    titles = {
        content.form_id: q["title"]
        for content, q in zip(form_contents, questionnaires, strict=True)
    }

    protocol_study = research_study.protocol_study(
        ctx, soa_id=schedule.soa_id(ctx), eligibility_id=eligibility.eligibility_group_id(ctx)
    )
    resources: list[dict[str, Any]] = [
        adverse_events.ctcae_code_system(ctx),
        *builder.code_systems(),
        adverse_events.terms_value_set(ctx),
        adverse_events.expected_value_set(ctx),
        *questionnaires,
        *schedule.visit_plans(ctx, titles),
        schedule.protocol_plan(ctx),
        *eligibility.criterion_groups(ctx),
        eligibility.eligibility_group(ctx),
        *plan_extensions.definitions(ctx),
        research_study.organization(ctx),
        *research_study.locations(ctx),
        protocol_study,
        *research_study.site_studies(ctx, protocol_study_id=protocol_study["id"]),
    ]
    transaction = bundle.transaction(resources)
    validate.check_resources(resources, transaction, models=model_check)
    return CompiledStudy(bundle=transaction, json_bytes=bundle.dumps(transaction))


__all__ = ["CompiledStudy", "compile_protocol", "instrument_questionnaire"]
