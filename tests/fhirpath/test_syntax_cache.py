"""Expressions found fine are remembered across runs; problems are always worked out afresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from edc import fhirpath


def cache_lines(directory: Path) -> list[str]:
    return [
        line
        for path in directory.glob("fhirpath-syntax-ok-*.txt")
        for line in path.read_text().split()
    ]


def test_a_fine_expression_is_parsed_once_then_read_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDC_CACHE_DIR", str(tmp_path))
    assert fhirpath.syntax_problems("Patient.birthDate < today() - 18 years") == []
    assert len(cache_lines(tmp_path)) == 1

    def parse_again(expression: str) -> list[str]:
        raise AssertionError(f"parsed again: {expression}")

    monkeypatch.setattr(fhirpath, "_parse_problems", parse_again)
    fhirpath.syntax_problems("Patient.birthDate < today() - 18 years")


def test_a_problem_is_never_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDC_CACHE_DIR", str(tmp_path))
    for _ in range(2):
        assert fhirpath.syntax_problems("Patient.name.sum()")[0].startswith(
            "FHIRPath function sum() cannot be evaluated"
        )
        assert fhirpath.syntax_problems("Patient.(") != []
    assert cache_lines(tmp_path) == []


def test_an_empty_cache_dir_turns_the_cache_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDC_CACHE_DIR", "")
    monkeypatch.chdir(tmp_path)
    assert fhirpath.syntax_problems("1 + 1") == []
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_or_unwritable_cache_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("EDC_CACHE_DIR", str(blocker / "edc"))
    assert fhirpath.syntax_problems("2 + 2") == []
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    monkeypatch.setenv("EDC_CACHE_DIR", str(damaged))
    fhirpath.syntax_problems("3 + 3")
    (next(damaged.iterdir())).write_bytes(b"\xff\xfe torn line\n")
    monkeypatch.setenv("EDC_CACHE_DIR", str(damaged / "."))  # a new view reads the damaged file
    assert fhirpath.syntax_problems("Patient.(") != []
    assert fhirpath.syntax_problems("3 + 3") == []


def test_name_checks_are_remembered_only_when_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edc.fhirpath import syntax_cache

    monkeypatch.setenv("EDC_CACHE_DIR", str(tmp_path))
    calls: list[str] = []

    def clean() -> list[str]:
        calls.append("clean")
        return []

    def unknown() -> list[str]:
        calls.append("unknown")
        return ["unknown variable %x"]

    for _ in range(2):
        assert syntax_cache.remembered_clean("names:a", "%a + 1", clean) == []
        assert syntax_cache.remembered_clean("names:a", "%x + 1", unknown) == [
            "unknown variable %x"
        ]
    # Another scope is another question: the same text is checked again.
    assert syntax_cache.remembered_clean("names:b", "%a + 1", clean) == []
    assert calls == ["clean", "unknown", "unknown", "clean"]
