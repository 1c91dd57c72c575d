"""Patient-reported forms: pain (VAS, NRS), disability (ODI), QLQ-BM22 and opioid use (MEDD).

Each derives its item answers from the subject's channel value at the visit, so the computed
score reproduces the target: ODI sections add up to the target percentage, the opioid regimen
gives the target MEDD, BM22 items follow pain and disability (no seed reports BM22 values:
the mapping from pain and disability to 1-4 responses is an ASSUMPTION).
"""

from __future__ import annotations

from typing import Any

from edc.synth import clinical, opioids
from edc.synth.answers.context import FormContext
from edc.synth.marginals import fit

# ASSUMPTION: how strongly each ODI section follows the overall disability (pain intensity,
# lifting and standing most; Fairbank 2000 gives no weights, only the equal scoring).
_ODI_WEIGHTS = (1.2, 0.8, 1.3, 1.0, 0.9, 1.1, 1.0, 1.0, 1.0, 1.1)
# ASSUMPTION: the five painful-sites items are not equally affected by the index lesion.
_PAINFUL_SITES = (1.0, 0.8, 0.6, 0.5, 0.4)


def vas(ctx: FormContext) -> dict[str, Any]:
    return {"vas": clinical.decimal_1(ctx.pain())}


def nrs(ctx: FormContext) -> dict[str, Any]:
    return {"nrs": round(ctx.pain())}


def odi(ctx: FormContext) -> dict[str, Any]:
    # ODI % = 2 x the sum of 10 sections scored 0-5 (all answered): spread the target sum.
    total = min(50, max(0, round(ctx.disability() / 2)))
    weights = [w * ctx.draw.uniform(0.7, 1.3) for w in _ODI_WEIGHTS]
    scale = total / sum(weights)
    ideal = [w * scale for w in weights]
    points = [min(5, int(x)) for x in ideal]
    order = sorted(range(10), key=lambda i: ideal[i] - points[i], reverse=True)
    while sum(points) < total:
        for i in order:
            if sum(points) < total and points[i] < 5:
                points[i] += 1
    return {f"odi-q{i + 1:02}": f"s{i + 1}-{p}" for i, p in enumerate(points)}


def bm22(ctx: FormContext) -> dict[str, Any]:
    pain = ctx.pain() / 10
    disability = min(1.0, ctx.disability() / 100 * 1.5)

    def response(level: float) -> str:
        return str(min(4, max(1, round(1 + 3 * level + ctx.draw.normal(0, 0.45)))))

    answers: dict[str, Any] = {}
    for n, factor in zip(range(31, 36), _PAINFUL_SITES, strict=True):
        answers[f"bm22-q{n}"] = response(pain * factor)
    for n in range(36, 39):
        answers[f"bm22-q{n}"] = response(pain * 0.9)
    for n in range(39, 47):
        answers[f"bm22-q{n}"] = response(disability)
    for n in range(47, 53):
        answers[f"bm22-q{n}"] = response(0.5 * pain + 0.5 * disability)
    return answers


def medd(ctx: FormContext) -> dict[str, Any]:
    if ctx.baseline:
        # Before the procedure the patient takes what the EHR prescribes (same MEDD).
        return dict(opioids.medd_answers(ctx.state.regimen))
    population = ctx.profile.population.medd
    # ASSUMPTION without a target: follow-up use halves.
    default = fit(population.mean / 2, population.sd / 2, 0, population.max)
    key = ctx.forms.opioid or f"{ctx.form_id}.medd-total"
    marginal, _ = ctx.marginal(key, 0, None, default)
    target = marginal.at(ctx.trajectory.z("opioid", ctx.target_visit))
    regimen = opioids.regimen(ctx.draw, target, preferred=ctx.baseline_opioid)
    return dict(opioids.medd_answers(regimen))
