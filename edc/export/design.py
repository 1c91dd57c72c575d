"""The trial design domains (SDTM-like TA, TE, TV, TI, TS), from the protocol alone.

They describe the plan - arms, visits, criteria, parameters - not any subject, so they carry
no blinding: the protocol that names the arms is known to everyone on the study.

Elements (TE): screening, from consent to the randomization event, then one element per arm
(its treatment and follow-up) to the last planned visit; TA walks each arm through the two.
"""

from __future__ import annotations

import re

from edc.export.tables import Dataset
from edc.protocol import Protocol

SCREENING = "SCRN"


def element(arm: str) -> str:
    """An arm's element code: at most 8 capitals or digits (``ARM-A`` -> ``ARMA``)."""
    return re.sub(r"[^A-Z0-9]", "", arm.upper())[:8] or "ARM"


def trial_design(protocol: Protocol) -> list[Dataset]:
    study = protocol.study.id
    event = protocol.randomization.event
    planned = [v for v in protocol.schedule.visits if not v.unscheduled]
    last = planned[-1].title if planned else "end of follow-up"
    te = [(study, "TE", SCREENING, "Screening", "Informed consent", f"Event {event}", "")]
    te += [
        (study, "TE", element(arm.id), arm.title[:200], f"Allocated to {arm.title}"[:200],
         f"After {last}"[:200], "")
        for arm in protocol.arms
    ]  # fmt: skip
    ta = [
        row
        for arm in protocol.arms
        for row in (
            (study, "TA", arm.id[:20], arm.title[:200], "1", SCREENING, "Screening", "SCREENING"),
            (study, "TA", arm.id[:20], arm.title[:200], "2", element(arm.id), arm.title[:200],
             "TREATMENT"),
        )
    ]  # fmt: skip
    tv = [
        (study, "TV", str(number), visit.id, visit.title, str(visit.offset_days),
         visit.anchor or "")
        for number, visit in enumerate(protocol.schedule.visits, 1)
    ]  # fmt: skip
    eligibility = protocol.eligibility
    ti = [
        (study, "TI", criterion.id[:8].upper(), criterion.text[:200], category)
        for category, criteria in (("INCLUSION", eligibility.inclusion),
                                   ("EXCLUSION", eligibility.exclusion))
        for criterion in criteria
    ]  # fmt: skip
    parameters = [
        ("TITLE", "Trial Title", protocol.study.title),
        ("PROTVERS", "Protocol Version", protocol.study.version),
        ("TPHASE", "Trial Phase Classification", protocol.study.phase),
        ("SPONSOR", "Clinical Study Sponsor", protocol.study.sponsor.name),
        ("RANDOM", "Trial is Randomized", "Y"),
        ("RANDMETH", "Randomization Method", protocol.randomization.method),
        ("TBLIND", "Trial Blinding Schema", protocol.randomization.blinding.upper()),
        ("INTMODEL", "Intervention Model", protocol.study.design.intervention_model.upper()),
        ("NARMS", "Planned Number of Arms", str(len(protocol.arms))),
        ("PLANSUB", "Planned Number of Subjects", str(protocol.study.target_enrollment)),
    ]
    ts = [
        (study, "TS", str(seq), code, name, value[:200])
        for seq, (code, name, value) in enumerate(parameters, 1)
    ]
    return [
        Dataset(
            "ta",
            ("STUDYID", "DOMAIN", "ARMCD", "ARM", "TAETORD", "ETCD", "ELEMENT", "EPOCH"),
            ta,
        ),
        Dataset("te", ("STUDYID", "DOMAIN", "ETCD", "ELEMENT", "TESTRL", "TEENRL", "TEDUR"), te),
        Dataset(
            "tv", ("STUDYID", "DOMAIN", "VISITNUM", "VISIT", "TVSTRL", "VISITDY", "TVANCHOR"), tv
        ),
        Dataset("ti", ("STUDYID", "DOMAIN", "IETESTCD", "IETEST", "IECAT"), ti),
        Dataset("ts", ("STUDYID", "DOMAIN", "TSSEQ", "TSPARMCD", "TSPARM", "TSVAL"), ts),
    ]
