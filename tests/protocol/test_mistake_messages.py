"""The YAML mistakes people make when writing a protocol, each with the message they need."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from edc import errors
from edc.library import Library
from edc.protocol import load_protocol
from tests.protocol.conftest import line_of


def problems_of(path: Path, library: Library) -> list[errors.Problem]:
    with pytest.raises(errors.ProblemsError) as caught:
        load_protocol(path, library)
    assert caught.value.exit_code == errors.EXIT_BAD_INPUT
    return caught.value.problems


def test_a_comma_in_an_unquoted_flow_value_says_quote_the_value(
    minimal_text: str, write_protocol: Callable[[str], Path], library: Library
) -> None:
    text = minimal_text.replace(
        "description: The new treatment.}", "description: The new treatment, given once.}"
    )
    path = write_protocol(text)
    [problem] = problems_of(path, library)  # not also "arms: at least 2 items"
    assert problem.where == f"{path}:{line_of(text, 'given once')}"
    assert problem.field == "arms[0].given once."
    assert "check the spelling" not in problem.message
    assert problem.message == (
        "unknown key 'given once.': a comma ends an unquoted value inside {...}, so "
        "'given once.' was read as a key; quote the value: "
        'description: "The new treatment, given once."'
    )


def test_a_real_unknown_key_in_a_flow_mapping_still_says_check_the_spelling(
    minimal_text: str, write_protocol: Callable[[str], Path], library: Library
) -> None:
    text = minimal_text.replace("type: experimental,", "type: experimental, colour: red,")
    [problem] = problems_of(write_protocol(text), library)
    assert problem.field == "arms[0].colour"
    assert "check the spelling" in problem.message


def test_every_colon_in_an_unquoted_text_is_reported_at_once(
    minimal_text: str, write_protocol: Callable[[str], Path], library: Library
) -> None:
    text = (
        minimal_text.replace(
            "    - {id: IN02, text: Written informed consent., assessment: investigator}",
            "    - id: IN02\n      text: Consent: written, informed.\n"
            "      assessment: investigator",
        )
        .replace("text: Platelets below 50 x 10^9/L.", "text: Platelets: below 50 x 10^9/L.")
        .replace("title: Change in NRS pain from", "title: NRS: change in pain from")
    )
    path = write_protocol(text)
    problems = problems_of(path, library)
    assert [p.where for p in problems] == [
        f"{path}:{line_of(text, 'Consent: written')}",
        f"{path}:{line_of(text, 'Platelets: below')}",
        f"{path}:{line_of(text, 'NRS: change')}",
    ]
    assert problems[0].field == "text"
    assert problems[0].message == (
        "unquoted text contains ': ', which YAML reads as the start of another key; quote the "
        'value: text: "Consent: written, informed."'
    )
    assert problems[2].message.endswith('title: "NRS: change in pain from baseline to week 1"')


def test_other_yaml_syntax_errors_keep_the_parser_message(
    minimal_text: str, write_protocol: Callable[[str], Path], library: Library
) -> None:
    text = minimal_text.replace("  alpha: 0.05", "  alpha: [0.05")
    [problem] = problems_of(write_protocol(text), library)
    assert problem.message.startswith("invalid YAML: ")


@pytest.mark.parametrize(
    ("written", "suggested", "other_specify"),
    [
        # Spelling alone would suggest 'Retinopathy' (an eye disorder).
        ("Radiculopathy", "'Radiculitis' (Nervous system disorders)", "Nervous system disorders"),
        ("Radiculits", "'Radiculitis' (Nervous system disorders)", "Nervous system disorders"),
        ("Pulmonary embolism", "'Thromboembolic event' (Vascular disorders)", "Vascular disorders"),
    ],
)
def test_an_unknown_ctcae_term_suggests_by_root_or_synonym_with_its_soc(
    written: str,
    suggested: str,
    other_specify: str,
    minimal_text: str,
    write_protocol: Callable[[str], Path],
    library: Library,
) -> None:
    text = minimal_text.replace("- {term: Radiculitis}", f"- {{term: {written}}}")
    [problem] = problems_of(write_protocol(text), library)
    assert problem.field == "adverse_events.expected[0].term"
    assert problem.message == (
        f"{written!r} is not a CTCAE 5.0 term; did you mean {suggested}? If none fits, use "
        f"'{other_specify} - Other, specify' with specify: {written}"
    )
    assert "Retinopathy" not in problem.message


def test_every_ctcae_synonym_names_a_ctcae_term(library: Library) -> None:
    ctcae = library.find_ctcae("5.0")
    assert ctcae is not None
    synonyms = library.ctcae_synonyms("5.0")
    assert len(synonyms) > 30
    assert [term for term in synonyms.values() if ctcae.find_term(term) is None] == []
