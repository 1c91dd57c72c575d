"""`edc generate` from the command line: output, and bad input (exit 2, nothing written)."""

from __future__ import annotations

import pytest

from edc import errors
from edc.cli import main
from edc.synth.writer import DirectoryWriter
from tests.synth.conftest import MWA, STUDIES


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_generate_writes_the_directory_and_reports(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "generate",
            "--study",
            str(MWA),
            "--patients",
            "40",
            "--sites",
            "2",
            "--seed",
            "4",
            "--out",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert f"wrote {out}: 40 patients" in captured.out
    assert "generate: 40/40 patients" in captured.err  # progress with a rate
    assert (out / "manifest.json").is_file() and (out / "truth" / "allocations.ndjson").is_file()
    sites = {
        line.split('"site":"')[1][:2]
        for line in (out / "truth" / "patients.ndjson").read_text().splitlines()
    }
    assert sites <= {"01", "02"}
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--study", str(STUDIES / "no-such-study.yaml")], "protocol file not found"),
        (["--sites", "4"], "has only 3 site(s)"),
        (["--sites", "0"], "--sites must be at least 1"),
        (["--patients", "-5"], "--patients must be at least 1"),
        (["--seed", "-1"], "--seed must not be negative"),
        (["--defect-rate", "1.5"], "--defect-rate must be within 0..1"),
        (["--profile", str(STUDIES / "missing.synthetic.yaml")], "synthetic profile not found"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message_and_writes_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    base = {"--study": str(MWA), "--patients": "10", "--out": str(out)}
    flags = dict(zip(args[::2], args[1::2], strict=True))
    argv = ["generate"] + [
        part for key, value in {**base, **flags}.items() for part in (key, value)
    ]
    assert main(argv) == errors.EXIT_BAD_INPUT
    assert message in capsys.readouterr().err
    assert not out.exists()
    assert _leftovers(tmp_path) == []


def test_unwritable_or_used_out_is_refused(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    argv = ["generate", "--study", str(MWA), "--patients", "5"]
    assert main([*argv, "--out", str(blocker / "run")]) == errors.EXIT_BAD_INPUT
    assert "is not a directory" in capsys.readouterr().err
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    assert main([*argv, "--out", str(used)]) == errors.EXIT_BAD_INPUT
    assert "already exists and is not an empty directory" in capsys.readouterr().err
    assert [p.name for p in used.iterdir()] == ["keep.txt"]


def test_a_failure_midway_leaves_nothing_behind(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(RuntimeError), DirectoryWriter(out) as writer:
        writer.write("Patient", b'{"resourceType":"Patient"}\n')
        raise RuntimeError("disk full")
    assert not out.exists()
    assert _leftovers(tmp_path) == []


def test_a_bad_profile_is_reported_with_file_and_line(tmp_path, capsys):
    profile = tmp_path / "bad.synthetic.yaml"
    text = (STUDIES / "spine-mwa-01.synthetic.yaml").read_text()
    profile.write_text(
        text.replace("IN07: {rule:", "IN99: {rule:").replace(
            "term: Radiculitis", "term: Radiculitis of the elbow"
        )
    )
    code = main(
        [
            "generate",
            "--study",
            str(MWA),
            "--patients",
            "5",
            "--out",
            str(tmp_path / "run"),
            "--profile",
            str(profile),
        ]
    )
    err = capsys.readouterr().err
    assert code == errors.EXIT_BAD_INPUT
    assert "eligibility.IN99: no such criterion in the protocol" in err
    assert "not a CTCAE 5.0 term" in err
    assert f"{profile}:" in err
    assert not (tmp_path / "run").exists()
