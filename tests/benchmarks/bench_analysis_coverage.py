"""Benchmark-style check of the primary estimate against truth: CI coverage over seeds.

Not a test (pytest does not collect ``bench_*.py``). Run from the repository root::

    .venv/bin/python -m tests.benchmarks.bench_analysis_coverage --seeds 100
    .venv/bin/python -m tests.benchmarks.bench_analysis_coverage --seeds 100 --model mixed

Each seed draws a two-arm trial with a known treatment effect on the change from baseline (plus
baseline and stratum effects and noise), estimates it with edc's ANCOVA (``edc.analysis``)
and checks whether the 95% CI covers the truth. Prints the coverage (target: about 95%), the
mean estimate against the true effect, and the time per estimate against fitting the same
model with numpy's least squares alone (the baseline, same process). ``--model mixed`` draws
three visits per subject with a subject effect (the treatment effect grows to the truth by the
primary visit W4) and estimates it with edc's mixed model over the visits.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from edc.analysis import estimates

TRUE_EFFECT = -1.5


def trial(seed: int, per_arm: int) -> list[estimates.Observation]:
    draw = random.Random(seed)
    rows = []
    for index in range(2 * per_arm):
        arm = "ARM-A" if index % 2 else "ARM-B"
        stratum = draw.choice(["low", "high"])
        base = draw.gauss(6.5, 1.2)
        change = (
            -2.0 - 0.3 * (base - 6.5) + (0.4 if stratum == "high" else 0.0)
            + (TRUE_EFFECT if arm == "ARM-A" else 0.0) + draw.gauss(0, 1.0)
        )  # fmt: skip
        rows.append(estimates.Observation(arm, base, change, stratum))
    return rows


def repeated_trial(seed: int, per_arm: int) -> list[estimates.Repeated]:
    """Three visits per subject, a random subject effect; the effect at W4 is the truth."""
    draw = random.Random(seed)
    rows = []
    for index in range(2 * per_arm):
        arm = "ARM-A" if index % 2 else "ARM-B"
        base, subject = draw.gauss(6.5, 1.2), draw.gauss(0, 0.8)
        for visit, share in (("W1", 0.5), ("W4", 1.0), ("W12", 1.0)):
            change = (
                -2.0 - 0.3 * (base - 6.5) + subject
                + (TRUE_EFFECT * share if arm == "ARM-A" else 0.0) + draw.gauss(0, 1.0)
            )  # fmt: skip
            observation = estimates.Observation(arm, base, change, "all")
            rows.append(estimates.Repeated(f"s{index}", visit, observation))
    return rows


def mixed(seeds: int, per_arm: int) -> None:
    covered, found = 0, []
    started = time.perf_counter()
    for seed in range(seeds):
        data = repeated_trial(seed, per_arm)
        result = estimates.mixed_model("primary", data, "W4", ("ARM-B", "ARM-A"), 0.05)
        assert result.ci_low is not None and result.ci_high is not None
        assert result.estimate is not None
        covered += result.ci_low <= TRUE_EFFECT <= result.ci_high
        found.append(result.estimate)
    seconds = time.perf_counter() - started
    print(f"mixed model: 95% CI covered the true effect {TRUE_EFFECT} at W4 in {covered} of "
          f"{seeds} trials ({100 * covered / seeds:.0f}%; target about 95%)")  # fmt: skip
    print(f"mean estimate {statistics.fmean(found):.3f} (true {TRUE_EFFECT}); "
          f"{1000 * seconds / seeds:.0f} ms per fit")  # fmt: skip


def baseline_fit(data: list[estimates.Observation]) -> float:
    import numpy as np

    design = np.array(
        [[1.0, 1.0 if o.arm == "ARM-A" else 0.0, o.base, 1.0 if o.stratum == "low" else 0.0]
         for o in data]
    )  # fmt: skip
    coefficients, *_ = np.linalg.lstsq(design, np.array([o.change for o in data]), rcond=None)
    return float(coefficients[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--per-arm", type=int, default=40)
    parser.add_argument("--model", choices=("ancova", "mixed"), default="ancova")
    args = parser.parse_args()
    if args.model == "mixed":
        mixed(args.seeds, args.per_arm)
        return
    trials = [trial(seed, args.per_arm) for seed in range(args.seeds)]
    covered, found = 0, []
    started = time.perf_counter()
    for data in trials:
        result = estimates.between_arms("primary", "ancova", data, ("ARM-B", "ARM-A"), 0.05)
        assert result.ci_low is not None and result.ci_high is not None
        assert result.estimate is not None
        covered += result.ci_low <= TRUE_EFFECT <= result.ci_high
        found.append(result.estimate)
    edc_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for data in trials:
        baseline_fit(data)
    numpy_seconds = time.perf_counter() - started
    print(f"95% CI covered the true effect {TRUE_EFFECT} in {covered} of {args.seeds} trials "
          f"({100 * covered / args.seeds:.0f}%; target about 95%)")  # fmt: skip
    print(f"mean estimate {statistics.fmean(found):.3f} (true {TRUE_EFFECT})")
    print(f"per estimate: edc ANCOVA {1000 * edc_seconds / args.seeds:.2f} ms, numpy lstsq "
          f"{1000 * numpy_seconds / args.seeds:.2f} ms "
          f"({edc_seconds / max(numpy_seconds, 1e-9):.1f}x the baseline)")  # fmt: skip


if __name__ == "__main__":
    main()
