"""Python scoring against worked examples from the literature and hand-computed totals."""

from __future__ import annotations

import itertools
from decimal import Decimal
from fractions import Fraction

import pytest

from edc.library import scoring
from edc.library.answers import AnswerError, Answers
from edc.library.score_tables import SINS_POINTS, TOKUHASHI_POINTS, TOMITA_POINTS


def odi_answers(points: dict[int, int]) -> Answers:
    return {f"odi-q{section:02}": f"s{section}-{p}" for section, p in points.items()}


def test_odi_all_sections_16_of_50_is_32_percent() -> None:
    points = dict(zip(range(1, 11), [2, 2, 2, 2, 2, 2, 1, 1, 1, 1], strict=True))
    assert scoring.score("odi", "odi-total", odi_answers(points)) == Decimal("32.0")


def test_odi_one_section_skipped_16_of_45_is_35_6_percent() -> None:
    points = dict(zip([1, 2, 3, 4, 5, 6, 7, 9, 10], [2, 2, 2, 2, 2, 2, 2, 1, 1], strict=True))
    assert scoring.score("odi", "odi-total", odi_answers(points)) == Decimal("35.6")


def test_odi_without_answers_is_not_scored() -> None:
    assert scoring.score("odi", "odi-total", {"odi-q08": None}) is None


def medd(*entries: Answers, none: bool | None = None) -> Decimal | None:
    return scoring.score("medd", "medd-total", {"medd-none": none, "medd-entry": list(entries)})


def test_cdc_examples_hydrocodone_and_oxycodone() -> None:
    # CDC 2022 footnote: hydrocodone 5 mg four times a day = 20 MME/d;
    # oxycodone ER 10 mg twice a day = 20 mg/d x 1.5 = 30 MME/d.
    assert medd({"medd-opioid": "hydrocodone", "medd-dose": 4 * 5}) == 20
    assert medd({"medd-opioid": "oxycodone", "medd-dose": 2 * 10}) == 30
    both = medd(
        {"medd-opioid": "hydrocodone", "medd-dose": 20},
        {"medd-opioid": "oxycodone", "medd-dose": Decimal(20)},
    )
    assert both == 50


def test_transdermal_fentanyl_uses_patch_strength() -> None:
    # 25 ug/h x 2.4 = 60 MME/d; a stray mg/d dose on a fentanyl entry is ignored (disabled).
    entry: Answers = {"medd-opioid": "fentanyl-transdermal", "medd-patch": 25, "medd-dose": 999}
    assert medd(entry) == 60


def test_medd_2022_factors_differ_from_2016() -> None:
    assert medd({"medd-opioid": "hydromorphone", "medd-dose": 8}) == 40  # 2016: 32
    assert medd({"medd-opioid": "tramadol", "medd-dose": 200}) == 40  # 2016: 20
    assert medd({"medd-opioid": "methadone", "medd-dose": 10}) == 47  # 2016: 40


def test_medd_is_exact_for_float_doses() -> None:
    # 0.1 x 0.2 is 0.020000000000000004 in binary floats; doses are decimal literals.
    assert medd({"medd-opioid": "tramadol", "medd-dose": 0.1}) == Decimal("0.02")
    assert str(medd({"medd-opioid": "codeine", "medd-dose": 1})) == "0.15"


def test_medd_incomplete_entry_makes_the_total_unknown() -> None:
    oxycodone: Answers = {"medd-opioid": "oxycodone", "medd-dose": 10}
    assert medd(oxycodone, {"medd-opioid": "morphine"}) is None
    assert medd(oxycodone, {"medd-dose": 10}) is None
    assert medd(oxycodone, {"medd-opioid": "oxycodone", "medd-patch": 10}) is None
    assert medd(oxycodone, {"medd-opioid": None, "medd-dose": None}) == 15  # empty: skipped


def test_medd_without_entries_is_zero_only_when_no_opioid_is_ticked() -> None:
    assert medd(none=True) == 0
    assert medd(none=False) is None
    assert medd() is None
    assert scoring.score("medd", "medd-total", {}) is None


SINS_T12 = {
    "sins-location": "junctional",  # T12: 3
    "sins-pain": "mechanical",  # 3
    "sins-lesion": "lytic",  # 2
    "sins-alignment": "normal",  # 0
    "sins-collapse": "under-50",  # 2
    "sins-posterolateral": "unilateral",  # 1
}


def test_sins_hand_computed_examples() -> None:
    assert scoring.score("sins", "sins-total", SINS_T12) == 11  # indeterminate (7-12)
    worst = {
        "sins-location": "junctional", "sins-pain": "mechanical", "sins-lesion": "lytic",
        "sins-alignment": "subluxation", "sins-collapse": "over-50",
        "sins-posterolateral": "bilateral",
    }  # fmt: skip
    assert scoring.score("sins", "sins-total", worst) == 18
    stable = {**SINS_T12, "sins-location": "semi-rigid", "sins-pain": "pain-free"}
    assert scoring.score("sins", "sins-total", stable) == 6  # 1 + 0 + 2 + 0 + 2 + 1


def test_sins_needs_all_six_items() -> None:
    assert scoring.score("sins", "sins-total", {**SINS_T12, "sins-pain": None}) is None


def test_tokuhashi_hand_computed_examples() -> None:
    breast = {
        "tokuhashi-condition": "kps-80-100",  # 2
        "tokuhashi-extraspinal": "ext-1-2",  # 1
        "tokuhashi-vertebral": "vb-1",  # 2
        "tokuhashi-organs": "organ-none",  # 2
        "tokuhashi-primary": "breast",  # 5
        "tokuhashi-palsy": "frankel-e",  # 2
    }
    assert scoring.score("tokuhashi-revised", "tokuhashi-total", breast) == 14  # >= 1 year
    lung = {
        **breast,
        "tokuhashi-condition": "kps-50-70",  # 1
        "tokuhashi-vertebral": "vb-3-plus",  # 0
        "tokuhashi-primary": "lung",  # 0
        "tokuhashi-palsy": "frankel-c-d",  # 1
    }
    # 1 + 1 + 0 + 2 + 0 + 1 = 5: predicted survival < 6 months (0-8)
    assert scoring.score("tokuhashi-revised", "tokuhashi-total", lung) == 5
    kidney = {**lung, "tokuhashi-primary": "kidney", "tokuhashi-organs": "organ-removable"}
    assert scoring.score("tokuhashi-revised", "tokuhashi-total", kidney) == 7  # 5 + 3 - 1
    del kidney["tokuhashi-palsy"]
    assert scoring.score("tokuhashi-revised", "tokuhashi-total", kidney) is None


def test_tomita_hand_computed_examples() -> None:
    best = {"tomita-growth": "slow", "tomita-visceral": "none", "tomita-bone": "solitary"}
    worst = {"tomita-growth": "rapid", "tomita-visceral": "untreatable", "tomita-bone": "multiple"}
    assert scoring.score("tomita", "tomita-total", best) == 2
    assert scoring.score("tomita", "tomita-total", worst) == 10
    assert scoring.score("tomita", "tomita-total", {**best, "tomita-visceral": "treatable"}) == 4


def bm22(values: dict[int, int]) -> dict[str, Decimal | None]:
    return scoring.instrument_scores("qlq-bm22", {f"bm22-q{n}": str(v) for n, v in values.items()})


def test_bm22_symptom_and_functional_transforms() -> None:
    scores = bm22({31: 2, 32: 3, 33: 4, 36: 1, 37: 1, 38: 1} | dict.fromkeys(range(39, 53), 4))
    # PS: RS = 3 -> (3 - 1) / 3 x 100 = 66.7; PC all "not at all" -> 0.
    # FI, PA all "very much" -> (1 - (4 - 1) / 3) x 100 = 0.
    assert scores == {
        "bm22-ps": Decimal("66.7"), "bm22-pc": Decimal("0.0"),
        "bm22-fi": Decimal("0.0"), "bm22-pa": Decimal("0.0"),
    }  # fmt: skip
    scores = bm22(dict.fromkeys(range(39, 47), 1) | {47: 2, 48: 2, 49: 3})
    assert scores["bm22-fi"] == 100
    assert scores["bm22-pa"] == Decimal("55.6")  # RS 7/3 -> (1 - 4/9) x 100


def test_bm22_half_rule() -> None:
    # PS 5 items: 3 needed; PC 3 items: 2 needed; FI 8 items: 4 needed; PA 6 items: 3 needed.
    scored = bm22(
        {31: 1, 32: 1, 33: 1, 36: 1, 37: 1, 39: 1, 40: 1, 41: 1, 42: 1, 47: 1, 48: 1, 49: 1}
    )
    assert None not in scored.values()
    unscored = bm22({31: 1, 32: 1, 36: 1, 39: 1, 40: 1, 41: 1, 47: 1, 48: 1})
    assert set(unscored.values()) == {None}


def test_kps_and_ecog_scores_are_the_option_values() -> None:
    assert scoring.score("kps", "kps-score", {"kps": "LA29177-5"}) == 80
    assert scoring.score("kps", "kps-score", {"kps": "LA9627-6"}) == 0
    assert scoring.score("ecog", "ecog-score", {"ecog": "LA9624-3"}) == 2
    assert scoring.score("ecog", "ecog-score", {}) is None


def test_rounding_is_half_away_from_zero() -> None:
    def rule(value: Fraction) -> Decimal | None:
        return scoring.ScoreRule("x", "y", lambda _: value, places=1)({})

    assert rule(Fraction(5, 100)) == Decimal("0.1")
    assert rule(Fraction(-5, 100)) == Decimal("-0.1")
    assert rule(Fraction(1, 3)) == Decimal("0.3")


def test_unknown_codes_and_wrong_values_are_rejected() -> None:
    with pytest.raises(AnswerError, match="unknown answer code 'lytc'"):
        scoring.score("sins", "sins-total", {**SINS_T12, "sins-lesion": "lytc"})
    with pytest.raises(AnswerError, match="expected one answer code"):
        scoring.score("odi", "odi-total", {"odi-q01": ["s1-1", "s1-2"]})
    with pytest.raises(AnswerError, match="expected a number"):
        medd({"medd-opioid": "morphine", "medd-dose": "ten"})
    with pytest.raises(AnswerError, match="unknown answer code 'heroin'"):
        medd({"medd-opioid": "heroin", "medd-dose": 10})
    with pytest.raises(KeyError, match="no scoring rule for odi/odi-score"):
        scoring.score("odi", "odi-score", {})


def test_unscored_instruments_have_no_scores() -> None:
    assert scoring.instrument_scores("frankel", {"frankel": "A"}) == {}


@pytest.mark.parametrize(
    ("instrument_id", "prefix", "bands"),
    [
        # (lowest total, highest total) of each published band
        ("tokuhashi-revised", "tokuhashi", [(0, 8), (9, 11), (12, 15)]),
        ("sins", "sins", [(0, 6), (7, 12), (13, 18)]),
        ("tomita", "tomita", [(2, 3), (4, 5), (6, 7), (8, 10)]),
    ],
)
def test_interpretation_bands_follow_the_published_cut_offs(
    instrument_id: str, prefix: str, bands: list[tuple[int, int]]
) -> None:
    table = {"tokuhashi": TOKUHASHI_POINTS, "sins": SINS_POINTS, "tomita": TOMITA_POINTS}[prefix]
    seen = set()
    for codes in itertools.product(*(sorted(points) for points in table.values())):
        answers = dict(zip(table, codes, strict=True))
        total = scoring.score(instrument_id, f"{prefix}-total", answers)
        band = scoring.score(instrument_id, f"{prefix}-band", answers)
        assert total is not None
        (expected,) = [n for n, (low, high) in enumerate(bands, 1) if low <= total <= high]
        assert band == expected, (total, band)
        seen.add(expected)
    assert seen == set(range(1, len(bands) + 1))
    partial = dict(list(zip(table, [sorted(p)[0] for p in table.values()], strict=True))[:-1])
    assert scoring.score(instrument_id, f"{prefix}-band", partial) is None
