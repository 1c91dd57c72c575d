"""Sync from a directory of NDJSON files (the embedded default): normalization, problems,
updates, cursors. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import decimal
import hashlib
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from edc import errors
from edc.actions import sync
from edc.clock import FixedClock
from edc.library import scoring
from edc.warehouse import db
from edc.warehouse.tables import (
    AdverseEventRow,
    AuditEventRow,
    FormResponseRow,
    ItemValueRow,
    VisitRow,
)
from tests.sync import trialdata
from tests.sync.conftest import Warehouse

STUDY = "MINI-01"


def _sync(
    warehouse: Warehouse, source: Path, clock: FixedClock, **options: object
) -> sync.SyncResult:
    request = sync.SyncRequest(study=STUDY, source_dir=source, **options)  # type: ignore[arg-type]
    return sync.sync(warehouse.settings, request, clock=clock)


def _append(path: Path, *resources: object) -> None:
    with path.open("ab") as stream:
        for resource in resources:
            stream.write(resource if isinstance(resource, bytes) else orjson.dumps(resource))
            stream.write(b"\n")


def test_a_directory_is_normalized_into_the_trial_tables(
    warehouse: Warehouse, tmp_path: Path, clock: FixedClock
) -> None:
    trial = trialdata.build(warehouse.study.checked.compiled, 12)
    source = trial.write(tmp_path / "export")

    result = _sync(warehouse, source, clock, batch_size=7)

    assert warehouse.counts() == {
        "subject": 12,
        "patient_link": 12,
        "allocation": 12,
        "consent": 12,
        "visit": 24,
        "form_response": 48,
        # per visit: one pain item, ten ODI sections and "all answered"
        "item_value": 12 * 2 * (1 + 11),
        "adverse_event": 4,
        "raw_resource": trial.count,
        "data_problem": 0,
    }
    assert result.counts["QuestionnaireResponse"].new == 48 and result.rejected == 0
    assert warehouse.rows("SELECT DISTINCT arm, stratum FROM allocation ORDER BY arm") == [
        ("ARM-A", None),
        ("ARM-B", None),
    ]
    with db.transaction(warehouse.database.sessionmaker) as session:
        event = session.scalars(select(AdverseEventRow)).first()
        assert event is not None
        assert (event.ctcae_term, event.meddra_llt_code, event.grade) == ("Nausea", "10028813", 2)
        assert (event.serious, event.attribution, event.outcome) == (False, "possible", "resolved")
        assert event.resolution_date is not None and event.onset_date < event.resolution_date
        visits = {(v.visit_id, v.encounter_reference) for v in session.scalars(select(VisitRow))}
        assert ("BL", "Encounter/t-e0-bl") in visits and ("W1", "Encounter/t-e0-w1") in visits
        pain = session.scalars(
            select(ItemValueRow).where(ItemValueRow.link_id == "nrs").order_by(ItemValueRow.id)
        ).first()
        assert pain is not None and pain.value_type == "integer"
        assert pain.value_number == decimal.Decimal(0)
        response = session.get_one(FormResponseRow, pain.response_id)
        assert (response.visit_id, response.status) == ("BL", "completed")
    # The raw JSON is kept byte for byte, with its hash.
    line = (source / "Patient.ndjson").read_bytes().splitlines()[0]
    assert warehouse.rows("SELECT json_text FROM raw_resource WHERE logical_id = 't-p0'") == [
        (line.decode(),)
    ]
    assert warehouse.chain_ok()


def test_a_second_run_reads_only_what_was_appended(
    warehouse: Warehouse, tmp_path: Path, clock: FixedClock
) -> None:
    compiled = warehouse.study.checked.compiled
    source = trialdata.build(compiled, 4).write(tmp_path / "export")
    _sync(warehouse, source, clock)
    again = _sync(warehouse, source, clock)
    assert sum(c.total for c in again.counts.values()) == 0

    more = trialdata.build(compiled, 2, tag="late")
    for resource_type, resources in more.resources.items():
        _append(source / f"{resource_type}.ndjson", *resources)
    third = _sync(warehouse, source, clock)

    assert third.counts["ResearchSubject"].new == 2
    assert sum(c.new for c in third.counts.values()) == more.count
    assert warehouse.count("subject") == 6 and warehouse.duplicates() == {}


def test_an_event_coded_with_the_ctcae_code_system_url_still_ingests(
    warehouse: Warehouse, tmp_path: Path, clock: FixedClock
) -> None:
    # Before issue 12 item 4, term codes carried the CTCAE CodeSystem's own URL as system (now
    # a supplement of MedDRA, whose URI codes the terms everywhere): such events still ingest.
    trial = trialdata.build(warehouse.study.checked.compiled, 2)
    for event in trial.resources["AdverseEvent"]:
        event["event"]["coding"][0]["system"] = "https://edc.example.org/fhir/CodeSystem/ctcae"
    _sync(warehouse, trial.write(tmp_path / "export"), clock)
    assert warehouse.count("data_problem") == 0
    assert warehouse.rows("SELECT DISTINCT meddra_llt_code FROM adverse_event") == [("10028813",)]


def test_bad_input_is_kept_raw_as_problems_and_never_half_loaded(
    warehouse: Warehouse, tmp_path: Path, clock: FixedClock
) -> None:
    compiled = warehouse.study.checked.compiled
    trial = trialdata.build(compiled, 2)
    responses = trial.resources["QuestionnaireResponse"]
    odi = responses[1]
    bad_range = orjson.loads(orjson.dumps(responses[0]))
    bad_range["id"], bad_range["item"][0]["answer"][0]["valueInteger"] = "bad-range", 11
    bad_linkid = orjson.loads(orjson.dumps(odi))
    bad_linkid["id"], bad_linkid["item"][3]["linkId"] = "bad-link", "odi-q99"
    bad_type = orjson.loads(orjson.dumps(odi))
    bad_type["id"], bad_type["item"][0]["answer"] = "bad-type", [{"valueString": "moderate"}]
    bad_option = orjson.loads(orjson.dumps(odi))
    bad_option["id"] = "bad-option"
    bad_option["item"][0]["answer"][0]["valueCoding"]["code"] = "s1-9"
    missing = orjson.loads(orjson.dumps(odi))
    missing["id"], missing["item"] = "missing", missing["item"][1:]
    old_version = orjson.loads(orjson.dumps(odi))
    old_version["id"] = "old-version"
    old_version["questionnaire"] = old_version["questionnaire"].replace("|1.0", "|0.9")
    responses += [bad_range, bad_linkid, bad_type, bad_option, missing, old_version]
    trial.resources["Patient"].append({"resourceType": "Patient", "id": "p-bad", "gender": 7})
    source = trial.write(tmp_path / "export")
    _append(source / "Observation.ndjson", b"{not json", b'{"resourceType": "Observation"}')

    result = _sync(warehouse, source, clock)

    problems = warehouse.rows(
        "SELECT r.logical_id, p.kind, p.field_path FROM data_problem p "
        "JOIN raw_resource r ON r.id = p.raw_resource_id ORDER BY r.logical_id, p.field_path"
    )
    by_id: dict[str, list[tuple[object, object]]] = {}
    for logical_id, kind, path in problems:
        by_id.setdefault(str(logical_id), []).append((kind, path))
    assert by_id["bad-range"] == [
        ("invalid_response", "QuestionnaireResponse.item[0].answer[0].valueInteger")
    ]
    assert by_id["bad-link"] == [
        ("invalid_response", "QuestionnaireResponse.item"
         ".where(linkId='odi-q04')"),
        ("invalid_response", "QuestionnaireResponse.item[3].linkId"),
    ]  # fmt: skip
    assert by_id["bad-type"][0][0] == "invalid_response"
    assert by_id["bad-option"] == [
        ("invalid_response", "QuestionnaireResponse.item[0].answer[0].valueCoding")
    ]
    assert by_id["missing"] == [
        ("invalid_response", "QuestionnaireResponse.item.where(linkId='odi-q01')")
    ]
    assert by_id["old-version"] == [
        ("unknown_questionnaire_version", "QuestionnaireResponse.questionnaire")
    ]
    # A patient who is not a subject is not trial data: kept apart for pre-screening only
    # (edc.sync.prescreen), neither stored raw nor checked for the monitors.
    assert "p-bad" not in by_id
    assert warehouse.count("screening_resource", "logical_id = 'p-bad'") == 1
    assert warehouse.count("raw_resource", "logical_id = 'p-bad'") == 0
    # Lines that are not resources keep their text and where they were.
    assert warehouse.rows(
        "SELECT kind, location, raw_text FROM data_problem WHERE raw_resource_id IS NULL "
        "ORDER BY location"
    ) == [
        ("not_json", "Observation.ndjson:3", "{not json"),
        ("invalid_resource", "Observation.ndjson:4", '{"resourceType": "Observation"}'),
    ]
    # Rejected responses are raw only: none of their values reached the typed tables.
    assert warehouse.count("form_response") == 8
    assert warehouse.count("raw_resource", "resource_type = 'QuestionnaireResponse'") == 14
    assert result.counts["QuestionnaireResponse"].rejected == 6
    assert result.counts["Observation"].rejected == 2
    assert warehouse.chain_ok()
    # Re-running records nothing twice.
    before = warehouse.count("data_problem")
    _sync(warehouse, source, clock)
    assert warehouse.count("data_problem") == before


def test_nul_characters_and_overlong_identifiers_end_as_problems_and_the_sync_goes_on(
    warehouse: Warehouse, tmp_path: Path, clock: FixedClock
) -> None:
    # Issue 11 item 1: PostgreSQL text cannot hold NUL, and identifiers live in VARCHAR(64).
    trial = trialdata.build(warehouse.study.checked.compiled, 2)
    consent = orjson.loads(orjson.dumps(trial.resources["Consent"][0]))
    consent["id"], consent["status"] = "nul-inside", "act\u0000ive"
    long_version = orjson.loads(orjson.dumps(trial.resources["Consent"][1]))
    long_version["id"], long_version["meta"] = "long-version", {"versionId": "9" * 65}
    trial.resources["Consent"] += [consent, long_version]
    source = trial.write(tmp_path / "export")
    raw_nul = b'{"resourceType": "Consent", "id": "raw\x00nul"}'
    _append(
        source / "Consent.ndjson",
        raw_nul,
        {"resourceType": "Con\u0000sent", "id": "bad-type"},
        {"resourceType": "C" * 65, "id": "long-type"},
    )

    result = _sync(warehouse, source, clock)

    # The study's own data went in; each hostile line is a problem, the NUL one kept as text.
    assert warehouse.count("subject") == 2
    assert warehouse.count("consent") == 2
    assert warehouse.rows(
        "SELECT r.logical_id, p.kind, p.field_path FROM data_problem p "
        "JOIN raw_resource r ON r.id = p.raw_resource_id"
    ) == [("nul-inside", "invalid_resource", "Consent.status")]
    unreadable = warehouse.rows(
        "SELECT location, kind, raw_text, raw_sha256 FROM data_problem "
        "WHERE raw_resource_id IS NULL ORDER BY location"
    )
    assert [(row[0], row[1]) for row in unreadable] == [
        ("Consent.ndjson:4", "invalid_resource"),  # the 65-character versionId
        ("Consent.ndjson:5", "not_json"),
        ("Consent.ndjson:6", "not_a_resource"),
        ("Consent.ndjson:7", "not_a_resource"),
    ]
    assert unreadable[1][2] == raw_nul.decode().replace("\x00", "\\u0000")
    assert unreadable[1][3] == hashlib.sha256(raw_nul).hexdigest()
    assert result.counts["Consent"].rejected == 5
    assert warehouse.chain_ok()


def test_a_value_too_long_for_its_column_is_a_problem_and_the_sync_goes_on(
    warehouse: Warehouse, tmp_path: Path, clock: FixedClock
) -> None:
    # Issue 11 item 1: on PostgreSQL a Subject ID longer than VARCHAR(64) raised a DataError.
    trial = trialdata.build(warehouse.study.checked.compiled, 3)
    trial.resources["ResearchSubject"][1]["identifier"][0]["value"] = "01-" + "9" * 70
    source = trial.write(tmp_path / "export")

    _sync(warehouse, source, clock)

    if warehouse.database.backend == "postgresql":
        assert warehouse.count("subject") == 2
        assert warehouse.rows(
            "SELECT r.logical_id, p.kind FROM data_problem p "
            "JOIN raw_resource r ON r.id = p.raw_resource_id WHERE r.resource_type = "
            "'ResearchSubject'"
        ) == [("t-rs1", "refused_by_database")]
    else:  # SQLite does not enforce VARCHAR lengths
        assert warehouse.count("subject") == 3
    assert warehouse.chain_ok()


def _odi_total(response: dict[str, object], total: float) -> dict[str, object]:
    """A copy of an ODI response with a received odi-total (the calculated item)."""
    copy = orjson.loads(orjson.dumps(response))
    copy["item"].append({"linkId": "odi-total", "answer": [{"valueDecimal": total}]})
    return copy


def test_received_scores_are_recomputed_and_a_wrong_one_stays_raw_with_its_subject(
    warehouse: Warehouse, tmp_path: Path, clock: FixedClock
) -> None:
    # Issue 12 item 2 / issue 15: the ODI total changed from the true value to 99 was accepted.
    trial = trialdata.build(warehouse.study.checked.compiled, 2)
    responses = trial.resources["QuestionnaireResponse"]
    odi = next(i for i, r in enumerate(responses) if "odi" in str(r["questionnaire"]))
    answers = {
        item["linkId"]: item["answer"][0]["valueCoding"]["code"]
        for item in responses[odi]["item"]
        if item["linkId"].startswith("odi-q")
    }
    true_total = scoring.score("odi", "odi-total", answers)
    assert true_total is not None and true_total != 99
    responses[odi] = _odi_total(responses[odi], float(true_total))
    tampered_id = str(responses[odi + 2]["id"])  # the same subject's week-1 ODI
    responses[odi + 2] = _odi_total(responses[odi + 2], 99.0)
    source = trial.write(tmp_path / "export")

    _sync(warehouse, source, clock)

    # The right score is stored with the answers; the wrong one is reported, not stored.
    stored = warehouse.rows("SELECT value_number FROM item_value WHERE link_id = 'odi-total'")
    assert [decimal.Decimal(str(value)) for (value,) in stored] == [true_total]
    problems = warehouse.rows(
        "SELECT r.logical_id, p.kind, p.field_path, p.message, s.subject_code, st.code "
        "FROM data_problem p JOIN raw_resource r ON r.id = p.raw_resource_id "
        "JOIN subject s ON s.id = p.subject_id JOIN site st ON st.id = p.site_id"
    )
    assert len(problems) == 1
    logical_id, kind, path, message, subject_code, site_code = problems[0]
    assert (logical_id, kind) == (tampered_id, "score_mismatch")
    assert path == "QuestionnaireResponse.item.where(linkId='odi-total')"
    assert "received 99" in str(message) and "recomputed from the answers" in str(message)
    assert (subject_code, site_code) == ("01-t-0000", "01")
    assert warehouse.count("form_response", f"raw_resource_id IN (SELECT id FROM raw_resource "
                           f"WHERE logical_id = '{tampered_id}')") == 0  # fmt: skip
    assert warehouse.chain_ok()


def test_problems_of_data_without_a_subject_name_no_subject(
    warehouse: Warehouse, tmp_path: Path, clock: FixedClock
) -> None:
    trial = trialdata.build(warehouse.study.checked.compiled, 1)
    trial.resources["ResearchSubject"].clear()  # nobody enrolled: forms name no subject
    source = trial.write(tmp_path / "export")

    _sync(warehouse, source, clock)

    assert warehouse.count("data_problem", "kind = 'unknown_subject'") > 0
    assert warehouse.count("data_problem", "subject_id IS NOT NULL OR site_id IS NOT NULL") == 0


def test_a_newer_version_updates_the_normalized_rows_with_a_reason(
    warehouse: Warehouse, tmp_path: Path, clock: FixedClock
) -> None:
    trial = trialdata.build(warehouse.study.checked.compiled, 3)
    source = trial.write(tmp_path / "export")
    _sync(warehouse, source, clock)
    pain = dict(trial.resources["QuestionnaireResponse"][0])
    pain["meta"] = {"versionId": "2", "lastUpdated": "2026-03-02T00:00:00.000Z"}
    pain["item"] = [{"linkId": "nrs", "answer": [{"valueInteger": 9}]}]
    event = dict(trial.resources["AdverseEvent"][0])
    event["meta"] = {"versionId": "2", "lastUpdated": "2026-03-02T00:00:00.000Z"}
    event["seriousness"] = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness",
                "code": "serious",
            }
        ]
    }
    subject = dict(trial.resources["ResearchSubject"][0])
    subject["meta"] = {"versionId": "2", "lastUpdated": "2026-03-02T00:00:00.000Z"}
    subject["status"], subject["assignedArm"] = "withdrawn", "ARM-B"
    _append(source / "QuestionnaireResponse.ndjson", pain)
    _append(source / "AdverseEvent.ndjson", event)
    _append(source / "ResearchSubject.ndjson", subject)

    result = _sync(warehouse, source, clock)

    assert result.counts["QuestionnaireResponse"].updated == 1
    assert warehouse.rows(
        "SELECT i.value_number, f.fhir_version_id FROM item_value i "
        "JOIN form_response f ON f.id = i.response_id WHERE i.link_id = 'nrs' "
        "AND f.raw_resource_id IN (SELECT id FROM raw_resource WHERE logical_id = 't-qp0-bl')"
    ) == [(pytest.approx(9), "2")]
    assert warehouse.count("adverse_event", "serious = true") == 1
    assert warehouse.rows("SELECT status FROM subject WHERE subject_code = '01-t-0000'") == [
        ("withdrawn",)
    ]
    # The arm is never changed by a sync: the change is a problem for the monitors.
    assert warehouse.rows("SELECT arm FROM allocation a JOIN subject s ON s.id = a.subject_id "
                          "WHERE s.subject_code = '01-t-0000'") == [("ARM-A",)]  # fmt: skip
    assert warehouse.rows("SELECT kind FROM data_problem") == [("arm_changed",)]
    with db.transaction(warehouse.database.sessionmaker) as session:
        reasons = set(
            session.scalars(select(AuditEventRow.reason).where(AuditEventRow.action == "update"))
        )
    assert reasons == {"updated at source to versionId 2"}
    assert warehouse.counts()["form_response"] == 12 and warehouse.duplicates() == {}
    assert warehouse.chain_ok()


def test_data_that_arrives_before_the_enrollment_is_normalized_when_it_comes(
    warehouse: Warehouse, tmp_path: Path, clock: FixedClock
) -> None:
    trial = trialdata.build(warehouse.study.checked.compiled, 2)
    subjects = trial.resources.pop("ResearchSubject")
    source = trial.write(tmp_path / "export")
    first = _sync(warehouse, source, clock)
    assert warehouse.count("form_response") == 0
    assert first.counts["QuestionnaireResponse"].rejected == 8
    assert warehouse.count("data_problem", "kind = 'unknown_subject' AND status = 'open'") == 13

    _append(source / "ResearchSubject.ndjson", *subjects)
    _sync(warehouse, source, clock)

    assert warehouse.count("form_response") == 8 and warehouse.count("consent") == 2
    assert warehouse.count("visit") == 4 and warehouse.count("adverse_event") == 1
    assert warehouse.count("data_problem", "status = 'open'") == 0
    assert warehouse.chain_ok()


def test_forms_that_arrive_before_their_encounter_get_its_visit_when_it_comes(
    warehouse: Warehouse, tmp_path: Path, clock: FixedClock
) -> None:
    trial = trialdata.build(warehouse.study.checked.compiled, 2)
    encounters = trial.resources.pop("Encounter")
    source = trial.write(tmp_path / "export")
    _sync(warehouse, source, clock)
    assert warehouse.count("form_response", "visit_id IS NULL") == 8

    _append(source / "Encounter.ndjson", *encounters)
    _sync(warehouse, source, clock)

    assert warehouse.count("visit") == 4
    assert warehouse.count("form_response", "visit_id IS NULL") == 0
    # Each response sits at the visit of the Encounter it names.
    linked = warehouse.rows(
        "SELECT f.visit_id, v.encounter_reference, r.json_text FROM form_response f "
        "JOIN visit v ON v.subject_id = f.subject_id AND v.visit_id = f.visit_id "
        "JOIN raw_resource r ON r.id = f.raw_resource_id"
    )
    assert len(linked) == 8
    assert all(orjson.loads(text)["encounter"]["reference"] == ref for _, ref, text in linked)
    reasons = warehouse.rows(
        "SELECT reason FROM audit_event WHERE table_name = 'form_response' AND field = 'visit_id'"
    )
    assert len(reasons) == 8 and all("arrived after the form" in r for (r,) in reasons)
    assert warehouse.chain_ok()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"study": "NOPE-99"}, "unknown study 'NOPE-99'"),
        ({"source_dir": Path("/nonexistent/dir")}, "not a readable directory"),
        ({"types": ("Observation", "Spaceship")}, "cannot sync Spaceship"),
        ({"batch_size": 0}, "--batch-size must be at least 1"),
        ({"bulk": True}, "--bulk and --group need --fhir-url"),
    ],
)
def test_bad_requests_are_bad_input_and_touch_nothing(
    warehouse: Warehouse,
    tmp_path: Path,
    clock: FixedClock,
    options: dict[str, object],
    message: str,
) -> None:
    source = trialdata.build(warehouse.study.checked.compiled, 1).write(tmp_path / "export")
    before = warehouse.counts()
    request = {"study": STUDY, "source_dir": source, **options}
    with pytest.raises(errors.BadInputError, match=message) as caught:
        sync.sync(warehouse.settings, sync.SyncRequest(**request), clock=clock)  # type: ignore[arg-type]
    assert caught.value.exit_code == errors.EXIT_BAD_INPUT
    assert warehouse.counts() == before


def test_a_directory_without_ndjson_files_is_bad_input(
    warehouse: Warehouse, tmp_path: Path, clock: FixedClock
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("hello")
    with pytest.raises(errors.BadInputError, match="no NDJSON files"):
        _sync(warehouse, tmp_path / "empty", clock)


def test_strict_turns_rejections_into_a_check_failure(
    warehouse: Warehouse, tmp_path: Path, clock: FixedClock
) -> None:
    source = trialdata.build(warehouse.study.checked.compiled, 1).write(tmp_path / "export")
    _append(source / "Observation.ndjson", b"{oops")
    with pytest.raises(errors.CheckFailedError, match="1 resource"):
        _sync(warehouse, source, clock, strict=True)
    # The data was committed all the same; strictness only changes the exit code.
    assert warehouse.count("subject") == 1


def test_a_file_replaced_by_a_new_export_is_read_again_without_duplicates(
    warehouse: Warehouse, tmp_path: Path, clock: FixedClock
) -> None:
    compiled = warehouse.study.checked.compiled
    source = trialdata.build(compiled, 3).write(tmp_path / "export")
    _sync(warehouse, source, clock)
    # The next export writes every patient again, and one more, in another order.
    again = trialdata.build(compiled, 4)
    again.resources["Patient"].reverse()
    again.write(source)

    result = _sync(warehouse, source, clock)

    assert result.counts["Patient"].unchanged == 3 and result.counts["Patient"].new == 1
    assert warehouse.count("subject") == 4 and warehouse.duplicates() == {}
