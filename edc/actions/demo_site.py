"""The site's path in ``edc demo``: the people, pre-screening, consent, enrollment, randomization.

A simulation of two years of work at the sites, through the same actions the commands use:
each patient is screened on the day they were referred (their screening date in the
generator's ``truth/patients``); the candidates edc finds are asked for consent, and those who
would agree (the generator's truth: a person's own decision) consent and are enrolled that day,
the investigator confirming the criteria only they can judge as the truth says; the screening
visit's forms come in by sync; the unblinded statistician opens randomization (the commitment
is printed) and each subject is randomized on the protocol's planned day. Every action runs as
the demo user of the right role, with the clock set to the simulated day.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from edc import config, errors
from edc.actions import consent, enroll, randomize, screen, users
from edc.actions.workspace import Study, Workspace
from edc.synth.enrollment import EnrolledSubject
from edc.trial.eligibility import criteria
from edc.trial.permissions import Action
from edc.warehouse import randomization as randomization_store
from edc.warehouse import screening_log

ADMIN = "demo-admin"
UNBLINDED = "demo-unblinded-statistician"
STUDY_WIDE = {
    "demo-monitor": "monitor",
    "demo-statistician": "statistician",
    UNBLINDED: "unblinded_statistician",
    "demo-data-manager": "data_manager",
}


def site_users(site: str) -> dict[str, str]:
    """The demo's people at one site: user name -> role."""
    return {
        f"demo-coordinator-{site}": "site_staff",
        f"demo-investigator-{site}": "investigator",
        f"demo-pi-{site}": "principal_investigator",
    }


class SimulatedClock:
    """The demo's clock: set to the simulated moment before each action."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def now(self) -> dt.datetime:
        return self.at


class People(contextlib.AbstractContextManager["People"]):
    """One open workspace per demo user, all on one simulated clock."""

    def __init__(self, settings: config.Settings) -> None:
        self.settings = settings
        self.clock = SimulatedClock(dt.datetime.now(dt.UTC))
        self._stack = contextlib.ExitStack()
        self._open: dict[str, Workspace] = {}

    def as_user(self, user: str, when: dt.datetime) -> Workspace:
        self.clock.at = when
        if user not in self._open:
            self._open[user] = self._stack.enter_context(
                Workspace.open(self.settings, clock=self.clock, user=user)
            )
        return self._open[user]

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), dt.UTC)


@dataclasses.dataclass
class SitePath:
    """What the sites did."""

    screened: int = 0
    candidates: int = 0
    asked: int = 0
    declined: int = 0
    enrolled: list[EnrolledSubject] = dataclasses.field(default_factory=list)
    refused: list[str] = dataclasses.field(default_factory=list)  # patients refused enrollment
    not_randomized: list[str] = dataclasses.field(default_factory=list)  # subject: why
    commitment: str = ""
    seed_file: Path | None = None


def set_up_people(settings: config.Settings, study: str, sites: Sequence[str]) -> list[str]:
    """The demo users and their roles (idempotent); returns the user names."""
    with Workspace.open(settings, user=ADMIN) as workspace:
        known = {u.username for u in users.list_users(workspace)}
        if ADMIN not in known:
            users.add(workspace, ADMIN, "Demo administrator")
        users.grant(workspace, ADMIN, study, "admin")
        people: dict[str, tuple[str, str | None]] = {
            name: (role, None) for name, role in STUDY_WIDE.items()
        }
        for code in sites:
            people.update({name: (role, code) for name, role in site_users(code).items()})
        for name, (role, where) in people.items():
            if name not in known:
                users.add(workspace, name, name.removeprefix("demo-").replace("-", " ").title())
            users.grant(workspace, name, study, role, where)
    return [ADMIN, *people]


def screen_and_enroll(
    people: People,
    study_code: str,
    truth: Sequence[Mapping[str, Any]],
    ids: Mapping[str, str],
) -> SitePath:
    """Screen everyone on their own day; consent and enroll the candidates who agree.

    :param ids: the generator's patient id -> the patient's id in the warehouse.
    """
    path = SitePath()
    by_warehouse_id = {ids[p["patient"]]: p for p in truth if p["patient"] in ids}
    as_of = {
        ids[p["patient"]]: dt.date.fromisoformat(p["screening_date"])
        for p in by_warehouse_id.values()
    }
    last = at(max(as_of.values(), default=dt.date.today()), 20)
    workspace = people.as_user("demo-data-manager", last)
    result = screen.screen(
        workspace, screen.ScreenRequest(study=study_code, as_of_by_patient=as_of)
    )
    with workspace.transaction() as session:
        study = workspace.study(session, study_code)
    path.screened = len(result.patients)
    candidates = [line for line in result.patients if line.status == "candidate"]
    path.candidates = len(candidates)
    ordered = sorted(candidates, key=lambda line: by_warehouse_id[line.patient]["consent_date"])
    for line in ordered:
        person = by_warehouse_id[line.patient]
        path.asked += 1
        if not person["consents"]:
            path.declined += 1
            continue
        subject = _consent_and_enroll(people, study, line.site, line.patient, person)
        if subject is None:
            path.refused.append(line.patient)
        else:
            path.enrolled.append(
                EnrolledSubject(
                    patient_id=person["patient"],
                    site_id=line.site,
                    subject_id=subject,
                    arm_id="",
                    consent_date=dt.date.fromisoformat(person["consent_date"]),
                    sentinel_sae=not path.enrolled,
                )
            )
    return path


def _consent_and_enroll(
    people: People,
    study: Study,
    site: str,
    patient: str,
    person: Mapping[str, Any],
) -> str | None:
    """Consent and enrollment of one patient on their consent day; None when refused."""
    day = dt.date.fromisoformat(person["consent_date"])
    failed = set(person["failed"])
    confirm = tuple(
        f"{criterion.id}={'yes' if (criterion.id in failed) == exclusion else 'no'}"
        for criterion, exclusion in criteria(study.protocol.eligibility)
        if criterion.assessment == "investigator"
    )
    workspace = people.as_user(f"demo-coordinator-{site}", at(day, 9))
    consent.record(
        workspace,
        consent.ConsentRequest(
            study=study.code,
            patient=patient,
            signed=day,
            form_version=study.version,
            obtained_by=f"Site {site} investigator",
        ),
    )
    people.clock.at = at(day, 11)
    try:
        return enroll.enroll(
            workspace,
            enroll.EnrollRequest(
                study=study.code,
                patient=patient,
                site=site,
                investigator=f"demo-investigator-{site}",
                confirm=confirm,
            ),
        ).subject
    except errors.BadInputError:
        return None  # the investigator found a criterion not met: a screen failure


def open_randomization(people: People, study: str, seed_file: Path, day: dt.date) -> str:
    """The unblinded statistician opens randomization (once); returns the commitment."""
    workspace = people.as_user(UNBLINDED, at(day, 8))
    return randomize.open_randomization(workspace, study, seed_file).commitment


def randomize_all(
    people: People,
    study_code: str,
    subjects: Sequence[EnrolledSubject],
    not_randomized: list[str],
) -> list[EnrolledSubject]:
    """Randomize each subject on the protocol's planned day; returns those randomized (and adds
    why the others were not to ``not_randomized``)."""
    workspace = people.as_user("demo-data-manager", people.clock.at)
    with workspace.transaction() as session:
        offset = _randomization_offset(workspace.study(session, study_code))
    done = []
    for subject in subjects:
        day = subject.consent_date + dt.timedelta(days=offset)
        workspace = people.as_user(f"demo-coordinator-{subject.site_id}", at(day, 10))
        try:
            randomize.randomize(workspace, study_code, subject.subject_id)
        except errors.BadInputError as exc:
            # E.g. the screening form that stratifies was rejected (a deliberate defect): the
            # site must correct it first; the subject waits, not randomized.
            not_randomized.append(f"{subject.subject_id}: {exc.message}")
            continue
        done.append(dataclasses.replace(subject, randomization_date=day))
    return done


def _randomization_offset(study: Study) -> int:
    event = next(
        (e for e in study.protocol.schedule.events if e.id == study.protocol.randomization.event),
        None,
    )
    return event.offset_days if event is not None else 0


def with_arms(
    people: People, study_code: str, subjects: Sequence[EnrolledSubject]
) -> list[EnrolledSubject]:
    """The subjects with the arms edc allocated, read as the unblinded statistician: the
    simulation of what happens to each subject needs the arm (so does an IRT's drug supply)."""
    workspace = people.as_user(UNBLINDED, people.clock.at)
    with workspace.transaction() as session:
        study = workspace.study(session, study_code)
        workspace.act(session, study, Action.READ_ALLOCATION_LIST, None)
        arms = randomization_store.arms_by_subject(session, study_id=study.id)
    return [
        dataclasses.replace(s, arm_id=arms[s.subject_id]) for s in subjects if s.subject_id in arms
    ]


def warehouse_ids(settings: config.Settings, study_code: str, namespace: str) -> dict[str, str]:
    """The generator's patient id -> the id the warehouse knows the patient by.

    The same when the data came from the files; a FHIR server gives its own ids, so patients
    are matched by the medical record number the generator gave them (``MRN-<run>-<number>``).
    """
    prefix = f"MRN-{namespace}-"
    found = {}
    with Workspace.open(settings) as workspace, workspace.transaction() as session:
        study = workspace.study(session, study_code)
        for patient_id, text in screening_log.patients(session, study_id=study.id):
            for identifier in orjson.loads(text).get("identifier") or ():
                value = str(identifier.get("value", ""))
                if value.startswith(prefix):
                    found[f"syn-{namespace}-{value.removeprefix(prefix)}"] = patient_id
    return found
