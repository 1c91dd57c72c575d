"""A subject's scores over the visits: the profile's per-arm marginals, joined by latent ranks.

Each subject has a latent standard-normal score per channel and visit; the value reported at a
visit is the target marginal's quantile at that score (``Marginal.at``). Ranks persist: follow-up
scores are AR(1) in visit order (rho 0.7), baseline pain starts from the pain the EHR recorded
at screening (rho 0.95), disability and opioid use lean on pain (0.6). So subjects in more pain
stay in more pain, need more morphine and are more disabled, while every arm x visit mean and
SD is the profile's. The correlations are ASSUMPTIONS (the seeds report marginals only).

Without a target (a protocol without a profile, or an item the profile leaves out) the value
comes from ``fallback``: generic numbers within the item's range.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from edc.synth.latent import PatientState
from edc.synth.marginals import Marginal, fit
from edc.synth.profile import Profile
from edc.synth.rng import Draw

_RHO_VISITS = 0.7
_RHO_SCREENING = 0.95
_LEAN_ON_PAIN = 0.6


class Trajectory:
    """Latent scores of one subject for every channel and scheduled visit.

    :param visits: scheduled visit ids in schedule order.
    :param baseline: which of them precede the index event.
    """

    def __init__(
        self, draw: Draw, state: PatientState, visits: Sequence[str], baseline: set[str]
    ) -> None:
        self._z: dict[tuple[str, str], float] = {}
        pain = state.pain_z
        own = {"function": draw.z(), "opioid": state.medd_z}
        lean = math.sqrt(1 - _LEAN_ON_PAIN**2)
        step = math.sqrt(1 - _RHO_VISITS**2)
        for visit in visits:
            if visit in baseline:
                pain = _RHO_SCREENING * state.pain_z + math.sqrt(1 - _RHO_SCREENING**2) * draw.z()
            else:
                pain = _RHO_VISITS * pain + step * draw.z()
                own = {name: _RHO_VISITS * z + step * draw.z() for name, z in own.items()}
            self._z[("pain", visit)] = pain
            for name, z in own.items():
                self._z[(name, visit)] = _LEAN_ON_PAIN * pain + lean * z

    def z(self, channel: str, visit: str) -> float:
        """The latent score of ``channel`` (pain, function, opioid) at a scheduled visit.

        :raises KeyError: for another channel or an unscheduled visit id.
        """
        return self._z[(channel, visit)]


def target_marginal(
    profile: Profile, key: str, arm: str, visit: str, low: float | None, high: float | None
) -> tuple[Marginal, bool] | None:
    """The profile's marginal for ``form.item`` at a visit, and whether it is per level."""
    target = profile.targets.get(key)
    numbers = target.numbers(arm, visit) if target else None
    if numbers is None or target is None:
        return None
    return numbers.marginal(low, high), target.per_level


def fallback(low: float | None, high: float | None, *, share: float = 0.5) -> Marginal:
    """A generic value within ``[low, high]``: centred at ``share`` of the range, wide."""
    lo = 0.0 if low is None else low
    hi = lo + 100.0 if high is None else high
    mean = lo + share * (hi - lo)
    return fit(mean, (hi - lo) / 5, lo, hi)
