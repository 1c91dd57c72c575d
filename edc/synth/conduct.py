"""Trial conduct of enrolled subjects: what happens after consent, given each subject's arm.

Conduct comes in two phases, so that an enrolling system (edc itself) can randomize between
them: ``screening`` - the visits before randomization (``edc.protocol.timeline``), where the
forms that stratify are filled, known without an arm - and ``treatment`` - every later visit
with its forms, the index Procedure and the AdverseEvents, given the arm and the randomization
date. Each phase draws from the subject's own stream (seed, SCREENING_VISITS or CONDUCT, patient
number), and the patient's latent state is re-created from the population, so conduct agrees
with the EHR record whichever way it is generated. ``subject`` is both phases plus the Consent
and ResearchSubject a site's own system would record: what ``edc generate`` writes when it
stands in for the enrolling system (``edc.synth.enrollment``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from edc.compiler import CompiledStudy
from edc.compiler.naming import Naming
from edc.library import Library
from edc.library.ctcae import MEDDRA_VERSION
from edc.protocol import arms, timeline
from edc.protocol import forms as protocol_forms
from edc.protocol.model import Schedule
from edc.synth import adverse_events, schedule, trial_records
from edc.synth.answers import FormContext, FormFiller
from edc.synth.enrollment import EnrolledSubject
from edc.synth.latent import PatientState
from edc.synth.population import Population, PopulationPatient
from edc.synth.rng import Draw, Purpose, stream
from edc.synth.trajectories import Trajectory
from edc.trial import strata

_FORM_MINUTES = 8  # ASSUMPTION: time to fill one form at a visit


@dataclasses.dataclass(frozen=True)
class SubjectConduct:
    """One subject's conduct: resources in write order, plus truth rows for the sidecars."""

    subject: EnrolledSubject
    resources: list[dict[str, Any]]
    visits: list[dict[str, Any]]
    forms: list[str]  # form id of each QuestionnaireResponse, in resource order
    milestones: dict[str, dt.date]  # consent, randomization, procedure, ... dates
    end: dt.date | None = None  # last day of follow-up (withdrawal or last visit)
    withdrawn_on: dt.date | None = None


def questionnaires_by_form(
    protocol_forms_ids: Iterable[str], compiled: CompiledStudy, naming: Naming
) -> dict[str, dict[str, Any]]:
    """Compiled Questionnaires by form id.

    :raises KeyError: when the compiled study lacks a form's Questionnaire.
    """
    found = compiled.questionnaires()
    return {
        form_id: found[naming.versioned("Questionnaire", form_id)] for form_id in protocol_forms_ids
    }


class ConductGenerator:
    """Renders the conduct of subjects enrolled from one population.

    :param population: the run's population (the same seed, sites and patients).
    :param compiled: the compiled study (Questionnaires, site ResearchStudy ids).
    :param seed: the conduct seed (default: the population's).
    """

    def __init__(
        self,
        population: Population,
        compiled: CompiledStudy,
        library: Library,
        *,
        seed: int | None = None,
    ) -> None:
        protocol = population.protocol
        study = protocol.study
        self.population = population
        self.protocol = protocol
        self.seed = population.seed if seed is None else seed
        self.naming = Naming(study.canonical_base, study.id, study.version)
        form_ids = [form.id for form in protocol.forms] + [protocol_forms.ELIGIBILITY_FORM_ID]
        self.filler = FormFiller(
            protocol,
            library,
            population.profile,
            questionnaires_by_form(form_ids, compiled, self.naming),
        )
        ctcae = library.find_ctcae(protocol.adverse_events.ctcae_version)
        if ctcae is None:
            raise ValueError(f"CTCAE {protocol.adverse_events.ctcae_version} is not shipped")
        self.ctcae = ctcae
        self.ae_rates = adverse_events.rates(
            population.profile.adverse_events, protocol.adverse_events
        )
        self.open_label = protocol.randomization.blinding == "open-label"
        self.arm_text = {
            arm.id: " + ".join(i.name for i in arm.interventions) or arm.title
            for arm in protocol.arms
        }
        before = timeline.visits_before(protocol.schedule, protocol.randomization.event)
        after = [v for v in protocol.schedule.visits if v not in before]
        # Schedules of the two phases (events are shared; the visits are split).
        self.before = Schedule.model_construct(
            events=protocol.schedule.events, visits=tuple(before)
        )
        self.after = Schedule.model_construct(events=protocol.schedule.events, visits=tuple(after))
        self.scheduled = [v.id for v in after if not v.unscheduled]
        # Each arm's own schedule from randomization on (arm-specific visits, forms, anchors).
        early = {v.id for v in before}
        self.after_by_arm: dict[str, Schedule] = {}
        for arm in protocol.arms:
            mine = arms.for_arm(protocol, arm.id)
            self.after_by_arm[arm.id] = Schedule.model_construct(
                events=mine.events, visits=tuple(v for v in mine.visits if v.id not in early)
            )
        self.bounds = {form_id: self.filler.bounds(form_id) for form_id in self.filler.forms}

    def site_study_id(self, site_id: str) -> str:
        return self.naming.resource_id("site", site_id)

    def _patient(
        self, enrolled: EnrolledSubject, patient: PopulationPatient | None
    ) -> PopulationPatient:
        if patient is None or patient.patient_id != enrolled.patient_id:
            patient = self.population.find(enrolled.patient_id)
        return patient

    def _refs(
        self, enrolled: EnrolledSubject, patient: PopulationPatient
    ) -> trial_records.SubjectRefs:
        site = patient.site
        return trial_records.SubjectRefs(
            run=self.population.run,
            study_id=self.protocol.study.id,
            study_version=self.protocol.study.version,
            subject_id=enrolled.subject_id,
            patient_id=patient.patient_id,
            organization_id=self.population.hospitals[site.id]["id"],
            site_study_id=self.site_study_id(site.id),
            tz=self.population.timezone(site),
        )

    def subject(
        self, enrolled: EnrolledSubject, patient: PopulationPatient | None = None
    ) -> SubjectConduct:
        """Both phases, preceded by the Consent and ResearchSubject the site recorded.

        :raises KeyError: when the subject's patient is not in the population.
        """
        patient = self._patient(enrolled, patient)
        first = self.screening(enrolled, patient)
        rest = self.treatment(enrolled, patient)
        refs = self._refs(enrolled, patient)
        end = rest.end or enrolled.consent_date
        records = [
            trial_records.consent(refs, enrolled.consent_date, rest.withdrawn_on),
            trial_records.research_subject(
                refs,
                consent_day=enrolled.consent_date,
                end=end,
                withdrawn=rest.withdrawn_on is not None,
                arm=enrolled.arm_id if self.open_label else None,
            ),
        ]
        return SubjectConduct(
            enrolled,
            records + first.resources + rest.resources,
            first.visits + rest.visits,
            first.forms + rest.forms,
            rest.milestones,
            end,
            rest.withdrawn_on,
        )

    def screening(
        self, enrolled: EnrolledSubject, patient: PopulationPatient | None = None
    ) -> SubjectConduct:
        """The visits before randomization and their forms (no arm needed: none is used).

        :raises KeyError: when the subject's patient is not in the population.
        """
        return self._screening(enrolled, patient)[0]

    def stratum_levels(
        self, enrolled: EnrolledSubject, patient: PopulationPatient | None = None
    ) -> dict[str, str | None]:
        """Each protocol stratification factor's level, from the subject's own answers at
        the visits before randomization (as ``edc randomize`` reads them; None: not answered,
        or an answer that gives no level). Site factors are left out.

        :raises KeyError: when the subject's patient is not in the population.
        """
        given = self._screening(enrolled, patient)[1]
        levels: dict[str, str | None] = {}
        for factor in self.protocol.randomization.stratify_by:
            if factor.kind == "site" or factor.source is None:
                continue
            answer = given.get(factor.source.form, {}).get(factor.source.item)
            if isinstance(answer, int | float) and not isinstance(answer, bool):
                answer = Decimal(str(answer))
            ok = answer is None or isinstance(answer, str | Decimal | bool)
            levels[factor.id] = strata.level_of(factor.source, answer) if ok else None
        return levels

    def _screening(
        self, enrolled: EnrolledSubject, patient: PopulationPatient | None
    ) -> tuple[SubjectConduct, dict[str, dict[str, Any]]]:
        """The screening conduct and the answers given per form (the first time each form
        is filled)."""
        patient = self._patient(enrolled, patient)
        if not self.before.visits:
            return SubjectConduct(enrolled, [], [], [], {}), {}
        state = patient.state
        draw = stream(self.seed, Purpose.SCREENING_VISITS, state.number)
        plan = schedule.plan(self.before, enrolled, self.population.profile.conduct, draw)
        visit_ids = [v.id for v in self.before.visits]
        trajectory = Trajectory(draw, state, visit_ids, set(visit_ids))
        refs = self._refs(enrolled, patient)
        unrandomized = dataclasses.replace(enrolled, arm_id="")
        resources: list[dict[str, Any]] = []
        forms: list[str] = []
        given: dict[str, dict[str, Any]] = {}
        for visit in plan.visits:
            if visit.performed and visit.day is not None:
                made, answers = self._visit(
                    visit, plan, refs, unrandomized, state, trajectory, draw, [], forms
                )
                resources += made
                given = answers | given
        done = SubjectConduct(enrolled, resources, _visit_rows(enrolled, plan), forms, {})
        return done, given

    def treatment(
        self, enrolled: EnrolledSubject, patient: PopulationPatient | None = None
    ) -> SubjectConduct:
        """Every visit from randomization on, the index Procedure and the adverse events.

        :raises KeyError: when the subject's patient is not in the population.
        """
        patient = self._patient(enrolled, patient)
        state = patient.state
        draw = stream(self.seed, Purpose.CONDUCT, state.number)
        after = self.after_by_arm.get(enrolled.arm_id, self.after)
        plan = schedule.plan(after, enrolled, self.population.profile.conduct, draw)
        index_day = plan.index_date
        baseline = {
            v.visit.id
            for v in plan.visits
            if v.occurrence == 1 and (v.day or v.target or index_day) < index_day
        }
        scheduled = [v.id for v in after.visits if not v.unscheduled]
        trajectory = Trajectory(draw, state, scheduled, baseline)
        refs = self._refs(enrolled, patient)
        end = plan.withdrawn_on or plan.last_day
        events = adverse_events.draw_events(
            draw,
            table=self.ae_rates,
            ctcae=self.ctcae,
            settings=self.protocol.adverse_events,
            arm=enrolled.arm_id,
            index_day=index_day,
            levels=[x.level for x in state.lesions],
            last_day=end,
            late_share=self.population.profile.conduct.late_sae_share,
            sentinel=enrolled.sentinel_sae,
            test_sae=self.population.profile.test_sae,
        )
        resources: list[dict[str, Any]] = []
        forms: list[str] = []
        procedure_done = False
        for visit in plan.visits:
            if not visit.performed or visit.day is None:
                continue
            made, answers = self._visit(
                visit, plan, refs, enrolled, state, trajectory, draw, events, forms
            )
            resources += made
            if visit.day == index_day and not procedure_done:
                procedure_done = True
                minutes = next(
                    (int(a["operation-time"]) for a in answers.values() if a.get("operation-time")),
                    60,
                )
                resources.append(self._procedure(refs, enrolled, state, visit, minutes))
        if not procedure_done:
            # No visit on the index day: the procedure on the consent day, as before, unless
            # the arm has its own index event (an arm-specific "day 0"): then on that day.
            day = index_day if arms.is_arm_specific(self.protocol) else None
            resources.append(self._procedure(refs, enrolled, state, None, 60, day))
        ae_ctx = adverse_events.AeContext(
            run=refs.run,
            study_id=refs.study_id,
            subject_id=refs.subject_id,
            patient_id=refs.patient_id,
            research_subject_id=refs.rid("subject"),
            procedure_id=refs.rid("procedure"),
            site_study_id=refs.site_study_id,
            tz=refs.tz,
            meddra_version=MEDDRA_VERSION[self.protocol.adverse_events.ctcae_version],
        )
        resources += [adverse_events.resource(e, n, ae_ctx) for n, e in enumerate(events, 1)]
        return SubjectConduct(
            enrolled,
            resources,
            _visit_rows(enrolled, plan),
            forms,
            dict(plan.events),
            end,
            plan.withdrawn_on,
        )

    def _visit(
        self,
        visit: schedule.PlannedVisit,
        plan: schedule.SubjectSchedule,
        refs: trial_records.SubjectRefs,
        enrolled: EnrolledSubject,
        state: PatientState,
        trajectory: Trajectory,
        draw: Draw,
        events: list[adverse_events.Occurrence],
        forms: list[str],
    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """The visit's Encounter and responses, and the answers given per form."""
        if visit.day is None:
            raise ValueError(f"visit {visit.key} did not take place")
        due = [f for f in visit.visit.forms if f != self.protocol.adverse_events.form_id]
        inpatient = visit.day == plan.index_date
        minutes = 600 if inpatient else 30 + _FORM_MINUTES * len(due)
        plan_url = self.naming.versioned("PlanDefinition", "visit", visit.visit.id)
        encounter = trial_records.encounter(
            refs,
            key=visit.key,
            title=visit.visit.title,
            plan=plan_url,
            day=visit.day,
            minute=visit.minute,
            minutes=minutes,
            inpatient=inpatient,
        )
        target = visit.visit.id
        if visit.status == "unscheduled":
            # Targets of the last scheduled visit planned before it (plus a flare).
            before = [
                v.visit.id for v in plan.visits if v.target is not None and v.target <= visit.day
            ]
            target = before[-1] if before else target
        out = [encounter]
        given: dict[str, dict[str, Any]] = {}
        for position, form_id in enumerate(due):
            ctx = FormContext(
                form_id=form_id,
                arm=enrolled.arm_id,
                visit_key=visit.key,
                target_visit=target,
                baseline=plan.is_baseline(visit),
                unscheduled=visit.status == "unscheduled",
                day=visit.day,
                state=state,
                profile=self.population.profile,
                forms=self.filler.study_forms,
                trajectory=trajectory,
                draw=draw,
                events=events,
                baseline_opioid=state.regimen[0].opioid if state.regimen else None,
                bounds=self.bounds[form_id],
                visit_id=visit.visit.id,
            )
            answers = self.filler.answers(form_id, ctx)
            minute = visit.minute + 5 + _FORM_MINUTES * position
            authored = refs.at(visit.day, minute) if minute < 1440 else refs.at(visit.day, 1439)
            rid = refs.rid("qr", visit.key, form_id)
            response = self.filler.response(
                form_id,
                answers,
                subject=f"Patient/{refs.patient_id}",
                authored=authored,
                encounter=f"Encounter/{encounter['id']}",
                response_id=rid,
                identifier={
                    "system": refs.run.system("crf-instance"),
                    "value": f"{refs.study_id}.{refs.subject_id}.{visit.key}.{form_id}.1",
                },
            )
            out.append(trial_records.with_study(response, refs, authored))
            forms.append(form_id)
            given[form_id] = answers
        return out, given

    def _procedure(
        self,
        refs: trial_records.SubjectRefs,
        enrolled: EnrolledSubject,
        state: PatientState,
        visit: schedule.PlannedVisit | None,
        minutes: int,
        on: dt.date | None = None,
    ) -> dict[str, Any]:
        encounter_id = refs.rid("enc", visit.key) if visit else None
        day = visit.day if visit and visit.day else (on or enrolled.consent_date)
        resource = trial_records.procedure(
            refs,
            text=self.arm_text[enrolled.arm_id],
            encounter_id=encounter_id or "",
            day=day,
            minute=(visit.minute if visit else 540) + 60,
            minutes=minutes,
            levels=[lesion.level for lesion in state.lesions],
        )
        if encounter_id is None:
            del resource["encounter"]
        return resource


def _visit_rows(enrolled: EnrolledSubject, plan: schedule.SubjectSchedule) -> list[dict[str, Any]]:
    def iso(day: dt.date | None) -> str | None:
        return day.isoformat() if day else None

    return [
        {
            "subject": enrolled.subject_id,
            "patient": enrolled.patient_id,
            "visit": v.key,
            "status": v.status,
            "target": iso(v.target),
            "window": [iso(v.window[0]), iso(v.window[1])] if v.window else None,
            "date": iso(v.day),
        }
        for v in plan.visits
    ]


def generate_conduct(
    population: Population,
    compiled: CompiledStudy,
    library: Library,
    enrolled: Iterable[EnrolledSubject],
    *,
    seed: int | None = None,
) -> Iterator[SubjectConduct]:
    """The conduct of each enrolled subject, in the order given.

    :raises KeyError: for a subject whose patient is not in the population.
    """
    generator = ConductGenerator(population, compiled, library, seed=seed)
    for subject in enrolled:
        yield generator.subject(subject)
