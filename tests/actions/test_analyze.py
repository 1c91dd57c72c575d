"""`edc analyze`: the refusals (nothing written), and the estimator checked against truth."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from edc import errors
from edc.actions import analyze as action
from edc.actions import lock
from edc.analysis import estimates
from tests.actions.sitetrial import STUDY, SiteTrial
from tests.actions.test_lock import PASSWORD, make_lockable
from tests.benchmarks.bench_analysis_coverage import TRUE_EFFECT, repeated_trial
from tests.benchmarks.bench_analysis_coverage import trial as two_arm_trial
from tests.fixtures.database import Database


@pytest.fixture
def trial(sqlite_database: Database, tmp_path: Path) -> SiteTrial:
    return make_lockable(sqlite_database, tmp_path)


def _analyze(trial: SiteTrial, out: Path, user: str, **options: object) -> action.AnalyzeResult:
    with trial.workspace(user) as workspace:
        request = action.AnalyzeRequest(STUDY, out, **options)  # type: ignore[arg-type]
        return action.analyze(trial.settings, workspace, request)


@pytest.mark.parametrize(
    ("user", "options", "locked", "message"),
    [
        ("unblinded", {}, False, "is not locked: nothing analysed"),
        ("stat", {}, True, "stat may not analyse by arm"),
        ("unblinded", {"endpoint": "no-such"}, True, "has no endpoint 'no-such'"),
        ("unblinded", {}, True, "is not unblinded: nothing analysed by arm"),
    ],
)
def test_refusals_write_nothing(
    trial: SiteTrial, tmp_path: Path, user: str, options: dict[str, object], locked: bool,
    message: str,
) -> None:  # fmt: skip
    if locked:
        with trial.workspace("dm") as workspace:
            lock.change(
                trial.settings, workspace, lock.LockRequest(STUDY, "lock", "final", PASSWORD)
            )
    with pytest.raises(errors.BadInputError, match=message):
        _analyze(trial, tmp_path / "out", user, **options)
    assert not (tmp_path / "out").exists()


def test_the_ancova_ci_covers_the_true_effect_about_95_percent_of_100_trials() -> None:
    covered = 0
    for seed in range(100):
        data = two_arm_trial(seed, 40)
        result = estimates.between_arms("e", "ancova", data, ("ARM-B", "ARM-A"), 0.05)
        assert result.ci_low is not None and result.ci_high is not None
        covered += result.ci_low <= TRUE_EFFECT <= result.ci_high
    # Binomial(100, 0.95): 89..100 holds with probability > 0.99.
    assert 89 <= covered <= 100


def test_within_arm_wilcoxon_and_between_arm_tests_on_one_trial() -> None:
    data = two_arm_trial(7, 40)
    for test in ("t-test", "mann-whitney"):
        result = estimates.between_arms("e", test, data, ("ARM-B", "ARM-A"), 0.05)
        assert result.estimate is not None and result.estimate < 0
        assert result.p_value is not None and result.p_value < 0.05
    within = estimates.within_arm("e", "ARM-A", data)
    assert within.n == 40 and within.p_value is not None and within.p_value < 0.001


def test_the_mixed_model_over_visits_covers_the_effect_at_the_primary_visit() -> None:
    """10 seeds here (the benchmark runs 100: --model mixed); Binomial(10, 0.95) >= 7 holds
    with probability > 0.99."""

    covered = 0
    for seed in range(10):
        data = repeated_trial(seed, 30)
        result = estimates.mixed_model("e", data, "W4", ("ARM-B", "ARM-A"), 0.05)
        assert result.test == "mixed-model" and result.n_compared == 30
        assert result.ci_low is not None and result.ci_high is not None
        covered += result.ci_low <= TRUE_EFFECT <= result.ci_high
    assert covered >= 7
    # One visit only: the ANCOVA at that visit.
    at_w4 = [r for r in repeated_trial(0, 30) if r.visit == "W4"]
    alone = estimates.mixed_model("e", at_w4, "W4", ("ARM-B", "ARM-A"), 0.05)
    ancova = estimates.between_arms(
        "e", "ancova", [r.observation for r in at_w4], ("ARM-B", "ARM-A"), 0.05
    )
    assert alone.estimate == ancova.estimate


def _responder_trial(seed: int, n: int, rates: dict[str, float]) -> list[estimates.Observation]:
    """Two arms whose subjects improve by 3 points (respond) with the arm's probability."""
    draw = random.Random(seed)
    return [
        estimates.Observation(arm, 7.0, -3.0 if draw.random() < rate else -1.0, "s")
        for arm, rate in rates.items()
        for _ in range(n)
    ]


def test_the_responder_rate_difference_ci_covers_the_truth_about_95_percent_of_100_trials() -> None:
    rule = estimates.ResponderRule("decrease", 2.0, None, "either")
    rates = {"ARM-B": 0.3, "ARM-A": 0.5}
    covered = 0
    for seed in range(100):
        data = _responder_trial(seed, 60, rates)
        result = estimates.responders("r", rule, data, ("ARM-B", "ARM-A"), 0.05, "chi-square")
        assert result.ci_low is not None and result.ci_high is not None
        assert result.difference == pytest.approx(
            result.responders_compared / 60 - result.responders_reference / 60
        )
        covered += result.ci_low <= 0.5 - 0.3 <= result.ci_high
    assert 89 <= covered <= 100
    exact = estimates.responders(
        "r", rule, _responder_trial(1, 20, {"ARM-B": 0.1, "ARM-A": 0.9}), ("ARM-B", "ARM-A"),
        0.05, "fisher-exact",
    )  # fmt: skip
    assert exact.test == "fisher-exact" and exact.p_value is not None and exact.p_value < 0.001


def test_responder_rules_by_points_percent_either_or_both() -> None:
    points = estimates.ResponderRule("decrease", 2.0, None, "either")
    both = estimates.ResponderRule("decrease", 2.0, 50.0, "both")
    either = dataclasses.replace(both, combine="either")
    assert points.responds(8.0, -2.0) and not points.responds(8.0, -1.9)
    assert not both.responds(8.0, -3.0) and both.responds(4.0, -2.0)  # 3 of 8 is not 50%
    assert either.responds(8.0, -3.0) and either.responds(2.0, -1.0) and not either.responds(8, 0)
    assert estimates.ResponderRule("increase", None, 10.0, "either").responds(50.0, 5.0)


def test_a_plan_with_responders_and_a_mixed_model_over_visits(
    sqlite_database: Database, tmp_path: Path
) -> None:
    trial = make_lockable(
        sqlite_database, tmp_path,
        {"      test: ancova\n": "      test: mixed-model\n      visits: [D1, W2]\n"
                                   "      responder: {improvement: decrease, points: 2}\n"},
    )  # fmt: skip
    with trial.workspace("dm") as workspace:
        lock.change(trial.settings, workspace, lock.LockRequest(STUDY, "lock", "final", PASSWORD))
    with trial.workspace("unblinded") as workspace:
        lock.unblind_study(trial.settings, workspace, STUDY, "final analysis", PASSWORD)
    result = _analyze(trial, tmp_path / "out", "unblinded")
    header, row = (result.out / "responders.csv").read_text().splitlines()
    assert header.startswith("endpoint,reference,compared,n_reference,responders_reference")
    assert row.startswith("pain-w2,ARM-C,ARM-A,0,0,0,0,")  # nobody randomized: no estimate
    estimates_csv = (result.out / "estimates.csv").read_text().splitlines()
    assert estimates_csv[1].startswith("pain-w2,mixed-model,ARM-C,ARM-A,0,0,")
    assert "responders" in result.report.read_text()


def test_analyzing_the_same_lock_twice_gives_identical_bytes_with_figures(
    trial: SiteTrial, tmp_path: Path
) -> None:
    with trial.workspace("dm") as workspace:
        lock.change(trial.settings, workspace, lock.LockRequest(STUDY, "lock", "final", PASSWORD))
    with trial.workspace("unblinded") as workspace:
        lock.unblind_study(trial.settings, workspace, STUDY, "final analysis", PASSWORD)
    first = _analyze(trial, tmp_path / "first", "unblinded")
    second = _analyze(trial, tmp_path / "second", "unblinded")
    names = sorted(p.name for p in first.out.iterdir())
    assert names == sorted(p.name for p in second.out.iterdir())
    assert {"consort.svg", "ae_grades.svg", "report.html"} <= set(names)
    assert any(n.endswith("_by_visit.svg") for n in names)
    for name in names:
        assert (first.out / name).read_bytes() == (second.out / name).read_bytes(), name
    report = first.report.read_text()
    assert report.count("<svg") == sum(n.endswith(".svg") for n in names)
    assert "CONSORT flow" in report and "95% CI" in report


def test_the_first_seed_papers_pre_post_table_for_its_example_study(
    sqlite_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seed 000 (SPINE-PRD-01): VAS and ODI before and one week after, Wilcoxon signed-rank."""
    import csv

    from edc.actions import demo
    from edc.cli import main

    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EDC_DATABASE_URL", sqlite_database.url)
    monkeypatch.delenv("EDC_USER", raising=False)
    study = str(demo.example_study("spine-prd-01"))
    assert main(["demo", "--study", study, "--patients", "120", "--seed", "3"]) == 0
    (analysed,) = (tmp_path / "data" / "demo").glob("*/analysis-lock-*")
    with (analysed / "pre_post.csv").open() as handle:
        rows = {(r["endpoint"], r["arm"]): r for r in csv.DictReader(handle)}
    for endpoint in ("vas-w1", "odi-w1"):
        row = rows[(endpoint, "ARM-A")]  # the paper's single arm: resection + vertebroplasty
        assert (row["before_visit"], row["after_visit"]) == ("BL", "W1")
        assert int(row["n"]) >= 6  # the exact test can reach p < 0.05
        # Pain and disability fall after the procedure, significantly within the arm.
        assert float(row["after_mean"]) < float(row["before_mean"])
        assert float(row["before_sd"]) > 0 and float(row["p_value"]) < 0.05
    assert "pre post" in (analysed / "report.html").read_text()
