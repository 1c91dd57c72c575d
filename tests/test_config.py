"""Settings: sources and their precedence, the settings file, `edc config show`, bad values."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from edc import config, errors
from edc.cli import main


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_flags_beat_environment_beat_file_beat_defaults(tmp_path: Path) -> None:
    file = write(
        tmp_path / "edc.toml", 'user = "from-file"\ndata_dir = "/srv/edc"\nfhir_kid = "k1"\n'
    )
    settings = config.load_settings(
        {"EDC_USER": "from-env", "EDC_FHIR_KID": "k2"}, config_file=file, flags={"user": "flag"}
    )
    assert settings.user == "flag"
    assert settings.smart.kid == "k2"
    assert settings.data_dir == Path("/srv/edc")
    assert settings.database_url == "sqlite:////srv/edc/warehouse.sqlite3"
    assert settings.smart.alg == "RS384"


def test_edc_toml_in_the_working_directory_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "edc.toml", 'user = "ann"\n')
    assert config.load_settings({}).user == "ann"
    # $EDC_CONFIG names another file, which then must exist.
    with pytest.raises(errors.BadInputError, match="not found"):
        config.load_settings({"EDC_CONFIG": str(tmp_path / "missing.toml")})


def test_the_user_defaults_to_the_login_name() -> None:
    assert config.load_settings({}).user == config.login_name()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("user = \n", "not valid TOML"),
        ('colour = "blue"\n', "unknown setting(s) colour"),
        ("user = 3\n", "user must be a string"),
        ('database_url = "mysql://db/edc"\n', "database_url in"),
    ],
)
def test_a_bad_settings_file_is_bad_input_naming_it(
    tmp_path: Path, text: str, message: str
) -> None:
    file = write(tmp_path / "edc.toml", text)
    with pytest.raises(errors.BadInputError) as raised:
        config.load_settings({}, config_file=file)
    assert message in str(raised.value)


def test_a_data_dir_that_is_a_file_is_exit_2_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDC_DATA_DIR", str(write(tmp_path / "file", "x")))
    monkeypatch.delenv("EDC_DATABASE_URL", raising=False)
    assert main(["db", "upgrade"]) == errors.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "EDC_DATA_DIR (environment)" in err and "is a file" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", [["db", "upgrade"], ["audit", "verify"], ["db", "current"]])
def test_a_database_url_naming_a_non_sqlite_file_is_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    text = write(tmp_path / "notes.txt", "not a database\n" * 100)
    monkeypatch.setenv("EDC_DATABASE_URL", f"sqlite:///{text}")
    assert main(command) == errors.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "EDC_DATABASE_URL (environment)" in err and "not a SQLite database" in err
    assert text.read_text() == "not a database\n" * 100


def test_an_empty_file_and_a_real_database_are_accepted(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    config.load_settings({"EDC_DATABASE_URL": f"sqlite:///{empty}"})
    real = tmp_path / "real.sqlite3"
    sqlite3.connect(real).execute("CREATE TABLE t (x)").connection.close()
    config.load_settings({"EDC_DATABASE_URL": f"sqlite:///{real}"})


def test_config_show_names_each_source_and_masks_passwords(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path / "site.toml", 'fhir_client_id = "edc-backend"\n')
    monkeypatch.setenv("EDC_DATABASE_URL", "postgresql://alice:s3cret@db.example.org/edc")
    monkeypatch.delenv("EDC_USER", raising=False)
    monkeypatch.delenv("EDC_DATA_DIR", raising=False)
    line = ["config", "show", "--format", "json", "--config", str(file), "--user", "bob"]
    assert main(line) == 0
    out = capsys.readouterr().out
    assert "s3cret" not in out
    report = json.loads(out)
    assert report["file"] == str(file)
    by_name = {s["name"]: s for s in report["settings"]}
    assert by_name["database_url"] == {
        "name": "database_url",
        "env": "EDC_DATABASE_URL",
        "value": "postgresql://alice:***@db.example.org/edc",
        "source": "env",
    }
    assert (by_name["fhir_client_id"]["value"], by_name["fhir_client_id"]["source"]) == (
        "edc-backend",
        "file",
    )
    assert (by_name["user"]["value"], by_name["user"]["source"]) == ("bob", "flag")
    assert by_name["data_dir"]["source"] == "default"


def test_config_show_as_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert "EDC_DATABASE_URL" in out and "settings file:" in out
