"""CTCAE v5.0 as shipped: NCI's 837 terms in 26 SOCs, each a unique MedDRA LLT code
(clinical-content.md 1.1 and 1.3)."""

from __future__ import annotations

import pytest

from edc.library import CtcaeTerminology, Library


@pytest.fixture(scope="module")
def ctcae(library: Library) -> CtcaeTerminology:
    terminology = library.find_ctcae("5.0")
    assert terminology is not None
    return terminology


def test_ctcae_v5_has_837_terms_26_socs_and_unique_meddra_codes(ctcae: CtcaeTerminology) -> None:
    assert len(ctcae.terms) == 837
    assert len({term.soc for term in ctcae.terms}) == 26
    assert len({term.meddra_code for term in ctcae.terms}) == 837
    assert len({term.term for term in ctcae.terms}) == 837
    assert all(10_000_000 <= term.meddra_code <= 99_999_999 for term in ctcae.terms)
    assert sum(term.needs_specify for term in ctcae.terms) == 26
    assert ctcae.meddra_version == "20.1"
    assert "MedDRA" in ctcae.source


def test_every_term_has_grade_texts_where_grades_apply(ctcae: CtcaeTerminology) -> None:
    for term in ctcae.terms:
        assert set(term.grades) == {1, 2, 3, 4, 5}, term.term
        assert term.allowed_grades(), term.term
        for grade in term.allowed_grades():
            text = term.grades[grade]
            assert text is not None and text.strip() and text.strip() != "-", (term.term, grade)


@pytest.mark.parametrize(
    ("name", "code", "soc", "grades"),
    [
        ("Platelet count decreased", 10035528, "Investigations", (1, 2, 3, 4)),
        ("INR increased", 10022402, "Investigations", (1, 2, 3)),
        ("Spinal cord compression", 10041549, "Nervous system disorders", (3, 4, 5)),
        ("Thromboembolic event", 10043565, "Vascular disorders", (1, 2, 3, 4, 5)),
    ],
)
def test_terms_relevant_to_spine_procedures(
    ctcae: CtcaeTerminology, name: str, code: int, soc: str, grades: tuple[int, ...]
) -> None:
    term = ctcae.find_term(name)
    assert term is not None and ctcae.find_code(code) is term
    assert (term.soc, term.allowed_grades()) == (soc, grades)


def test_there_is_no_pulmonary_embolism_term(ctcae: CtcaeTerminology) -> None:
    # PE is graded under "Thromboembolic event" in CTCAE v5.0 (clinical-content.md 1.1).
    assert ctcae.find_term("Pulmonary embolism") is None


def test_unknown_ctcae_version_is_not_found(library: Library) -> None:
    assert library.find_ctcae("4.03") is None
