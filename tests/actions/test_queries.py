"""`edc query`: a monitor asks, the site answers, the monitor closes; each state a Task.

Run on the demo's trial (both databases): roles are enforced (a monitor cannot answer as the
site, a site user cannot close, another site's user cannot answer), bad input is exit 2 with
nothing written, every move is audited with the person, and the outbox holds one pending Task
per query whose status follows the query's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from edc import config
from edc.cli import main
from tests.actions.test_demo import env, run_demo
from tests.actions.test_monitor import unlock
from tests.fixtures.database import Database

__all__ = ["env"]
STUDY = "SPINE-MWA-01"


def _q(user: str, *args: str) -> int:
    return main(["--user", user, "query", *args])


def _count(database: Database, sql: str) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def test_query_workflow_roles_audit_and_task_then_sdv(
    env: Path, database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_demo("--defect-rate", "0") == 0
    unlock(config.Settings(database_url=database.url, data_dir=env))
    with database.engine.connect() as connection:
        subject, url = connection.execute(
            text(
                "SELECT s.subject_code, f.questionnaire_url FROM form_response f "
                "JOIN subject s ON s.id = f.subject_id JOIN site t ON t.id = s.site_id "
                "WHERE t.code = '01' AND f.visit_id = 'W4' AND f.questionnaire_url LIKE '%-vas' "
                "ORDER BY s.subject_code"
            )
        ).first()  # type: ignore[misc]
    assert url.endswith("-vas")
    capsys.readouterr()
    opening = ["open", "--study", STUDY, "--subject", subject, "--form", "vas", "--visit", "W4"]
    # Unknown subject, form, item; a site user opening: exit 2, nothing written.
    bad = [
        ("demo-monitor", ["open", "--study", STUDY, "--subject", "99-9999", "-m", "x"]),
        ("demo-monitor", [*opening[:6], "--form", "nope", "-m", "x"]),
        ("demo-monitor", [*opening, "--item", "no-such-item", "-m", "x"]),
        ("demo-coordinator-01", [*opening, "--item", "vas", "-m", "x"]),
    ]
    for user, args in bad:
        assert _q(user, *args) == 2, args
    assert _count(database, "SELECT count(*) FROM data_query") == 0
    assert _q("demo-monitor", *opening, "--item", "vas", "-m", "Is 9 right?") == 0
    query_id = str(_count(database, "SELECT max(id) FROM data_query"))
    # A monitor cannot answer as the site; another site's coordinator cannot either.
    assert _q("demo-monitor", "answer", "--study", STUDY, query_id, "-m", "yes") == 2
    assert _q("demo-coordinator-02", "answer", "--study", STUDY, query_id, "-m", "yes") == 2
    assert _q("demo-coordinator-01", "close", "--study", STUDY, query_id) == 2
    assert _q("demo-coordinator-01", "answer", "--study", STUDY, query_id, "-m", "Chart: 9") == 0
    assert _q("demo-monitor", "reopen", "--study", STUDY, query_id, "-m", "Which chart?") == 0
    assert _q("demo-coordinator-01", "answer", "--study", STUDY, query_id, "-m", "ED note") == 0
    assert _q("demo-monitor", "close", "--study", STUDY, query_id) == 0
    assert _q("demo-monitor", "close", "--study", STUDY, query_id) == 2  # closed already
    assert _q("demo-monitor", "close", "--study", STUDY, "424242") == 2
    capsys.readouterr()
    assert _q("demo-monitor", "list", "--study", STUDY, "--format", "json") == 0
    listed = json.loads(capsys.readouterr().out)
    (line,) = listed["queries"]
    assert (line["status"], line["form"], line["item"], line["messages"]) == (
        "closed", "vas", "vas", 5,
    )  # fmt: skip
    site_01 = next(s for s in listed["sites"] if s["site"] == "01")
    assert (site_01["open"], site_01["closed"]) == (0, 1)
    with database.engine.connect() as connection:
        moves = connection.execute(
            text(
                "SELECT actor, role, new_value FROM audit_event WHERE table_name = 'data_query' "
                "AND field = 'status' AND record_id = :id ORDER BY seq"
            ),
            {"id": query_id},
        ).all()
        tasks = connection.execute(
            text("SELECT status, payload FROM outbox_message WHERE resource_type = 'Task'")
        ).all()
    assert [(a, r, json.loads(v)) for a, r, v in moves] == [
        ("demo-coordinator-01", "site_staff", "answered"),
        ("demo-monitor", "monitor", "open"),
        ("demo-coordinator-01", "site_staff", "answered"),
        ("demo-monitor", "monitor", "closed"),
    ]
    pending = [json.loads(p) for s, p in tasks if s == "pending"]
    assert len(tasks) == 5 and len(pending) == 1
    (task,) = pending
    assert task["status"] == "completed"
    assert task["focus"]["reference"].startswith("QuestionnaireResponse/")
    assert task["input"] == [{"type": {"text": "linkId"}, "valueString": "vas"}]
    assert [n["text"] for n in task["note"]][:2] == ["Is 9 right?", "Chart: 9"]
    _check_sdv(database, capsys, subject)
    _query_on_a_deviation(database, capsys, subject)


def _query_on_a_deviation(
    database: Database, capsys: pytest.CaptureFixture[str], other: str
) -> None:
    with database.engine.connect() as connection:
        deviation, subject = connection.execute(
            text(
                "SELECT d.id, s.subject_code FROM deviation d "
                "JOIN subject s ON s.id = d.subject_id JOIN site t ON t.id = s.site_id "
                "WHERE t.code = '01' AND s.subject_code != :other "
                "ORDER BY d.id"
            ),
            {"other": other},
        ).first()  # type: ignore[misc]
    before = _count(database, "SELECT count(*) FROM data_query")
    on_it = ["open", "--study", STUDY, "--deviation", str(deviation)]
    # Unknown deviation, a deviation of another subject, no subject nor deviation: exit 2.
    assert _q("demo-monitor", "open", "--study", STUDY, "--deviation", "424242", "-m", "x") == 2
    assert _q("demo-monitor", *on_it, "--subject", other, "-m", "x") == 2
    assert _q("demo-monitor", "open", "--study", STUDY, "-m", "x") == 2
    assert _count(database, "SELECT count(*) FROM data_query") == before
    capsys.readouterr()
    assert _q("demo-monitor", *on_it, "-m", "Why was this visit late?", "--format", "json") == 0
    line = json.loads(capsys.readouterr().out)
    assert (line["subject"], line["deviation"], line["status"]) == (subject, deviation, "open")
    assert _count(database, f"SELECT deviation_id FROM data_query WHERE id = {line['id']}") == (
        deviation
    )


def _coverage(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, object]]:
    capsys.readouterr()
    assert (
        main(["--user", "demo-monitor", "sdv", "coverage", "--study", STUDY, "--format", "json"])
        == 0
    )
    return {s["site"]: s for s in json.loads(capsys.readouterr().out)["sites"]}


def _check_sdv(database: Database, capsys: pytest.CaptureFixture[str], subject: str) -> None:
    """SDV: a form mark verifies each of its answers; computed scores need none; roles."""
    before = _coverage(capsys)
    assert before["01"]["items_verified"] == 0
    needing = before["01"]["items_needing_sdv"]
    sdv = ["sdv", "mark", "--study", STUDY, "--subject", subject]
    assert main(["--user", "demo-coordinator-01", *sdv, "--form", "vas", "--visit", "W4"]) == 2
    assert main(["--user", "demo-monitor", *sdv, "--form", "vas", "--visit", "W4"]) == 0
    assert main(["--user", "demo-monitor", *sdv, "--form", "vas", "--visit", "W4"]) == 2
    assert main(["--user", "demo-monitor", *sdv, "--form", "vas", "--item", "nope"]) == 2
    with database.engine.connect() as connection:
        answers = connection.execute(
            text(
                "SELECT count(*) FROM item_value i JOIN sdv_mark m "
                "ON m.response_id = i.response_id WHERE i.answer_index = 0"
            )
        ).scalar_one()
        marks = connection.execute(text("SELECT count(*) FROM sdv_mark")).scalar_one()
    after = _coverage(capsys)
    assert marks == 1 and answers >= 1
    assert after["01"]["items_verified"] == answers
    assert after["01"]["items_needing_sdv"] == needing
    assert after["02"]["items_verified"] == 0
