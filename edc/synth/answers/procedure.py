"""The index procedure record: operative figures from the profile, leakage from the AEs.

Numbers (operation time, blood loss, cement volume, ablation power/time/temperature) are drawn
from the arm's targets at the procedure visit (cement volume per treated vertebra when the
target says so); ``ablation`` and ``approach`` usually come from the profile's fixed answers.
Cement leakage is true exactly when a leakage adverse event flags this form, so the leakage
endpoint and the AE records agree. Leakage sites: ASSUMPTION (most leaks are venous,
paravertebral or into the disc; intraspinal ones would not be grade 1).
"""

from __future__ import annotations

from typing import Any

from edc.synth import clinical
from edc.synth.answers.context import FormContext
from edc.synth.marginals import fit

_LEAK_SITES = [("paravertebral", 0.4), ("venous", 0.3), ("intradiscal", 0.25), ("foraminal", 0.05)]
# ASSUMPTION without a profile answer: bilateral approach for 81% (seed 004: 51 of 63).
_APPROACH = [("bilateral-transpedicular", 0.81), ("unilateral-transpedicular", 0.19)]
# Defaults without a target (ASSUMPTION): plausible percutaneous figures.
_DEFAULTS = {
    "operation-time": (60.0, 20.0, 20.0, 180.0),
    "blood-loss": (20.0, 15.0, 0.0, 150.0),
    "cement-volume": (5.0, 2.0, 1.5, 9.0),
    "ablation-power": (30.0, 8.0, 15.0, 60.0),
    "ablation-time": (3.0, 1.2, 1.0, 8.0),
    "ablation-max-temperature": (40.5, 0.8, 37.0, 42.0),
}


def procedure(ctx: FormContext) -> dict[str, Any]:
    state = ctx.state
    levels = [lesion.level for lesion in state.lesions]
    answers: dict[str, Any] = {"levels-treated": [clinical.vertebra(level) for level in levels]}
    answers["operation-time"] = round(_number(ctx, "operation-time", len(levels)))
    answers["blood-loss"] = round(_number(ctx, "blood-loss", len(levels)))
    answers["cement-volume"] = clinical.decimal_1(_number(ctx, "cement-volume", len(levels)))
    if "approach" not in ctx.given:
        answers["approach"] = ctx.draw.pick(_APPROACH)
    ablation = ctx.given.get("ablation")
    if ablation is None:
        ablation = False
        answers["ablation"] = False
    if ablation:
        answers["ablation-power"] = clinical.decimal_1(_number(ctx, "ablation-power", 1))
        answers["ablation-time"] = clinical.decimal_1(_number(ctx, "ablation-time", 1))
        answers["ablation-max-temperature"] = clinical.decimal_1(
            _number(ctx, "ablation-max-temperature", 1)
        )
    leaks = ctx.flagged("cement-leakage")
    answers["cement-leakage"] = bool(leaks)
    if leaks:
        sites = {ctx.draw.pick(_LEAK_SITES) for _ in leaks}
        answers["leakage-sites"] = [code for code, _ in _LEAK_SITES if code in sites]
    return answers


def _number(ctx: FormContext, link_id: str, levels: int) -> float:
    """A target draw (summed over treated levels when the target is per level)."""
    low, high = ctx.bounds.get(link_id, (None, None))
    mean, sd, lo, hi = _DEFAULTS[link_id]
    marginal, per_level = ctx.marginal(f"{ctx.form_id}.{link_id}", low, high, fit(mean, sd, lo, hi))
    if per_level:
        return sum(marginal.ppf(ctx.draw.uniform()) for _ in range(levels))
    return marginal.ppf(ctx.draw.uniform())
