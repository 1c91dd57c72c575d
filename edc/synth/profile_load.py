"""Read a synthetic profile and check it against its protocol: every problem at once, located.

Checked: the study id; criterion ids and rule parameters; that targets and fixed answers name
forms and items of the compiled Questionnaires, arms and visits of the protocol; that each
adverse event is a CTCAE term of the protocol's version with grades it allows; level ranges.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from edc import errors, located_yaml
from edc.library import Library
from edc.protocol.model import Protocol
from edc.synth import latent, truth
from edc.synth.profile import Profile
from edc.synth.tumours import PRIMARIES
from edc.trial import eligibility

SUFFIX = ".synthetic.yaml"


def profile_path_for(protocol_path: Path) -> Path:
    """Where a protocol's profile lives: ``<protocol stem>.synthetic.yaml`` beside it."""
    return protocol_path.with_name(protocol_path.stem + SUFFIX)


def load_profile(
    path: Path,
    protocol: Protocol,
    questionnaires: Mapping[str, Mapping[str, Any]],
    library: Library,
) -> Profile:
    """Read and check a profile.

    :param questionnaires: compiled Questionnaires by form id.
    :raises errors.BadInputError: when the file cannot be read.
    :raises errors.ProblemsError: every problem, with file:line and field path.
    """
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.BadInputError(f"cannot read synthetic profile {path}: {exc}") from None
    document = located_yaml.parse_yaml(text, str(path))
    try:
        profile = Profile.model_validate(document.data)
    except ValidationError as exc:
        problems = located_yaml.validation_problems(document, exc)
        raise errors.ProblemsError(f"{path}: {len(problems)} problem(s)", problems) from None
    report = located_yaml.Reporter(document)
    _check(report, profile, protocol, questionnaires, library)
    if report.problems:
        raise errors.ProblemsError(f"{path}: {len(report.problems)} problem(s)", report.problems)
    return profile


def _check(
    report: located_yaml.Reporter,
    profile: Profile,
    protocol: Protocol,
    questionnaires: Mapping[str, Mapping[str, Any]],
    library: Library,
) -> None:
    if profile.study != protocol.study.id:
        report.add(("study",), f"is {profile.study!r}, the protocol is {protocol.study.id!r}")
    population = profile.population
    for key in population.primary_sites:
        if key not in PRIMARIES:
            report.add(
                ("population", "primary_sites", key),
                f"unknown primary site (known: {', '.join(PRIMARIES)})",
            )
    for spec in population.levels:
        try:
            latent.parse_levels(spec)
        except ValueError as exc:
            report.add(("population", "levels", spec), str(exc))
    criteria = {c.id for c, _ in eligibility.criteria(protocol.eligibility)}
    for criterion_id, rule in profile.eligibility.items():
        if criterion_id not in criteria:
            report.add(("eligibility", criterion_id), "no such criterion in the protocol")
        problem = truth.check_rule(rule)
        if problem:
            report.add(("eligibility", criterion_id), problem)
    arms = {arm.id for arm in protocol.arms} | {"*"}
    visits = {visit.id for visit in protocol.schedule.visits}
    for key, target in profile.targets.items():
        _check_item(report, ("targets", key), key, questionnaires)
        for visit in target.visits:
            if visit not in visits:
                report.add(("targets", key, "visits", visit), "no such visit")
        for arm, per_visit in target.arms.items():
            if arm not in arms:
                report.add(("targets", key, "arms", arm), "no such arm")
            for visit in per_visit:
                if visit not in visits:
                    report.add(("targets", key, "arms", arm, visit), "no such visit")
    for key, per_arm in profile.answers.items():
        _check_item(report, ("answers", key), key, questionnaires)
        for arm in per_arm:
            if arm not in arms:
                report.add(("answers", key, arm), "no such arm")
    ctcae = library.find_ctcae(protocol.adverse_events.ctcae_version)
    for index, event in enumerate(profile.adverse_events):
        where = ("adverse_events", index)
        term = ctcae.find_term(event.term) if ctcae else None
        if term is None:
            version = protocol.adverse_events.ctcae_version
            report.add((*where, "term"), f"not a CTCAE {version} term")
        else:
            bad = sorted(set(event.grades) - set(term.allowed_grades()))
            if bad:
                report.add((*where, "grades"), f"CTCAE does not define grade(s) {bad} here")
            if term.needs_specify and not event.specify:
                report.add((*where, "specify"), "an 'Other, specify' term needs specify")
        for arm in event.rate:
            if arm not in arms:
                report.add((*where, "rate", arm), "no such arm")
        if event.form_flag:
            _check_item(report, (*where, "form_flag"), event.form_flag, questionnaires)
    test_sae = profile.test_sae
    if test_sae.arm is not None and test_sae.arm not in arms:
        report.add(("test_sae", "arm"), "no such arm")
    if test_sae.term is not None:
        term = ctcae.find_term(test_sae.term) if ctcae else None
        if term is None or 3 not in term.allowed_grades():
            report.add(("test_sae", "term"), "not a CTCAE term that can be grade 3")


def _check_item(
    report: located_yaml.Reporter,
    where: tuple[str | int, ...],
    key: str,
    questionnaires: Mapping[str, Mapping[str, Any]],
) -> None:
    form_id, _, link_id = key.partition(".")
    questionnaire = questionnaires.get(form_id)
    if questionnaire is None:
        report.add(where, f"no form {form_id!r} in the protocol")
    elif link_id not in set(_link_ids(questionnaire.get("item", ()))):
        report.add(where, f"form {form_id!r} has no item {link_id!r}")


def _link_ids(items: Any) -> Any:
    for item in items:
        yield item["linkId"]
        yield from _link_ids(item.get("item", ()))
