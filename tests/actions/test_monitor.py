"""The deviation engine on the demo's generated trial: what it finds is what the generator did.

The demo (90 patients, seed 7) enrolls, randomizes and syncs a whole trial; the engine then runs
on a day after its end. Out-of-window visits equal the generator's ``truth/visits`` late and
early visits exactly; missed visits equal its missed ones, plus the visits after a withdrawal
(the demo's EHR carries no withdrawal record, so for edc those windows closed without a visit:
they are missed); late serious adverse event reports equal the generated AdverseEvents whose
``recordedDate`` is more than the protocol's 24 h after ``detected``. Re-running changes
nothing; a person's review is audited; a site user may not review.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path

import pytest
from sqlalchemy import text

from edc import config
from edc.actions import demo_lock, monitor, passwords
from edc.actions import lock as lock_action
from edc.actions.workspace import Workspace
from edc.cli import main
from edc.clock import FixedClock
from tests.actions.test_demo import demo_dir, env, run_demo
from tests.fixtures.database import Database

__all__ = ["env"]
STUDY = "SPINE-MWA-01"
AFTER_THE_TRIAL = dt.datetime(2031, 1, 1, tzinfo=dt.UTC)


def unlock(settings: config.Settings) -> None:
    """Unlock the study the demo locked at its end (signed by its data manager)."""
    password = secrets.token_urlsafe(18)
    with Workspace.open(settings, user=demo_lock.SIGNER) as workspace:
        passwords.set_password(
            workspace.maker, username=demo_lock.SIGNER, password=password, actor="test",
            role="system", clock=workspace.clock, reason="test signing password",
        )  # fmt: skip
        request = lock_action.LockRequest(STUDY, "unlock", "monitoring after the lock", password)
        lock_action.change(settings, workspace, request)


def _truth_visits(data_dir: Path) -> list[dict[str, object]]:
    lines = (demo_dir(data_dir) / "conduct-2-treatment" / "truth" / "visits.ndjson").read_text()
    return [json.loads(line) for line in lines.splitlines()]


def _late_sae_resources(data_dir: Path, hours: int) -> set[str]:
    path = demo_dir(data_dir) / "conduct-2-treatment" / "AdverseEvent.ndjson"
    late = set()
    for line in path.read_text().splitlines():
        resource = json.loads(line)
        serious = resource["seriousness"]["coding"][0]["code"] == "serious"
        detected = dt.datetime.fromisoformat(resource["detected"])
        recorded = dt.datetime.fromisoformat(resource["recordedDate"])
        if serious and recorded - detected > dt.timedelta(hours=hours):
            late.add(f"AdverseEvent/{resource['id']}")
    return late


def _found(workspace: Workspace, kind: str) -> list[monitor.DeviationLine]:
    return monitor.list_deviations(workspace, monitor.ListRequest(STUDY, kind=kind)).deviations


def test_deviations_found_equal_the_generators_truth(
    env: Path, database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_demo("--defect-rate", "0", "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    with database.engine.connect() as connection:
        open_now = connection.execute(
            text("SELECT count(*) FROM deviation WHERE status = 'open'")
        ).scalar_one()
    # The demo's syncs ran the engine: its report shows the open deviations per site.
    assert open_now > 0
    assert sum(site["deviations"] for site in report["sites"]) == open_now
    assert all(site["open_queries"] == 0 for site in report["sites"])
    settings = config.Settings(database_url=database.url, data_dir=env)
    truth = _truth_visits(env)
    with Workspace.open(
        settings, clock=FixedClock(AFTER_THE_TRIAL), user="demo-monitor"
    ) as workspace:
        # The demo ends with the study locked: the engine finds but writes nothing.
        locked = monitor.run(workspace, STUDY)
        assert locked.found > open_now and (locked.opened, locked.resolved) == (0, 0)
    unlock(settings)
    with Workspace.open(
        settings, clock=FixedClock(AFTER_THE_TRIAL), user="demo-monitor"
    ) as workspace:
        first = monitor.run(workspace, STUDY)
        again = monitor.run(workspace, STUDY)
        window = {
            (d.subject, d.evidence["visit"]) for d in _found(workspace, "visit_out_of_window")
        }  # type: ignore[index]
        missed = {(d.subject, d.evidence["visit"]) for d in _found(workspace, "missed_visit")}  # type: ignore[index]
        late = {
            ref
            for d in _found(workspace, "late_sae_report")
            for ref in d.evidence["refs"]  # type: ignore[index]
        }
    expected_window = {
        (r["subject"], r["visit"]) for r in truth if r["status"] in ("late", "early")
    }
    expected_missed = {
        (r["subject"], r["visit"]) for r in truth if r["status"] in ("missed", "withdrawn")
    }
    assert expected_window and window == expected_window
    assert any(r["status"] == "missed" for r in truth)
    assert missed == expected_missed
    expected_late = _late_sae_resources(env, 24)
    assert expected_late and late == expected_late
    # The same findings again: nothing new, nothing resolved, nothing updated.
    # The demo's syncs ran the engine already (today, before the trial's end: no missed visit).
    assert first.found > first.opened > 0
    assert (again.opened, again.updated, again.resolved, again.reopened) == (0, 0, 0, 0)
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT count(*) FROM deviation")).scalar_one()
    assert rows == first.found


def test_a_review_is_audited_and_a_site_user_may_not_review(
    env: Path, database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_demo("--defect-rate", "0") == 0
    capsys.readouterr()
    with database.engine.connect() as connection:
        first_open = connection.execute(
            text("SELECT min(id) FROM deviation WHERE status = 'open'")
        ).scalar_one()
    # Locked: a review is refused (exit 2), nothing written.
    assert main(
        ["--user", "demo-monitor", "monitor", "dismiss", "--study", STUDY,
         str(first_open), "--reason", "while locked"]
    ) == 2  # fmt: skip
    unlock(config.Settings(database_url=database.url, data_dir=env))
    assert main(["--user", "demo-monitor", "monitor", "run", "--study", STUDY]) == 0
    with database.engine.connect() as connection:
        deviation_id = connection.execute(
            text("SELECT min(id) FROM deviation WHERE status = 'open'")
        ).scalar_one()
        site_user = connection.execute(
            text(
                "SELECT u.username FROM user_account u JOIN role_assignment g ON g.user_id = u.id "
                "WHERE g.role = 'site_staff' ORDER BY u.username"
            )
        ).first()
    assert deviation_id is not None
    assert site_user is not None
    refused = main(
        ["--user", site_user[0], "monitor", "dismiss", "--study", STUDY,
         str(deviation_id), "--reason", "not one"]
    )  # fmt: skip
    assert refused == 2
    assert main(
        ["--user", "demo-monitor", "monitor", "dismiss", "--study", STUDY,
         str(deviation_id), "--reason", "visit moved by the sponsor's letter"]
    ) == 0  # fmt: skip
    # Dismissing twice is bad input; an unknown deviation too; nothing written by either.
    assert main(
        ["--user", "demo-monitor", "monitor", "dismiss", "--study", STUDY,
         str(deviation_id), "--reason", "again"]
    ) == 2  # fmt: skip
    assert main(
        ["--user", "demo-monitor", "monitor", "confirm", "--study", STUDY, "999999",
         "--reason", "x"]
    ) == 2  # fmt: skip
    with database.engine.connect() as connection:
        status, reason = connection.execute(
            text("SELECT status, status_reason FROM deviation WHERE id = :id"),
            {"id": deviation_id},
        ).one()
        audited = connection.execute(
            text(
                "SELECT actor, role, reason FROM audit_event WHERE table_name = 'deviation' "
                "AND record_id = :id AND field = 'status'"
            ),
            {"id": str(deviation_id)},
        ).all()
    assert (status, reason) == ("dismissed", "visit moved by the sponsor's letter")
    assert [tuple(a) for a in audited] == [
        ("demo-monitor", "monitor", "visit moved by the sponsor's letter")
    ]
    # A run changes nothing a person decided while the cause lasts.
    assert main(["--user", "demo-monitor", "monitor", "run", "--study", STUDY]) == 0
    with database.engine.connect() as connection:
        assert (
            connection.execute(
                text("SELECT status FROM deviation WHERE id = :id"), {"id": deviation_id}
            ).scalar_one()
            == "dismissed"
        )

    _check_report(env, capsys)


def _check_report(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The report agrees with the deviation list; html has its plots; bad site is exit 2."""
    report_args = ["--user", "demo-monitor", "monitor", "report", "--study", STUDY]
    capsys.readouterr()
    assert main([*report_args, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (
        main(["--user", "demo-monitor", "monitor", "list", "--study", STUDY, "--format", "json"])
        == 0
    )
    listed = json.loads(capsys.readouterr().out)["deviations"]
    live = [d for d in listed if d["status"] in ("open", "confirmed")]
    assert sum(s["deviations"] for s in report["sites"]) == len(live)
    for site in report["sites"]:
        flagged = [i["name"] for i in site["indicators"] if i["flagged"]]
        assert site["flagged"] == flagged
        rate = next(i for i in site["indicators"] if i["name"] == "deviations_per_100_visits")
        assert rate["flagged"] == (rate["value"] is not None and rate["value"] > rate["threshold"])
    out = env / "report.html"
    assert main([*report_args, "--format", "html", "-o", str(out)]) == 0
    page = out.read_text()
    assert page.count("<svg") == 2 and "Deviations per 100 subject-visits" in page
    again = env / "again.html"
    assert main([*report_args, "--format", "html", "-o", str(again)]) == 0
    # Same data, same page apart from the time it was made.
    assert page.split("</p>", 1)[1] == again.read_text().split("</p>", 1)[1]
    assert main([*report_args, "--site", "99"]) == 2
