"""A received form whose stored score the answers do not give asks the site: the monitoring
run after the sync opens a query on the score, a corrected version closes it, a version that
breaks again reopens it. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from edc.actions import score_queries, sync
from edc.clock import FixedClock
from edc.library import scoring
from tests.sync import trialdata
from tests.sync.conftest import Warehouse

STUDY = "MINI-01"


def _sync(warehouse: Warehouse, source: Path, clock: FixedClock) -> None:
    sync.sync(warehouse.settings, sync.SyncRequest(study=STUDY, source_dir=source), clock=clock)


def _with_total(response: dict[str, Any], total: float, version: int) -> dict[str, Any]:
    copy: dict[str, Any] = orjson.loads(orjson.dumps(response))
    copy["meta"] = {"versionId": str(version), "lastUpdated": f"2026-03-0{version}T00:00:00Z"}
    copy["item"] = [i for i in copy["item"] if i["linkId"] != "odi-total"]
    copy["item"].append({"linkId": "odi-total", "answer": [{"valueDecimal": total}]})
    return copy


def _append(source: Path, resource: dict[str, Any]) -> None:
    with (source / "QuestionnaireResponse.ndjson").open("ab") as stream:
        stream.write(orjson.dumps(resource) + b"\n")


def _queries(warehouse: Warehouse) -> list[tuple[object, ...]]:
    return warehouse.rows(
        "SELECT q.origin, q.check_id, q.link_id, q.status, s.subject_code, q.response_id "
        "FROM data_query q JOIN subject s ON s.id = q.subject_id ORDER BY q.id"
    )


def _messages(warehouse: Warehouse) -> list[object]:
    return [m for (m,) in warehouse.rows("SELECT body FROM data_query_message ORDER BY id")]


def test_a_wrong_score_opens_a_query_that_the_corrected_form_closes(
    warehouse: Warehouse, tmp_path: Path, clock: FixedClock
) -> None:
    trial = trialdata.build(warehouse.study.checked.compiled, 2)
    responses = trial.resources["QuestionnaireResponse"]
    odi = next(i for i, r in enumerate(responses) if "odi" in str(r["questionnaire"]))
    week_1 = responses[odi + 2]  # the same subject's week-1 ODI
    answers = {
        item["linkId"]: item["answer"][0]["valueCoding"]["code"]
        for item in week_1["item"]
        if item["linkId"].startswith("odi-q")
    }
    true_total = scoring.score("odi", "odi-total", answers)
    assert true_total is not None and true_total != 99
    responses[odi + 2] = _with_total(week_1, 99.0, 1)
    source = trial.write(tmp_path / "export")

    _sync(warehouse, source, clock)

    assert _queries(warehouse) == [
        ("edit_check", score_queries.CHECK_ID, "odi-total", "open", "01-t-0000", None)
    ]
    assert "received 99" in str(_messages(warehouse)[0])
    (problem,) = warehouse.rows("SELECT id FROM data_problem WHERE kind = 'score_mismatch'")
    assert warehouse.rows("SELECT data_problem_id FROM data_query") == [problem]
    _sync(warehouse, source, clock)  # nothing new: nothing changes
    assert len(_queries(warehouse)) == 1 and len(_messages(warehouse)) == 1

    _append(source, _with_total(week_1, float(true_total), 2))
    _sync(warehouse, source, clock)
    assert [row[3] for row in _queries(warehouse)] == ["closed"]
    assert _messages(warehouse)[-1] == score_queries.CORRECTED

    _append(source, _with_total(week_1, 98.0, 3))
    _sync(warehouse, source, clock)
    assert [row[3] for row in _queries(warehouse)] == ["open"]  # the same query, reopened
    assert "received 98" in str(_messages(warehouse)[-1])
    moves = warehouse.rows(
        "SELECT new_value FROM audit_event WHERE table_name = 'data_query' AND field = 'status' "
        "ORDER BY seq"
    )
    assert [orjson.loads(str(v)) for (v,) in moves] == ["closed", "open"]
    assert warehouse.chain_ok()
