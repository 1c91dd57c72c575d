"""`edc serve` on the command line: its help, and bad flags refused before anything starts."""

from __future__ import annotations

import pytest

from edc import cli


def test_serve_refuses_a_port_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--port", "70000"]) == 2
    assert "--port must be within 1..65535" in capsys.readouterr().err


def test_serve_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--host" in out and "--port" in out and "/api/v1/" in out
