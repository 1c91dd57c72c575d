"""`edc audit show --subject`: a subject's history by business keys, after a real sync."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from edc import errors
from edc.cli import main
from edc.clock import FixedClock
from edc.warehouse import audit, db
from edc.warehouse.tables import FormResponseRow, ItemValueRow, SubjectRow
from tests.sync import trialdata
from tests.sync.conftest import Warehouse


@pytest.fixture
def synced(sqlite_warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Two subjects synced from files; returns the first subject's code."""
    monkeypatch.setenv("EDC_DATABASE_URL", sqlite_warehouse.database.url)
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "data"))
    source = trialdata.build(sqlite_warehouse.study.checked.compiled, 2).write(tmp_path / "in")
    assert main(["sync", "--study", "MINI-01", "--source", str(source), "-q"]) == 0
    with sqlite_warehouse.database.sessionmaker() as session:
        codes = sorted(session.scalars(select(SubjectRow.subject_code)))
    return codes[0]


def show(capsys: pytest.CaptureFixture[str], *flags: str) -> list[dict[str, object]]:
    assert main(["audit", "show", *flags, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_a_subject_casebook_is_labelled_by_visit_and_form(
    synced: str, sqlite_warehouse: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = show(capsys, "--subject", synced)
    assert entries and {e["subject"] for e in entries} == {synced}
    assert {e["study"] for e in entries} == {"MINI-01"}
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)  # oldest first
    tables = {str(e["record"]).split(":")[0] for e in entries}
    # Synced forms: each received version's audit row, and their values derived from it.
    assert {"subject", "raw_resource", "item_value"} <= tables
    forms = {e["form"] for e in entries if e["form"]}
    assert forms and forms <= {"pain", "odi"}
    assert {e["visit"] for e in entries if e["form"]} <= {"BL", "W1", None}
    # Only this subject: another subject's records never appear.
    maker = sqlite_warehouse.database.sessionmaker
    with maker() as session:
        subject_id = session.scalar(select(SubjectRow.id).where(SubjectRow.subject_code == synced))
        mine = set(
            session.scalars(
                select(ItemValueRow.id)
                .join(FormResponseRow, FormResponseRow.id == ItemValueRow.response_id)
                .where(FormResponseRow.subject_id == subject_id)
            )
        )
    shown = {
        int(str(e["record"]).split(":")[1])
        for e in entries
        if str(e["record"]).startswith("item_value:")
    }
    assert shown == mine


def test_a_correction_shows_with_its_reason_and_filters_apply(
    synced: str, sqlite_warehouse: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FixedClock(dt.datetime(2031, 5, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))))
    maker = sqlite_warehouse.database.sessionmaker
    with db.transaction(maker) as session:
        audit.bind(session, actor="dr.li", role="investigator", clock=clock, reason="typo on paper")
        item = session.scalars(
            select(ItemValueRow)
            .join(FormResponseRow, FormResponseRow.id == ItemValueRow.response_id)
            .join(SubjectRow, SubjectRow.id == FormResponseRow.subject_id)
            .where(SubjectRow.subject_code == synced, ItemValueRow.value_type == "integer")
        ).first()
        assert item is not None
        item.value_text = "corrected"
        visit = session.get_one(FormResponseRow, item.response_id).visit_id
    later = show(capsys, "--subject", synced, "--since", "2031-05-01")
    assert len(later) == 1
    (entry,) = later
    assert (entry["actor"], entry["role"], entry["reason"]) == (
        "dr.li",
        "investigator",
        "typo on paper",
    )
    assert entry["record"] == f"item_value:{item.id}" and entry["field"] == "value_text"
    assert entry["visit"] == visit and entry["form"] in {"pain", "odi"}
    only_form = show(capsys, "--subject", synced, "--form", str(entry["form"]))
    assert {e["form"] for e in only_form} == {entry["form"]}
    assert main(["audit", "show", "--subject", synced, "--since", "2031-05-01"]) == 0
    out = capsys.readouterr().out
    assert f"item_value:{item.id} [visit {visit}] [{entry['form']}] value_text  reason: typo" in out


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--subject", "99-9999"], "no such subject"),
        (["--subject", "{code}", "--study", "NOPE"], "no such study"),
        (["--subject", "{code}", "--form", "nope"], "no response to this form"),
        (["--subject", "{code}", "--since", "last tuesday"], "expected a date"),
        (["--record", "subject:999999"], "no such record"),
        ([], "give one of --subject"),
        (["--record", "subject:1", "--form", "odi"], "go with --subject"),
    ],
)
def test_unknown_keys_are_bad_input(
    synced: str, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    line = ["audit", "show", *(f.replace("{code}", synced) for f in flags)]
    assert main(line) == errors.EXIT_BAD_INPUT
    assert message in capsys.readouterr().err
