"""Endpoint estimates between two arms, and within-arm change, with the well-kept libraries.

- ``ancova``: change from baseline on arm + baseline (+ stratum when it has more than one
  level), ordinary least squares (statsmodels); the arm's coefficient is the adjusted
  difference, with its (1 - alpha) confidence interval and p-value.
- ``mixed-model`` with the endpoint's ``visits``: a linear mixed model over those visits
  (statsmodels MixedLM, REML): change on arm, visit, arm x visit, baseline (+ stratum), with a
  random intercept per subject (the repeated-measures correlation; statsmodels has no
  unstructured residual covariance, so this is not a full MMRM). The endpoint's visit is the
  visits' reference level, so the arm's coefficient is the difference at that visit. Without
  ``visits``, or when the model cannot be fitted, it is the ANCOVA at the visit.
- ``t-test``: Welch's t-test (scipy) on the change; the difference of means, CI from Welch.
- ``mann-whitney``: Mann-Whitney U (scipy); the difference of medians, no CI.
- within each arm, the Wilcoxon signed-rank test of the change (as the seed papers report).
- responders (an endpoint whose plan defines them): the proportion of responders per arm and
  their difference (compared - reference) with Newcombe's hybrid score interval (statsmodels;
  it keeps its coverage with small arms and rates near 0 or 1, where the Wald interval does
  not), the p-value by Fisher's exact test when the plan says ``fisher-exact``, else Pearson's
  chi-square without continuity correction.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True)
class Observation:
    arm: str
    base: float
    change: float
    stratum: str


@dataclasses.dataclass(frozen=True)
class Estimate:
    endpoint: str
    test: str
    reference: str
    compared: str
    n_reference: int
    n_compared: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None


@dataclasses.dataclass(frozen=True)
class WithinArm:
    endpoint: str
    arm: str
    n: int
    mean_base: float | None
    mean_change: float | None
    p_value: float | None  # Wilcoxon signed-rank of the change


def between_arms(
    endpoint: str, test: str, data: Sequence[Observation], arms: tuple[str, str], alpha: float
) -> Estimate:
    reference, compared = arms
    ref = [o for o in data if o.arm == reference]
    cmp_ = [o for o in data if o.arm == compared]
    empty = Estimate(
        endpoint, test, reference, compared, len(ref), len(cmp_), None, None, None, None
    )
    if len(ref) < 2 or len(cmp_) < 2:
        return empty
    if test in ("ancova", "mixed-model"):
        return _ancova(endpoint, test, ref, cmp_, reference, compared, alpha)
    from scipy import stats

    a = [o.change for o in ref]
    b = [o.change for o in cmp_]
    if test == "mann-whitney":
        result = stats.mannwhitneyu(b, a, alternative="two-sided")
        difference = float(_median(b) - _median(a))
        return dataclasses.replace(empty, estimate=difference, p_value=float(result.pvalue))
    welch = stats.ttest_ind(b, a, equal_var=False)
    low, high = welch.confidence_interval(1 - alpha)
    difference = float(sum(b) / len(b) - sum(a) / len(a))
    return dataclasses.replace(
        empty, estimate=difference, ci_low=float(low), ci_high=float(high),
        p_value=float(welch.pvalue),
    )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Repeated:
    """One subject's change at one visit (a mixed model's row)."""

    subject: str
    visit: str
    observation: Observation


def mixed_model(
    endpoint: str,
    data: Sequence[Repeated],
    visit: str,
    arms: tuple[str, str],
    alpha: float,
) -> Estimate:
    """The arm difference at ``visit`` from a random-intercept model over every visit given."""
    import warnings

    import numpy as np
    import statsmodels.api as sm

    compared = arms[1]
    rows = [r for r in data if r.observation.arm in arms]
    at_visit = [r.observation for r in rows if r.visit == visit]
    fallback = between_arms(endpoint, "mixed-model", at_visit, arms, alpha)
    others = sorted({r.visit for r in rows} - {visit})
    subjects = sorted({r.subject for r in rows})
    if not others or len(subjects) < 4 or fallback.estimate is None:
        return fallback
    strata = sorted({r.observation.stratum for r in rows})
    columns = [
        [1.0 for _ in rows],
        [1.0 if r.observation.arm == compared else 0.0 for r in rows],
        [r.observation.base for r in rows],
    ]
    for other in others:
        columns.append([1.0 if r.visit == other else 0.0 for r in rows])
        columns.append(
            [1.0 if r.visit == other and r.observation.arm == compared else 0.0 for r in rows]
        )
    for level in strata[1:]:
        columns.append([1.0 if r.observation.stratum == level else 0.0 for r in rows])
    design = np.array(columns).T
    outcome = np.array([r.observation.change for r in rows])
    groups = np.array([subjects.index(r.subject) for r in rows])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence notes; a bad fit is caught below
            fit = sm.MixedLM(outcome, design, groups=groups).fit(reml=True)
        low, high = fit.conf_int(alpha)[1]
        estimate, p = float(fit.params[1]), float(fit.pvalues[1])
    except (np.linalg.LinAlgError, ValueError):
        return fallback
    if not all(math.isfinite(v) for v in (estimate, low, high, p)):
        return fallback
    return dataclasses.replace(
        fallback, estimate=estimate, ci_low=float(low), ci_high=float(high), p_value=p
    )


def _ancova(
    endpoint: str, test: str, ref: Sequence[Observation], cmp_: Sequence[Observation],
    reference: str, compared: str, alpha: float,
) -> Estimate:  # fmt: skip
    import numpy as np
    import statsmodels.api as sm

    rows = [*ref, *cmp_]
    strata = sorted({o.stratum for o in rows})
    columns = [
        [1.0 for _ in rows],
        [1.0 if o.arm == compared else 0.0 for o in rows],
        [o.base for o in rows],
    ]
    for level in strata[1:]:  # dummy coding, the first level as reference
        columns.append([1.0 if o.stratum == level else 0.0 for o in rows])
    design = np.array(columns).T
    outcome = np.array([o.change for o in rows])
    fit = sm.OLS(outcome, design).fit()
    if not math.isfinite(float(fit.bse[1])):
        return Estimate(
            endpoint, test, reference, compared, len(ref), len(cmp_), None, None, None, None
        )
    low, high = fit.conf_int(alpha)[1]
    return Estimate(
        endpoint, test, reference, compared, len(ref), len(cmp_), float(fit.params[1]),
        float(low), float(high), float(fit.pvalues[1]),
    )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class ResponderRule:
    """Who responds (``edc.protocol.model.Responder``): an improvement from baseline of at
    least ``points``, or ``percent`` of the baseline, or both (``combine``)."""

    improvement: str  # "decrease" | "increase"
    points: float | None
    percent: float | None
    combine: str  # "either" | "both"

    def responds(self, base: float, change: float) -> bool:
        gain = -change if self.improvement == "decrease" else change
        checks = []
        if self.points is not None:
            checks.append(gain >= self.points)
        if self.percent is not None:
            checks.append(base != 0 and gain / abs(base) * 100 >= self.percent)
        return all(checks) if self.combine == "both" else any(checks)


@dataclasses.dataclass(frozen=True)
class Responders:
    endpoint: str
    reference: str
    compared: str
    n_reference: int
    responders_reference: int
    n_compared: int
    responders_compared: int
    difference: float | None  # rate compared - rate reference
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    test: str


def responders(
    endpoint: str,
    rule: ResponderRule,
    data: Sequence[Observation],
    arms: tuple[str, str],
    alpha: float,
    test: str,
) -> Responders:
    reference, compared = arms
    counts = []
    for arm in arms:
        mine = [o for o in data if o.arm == arm]
        counts.append((len(mine), sum(rule.responds(o.base, o.change) for o in mine)))
    (n_ref, r_ref), (n_cmp, r_cmp) = counts
    method = "fisher-exact" if test == "fisher-exact" else "chi-square"
    result = Responders(
        endpoint, reference, compared, n_ref, r_ref, n_cmp, r_cmp, None, None, None, None, method
    )
    if n_ref == 0 or n_cmp == 0:
        return result
    from scipy import stats
    from statsmodels.stats.proportion import confint_proportions_2indep

    low, high = confint_proportions_2indep(
        r_cmp, n_cmp, r_ref, n_ref, method="newcomb", compare="diff", alpha=alpha
    )
    table = [[r_cmp, n_cmp - r_cmp], [r_ref, n_ref - r_ref]]
    p: float | None
    if method == "fisher-exact":
        p = float(stats.fisher_exact(table).pvalue)
    elif min(r_cmp + r_ref, n_cmp + n_ref - r_cmp - r_ref) == 0:
        p = 1.0  # nobody (or everybody) responded: no difference to test
    else:
        p = float(stats.chi2_contingency(table, correction=False).pvalue)
    return dataclasses.replace(
        result, difference=r_cmp / n_cmp - r_ref / n_ref, ci_low=float(low), ci_high=float(high),
        p_value=p,
    )  # fmt: skip


def within_arm(endpoint: str, arm: str, data: Sequence[Observation]) -> WithinArm:
    mine = [o for o in data if o.arm == arm]
    if not mine:
        return WithinArm(endpoint, arm, 0, None, None, None)
    from scipy import stats

    changes = [o.change for o in mine]
    p = None
    if any(c != 0 for c in changes) and len(mine) >= 2:
        p = float(stats.wilcoxon(changes).pvalue)
    return WithinArm(
        endpoint, arm, len(mine), sum(o.base for o in mine) / len(mine),
        sum(changes) / len(changes), p,
    )  # fmt: skip


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


@dataclasses.dataclass(frozen=True)
class PrePost:
    """One arm's values before and after, as the single-arm seed papers tabulate them."""

    endpoint: str
    arm: str
    n: int
    before: tuple[float, float] | None  # (mean, SD)
    after: tuple[float, float] | None
    statistic: float | None  # the Wilcoxon signed-rank statistic of after - before
    p_value: float | None


def pre_post(endpoint: str, arm: str, data: Sequence[Observation]) -> PrePost:
    """Mean and SD before (the baseline) and after (baseline + change), Wilcoxon signed-rank."""
    mine = [o for o in data if o.arm == arm]
    if len(mine) < 2:
        return PrePost(endpoint, arm, len(mine), None, None, None, None)
    import statistics

    from scipy import stats

    before = [o.base for o in mine]
    after = [o.base + o.change for o in mine]
    statistic = p = None
    if any(o.change != 0 for o in mine):
        test = stats.wilcoxon([o.change for o in mine])
        statistic, p = float(test.statistic), float(test.pvalue)
    return PrePost(
        endpoint, arm, len(mine),
        (statistics.fmean(before), statistics.stdev(before)),
        (statistics.fmean(after), statistics.stdev(after)),
        statistic, p,
    )  # fmt: skip
