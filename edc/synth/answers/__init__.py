"""Answers to a study's forms, per instrument, and the QuestionnaireResponses built from them.

Per form: the profile's fixed answers for the arm; then the instrument's generator (which sees
the fixed answers, e.g. whether an ablation was done); then plausible values for the study's
own items; then a few optional items left blank; then the scores, computed with
``edc.library.scoring`` (plain Python: FHIRPath is far too slow for this volume) and written
into the score items, exactly as a form filler would show them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from edc.forms import ResponseTemplate
from edc.forms.scores import ScoreProgram, evaluate_scores, score_program
from edc.library import Library, scoring
from edc.protocol import forms as protocol_forms
from edc.protocol.model import Protocol
from edc.synth.answers import generic, procedure, reported, screening
from edc.synth.answers.context import FormContext, StudyForms
from edc.synth.profile import Profile
from edc.synth.trajectories import target_marginal
from edc.trial.eligibility import criteria

Generator = Callable[[FormContext], dict[str, Any]]
GENERATORS: Mapping[str, Generator] = {
    "vas-pain": reported.vas,
    "nrs-pain": reported.nrs,
    "odi": reported.odi,
    "qlq-bm22": reported.bm22,
    "medd": reported.medd,
    "eligibility-labs": screening.labs,
    "spinal-lesion": screening.lesion,
    "ecog": screening.ecog,
    "kps": screening.kps,
    "tokuhashi-revised": screening.tokuhashi,
    "tomita": screening.tomita,
    "sins": screening.sins,
    "bilsky-escc": screening.bilsky,
    "frankel": screening.frankel,
    "procedure-record": procedure.procedure,
}
_CHANNEL_ITEMS = {"vas-pain": "vas", "nrs-pain": "nrs", "odi": "odi-total", "medd": "medd-total"}


@dataclasses.dataclass(frozen=True)
class _Form:
    form_id: str
    instrument: str | None
    template: ResponseTemplate
    items: tuple[generic.ItemSpec, ...]
    by_link: Mapping[str, generic.ItemSpec]
    study_items: frozenset[str]  # linkIds the protocol adds to the instrument
    scores: frozenset[str]  # calculated items (never drawn)
    own_scores: frozenset[str]  # scores the library has no rule for: the form's FHIRPath
    program: ScoreProgram


class FormFiller:
    """Answers and responses for every form of a protocol (the AE form excepted: adverse
    events are AdverseEvent resources).

    :param questionnaires: the compiled Questionnaires by form id.
    """

    def __init__(
        self,
        protocol: Protocol,
        library: Library,
        profile: Profile,
        questionnaires: Mapping[str, Mapping[str, Any]],
    ) -> None:
        self.profile = profile
        self.exclusions = {c.id: exclusion for c, exclusion in criteria(protocol.eligibility)}
        self.forms: dict[str, _Form] = {}
        channels: dict[str, str] = {}
        for form in protocol.forms:
            content = protocol_forms.form_content(form, library)
            instrument = content.instrument.id if content.instrument else None
            self._add(
                form.id,
                instrument,
                questionnaires[form.id],
                frozenset(item.id for item in protocol_forms.walk_items(form.items)),
            )
            if instrument in _CHANNEL_ITEMS:
                channels.setdefault(instrument, f"{form.id}.{_CHANNEL_ITEMS[instrument]}")
        eligibility_id = protocol_forms.ELIGIBILITY_FORM_ID
        self._add(eligibility_id, None, questionnaires[eligibility_id], frozenset())
        self.study_forms = StudyForms(
            pain=channels.get("vas-pain") or channels.get("nrs-pain"),
            disability=channels.get("odi"),
            opioid=channels.get("medd"),
        )

    def _add(
        self,
        form_id: str,
        instrument: str | None,
        questionnaire: Mapping[str, Any],
        study_items: frozenset[str],
    ) -> None:
        items = generic.specs(questionnaire.get("item", ()))
        program = score_program(questionnaire)
        scores = frozenset(calc.link_id for calc in program.calculations)
        ruled = {score_id for owner, score_id in scoring.RULES if owner == instrument}
        self.forms[form_id] = _Form(
            form_id,
            instrument,
            ResponseTemplate(questionnaire),
            items,
            {spec.link_id: spec for spec in generic.walk(items)},
            study_items,
            scores,
            frozenset(scores - ruled),
            program,
        )

    def bounds(self, form_id: str) -> dict[str, tuple[float | None, float | None]]:
        return {s.link_id: (s.low, s.high) for s in self.forms[form_id].by_link.values()}

    def answers(self, form_id: str, ctx: FormContext) -> dict[str, Any]:
        """The answers (scores included) one subject gives on one form at one visit."""
        form = self.forms[form_id]
        fixed = self._fixed(form, ctx)
        ctx.given = {k: v for k, v in fixed.items() if v is not generic.NOT_ASKED}
        if form_id == protocol_forms.ELIGIBILITY_FORM_ID:
            answers: dict[str, Any] = {cid: not excl for cid, excl in self.exclusions.items()}
        else:
            generator = GENERATORS.get(form.instrument or "")
            answers = generator(ctx) if generator else {}
        answers.update(ctx.given)
        if protocol_forms.VISIT_ITEM in form.by_link:  # visit-specific items: edc writes it
            answers[protocol_forms.VISIT_ITEM] = ctx.visit_id
        self._targets(form, ctx, answers, fixed)
        self._flags(form, ctx, answers)
        for item in generic.flat(form.items):
            if item.link_id in answers or item.link_id in fixed or item.read_only:
                continue
            if item.kind in {"group", "display"} or item.link_id in form.scores:
                continue
            if form.instrument and item.link_id not in form.study_items:
                continue
            if generic.enabled(item, answers):
                value = generic.plausible(item, ctx.draw, ctx.day, ctx.state)
                if value is not None:
                    answers[item.link_id] = value
        share = self.profile.conduct.missing_item_share
        for link_id in list(answers):
            spec = form.by_link.get(link_id)
            if link_id == protocol_forms.VISIT_ITEM:
                continue
            if spec is not None and not spec.required and ctx.draw.chance(share):
                del answers[link_id]
        generic.settle(
            form.items, answers, lambda spec: generic.plausible(spec, ctx.draw, ctx.day, ctx.state)
        )
        self._scores(form, answers)
        return answers

    def _targets(
        self, form: _Form, ctx: FormContext, answers: dict[str, Any], fixed: Mapping[str, Any]
    ) -> None:
        """Items with a target here that no instrument generator drew: from the target. Any
        numeric item (a study-specific one, or an instrument's); a choice item whose options
        carry weights (KPS) gets the option nearest the drawn value; a target on a score that
        is one weighted choice item's weight (``kps.kps-score``) moves that item.

        A subject keeps their rank over the visits (the function channel's latent score at
        this visit), so a target that moves over time moves each subject with it.
        """
        for spec in generic.flat(form.items):
            if spec.link_id in fixed or spec.read_only or spec.link_id in form.scores:
                continue
            key = self._target_key(form, spec)
            if key is None or key in ctx.consumed:
                continue
            found = target_marginal(
                self.profile, key, ctx.arm, ctx.target_visit, spec.low, spec.high
            )
            if found is None:
                continue
            try:
                z = ctx.trajectory.z("function", ctx.target_visit)
            except KeyError:
                z = ctx.draw.z()
            value = found[0].at(z)
            if spec.kind in {"integer", "decimal"}:
                answers[spec.link_id] = generic.number(spec, value)
            else:
                code = generic.nearest_option(spec, value)
                if code is not None:
                    answers[spec.link_id] = [code] if spec.repeats else code

    def _target_key(self, form: _Form, spec: generic.ItemSpec) -> str | None:
        """The profile target that sets this item, if any (its own, or its score's)."""
        own = f"{form.form_id}.{spec.link_id}"
        if spec.kind in {"integer", "decimal"}:
            return own if own in self.profile.targets else None
        if spec.kind != "choice" or not any(w is not None for w in spec.weights):
            return None
        if own in self.profile.targets:
            return own
        weighted = [
            s
            for s in generic.flat(form.items)
            if s.kind == "choice" and any(w is not None for w in s.weights)
        ]
        if len(weighted) == 1:  # the form's scores can only be this item's weight
            for score_id in sorted(form.scores):
                if f"{form.form_id}.{score_id}" in self.profile.targets:
                    return f"{form.form_id}.{score_id}"
        return None

    def _flags(self, form: _Form, ctx: FormContext, answers: dict[str, Any]) -> None:
        """Boolean items the profile ties to an adverse event (``form_flag``) say whether this
        subject had one, on any form (the AE records and the form never disagree)."""
        prefix = f"{form.form_id}."
        for rate in self.profile.adverse_events:
            flag = rate.form_flag
            if flag is None or not flag.startswith(prefix):
                continue
            link_id = flag[len(prefix) :]
            spec = form.by_link.get(link_id)
            if spec is not None and spec.kind == "boolean" and link_id not in answers:
                answers[link_id] = bool(ctx.flagged(link_id))

    def _scores(self, form: _Form, answers: dict[str, Any]) -> None:
        """Every score of the form, computed as a form filler would show it: the library's rules
        for an instrument's scores, the form's own FHIRPath for a study-defined one."""
        if form.instrument:
            for score_id, value in scoring.instrument_scores(form.instrument, answers).items():
                if value is not None and score_id in form.by_link:
                    answers[score_id] = value
        if form.own_scores:
            for score_id in form.own_scores:
                answers.pop(score_id, None)
            response = form.template.build(
                answers, subject="Patient/score", authored="2000-01-01T00:00:00Z"
            )
            for score_id, own in evaluate_scores(form.program, response).items():
                if score_id in form.own_scores and own is not None:
                    answers[score_id] = own

    def _fixed(self, form: _Form, ctx: FormContext) -> dict[str, Any]:
        fixed: dict[str, Any] = {}
        prefix = f"{form.form_id}."
        for key, per_arm in self.profile.answers.items():
            if not key.startswith(prefix):
                continue
            link_id = key[len(prefix) :]
            if ctx.arm in per_arm:
                value = per_arm[ctx.arm]
            elif "*" in per_arm:
                value = per_arm["*"]
            else:
                continue
            fixed[link_id] = generic.fixed(value, form.by_link[link_id], ctx.draw)
        return fixed

    def response(self, form_id: str, answers: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        """A QuestionnaireResponse (see ``edc.forms.ResponseTemplate.build``)."""
        return self.forms[form_id].template.build(answers, **kwargs)

    def canonical(self, form_id: str) -> str:
        return self.forms[form_id].template.canonical


__all__ = ["FormContext", "FormFiller", "StudyForms"]
