"""The trial design domains (SDTM-like TA, TV, TI, TS), from the protocol alone.

They describe the plan - arms, visits, criteria, parameters - not any subject, so they carry
no blinding: the protocol that names the arms is known to everyone on the study.
"""

from __future__ import annotations

from edc.export.tables import Dataset
from edc.protocol import Protocol


def trial_design(protocol: Protocol) -> list[Dataset]:
    study = protocol.study.id
    ta = [
        (study, "TA", arm.id[:20], arm.title[:200], str(order), arm.type)
        for order, arm in enumerate(protocol.arms, 1)
    ]
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
        Dataset("ta", ("STUDYID", "DOMAIN", "ARMCD", "ARM", "TAETORD", "ETCD"), ta),
        Dataset(
            "tv", ("STUDYID", "DOMAIN", "VISITNUM", "VISIT", "TVSTRL", "VISITDY", "TVANCHOR"), tv
        ),
        Dataset("ti", ("STUDYID", "DOMAIN", "IETESTCD", "IETEST", "IECAT"), ti),
        Dataset("ts", ("STUDYID", "DOMAIN", "TSSEQ", "TSPARMCD", "TSPARM", "TSVAL"), ts),
    ]
