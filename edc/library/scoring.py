"""Instrument scores in plain Python, written from the published scoring rules.

This is the second, independent implementation of every score: the instruments carry their
scores as FHIRPath over the option weights (``fhir_mappings/instruments/*.yaml``); here the
points come from our own tables of the published rules, keyed by answer code, so a wrong
weight in a YAML file makes the two disagree (the scoring tests compare them). It is also the
fast path the synthetic data generator uses to fill score items: stdlib only, no FHIRPath.

Answers use the representation of :mod:`edc.library.answers`. Arithmetic is exact
(``Fraction``); a score reported with decimals is rounded half away from zero, as FHIRPath's
``round()`` is specified ("0.5 or higher will round to 1"). Our scores are built so that no
value is ever exactly halfway (see the instrument files), so engines that round half-even
(fhirpathpy does) agree with this.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from fractions import Fraction

from edc.library.answers import AnswerError, Answers
from edc.library.score_tables import (
    BM22_SCALES,
    ECOG_GRADES,
    KPS_VALUES,
    ODI_POINTS,
    SINS_POINTS,
    TOKUHASHI_POINTS,
    TOMITA_POINTS,
    mme_factors,
)

ScoreFunction = Callable[[Answers], Fraction | None]


@dataclasses.dataclass(frozen=True)
class ScoreRule:
    """One score of one instrument: the exact rule plus how the form reports it."""

    instrument_id: str
    score_id: str
    compute: ScoreFunction
    places: int | None = None  # decimal places reported; None: exact (integers, MEDD)

    def __call__(self, answers: Answers) -> Decimal | None:
        """The reported score, or None when the answers do not allow one.

        :raises AnswerError: when an answer code is unknown or a value has the wrong type.
        """
        value = self.compute(answers)
        if value is None:
            return None
        if self.places is None:
            return Decimal(value.numerator) / Decimal(value.denominator)
        scaled = abs(value) * 10**self.places
        rounded = math.floor(scaled + Fraction(1, 2)) * (1 if value >= 0 else -1)
        return Decimal(rounded).scaleb(-self.places)


def _code(answers: Answers, link_id: str) -> str | None:
    value = answers.get(link_id)
    if value is None or isinstance(value, str):
        return value
    raise AnswerError(f"{link_id}: expected one answer code, got {value!r}")


def _points(answers: Answers, table: Mapping[str, Mapping[str, int]]) -> Iterator[int]:
    """Points of the answered items of ``table`` (linkId -> code -> points)."""
    for link_id, points in table.items():
        code = _code(answers, link_id)
        if code is None:
            continue
        if code not in points:
            raise AnswerError(f"{link_id}: unknown answer code {code!r}")
        yield points[code]


def _number(link_id: str, value: object) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise AnswerError(f"{link_id}: expected a number, got {value!r}")
    if isinstance(value, float):
        # A float stands for the decimal literal it prints as (as in FHIR JSON).
        value = Decimal(repr(value))
    if isinstance(value, Decimal) and not value.is_finite():
        raise AnswerError(f"{link_id}: expected a finite number, got {value!r}")
    return Fraction(value)


def _complete_sum(table: Mapping[str, Mapping[str, int]]) -> ScoreFunction:
    """Sum of points, scored only when every item is answered (Tokuhashi, Tomita, SINS)."""

    def compute(answers: Answers) -> Fraction | None:
        points = list(_points(answers, table))
        return Fraction(sum(points)) if len(points) == len(table) else None

    return compute


def _band(table: Mapping[str, Mapping[str, int]], uppers: tuple[int, ...]) -> ScoreFunction:
    """The interpretation band (1, 2, ...) of a complete sum: band n holds totals up to
    ``uppers[n-1]``; the last band everything above."""
    total = _complete_sum(table)

    def compute(answers: Answers) -> Fraction | None:
        value = total(answers)
        if value is None:
            return None
        return Fraction(
            next((n for n, upper in enumerate(uppers, 1) if value <= upper), len(uppers) + 1)
        )

    return compute


def _odi(answers: Answers) -> Fraction | None:
    # Fairbank & Pynsent 2000: 100 x sum / (5 x sections answered); a skipped section
    # (commonly sex life) lowers the denominator by 5.
    points = list(_points(answers, ODI_POINTS))
    return Fraction(100 * sum(points), 5 * len(points)) if points else None


def _bm22(scale: str) -> ScoreFunction:
    items, symptom = BM22_SCALES[scale]
    table = {link_id: {str(v): v for v in range(1, 5)} for link_id in items}

    def compute(answers: Answers) -> Fraction | None:
        # EORTC linear transform: RS = mean of the answered items, scored when at least
        # half of the scale's items are answered; range 3 (responses 1-4).
        points = list(_points(answers, table))
        if 2 * len(points) < len(items):
            return None
        symptom_score = (Fraction(sum(points), len(points)) - 1) / 3 * 100
        return symptom_score if symptom else 100 - symptom_score

    return compute


def _lookup(link_id: str, values: Mapping[str, int]) -> ScoreFunction:
    def compute(answers: Answers) -> Fraction | None:
        points = list(_points(answers, {link_id: values}))
        return Fraction(points[0]) if points else None

    return compute


def _medd(answers: Answers) -> Fraction | None:
    # CDC 2022: MME/day = sum of daily dose x factor; transdermal fentanyl as patch ug/h x 2.4.
    factors = mme_factors()
    total, complete, started = Fraction(0), 0, 0
    entries = answers.get("medd-entry") or []
    if isinstance(entries, str | bytes) or not isinstance(entries, list | tuple):
        raise AnswerError(f"medd-entry: expected a list of entries, got {entries!r}")
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise AnswerError(f"medd-entry: expected a mapping per entry, got {entry!r}")
        if not any(value is not None for value in entry.values()):
            continue
        started += 1
        opioid = _code(entry, "medd-opioid")
        if opioid is None:
            continue
        if opioid not in factors:
            raise AnswerError(f"medd-opioid: unknown answer code {opioid!r}")
        amount_id = "medd-patch" if opioid == "fentanyl-transdermal" else "medd-dose"
        amount = entry.get(amount_id)
        if amount is not None:
            total += factors[opioid] * _number(amount_id, amount)
            complete += 1
    if complete != started:
        return None  # an incomplete entry: a partial sum would understate the dose
    if started:
        return total
    return Fraction(0) if answers.get("medd-none") is True else None


def _rules() -> dict[tuple[str, str], ScoreRule]:
    rules = [
        ScoreRule("odi", "odi-total", _odi, places=1),
        *(ScoreRule("qlq-bm22", f"bm22-{s}", _bm22(s), places=1) for s in BM22_SCALES),
        ScoreRule("kps", "kps-score", _lookup("kps", KPS_VALUES)),
        ScoreRule("ecog", "ecog-score", _lookup("ecog", ECOG_GRADES)),
        ScoreRule("tokuhashi-revised", "tokuhashi-total", _complete_sum(TOKUHASHI_POINTS)),
        ScoreRule("tomita", "tomita-total", _complete_sum(TOMITA_POINTS)),
        ScoreRule("sins", "sins-total", _complete_sum(SINS_POINTS)),
        # Bands as published: Tokuhashi 2005 0-8 / 9-11 / 12-15; Fisher 2010 SINS 0-6 / 7-12 /
        # 13-18; Tomita 2001 2-3 / 4-5 / 6-7 / 8-10.
        ScoreRule("tokuhashi-revised", "tokuhashi-band", _band(TOKUHASHI_POINTS, (8, 11))),
        ScoreRule("sins", "sins-band", _band(SINS_POINTS, (6, 12))),
        ScoreRule("tomita", "tomita-band", _band(TOMITA_POINTS, (3, 5, 7))),
        ScoreRule("medd", "medd-total", _medd),
    ]
    return {(rule.instrument_id, rule.score_id): rule for rule in rules}


RULES: Mapping[tuple[str, str], ScoreRule] = _rules()


def get_rule(instrument_id: str, score_id: str) -> ScoreRule:
    """The rule of one score.

    :raises KeyError: when no rule is registered for that instrument and score.
    """
    try:
        return RULES[(instrument_id, score_id)]
    except KeyError:
        raise KeyError(f"no scoring rule for {instrument_id}/{score_id}") from None


def score(instrument_id: str, score_id: str, answers: Answers) -> Decimal | None:
    """One score from the answers (None when not scorable).

    :raises KeyError: for an unknown instrument/score pair.
    :raises AnswerError: when an answer code is unknown or a value has the wrong type.
    """
    return get_rule(instrument_id, score_id)(answers)


@functools.cache
def _scores_of(instrument_id: str) -> tuple[ScoreRule, ...]:
    return tuple(rule for rule in RULES.values() if rule.instrument_id == instrument_id)


def instrument_scores(instrument_id: str, answers: Answers) -> dict[str, Decimal | None]:
    """Every registered score of one instrument, by score id (empty for unscored ones).

    :raises AnswerError: when an answer code is unknown or a value has the wrong type.
    """
    return {rule.score_id: rule(answers) for rule in _scores_of(instrument_id)}
