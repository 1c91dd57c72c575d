"""Seeded randomness: one independent stream per (purpose, patient), derived with a SeedSequence.

Every patient draws from streams of their own, keyed by the run seed, the purpose and the
patient number (``numpy.random.SeedSequence(seed, spawn_key=(purpose, number))``), so what a
patient looks like never depends on how many patients came before, how the work is batched or
which worker process renders it.

Draws use ``random.Random`` seeded with the SeedSequence state: scalar draws are ~20x faster
than numpy's. Only ``random()`` is used, and every distribution is built on it here, because
Python guarantees the ``random()`` sequence for a given seed across versions while it does not
for ``gauss``, ``choices`` or ``randrange``.
"""

from __future__ import annotations

import enum
import functools
import random
from collections.abc import Sequence
from statistics import NormalDist
from types import ModuleType
from typing import TypeVar

from edc import errors

T = TypeVar("T")
STANDARD_NORMAL = NormalDist()
# random() can return exactly 0.0, where the normal quantile is undefined.
_TINY = 2.0**-60


class Purpose(enum.IntEnum):
    """What a stream is for; part of its SeedSequence key, so never renumber these."""

    POPULATION = 1
    ENROLLMENT = 2
    CONDUCT = 3
    DEFECTS = 4
    RANDOMIZATION = 5
    SCREENING_VISITS = 6


class Draw:
    """Random draws for one stream (a thin, version-stable layer over ``random.Random``)."""

    __slots__ = ("_random",)

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)  # noqa: S311 - a simulation, not security

    def uniform(self, low: float = 0.0, high: float = 1.0) -> float:
        return low + (high - low) * self._random.random()

    def chance(self, probability: float) -> bool:
        """True with the given probability."""
        return self._random.random() < probability

    def integer(self, low: int, high: int) -> int:
        """An integer in ``[low, high]`` (both included)."""
        return low + min(int(self._random.random() * (high - low + 1)), high - low)

    def z(self) -> float:
        """A standard normal deviate (by the normal quantile of a uniform)."""
        return STANDARD_NORMAL.inv_cdf(max(self._random.random(), _TINY))

    def normal(self, mean: float, sd: float) -> float:
        return mean + sd * self.z()

    def pick(self, choices: Sequence[tuple[T, float]]) -> T:
        """One of the values, with probability proportional to its weight."""
        total = sum(weight for _, weight in choices)
        target = self._random.random() * total
        for value, weight in choices:
            target -= weight
            if target < 0:
                return value
        return next(value for value, weight in reversed(choices) if weight > 0)

    def shuffle(self, items: Sequence[T]) -> list[T]:
        """A shuffled copy (Fisher-Yates)."""
        result = list(items)
        for i in range(len(result) - 1, 0, -1):
            j = self.integer(0, i)
            result[i], result[j] = result[j], result[i]
        return result

    def sample(self, items: Sequence[T], count: int) -> list[T]:
        """``count`` distinct items, in random order."""
        return self.shuffle(items)[:count]


def stream(seed: int, purpose: Purpose, *key: int) -> Draw:
    """The stream for ``purpose`` and ``key`` (e.g. a patient number) under the run ``seed``.

    :param seed: the run seed (a non-negative integer).
    :raises errors.UserError: when numpy is not installed.
    """
    np = _numpy()
    sequence = np.random.SeedSequence(entropy=seed, spawn_key=(int(purpose), *key))
    state = sequence.generate_state(4, dtype=np.uint32)
    return Draw(int.from_bytes(state.tobytes(), "little"))


@functools.cache
def _numpy() -> ModuleType:
    # Only the generator needs numpy (its SeedSequence): imported here, on first use, so that
    # no other command pays for loading it.
    try:
        import numpy
    except ImportError:
        raise errors.UserError(
            "generating synthetic data (edc generate, edc demo) needs numpy",
            "install it: pip install numpy (a dependency of edc, missing here)",
        ) from None
    return numpy
