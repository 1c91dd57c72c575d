"""`edc user set-password`: an administrator or the user themselves; weak passwords refused;
the hash stored (argon2), audited with who set it, and the web login then accepts it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from edc import errors
from edc.actions import passwords
from edc.cli import main
from tests.actions.sitetrial import SiteTrial, make_site_trial
from tests.fixtures.database import Database

NEW = "a long enough secret phrase"


@pytest.fixture
def trial(sqlite_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SiteTrial:
    made = make_site_trial(sqlite_database, tmp_path)
    monkeypatch.setenv("EDC_DATABASE_URL", sqlite_database.url)
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EDC_USER", raising=False)
    return made


def set_password(monkeypatch: pytest.MonkeyPatch, actor: str, user: str, password: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return main(["--user", actor, "user", "set-password", user, "--password-stdin"])


def stored_hash(trial: SiteTrial, user: str) -> str | None:
    (row,) = trial.rows(f"SELECT password_hash FROM user_account WHERE username = '{user}'")
    return row[0]


def test_an_admin_or_the_user_sets_a_password_and_others_may_not(
    trial: SiteTrial, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert set_password(monkeypatch, "coord-b", "coord-a", NEW) == errors.EXIT_BAD_INPUT
    assert "only an administrator" in capsys.readouterr().err
    assert stored_hash(trial, "coord-a") is None
    assert set_password(monkeypatch, "coord-a", "coord-a", "short") == errors.EXIT_BAD_INPUT
    assert "at least 10 characters" in capsys.readouterr().err
    assert set_password(monkeypatch, "admin", "nobody", NEW) == errors.EXIT_BAD_INPUT
    assert "no user 'nobody'" in capsys.readouterr().err
    assert stored_hash(trial, "coord-a") is None
    assert set_password(monkeypatch, "admin", "coord-a", NEW) == 0
    assert "password set for coord-a" in capsys.readouterr().err
    assert passwords.verify_password(stored_hash(trial, "coord-a"), NEW)
    assert set_password(monkeypatch, "coord-a", "coord-a", NEW + "!") == 0
    assert passwords.verify_password(stored_hash(trial, "coord-a"), NEW + "!")
    audited = trial.rows(
        "SELECT actor, role, reason FROM audit_event WHERE table_name = 'user_account' "
        "AND field = 'password_hash' ORDER BY seq"
    )
    assert [(a, r) for a, r, _ in audited] == [("admin", "admin"), ("coord-a", "site_staff")]
