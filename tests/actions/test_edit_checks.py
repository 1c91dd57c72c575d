"""Edit checks on the demo's generated trial (both databases): a failing check opens a data
query on the exact data point, corrected data closes it, data that breaks again reopens it;
running again changes nothing; each move is in the audit trail and queued as a Task."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import text

from edc import config
from edc.actions import entry, monitor, queries
from edc.actions.edit_checks import CheckRun
from edc.actions.workspace import Workspace
from edc.clock import FixedClock
from edc.protocol.edit_checks import EditCheck
from edc.warehouse import audit
from tests.actions.test_demo import env, run_demo
from tests.actions.test_monitor import AFTER_THE_TRIAL, unlock
from tests.fixtures.database import Database

__all__ = ["env"]
STUDY = "SPINE-MWA-01"
LIMIT = 8
CHECKS = (
    EditCheck(
        id="vas-high",
        form="vas",
        expression=f"%resource.item.where(linkId='vas').answer.value <= {LIMIT}",
        severity="warning",
        message=f"VAS above {LIMIT}: please confirm against the source.",
    ),
    # Across forms, a built-in one too: whoever filled in an ODI has a VAS, and any adverse
    # event form of theirs names a term (true in the demo: never a query).
    EditCheck(
        id="odi-with-vas",
        form="odi",
        expression="%vas.exists() and %ae.all(item.exists())",
        message="No VAS, or an empty adverse event form.",
    ),
)


def _run(settings: config.Settings, when: dt.datetime) -> CheckRun:
    """The engine as after a sync, on the demo's study given ``CHECKS``."""
    with Workspace.open(settings, clock=FixedClock(when), user=monitor.SYSTEM_ACTOR) as workspace:
        with workspace.transaction() as session:
            study = workspace.study(session, STUDY)
            protocol = study.protocol.model_copy(update={"edit_checks": CHECKS})
            study = dataclasses.replace(study, protocol=protocol)
            audit.bind(session, actor=monitor.SYSTEM_ACTOR, role="system", clock=workspace.clock)
            return monitor.run_engine(session, study, when).checks


def _vas(resource: dict[str, Any]) -> float:
    [item] = [i for i in resource["item"] if i["linkId"] == "vas"]
    return float(item["answer"][0]["valueDecimal"])


def _rows(database: Database, sql: str, **params: Any) -> list[Any]:
    with database.engine.connect() as connection:
        return list(connection.execute(text(sql), params).all())


def _correct(
    settings: config.Settings, source: str, resource: dict[str, Any], vas: float, version: int
) -> None:
    changed = json.loads(json.dumps(resource))
    changed["meta"] = {"versionId": str(version)}  # as the site's server would number it
    [item] = [i for i in changed["item"] if i["linkId"] == "vas"]
    item["answer"] = [{"valueDecimal": vas}]
    with Workspace.open(settings) as workspace:
        entry.ingest_entered(
            workspace.engine,
            study_code=STUDY,
            source=source,
            resource=changed,
            person=entry.Person("demo-coordinator-01", "site_staff"),
            clock=FixedClock(AFTER_THE_TRIAL),
            reason="transcription error",
        )


def test_a_failing_check_opens_closes_and_reopens_its_query(env: Path, database: Database) -> None:
    assert run_demo("--defect-rate", "0") == 0
    settings = config.Settings(database_url=database.url, data_dir=env)
    unlock(settings)
    vas_rows = _rows(
        database,
        "SELECT f.id, f.subject_id, r.source, r.json_text FROM form_response f "
        "JOIN raw_resource r ON r.id = f.raw_resource_id "
        "WHERE f.questionnaire_url LIKE '%-vas' ORDER BY f.id",
    )
    high = {
        fid: (sid, src, json.loads(j))
        for fid, sid, src, j in vas_rows
        if _vas(json.loads(j)) > LIMIT
    }
    assert high, "the demo has VAS scores above the limit"
    first = _run(settings, AFTER_THE_TRIAL)
    assert (first.failing, first.opened, first.closed, first.reopened) == (
        len(high),
        len(high),
        0,
        0,
    )
    asked = _rows(
        database,
        "SELECT response_id, subject_id, link_id, origin, check_id, status FROM data_query",
    )
    assert sorted(asked) == sorted(
        (fid, sid, "vas", "edit_check", "vas-high", "open") for fid, (sid, _, _) in high.items()
    )
    assert _run(settings, AFTER_THE_TRIAL) == CheckRun(len(high), 0, 0, 0)  # nothing changed

    response_id = min(high)
    _, source, resource = high[response_id]
    (query_id,) = _rows(
        database, "SELECT id FROM data_query WHERE response_id = :r", r=response_id
    )[0]
    _correct(settings, source, resource, 4.0, 101)
    assert _run(settings, AFTER_THE_TRIAL) == CheckRun(len(high) - 1, 0, 1, 0)
    _correct(settings, source, resource, 9.5, 102)
    assert _run(settings, AFTER_THE_TRIAL) == CheckRun(len(high), 0, 0, 1)
    assert _run(settings, AFTER_THE_TRIAL) == CheckRun(len(high), 0, 0, 0)

    moves = _rows(
        database,
        "SELECT actor, role, new_value, reason FROM audit_event WHERE table_name = 'data_query' "
        "AND field = 'status' AND record_id = :id ORDER BY seq",
        id=str(query_id),
    )
    assert [(a, r, json.loads(v)) for a, r, v, _ in moves] == [
        (monitor.SYSTEM_ACTOR, "system", "closed"),
        (monitor.SYSTEM_ACTOR, "system", "open"),
    ]
    assert "corrected data arrived" in moves[0][3] and "fails again" in moves[1][3]
    messages = _rows(
        database,
        "SELECT body FROM data_query_message WHERE data_query_id = :id ORDER BY id",
        id=query_id,
    )
    assert [m for (m,) in messages][1:] == [
        "corrected data arrived",
        f"fails again: VAS above {LIMIT}: please confirm against the source.",
    ]
    # A query a person closes stays closed while the data are unchanged.
    with Workspace.open(settings, user="demo-monitor") as workspace:
        queries.move(workspace, queries.MoveRequest(STUDY, query_id, "close", "source agrees"))
    assert _run(settings, AFTER_THE_TRIAL) == CheckRun(len(high), 0, 0, 0)


def test_an_ae_response_with_a_grade_its_term_lacks_opens_a_query(
    env: Path, database: Database
) -> None:
    # The AE form's built-in rules (issue 12 item 4) run with the protocol's edit checks: an
    # AE response from another renderer (Back pain, grades 1-3, at grade 4) is asked about.
    assert run_demo("--defect-rate", "0") == 0
    settings = config.Settings(database_url=database.url, data_dir=env)
    unlock(settings)
    before = _run(settings, AFTER_THE_TRIAL)
    # A VAS response of the 24-hour visit (whose forms include the AE form), made an AE form.
    _, _, source, text_ = _rows(
        database,
        "SELECT f.id, f.subject_id, r.source, r.json_text FROM form_response f "
        "JOIN raw_resource r ON r.id = f.raw_resource_id "
        "WHERE f.questionnaire_url LIKE '%-vas' AND f.visit_id = 'H24' ORDER BY f.id",
    )[0]
    response = json.loads(text_)
    response["id"] = "ae-from-another-renderer"
    response["meta"] = {"versionId": "1"}
    response["questionnaire"] = response["questionnaire"].replace("-vas|", "-ae|")
    ncit = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
    response["item"] = [
        {"linkId": "ae-term", "answer": [{"valueCoding": {
            "system": "https://www.meddra.org", "code": "10003988", "display": "Back pain"}}]},
        {"linkId": "ae-verbatim", "answer": [{"valueString": "back pain"}]},
        {"linkId": "ae-onset", "answer": [{"valueDate": response["authored"][:10]}]},
        {"linkId": "ae-grade", "answer": [{"valueCoding": {"system": ncit, "code": "C41337"}}]},
        {"linkId": "ae-serious", "answer": [{"valueBoolean": False}]},
        {"linkId": "ae-relatedness",
         "answer": [{"valueCoding": {"system": ncit, "code": "C53258"}}]},
        {"linkId": "ae-outcome", "answer": [{"valueCoding": {"system": ncit, "code": "C49494"}}]},
    ]  # fmt: skip
    with Workspace.open(settings) as workspace:
        entry.ingest_entered(
            workspace.engine,
            study_code=STUDY,
            source=source,
            resource=response,
            person=entry.Person("demo-coordinator-01", "site_staff"),
            clock=FixedClock(AFTER_THE_TRIAL),
        )
    after = _run(settings, AFTER_THE_TRIAL)
    assert (after.failing, after.opened) == (before.failing + 1, 1)
    asked = _rows(
        database,
        "SELECT link_id, check_id, status FROM data_query WHERE check_id LIKE 'ae-%'",
    )
    assert asked == [("ae-grade", "ae-grade-defined", "open")]
