"""``edit_checks:`` in the protocol: what ``edc protocol check`` rejects, located, and how
single-form checks reach the Questionnaire (SDC ``questionnaire-constraint``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from edc import errors
from edc.compiler import compile_protocol
from edc.library import Library
from edc.protocol import load_protocol
from tests.protocol.conftest import line_of

CHECKS = """
edit_checks:
  - id: odi-complete
    form: odi
    expression: "%resource.item.where(linkId='odi-complete').answer.value = true"
    message: Every ODI section must be answered.
  - id: pain-after-odi
    form: pain
    item: nrs
    severity: warning
    expression: "%resource.item.where(linkId='nrs').answer.value <= 10 or %odi.exists()"
    message: Check the pain score against the ODI.
"""


def _problems(path: Path, library: Library) -> list[errors.Problem]:
    with pytest.raises(errors.ProblemsError) as caught:
        load_protocol(path, library)
    assert caught.value.exit_code == errors.EXIT_BAD_INPUT
    return caught.value.problems


def test_a_consistent_check_loads(
    minimal_text: str, write_protocol: Callable[[str], Path], library: Library
) -> None:
    protocol = load_protocol(write_protocol(minimal_text + CHECKS), library).protocol
    first, second = protocol.edit_checks
    assert first.target_item() == "odi-complete" and first.severity == "error"
    assert second.target_item() == "nrs" and second.severity == "warning"


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("form: odi", "form: odj", "form", "unknown form 'odj'; did you mean 'odi'?"),
        ("linkId='nrs'", "linkId='nrx'", "expression", "unknown linkId 'nrx'"),
        ("item: nrs", "item: nrx", "item", "unknown linkId 'nrx' in form 'pain'"),
        ("%odi.exists()", "%odx.exists()", "expression", "unknown variable %odx"),
        ('= true"', '= true)"', "expression", "invalid FHIRPath"),
    ],
)
def test_a_bad_check_is_rejected_where_it_is(
    minimal_text: str,
    write_protocol: Callable[[str], Path],
    library: Library,
    old: str,
    new: str,
    field: str,
    message: str,
) -> None:
    text = minimal_text + CHECKS.replace(old, new)
    path = write_protocol(text)
    [problem] = _problems(path, library)
    assert message in problem.message
    assert problem.field.endswith(field)
    anchor = new if field != "expression" or "linkId" in new or "%" in new else "= true)"
    assert problem.where == f"{path}:{line_of(text, anchor)}"


def test_single_form_checks_become_questionnaire_constraints(
    minimal_text: str, write_protocol: Callable[[str], Path], library: Library
) -> None:
    protocol = load_protocol(write_protocol(minimal_text + CHECKS), library).protocol
    compiled = compile_protocol(protocol, library)
    odi = compiled.find("Questionnaire", "mini-01-odi-1.0")
    assert odi is not None
    [constraint] = [e for e in odi["extension"] if e["url"].endswith("questionnaire-constraint")]
    parts = {
        part["url"]: next(v for k, v in part.items() if k != "url")
        for part in constraint["extension"]
    }
    assert parts == {
        "key": "odi-complete",
        "severity": "error",
        "expression": "%resource.item.where(linkId='odi-complete').answer.value = true",
        "human": "Every ODI section must be answered.",
    }
    # The cross-form check needs the subject's other forms: only the EDC can evaluate it.
    pain = compiled.find("Questionnaire", "mini-01-pain-1.0")
    assert pain is not None
    assert "extension" not in pain
