"""Concealed randomization: stratified permuted blocks and Pocock-Simon minimization.

Everything random comes from one secret seed (32 bytes) through a counter-mode SHA-256 stream
(``Stream``): the same seed and design always give the same lists and assignments, on any
machine and Python version, and nothing else can. The *commitment* is the SHA-256 of the
canonical JSON of the scheme version, the design, the seed and the digest of the lists it
expands to; it is published (audit trail, command output) before the first subject is
randomized, while the seed stays with the unblinded statistician. Revealing the seed at the end
lets anyone recompute the commitment and every allocation (``verify``).

Permuted blocks: each stratum (a combination of factor levels, e.g. ``site=01|region=lumbar``)
has its own list of blocks; each block's size is drawn from the protocol's sizes, and holds
every arm in proportion to the ratio (2:1:1 with size 8: four A, two B, two C), shuffled.

Minimization: the factors are margins. For a new subject, each arm's imbalance is what the
counts at the subject's own factor levels would be if the subject joined it (counts divided by
the arm's ratio weight; range or variance across arms, summed over factors). The arm with the
least imbalance is chosen with the protocol's probability, another arm otherwise (by weight);
ties are broken at random by weight. Draws for subject ``n`` come from the stream at ``n``, so
the sequence can be replayed from the seed and the subjects' factor levels.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import orjson

from edc.protocol.model import Randomization

SCHEME = "edc-randomization/1"
SEED_BYTES = 32
NO_STRATA = "all"


@dataclasses.dataclass(frozen=True)
class Factor:
    """A stratification (or minimization) factor with its levels (site codes for the site)."""

    id: str
    levels: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Design:
    """What the lists are made for: everything the protocol says about allocation."""

    method: str  # "permuted-block" | "minimization"
    ratio: tuple[tuple[str, int], ...]  # (arm, weight) in protocol order
    factors: tuple[Factor, ...]
    block_sizes: tuple[int, ...] = ()
    probability: float = 1.0
    imbalance: str = "range"  # "range" | "variance"
    # Positions per stratum the lists were expanded to (minimization: assignments drawn).
    length: int = 0

    @property
    def arms(self) -> tuple[str, ...]:
        return tuple(arm for arm, _ in self.ratio)

    @property
    def weights(self) -> dict[str, int]:
        return dict(self.ratio)

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "ratio": [[arm, weight] for arm, weight in self.ratio],
            "factors": [{"id": f.id, "levels": list(f.levels)} for f in self.factors],
            "block_sizes": list(self.block_sizes),
            "probability": self.probability,
            "imbalance": self.imbalance,
            "length": self.length,
        }

    def canonical(self) -> str:
        return canonical_json(self.as_json())

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Design:
        return cls(
            method=str(data["method"]),
            ratio=tuple((str(a), int(w)) for a, w in data["ratio"]),
            factors=tuple(Factor(str(f["id"]), tuple(f["levels"])) for f in data["factors"]),
            block_sizes=tuple(int(s) for s in data["block_sizes"]),
            probability=float(data["probability"]),
            imbalance=str(data["imbalance"]),
            length=int(data.get("length", 0)),
        )


@dataclasses.dataclass(frozen=True)
class Slot:
    """One position of a stratum's list."""

    stratum: str
    sequence: int  # 1, 2, ... within the stratum
    block: int
    block_size: int
    position: int  # 1-based within the block
    arm: str


def design_of(randomization: Randomization, sites: Sequence[str], length: int) -> Design:
    """The allocation design a protocol's randomization describes (``sites``: the levels of a
    site factor; ``length``: positions per stratum, minimization: assignments)."""
    factors = tuple(
        Factor(factor.id, tuple(sites) if factor.kind == "site" else tuple(factor.levels))
        for factor in randomization.stratify_by
    )
    minimization = randomization.minimization
    return Design(
        method=randomization.method,
        ratio=tuple(randomization.ratio.items()),
        factors=factors,
        block_sizes=tuple(randomization.block_sizes),
        probability=minimization.probability if minimization else 1.0,
        imbalance=minimization.imbalance if minimization else "range",
        length=length,
    )


def canonical_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


class Draws(Protocol):
    """Uniform draws in [0, 1)."""

    def uniform(self) -> float: ...


class Stream:
    """Uniform draws from SHA-256(seed, label, counter), 53 bits each."""

    def __init__(self, seed: bytes, label: str) -> None:
        self._prefix = seed + b"\x00" + label.encode() + b"\x00"
        self._counter = 0

    def uniform(self) -> float:
        digest = hashlib.sha256(self._prefix + self._counter.to_bytes(8, "big")).digest()
        self._counter += 1
        return (int.from_bytes(digest[:8], "big") >> 11) / float(1 << 53)


class Replay:
    """Draws taken earlier from a ``Stream`` and stored (minimization at randomization time).

    :raises IndexError: (from ``uniform``) when more draws are asked for than were stored.
    """

    def __init__(self, values: Sequence[float]) -> None:
        self._values = list(values)
        self._next = 0

    def uniform(self) -> float:
        value = self._values[self._next]
        self._next += 1
        return value


def below(draws: Draws, n: int) -> int:
    """An integer in [0, n)."""
    return min(int(draws.uniform() * n), n - 1)


def weighted(draws: Draws, options: Sequence[tuple[str, float]]) -> str:
    """One option, with probability proportional to its weight."""
    total = sum(weight for _, weight in options)
    point = draws.uniform() * total
    for option, weight in options:
        point -= weight
        if point < 0:
            return option
    return options[-1][0]


def stratum_of(design: Design, levels: Mapping[str, str]) -> str:
    """``site=01|region=lumbar``: the stratum of a subject's factor levels (design order).

    :raises KeyError: naming a factor without a level.
    :raises ValueError: for a level the factor does not have.
    """
    if design.method != "permuted-block" or not design.factors:
        return NO_STRATA
    parts = []
    for factor in design.factors:
        level = levels[factor.id]
        if level not in factor.levels:
            raise ValueError(
                f"{level!r} is not a level of {factor.id} ({', '.join(factor.levels)})"
            )
        parts.append(f"{factor.id}={level}")
    return "|".join(parts)


def all_strata(design: Design) -> list[str]:
    if design.method != "permuted-block" or not design.factors:
        return [NO_STRATA]
    combos = itertools.product(*(f.levels for f in design.factors))
    return [
        "|".join(f"{f.id}={level}" for f, level in zip(design.factors, combo, strict=True))
        for combo in combos
    ]


def block_lists(design: Design, seed: bytes, length: int) -> dict[str, list[Slot]]:
    """Each stratum's list of at least ``length`` positions, in whole blocks.

    :raises ValueError: for a block size that does not hold the ratio a whole number of times.
    """
    lists: dict[str, list[Slot]] = {}
    for stratum in all_strata(design):
        slots: list[Slot] = []
        for slot in stratum_slots(design, seed, stratum):
            if len(slots) >= length and slot.position == 1:
                break
            slots.append(slot)
        lists[stratum] = slots
    return lists


def stratum_slots(design: Design, seed: bytes, stratum: str) -> Iterator[Slot]:
    """One stratum's list, block by block, without end (``block_lists`` takes whole blocks of
    it; ``edc generate`` takes what it needs).

    :raises ValueError: for a block size that does not hold the ratio a whole number of times.
    """
    total = sum(design.weights.values())
    for size in design.block_sizes:
        if size % total:
            raise ValueError(f"block size {size} is not a multiple of the ratio total {total}")
    stream = Stream(seed, f"blocks:{stratum}")
    sequence = 0
    block = 0
    while True:
        block += 1
        size = design.block_sizes[below(stream, len(design.block_sizes))]
        arms = [arm for arm, weight in design.ratio for _ in range(weight * (size // total))]
        for index in range(len(arms) - 1, 0, -1):  # Fisher-Yates, on our own stream
            other = below(stream, index + 1)
            arms[index], arms[other] = arms[other], arms[index]
        for position, arm in enumerate(arms, 1):
            sequence += 1
            yield Slot(stratum, sequence, block, size, position, arm)


def lists_digest(lists: Mapping[str, Sequence[Slot]]) -> str:
    """SHA-256 over every slot of every list, in canonical order."""
    rows = [
        [s.stratum, s.sequence, s.block, s.block_size, s.position, s.arm]
        for stratum in sorted(lists)
        for s in lists[stratum]
    ]
    return hashlib.sha256(canonical_json(rows).encode()).hexdigest()


def commitment(design: Design, seed: bytes, digest: str | None) -> str:
    """The SHA-256 commitment to the seed, the design and (for blocks) the lists' digest."""
    document = {
        "scheme": SCHEME,
        "design": design.as_json(),
        "seed": seed.hex(),
        "lists_sha256": digest,
    }
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()


def imbalance(design: Design, counts: Mapping[str, float]) -> float:
    """How unequal arm counts (already divided by the ratio weights) are."""
    values = [counts.get(arm, 0.0) for arm in design.arms]
    if design.imbalance == "variance":
        mean = sum(values) / len(values)
        return sum((v - mean) ** 2 for v in values) / len(values)
    return max(values) - min(values)


# Uniform draws one minimization assignment uses at most (the coin, then the pick).
DRAWS_PER_ASSIGNMENT = 2


def minimization_draws(seed: bytes, length: int) -> list[tuple[float, ...]]:
    """The draws of assignments 1..``length``, stored when the study opens (the seed is not)."""
    draws = []
    for sequence in range(1, length + 1):
        stream = Stream(seed, f"minimization:{sequence}")
        draws.append(tuple(stream.uniform() for _ in range(DRAWS_PER_ASSIGNMENT)))
    return draws


def draws_digest(draws: Sequence[Sequence[float]]) -> str:
    """SHA-256 over the stored minimization draws (floats as their shortest repr)."""
    rows = [[repr(value) for value in row] for row in draws]
    return hashlib.sha256(canonical_json(rows).encode()).hexdigest()


class Minimizer:
    """Minimization with running counts per factor level: replay the history, then assign."""

    def __init__(self, design: Design) -> None:
        self.design = design
        self._counts: dict[tuple[str, str], dict[str, float]] = {}

    def record(self, levels: Mapping[str, str], arm: str) -> None:
        """Count an earlier subject (in randomization order)."""
        for factor in self.design.factors:
            self._level_counts(factor.id, levels.get(factor.id, ""))[arm] += 1.0

    def scores(self, levels: Mapping[str, str]) -> dict[str, float]:
        """Each arm's total imbalance if a subject with ``levels`` joined it."""
        design, weights = self.design, self.design.weights
        scores: dict[str, float] = {}
        for candidate in design.arms:
            total = 0.0
            for factor in design.factors:
                counts = dict(self._level_counts(factor.id, levels.get(factor.id, "")))
                counts[candidate] += 1.0
                total += imbalance(design, {arm: n / weights[arm] for arm, n in counts.items()})
            scores[candidate] = total
        return scores

    def choose(self, levels: Mapping[str, str], draws: Draws) -> str:
        """The arm for a new subject with factor ``levels`` (not yet recorded)."""
        design, weights = self.design, self.design.weights
        scores = self.scores(levels)
        best = min(scores.values())
        preferred = [arm for arm in design.arms if math.isclose(scores[arm], best)]
        pool = preferred
        if len(preferred) < len(design.arms) and draws.uniform() >= design.probability:
            pool = [arm for arm in design.arms if arm not in preferred]
        return weighted(draws, [(arm, float(weights[arm])) for arm in pool])

    def assign(self, levels: Mapping[str, str], draws: Draws) -> str:
        """``choose`` and ``record``."""
        arm = self.choose(levels, draws)
        self.record(levels, arm)
        return arm

    def _level_counts(self, factor: str, level: str) -> dict[str, float]:
        return self._counts.setdefault((factor, level), {a: 0.0 for a in self.design.arms})
