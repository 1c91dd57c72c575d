"""`edc lock freeze|lock|unlock`: signed, audited, anchored by a checkpoint, enforced."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest
from sqlalchemy.exc import DBAPIError

from edc import cli, errors
from edc.actions import consent, enroll, passwords
from edc.actions import lock as action
from edc.trial import permissions
from edc.warehouse import checkpoints, locks
from tests.actions.sitetrial import STUDY, SiteTrial, make_site_trial
from tests.fixtures.database import Database

PASSWORD = "a long signing phrase"


@pytest.fixture
def trial(database: Database, tmp_path: Path) -> SiteTrial:
    return make_lockable(database, tmp_path)


def make_lockable(
    database: Database, tmp_path: Path, changes: dict[str, str] | None = None
) -> SiteTrial:
    """The site trial with one enrolled subject, and passwords for dm, pi-a, stat, unblinded.

    :param changes: text replacements in the protocol (``make_site_trial``).
    """
    trial = make_site_trial(database, tmp_path, changes=changes)
    for user in ("dm", "pi-a", "stat", "unblinded"):
        passwords.set_password(
            trial.database.sessionmaker, username=user, password=PASSWORD, actor="admin",
            role="admin", clock=trial.clock,
        )  # fmt: skip
    with trial.workspace("coord-a") as workspace:
        consent.record(
            workspace,
            consent.ConsentRequest(
                study=STUDY, patient="p-ok", signed=dt.date(2027, 3, 1),
                form_version="2.1", obtained_by="Dr. Alpha",
            ),
        )  # fmt: skip
        enroll.enroll(
            workspace,
            enroll.EnrollRequest(
                study=STUDY, patient="p-ok", site="A1", investigator="inv-a", confirm=("IN03=yes",)
            ),
        )
    return trial


def _change(trial: SiteTrial, user: str, verb: str, **unit: str) -> action.LockResult:
    with trial.workspace(user) as workspace:
        request = action.LockRequest(STUDY, verb, "all queries closed", PASSWORD, **unit)
        return action.change(trial.settings, workspace, request)


def test_lock_is_signed_bound_to_the_chain_and_enforced(trial: SiteTrial) -> None:
    rows_before = trial.count("audit_event")
    result = _change(trial, "dm", "lock")
    assert result.state == "locked"
    assert (result.signer, result.role) == ("dm", "data_manager")
    assert result.meaning == "data reviewed and approved as final"
    assert result.audit_rows == rows_before
    stored = trial.rows("SELECT signature_sha256, audit_head_hash, state FROM lock_event")
    assert stored == [(result.signature_sha256, result.audit_head_hash, "locked")]
    # The signature is in the audit trail, and a checkpoint names it.
    assert trial.count("audit_event", "table_name = 'lock_event'") == 1
    log = checkpoints.location_for(trial.settings).log.read_bytes().splitlines()
    assert result.signature_sha256 in orjson.loads(log[-1])["event"]
    # A change synced for a locked subject is kept raw and reported, not applied.
    responses, raw = trial.count("form_response"), trial.count("raw_resource")
    trial.frailty_form("p-ok", "frail")
    trial.sync()
    assert trial.count("form_response") == responses
    assert trial.count("raw_resource") == raw + 1
    problems = trial.rows(
        "SELECT kind, message FROM data_problem WHERE kind = 'changed_after_lock'"
    )
    assert len(problems) == 1
    assert "QuestionnaireResponse/" in problems[0][1]
    # The database itself refuses writes to the study's subjects, even edc's own.
    with pytest.raises(DBAPIError, match=locks.REFUSED), trial.database.engine.begin() as raw_sql:
        if raw_sql.dialect.name == "postgresql":
            raw_sql.exec_driver_sql("SELECT set_config('edc.write_path', 'audited', true)")
        raw_sql.exec_driver_sql("UPDATE subject SET status = 'withdrawn'")
    unlocked = _change(trial, "dm", "unlock")
    assert unlocked.state == "unlocked"
    where = "table_name = 'lock_state' AND field = 'state' AND reason = 'all queries closed'"
    assert trial.count("audit_event", where) == 1


def test_a_site_pi_locks_their_site_only_and_not_the_study(trial: SiteTrial) -> None:
    assert _change(trial, "pi-a", "freeze", site="A1").state == "frozen"
    with pytest.raises(permissions.PermissionDeniedError, match="pi-a may not"):
        _change(trial, "pi-a", "lock")
    with pytest.raises(permissions.PermissionDeniedError, match="at site B2"):
        _change(trial, "pi-a", "lock", site="B2")
    # A subject of a frozen site cannot be unlocked on its own.
    with pytest.raises(errors.BadInputError, match="frozen with site:"):
        _change(trial, "dm", "unlock", subject=trial.rows("SELECT subject_code FROM subject")[0][0])


@pytest.mark.parametrize(
    ("user", "verb", "password", "message"),
    [
        ("stat", "lock", PASSWORD, "stat may not freeze, lock or unlock"),
        ("dm", "lock", "wrong password!", "does not match: not signed"),
        ("dm", "unlock", PASSWORD, "cannot unlock study OTHER-01: it is open"),
    ],
)
def test_refusals_write_nothing(
    trial: SiteTrial, user: str, verb: str, password: str, message: str
) -> None:
    audit_rows = trial.count("audit_event")
    with trial.workspace(user) as workspace, pytest.raises(errors.BadInputError, match=message):
        action.change(trial.settings, workspace, action.LockRequest(STUDY, verb, "why", password))
    assert trial.count("audit_event") == audit_rows
    assert trial.count("lock_event") == 0


def test_cli_exits_2_for_a_role_that_may_not_and_signs_for_one_that_may(
    trial: SiteTrial, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDC_DATABASE_URL", trial.database.url)
    monkeypatch.setenv("EDC_DATA_DIR", str(trial.settings.data_dir))
    args = ["lock", "freeze", "--study", STUDY, "--reason", "interim review"]
    args += ["--password", PASSWORD]
    assert cli.main(["--user", "stat", *args]) == errors.EXIT_BAD_INPUT
    assert "stat may not freeze, lock or unlock" in capsys.readouterr().err
    assert cli.main(["--user", "dm", *args, "--format", "json"]) == 0
    assert orjson.loads(capsys.readouterr().out)["state"] == "frozen"
