"""The generator's own knowledge of eligibility: each criterion's statement on the latent state.

A profile maps every criterion id to a rule; the rule says whether the criterion's statement
is true for a patient (for an inclusion: it is met; for an exclusion: it applies), reading
exactly the values the EHR record is rendered with. A test evaluates the protocol's FHIRPath
criteria on generated records and checks they agree with these rules.

``investigator`` rules stand for what only the investigator can judge (a pathological
diagnosis, an infection): true for all but a ``share`` of patients (inclusions), or for a
``share`` of them (exclusions), drawn from the patient's stream.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from edc.protocol.model import Eligibility
from edc.synth.latent import PatientState, parse_levels
from edc.synth.profile import Rule
from edc.synth.rng import Draw
from edc.trial.eligibility import criteria


def failed_criteria(
    eligibility: Eligibility, rules: Mapping[str, Rule], state: PatientState, draw: Draw
) -> tuple[str, ...]:
    """Ids of the criteria the patient fails; criteria without a rule are taken as passed."""
    failed = []
    for criterion, exclusion in criteria(eligibility):
        rule = rules.get(criterion.id)
        if rule is None:
            continue
        if rule.rule == "investigator":
            share = rule.share or 0.0
            statement = draw.chance(share) if exclusion else not draw.chance(share)
        else:
            statement = holds(rule, state)
        if statement == exclusion:
            failed.append(criterion.id)
    return tuple(failed)


def holds(rule: Rule, state: PatientState) -> bool:
    """Whether the rule's statement is true for the patient.

    :raises ValueError: for an ``investigator`` rule (it needs a draw) or a malformed value.
    """
    kind, value = rule.rule, rule.value
    lesions = state.lesions
    if kind == "age-at-least":
        return state.birth_date <= _years_before(state, int(_number(value)))
    if kind == "pain-at-least":
        return state.pain >= Decimal(str(_number(value)))
    if kind == "lesion-count-at-most":
        return len(lesions) <= _number(value)
    if kind == "lesions-all-of-type":
        return all(lesion.kind in _strings(value) for lesion in lesions)
    if kind == "lesions-between":
        low, high = _pair(value)
        return all(low <= lesion.level <= high for lesion in lesions)
    if kind == "pathological-fracture":
        return any(lesion.fracture for lesion in lesions)
    if kind == "frankel-all-in":
        return state.frankel in _strings(value)
    if kind == "active-opioid":
        return bool(state.regimen)
    if kind == "survival-at-least-weeks":
        return state.survival_weeks >= _number(value)
    if kind == "survival-below-weeks":
        return state.survival_weeks < _number(value)
    if kind == "coagulopathy":
        low_platelets = rule.platelets_below is not None and state.platelets < rule.platelets_below
        high_inr = rule.inr_above is not None and state.inr > Decimal(str(rule.inr_above))
        return low_platelets or high_inr
    if kind == "escc-in":
        return state.escc in _strings(value)
    if kind == "ecog-at-least":
        return state.ecog >= _number(value)
    raise ValueError(f"rule {kind!r} cannot be evaluated on the state alone")


def _years_before(state: PatientState, years: int) -> dt.date:
    day = state.screening_date
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a non-leap year
        return day.replace(year=day.year - years, day=28)


def _number(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"expected a number, got {value!r}")


def _strings(value: object) -> frozenset[str]:
    if isinstance(value, list):
        return frozenset(str(v) for v in value)
    raise ValueError(f"expected a list, got {value!r}")


def _pair(value: object) -> tuple[int, int]:
    """``[17, 24]`` or ``["T10", "L5"]`` -> vertebra indexes."""
    if isinstance(value, list) and len(value) == 2:
        if all(isinstance(v, str) for v in value):
            span = parse_levels(f"{value[0]}-{value[1]}")
            return span[0], span[-1]
        return int(value[0]), int(value[1])
    raise ValueError(f"expected [low, high], got {value!r}")


def check_rule(rule: Rule) -> str | None:
    """What is wrong with a rule's parameters (None when it can be evaluated)."""
    try:
        if rule.rule == "coagulopathy":
            if rule.platelets_below is None and rule.inr_above is None:
                return "coagulopathy needs platelets_below and/or inr_above"
        elif rule.rule == "investigator":
            if rule.share is None:
                return "investigator needs share"
        elif rule.rule in {"pathological-fracture", "active-opioid"}:
            return None
        elif rule.rule in {"lesions-all-of-type", "frankel-all-in", "escc-in"}:
            _strings(rule.value)
        elif rule.rule == "lesions-between":
            _pair(rule.value)
        else:
            _number(rule.value)
    except ValueError as exc:
        return str(exc)
    return None
