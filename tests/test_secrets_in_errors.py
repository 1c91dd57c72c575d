"""Passwords never reach the terminal: every error message goes through one masking function."""

from __future__ import annotations

import pytest

from edc import errors
from edc.cli import main
from edc.redact import mask_secrets


@pytest.mark.parametrize(
    ("url", "code"),
    [
        # The settings error quoted the URL twice (message and input); an unknown role is named
        # by the server's refusal, next to the URL.
        ("postgres://alice:S3cretPW@127.0.0.1:5432/edc", errors.EXIT_EXTERNAL_FAILURE),
        ("mysql://alice:S3cretPW@127.0.0.1/edc", errors.EXIT_BAD_INPUT),
        # Nothing listens on port 1: the connection error names the database.
        ("postgresql://alice:S3cretPW@127.0.0.1:1/edc", errors.EXIT_EXTERNAL_FAILURE),
        ("postgresql://alice:S3cretPW@db.invalid/edc", errors.EXIT_EXTERNAL_FAILURE),
        ("postgresql://alice:S3cretPW@host:notaport/edc", errors.EXIT_BAD_INPUT),
    ],
    ids=["postgres-scheme", "other-database", "unreachable", "unknown-host", "bad-port"],
)
def test_a_database_password_is_masked_in_every_message(
    url: str, code: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDC_DATABASE_URL", url)
    assert main(["db", "current"]) == code
    err = capsys.readouterr().err
    assert "S3cretPW" not in err
    assert "alice" in err or "database" in err  # the message still says what it is about


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://alice:pw@db/edc", "postgresql://alice:***@db/edc"),
        ("at https://u:p%40ss@ehr.example.org/fhir", "at https://u:***@ehr.example.org/fhir"),
        ("host=db password=pw user=edc", "host=db password=*** user=edc"),
        ("password = 'with space'", "password = ***"),
        ("https://user@ehr.example.org/fhir", "https://user@ehr.example.org/fhir"),
        ("see https://ehr.example.org/a@b", "see https://ehr.example.org/a@b"),
    ],
)
def test_what_is_masked(text: str, masked: str) -> None:
    assert mask_secrets(text) == masked


def test_user_errors_mask_message_and_details() -> None:
    error = errors.ExternalSystemError("database postgresql://a:pw@h/d failed", "dsn password=pw")
    assert "pw@" not in str(error) and "password=pw" not in error.details
    assert error.message == "database postgresql://a:***@h/d failed"
