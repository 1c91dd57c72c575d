"""The command line's own behaviour: help, version, global flags anywhere, exit codes."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

import edc
from edc import errors
from edc.cli import app, argv, main

ROOT = Path(__file__).parents[2]
MINIMAL = ROOT / "tests" / "data" / "protocols" / "minimal.yaml"


def test_edc_alone_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    main([])
    out = capsys.readouterr().out
    assert "Usage: edc" in out and "protocol" in out and "sync" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"edc {edc.__version__}\n"


@pytest.mark.parametrize(
    "line",
    [
        ["-q", "protocol", "check", str(MINIMAL)],
        ["protocol", "-q", "check", str(MINIMAL)],
        ["protocol", "check", str(MINIMAL), "--quiet"],
    ],
)
def test_quiet_works_anywhere_on_the_line(
    line: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*line, "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["study"] == "MINI-01"
    assert captured.err == ""  # -q: the headline is not repeated on stderr


def test_verbose_counts_wherever_it_is() -> None:
    assert main(["protocol", "check", str(MINIMAL), "-v", "--format", "json", "-v"]) == 0
    assert logging.getLogger("edc").level == logging.DEBUG
    assert main(["-v", "protocol", "check", str(MINIMAL), "--format", "json"]) == 0
    assert logging.getLogger("edc").level == logging.INFO


def test_hoisting_never_takes_an_option_value_for_a_flag() -> None:
    tree = app.command()
    line = ["db", "revision", "-m", "-v", "--user", "ann", "-vv"]
    assert argv.hoist(line, tree) == ["--user", "ann", "-vv", "db", "revision", "-m", "-v"]
    assert argv.hoist(["sync", "--", "-v"], tree) == ["sync", "--", "-v"]
    assert argv.hoist(["--config=x.toml", "db"], tree) == ["--config=x.toml", "db"]


def test_usage_errors_are_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["protocol", "check"]) == errors.EXIT_BAD_INPUT
    assert main(["no-such-command"]) == errors.EXIT_BAD_INPUT
    assert main(["protocol", "check", str(MINIMAL), "--format", "xml"]) == errors.EXIT_BAD_INPUT
    assert "xml" in capsys.readouterr().err


def test_a_user_error_is_a_message_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["protocol", "check", str(tmp_path / "nope.yaml")]) == errors.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("edc: error: ") and "Traceback" not in err


def test_every_command_has_help_with_a_summary() -> None:
    tree = app.command()
    for name, command in tree.commands.items():
        assert command.get_short_help_str(), name
        for sub_name, sub in getattr(command, "commands", {}).items():
            assert sub.get_short_help_str(), f"{name} {sub_name}"


def test_completion_script_is_offered() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "edc", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "SHELL": "/bin/bash"},
    )
    assert done.returncode == 0, done.stderr
    assert "_EDC_COMPLETE" in done.stdout or "complete" in done.stdout


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--fhir-url", "not a url"], "--fhir-url"),
        (["--fhir-url", "http://127.0.0.1:9/fhir", "--smart-kid", "k"], "SMART credentials"),
    ],
)
def test_load_checks_its_server_flags_before_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    assert main(["load", str(tmp_path), *flags]) == errors.EXIT_BAD_INPUT
    assert message in capsys.readouterr().err


def test_the_same_thing_has_the_same_metavar_everywhere() -> None:
    from edc.cli import docs

    seen: dict[str, set[str]] = {}
    for _, command in docs.leaf_commands(app.command()):
        for param in command.params:
            if param.param_type_name != "option" or param.is_flag or param.count:
                continue
            flag = max(param.opts, key=len)
            if flag in {"--format", "--smart-alg"}:
                continue  # choices, shown as such
            assert param.metavar, f"{flag} has no metavar"
            seen.setdefault(flag, set()).add(param.metavar)
    assert seen["--fhir-url"] == {"URL"} and seen["--max-attempts"] == {"N"}
    assert seen["--source"] == {"DIR"} and seen["--smart-key"] == {"FILE"}
    # --study is a protocol FILE for demo/generate and a study ID for sync, as it always was.
    assert seen["--study"] == {"FILE", "ID"}
    assert all(len(metavars) == 1 for flag, metavars in seen.items() if flag != "--study")
