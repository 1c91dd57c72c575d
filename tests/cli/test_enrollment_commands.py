"""The site's commands through the command line: help, JSON keys, exit codes, who may act.

Runs on the three-arm double-blind study of ``tests.actions.sitetrial`` (its hospital export
synced), both databases. The JSON keys listed here are the commands' documented interface.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from edc import errors
from edc.cli import main
from tests.actions.sitetrial import STUDY, SiteTrial, make_site_trial
from tests.fixtures.database import Database

COMMANDS = [
    ["user"], ["user", "add"], ["user", "grant"], ["user", "revoke"], ["user", "list"],
    ["user", "set-password"],
    ["screen"], ["consent", "record"], ["enroll"], ["randomization", "open"],
    ["randomization", "verify"], ["randomize"], ["unblind"], ["visits"], ["push"],
]  # fmt: skip
SCREEN_KEYS = [
    "study",
    "protocol_version",
    "evaluated",
    "unchanged",
    "seconds",
    "patients",
    "sites",
]
SCREEN_LINE = ["site", "patient", "status", "unknown", "failed", "undecided", "as_of"]
SITE_NUMBERS = [
    "site", "assessed", "eligible", "ineligible", "undetermined", "excluded_by_criterion",
    "consented", "enrolled", "randomized",
]  # fmt: skip
ENROLL_KEYS = [
    "study", "site", "patient", "subject", "status", "enrolled_at", "investigator",
    "overridden", "deviation_id",
]  # fmt: skip
RANDOMIZE_KEYS = [
    "study", "site", "subject", "sequence", "arm", "stratum", "factors", "randomized_at",
    "commitment", "planned_visits",
]  # fmt: skip
VISIT_LINE = [
    "site", "subject", "visit", "status", "target", "window_low", "window_high", "anchor",
    "anchor_actual", "done_on", "in_window",
]  # fmt: skip


@pytest.fixture
def trial(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SiteTrial:
    made = make_site_trial(database, tmp_path)
    monkeypatch.setenv("EDC_DATABASE_URL", database.url)
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EDC_USER", raising=False)
    return made


def edc(capsys: pytest.CaptureFixture[str], user: str, *line: str) -> tuple[int, Any, str]:
    code = main(["--user", user, *line, "--format", "json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if code == 0 else None, captured.err


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_site_command_explains_itself(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--help"]) == 0
    assert "Usage: edc " + " ".join(command) in capsys.readouterr().out


def test_the_sites_path_through_the_command_line(
    trial: SiteTrial, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, screened, _ = edc(capsys, "coord-a", "screen", "--study", STUDY, "--as-of", "2027-03-01")
    assert code == 0 and list(screened) == SCREEN_KEYS
    assert list(screened["patients"][0]) == SCREEN_LINE
    assert list(screened["sites"][0]) == SITE_NUMBERS
    assert screened["patients"][0]["status"] == "candidate"
    assert "IN02 (Observation/p-anemic-hb/_history/1 Hemoglobin 7.5 g/dL on 2027-02-26)" in {
        p["failed"] for p in screened["patients"]
    }
    consent = ["consent", "record", "--study", STUDY, "--patient", "p-ok", "--date",
               "2026-11-01", "--form-version", "2.1", "--obtained-by", "Dr. Alpha"]  # fmt: skip
    assert edc(capsys, "coord-a", *consent)[0] == 0
    enroll = ["enroll", "--study", STUDY, "--patient", "p-ok", "--site", "A1",
              "--investigator", "inv-a"]  # fmt: skip
    code, _, err = edc(capsys, "coord-a", *enroll, "--confirm", "IN03")
    assert code == errors.EXIT_BAD_INPUT and "expected CRITERION=yes or CRITERION=no" in err
    code, _, err = edc(capsys, "coord-a", *enroll)
    assert code == errors.EXIT_BAD_INPUT and "IN03 (inclusion) needs the investigator's" in err
    code, enrolled, _ = edc(capsys, "coord-a", *enroll, "--confirm", "IN03=yes")
    assert code == 0 and list(enrolled) == ENROLL_KEYS and enrolled["subject"] == "A1-0001"
    code, _, err = edc(capsys, "coord-a", *enroll, "--confirm", "IN03=yes")
    assert code == errors.EXIT_BAD_INPUT and "already enrolled as subject A1-0001" in err

    randomize = ["randomize", "--study", STUDY, "--subject", "A1-0001"]
    code, _, err = edc(capsys, "coord-a", *randomize)
    assert code == errors.EXIT_BAD_INPUT and "randomization of OTHER-01 is not open" in err
    seed = tmp_path / "seed.hex"
    code, _, err = edc(capsys, "coord-a", "randomization", "open", "--study", STUDY,
                       "--seed-out", str(seed))  # fmt: skip
    assert code == errors.EXIT_BAD_INPUT and "coord-a may not open randomization" in err
    code, opened, _ = edc(capsys, "unblinded", "randomization", "open", "--study", STUDY,
                          "--seed-out", str(seed))  # fmt: skip
    assert code == 0 and len(opened["commitment"]) == 64
    code, _, err = edc(capsys, "coord-a", *randomize)
    assert code == errors.EXIT_BAD_INPUT and "stratification factor frailty has no value" in err
    trial.frailty_form("p-ok", "frail")
    trial.sync()
    code, allocated, _ = edc(capsys, "coord-a", *randomize)
    assert code == 0 and list(allocated) == RANDOMIZE_KEYS
    assert allocated["arm"] == "(blinded)" and allocated["commitment"] == opened["commitment"]

    code, worklist, _ = edc(capsys, "monitor", "visits", "--study", STUDY, "--due-within", "2w")
    assert code == 0 and worklist["visits"] and list(worklist["visits"][0]) == VISIT_LINE
    code, _, err = edc(capsys, "monitor", "visits", "--study", STUDY, "--due-within", "soon")
    assert code == errors.EXIT_BAD_INPUT and "--due-within 'soon'" in err

    code, _, err = edc(capsys, "coord-a", "unblind", "--study", STUDY, "--subject", "A1-0001",
                       "--reason", "anaphylaxis")  # fmt: skip
    assert code == errors.EXIT_BAD_INPUT and "coord-a may not unblind" in err
    code, revealed, _ = edc(capsys, "inv-a", "unblind", "--study", STUDY, "--subject",
                            "A1-0001", "--reason", "anaphylaxis")  # fmt: skip
    assert code == 0 and revealed["arm"].startswith("ARM-")

    code, verified, _ = edc(capsys, "unblinded", "randomization", "verify", "--study", STUDY,
                            "--reveal-seed", str(seed))  # fmt: skip
    assert code == 0 and verified["allocations"] == 1

    # The FHIR server is down: the writes stay pending, exit 3.
    code, _, err = edc(capsys, "coord-a", "push", "--study", STUDY, "--fhir-url",
                       "http://127.0.0.1:9/fhir", "--max-attempts", "1")  # fmt: skip
    assert code == errors.EXIT_EXTERNAL_FAILURE
    assert trial.count("outbox_message", "status = 'pending'") == 2


def test_users_through_the_command_line(
    trial: SiteTrial, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--user", "coord-a", "user", "add", "eve", "--name", "Eve"]) == (
        errors.EXIT_BAD_INPUT
    )
    assert "only an administrator" in capsys.readouterr().err
    assert main(["--user", "admin", "user", "add", "eve", "--name", "Eve"]) == 0
    assert main(["--user", "admin", "user", "grant", "eve", "--study", STUDY, "--role",
                 "investigator"]) == errors.EXIT_BAD_INPUT  # fmt: skip
    assert "investigator is a site role: give --site" in capsys.readouterr().err
    grant = ["--user", "admin", "user", "grant", "eve", "--study", STUDY, "--role",
             "investigator", "--site", "B2"]  # fmt: skip
    assert main(grant) == 0
    _, listed, _ = edc(capsys, "admin", "user", "list", "--study", STUDY)
    assert {"username": "eve", "name": "Eve", "email": None, "active": True,
            "roles": "OTHER-01/B2:investigator"} in listed  # fmt: skip
    revoke = ["--user", "admin", "user", "revoke", "eve", "--study", STUDY, "--role",
              "investigator", "--site", "B2", "--reason", "left the hospital"]  # fmt: skip
    assert main(revoke) == 0
    capsys.readouterr()
    (row,) = trial.rows(
        "SELECT actor, role, reason FROM audit_event WHERE table_name = 'role_assignment' "
        "AND action = 'delete'"
    )
    assert row == ("admin", "admin", "left the hospital")
    assert main(["--user", "nobody", "screen", "--study", STUDY]) == errors.EXIT_BAD_INPUT
    assert "unknown user 'nobody'" in capsys.readouterr().err
