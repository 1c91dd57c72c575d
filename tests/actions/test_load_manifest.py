"""`edc load` checks the manifest before it opens a file or contacts a server."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from edc import errors
from edc.actions import load
from edc.cli import main
from edc.synth import layout

# Nothing listens here: a test that got as far as the network would fail with exit 3.
NOWHERE = "http://127.0.0.1:9/fhir"


def _directory(tmp_path: Path, output: list[object]) -> Path:
    directory = tmp_path / "generated"
    directory.mkdir()
    patients = b'{"resourceType":"Patient","id":"p1"}\n'
    (directory / "Patient.ndjson").write_bytes(patients)
    manifest = {
        "transactionTime": "2026-01-01T00:00:00Z",
        "output": output,
        "extension": {"generator": layout.GENERATOR, "site_studies": {}, "questionnaires": []},
    }
    (directory / layout.MANIFEST).write_text(json.dumps(manifest))
    return directory


def _entry(url: object = "Patient.ndjson", **changes: object) -> dict[str, object]:
    digest = hashlib.sha256(b'{"resourceType":"Patient","id":"p1"}\n').hexdigest()
    entry: dict[str, object] = {"type": "Patient", "url": url, "count": 1, "sha256": digest}
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        (_entry(url=None), "output[0].url", "missing"),
        (_entry(url=""), "output[0].url", "missing"),
        (_entry(url="/etc/hostname"), "output[0].url", "'/etc/hostname' is not a file name"),
        (_entry(url="../Patient.ndjson"), "output[0].url", "is not a file name in this"),
        (_entry(url="sub/../../x.ndjson"), "output[0].url", "is not a file name in this"),
        (_entry(url="file:///etc/passwd"), "output[0].url", "is not a file name in this"),
        (_entry(url="..\\x.ndjson"), "output[0].url", "is not a file name in this"),
        (_entry(type="../../etc"), "output[0].type", "not a resource type name"),
        (_entry(sha256=None), "output[0].sha256", "missing"),
        ("Patient.ndjson", "output[0]", "not an object"),
    ],
    ids=[
        "no-url",
        "empty-url",
        "absolute",
        "dot-dot",
        "hidden-dot-dot",
        "file-url",
        "backslash",
        "bad-type",
        "no-sha256",
        "not-an-object",
    ],
)
def test_bad_manifest_entries_are_refused_before_anything_is_read(
    tmp_path: Path, entry: object, field: str, message: str
) -> None:
    directory = _directory(tmp_path, [entry])
    with pytest.raises(errors.ProblemsError) as caught:
        load.load(directory, NOWHERE)
    (problem,) = caught.value.problems
    assert problem.where == str(directory / layout.MANIFEST)
    assert (problem.field, message in problem.message) == (field, True), problem


def test_the_command_names_every_bad_entry_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = _directory(tmp_path, [_entry(url=None), _entry(url="/etc/passwd")])
    assert main(["load", str(directory), "--fhir-url", NOWHERE]) == errors.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "output[0].url: missing" in err
    assert "output[1].url: '/etc/passwd' is not a file name in this directory" in err
    assert "Traceback" not in err


def test_a_good_manifest_gets_as_far_as_the_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = _directory(tmp_path, [_entry()])
    assert main(["load", str(directory), "--fhir-url", NOWHERE, "--max-attempts", "1"]) == 3
