"""Hostile protocol files: each is refused quickly, exit 2, with file:line, never a traceback."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edc import errors, located_yaml
from edc.cli import main
from edc.library import Library
from edc.protocol import load_protocol
from tests.protocol.conftest import line_of

# Seven levels of nine aliases each: 478 bytes that PyYAML would expand to 9**7 strings.
ALIAS_BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]"
            for prev, name in zip("abcdef", "bcdefg", strict=True)
        ),
    ]
)


def refused(path: Path, library: Library) -> errors.Problem:
    started = time.monotonic()
    with pytest.raises(errors.ProblemsError) as caught:
        load_protocol(path, library)
    assert time.monotonic() - started < 5, "refusing must not take long"
    assert caught.value.exit_code == errors.EXIT_BAD_INPUT
    return caught.value.problems[0]


def test_alias_bomb_is_refused_before_it_expands(
    write_protocol: Callable[[str], Path], library: Library
) -> None:
    path = write_protocol(ALIAS_BOMB)
    assert len(ALIAS_BOMB) < 500
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    problem = refused(path, library)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50_000, "the bomb was expanded"
    assert "expands to more than 200,000 values" in problem.message
    assert problem.where.startswith(f"{path}:")


def test_merge_key_bomb_is_refused(write_protocol: Callable[[str], Path], library: Library) -> None:
    levels = ["m0: &m0 {k: v}"] + [
        f"m{n}: &m{n} {{<<: [*m{n - 1}, *m{n - 1}], k{n}: v}}" for n in range(1, 40)
    ]
    problem = refused(write_protocol("\n".join(levels)), library)
    assert "expands to more than" in problem.message


@pytest.mark.parametrize("depth", [100, 5000])
def test_deep_nesting_is_refused_with_its_line(
    write_protocol: Callable[[str], Path], library: Library, depth: int
) -> None:
    path = write_protocol("study:\n  title: x\narms: " + "[" * depth + "]" * depth + "\n")
    problem = refused(path, library)
    assert problem.where == f"{path}:3"
    # Past libyaml's own limit its parser says so first; below it, our limit of 64 applies.
    assert "nested more than 64 levels" in problem.message or "nesting depth" in problem.message


def test_aliases_cannot_nest_deeper_than_the_text(
    write_protocol: Callable[[str], Path], library: Library
) -> None:
    # Each anchor is 60 levels deep in the text; used inside the next one, 60 more each time.
    lines = [f"l0: &l0 {'[' * 60}x{']' * 60}"]
    lines += [f"l{n}: &l{n} {'[' * 60}*l{n - 1}{']' * 60}" for n in range(1, 30)]
    problem = refused(write_protocol("\n".join(lines)), library)
    assert "aliases nest more than 64 levels" in problem.message


def test_an_alias_to_its_own_anchor_is_refused(
    write_protocol: Callable[[str], Path], library: Library
) -> None:
    path = write_protocol("study: {title: x}\narms: &arms [*arms]\n")
    problem = refused(path, library)
    assert (problem.where, problem.message) == (f"{path}:2", "an alias refers to its own anchor")


def test_an_impossible_date_is_a_located_problem(
    write_protocol: Callable[[str], Path], minimal_text: str, library: Library
) -> None:
    text = minimal_text.replace("study:\n", "study:\n  planned_start: 2027-02-30\n", 1)
    path = write_protocol(text)
    problem = refused(path, library)
    assert problem.where == f"{path}:{line_of(text, 'planned_start')}"
    assert problem.field == "study.planned_start"
    assert "'2027-02-30' is not a valid value (day is out of range for month)" in problem.message


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("study:\n  title: x\u0000\n", 2, "character U+0000 is not allowed"),
        ("study:\n  title: !!python/name:os.system ''\n", 2, "could not determine"),
        ("study:\n  title: !!python/object/apply:os.system [id]\n", 2, "unsupported tag"),
        ("study: {title: x}\narms: " + "9" * 5000 + "\n", 2, "is not a valid value"),
        ("study: {title: x}\n? [a, b]\n: 1\n", 2, "a key must be a plain value"),
    ],
    ids=["nul", "unsafe-tag", "unsafe-tag-on-a-list", "huge-integer", "complex-key"],
)
def test_values_yaml_cannot_construct_are_located_problems(
    write_protocol: Callable[[str], Path], library: Library, text: str, line: int, message: str
) -> None:
    path = write_protocol(text)
    problem = refused(path, library)
    assert message in problem.message
    assert problem.where == f"{path}:{line}"


def test_bytes_that_are_not_utf8_are_located(tmp_path: Path, library: Library) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("study:\n  title: Étude\n".encode("latin-1"))
    problem = refused(path, library)
    assert (problem.where, problem.message) == (f"{path}:2", "not UTF-8 text (byte 0xc9)")


def test_an_endless_file_is_not_read_to_the_end(library: Library) -> None:
    problem = refused(Path("/dev/zero"), library)
    assert problem.where == "/dev/zero:1"
    assert f"larger than {located_yaml.MAX_BYTES:,} bytes" in problem.message


def test_too_many_values_are_refused_quickly(tmp_path: Path, library: Library) -> None:
    path = tmp_path / "long.yaml"
    path.write_text("arms:\n" + "- a\n" * 250_000)
    problem = refused(path, library)
    assert "holds more than 200,000 values" in problem.message


def test_the_command_exits_2_naming_file_and_line(
    write_protocol: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_protocol(ALIAS_BOMB)
    assert main(["protocol", "check", str(path)]) == errors.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"{path}:6: expands to more than" in err  # f: 9**6 strings, past the limit
    assert "Traceback" not in err
