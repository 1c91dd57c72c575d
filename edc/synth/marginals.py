"""Published means and SDs turned into distributions that can be sampled by quantile.

Papers report a score as mean ± SD (and sometimes a range). To reproduce both moments within
the scale's bounds we fit a distribution with a closed-form quantile function, so a subject's
latent normal score ``z`` maps to a value through ``ppf(Phi(z))`` (a Gaussian copula: the
per-visit marginals are exact while ranks persist across visits):

* bounded on both sides (VAS 0-10, a published range such as 4-10): the Kumaraswamy
  distribution on ``[lo, hi]``, with shape parameters solved so mean and SD match. Unlike a
  truncated normal it can also reach SDs larger than a uniform's (seed 004's baseline VAS,
  6.40 ± 1.90 within 4-10, needs that: a U-shaped distribution);
* bounded below only (daily morphine): a shifted log-normal, fitted in closed form;
* unbounded: a normal.

An SD a bounded distribution cannot reach for its mean is reduced to 95% of the largest
possible one (``sd**2 < (mean - lo) * (hi - mean)``).
"""

from __future__ import annotations

import dataclasses
import functools
import math

from edc.synth.rng import STANDARD_NORMAL

_MAX_SHARE = 0.95


@dataclasses.dataclass(frozen=True)
class Marginal:
    """A distribution with mean ``mean`` and SD ``sd`` on ``[low, high]`` (None: unbounded)."""

    mean: float
    sd: float
    low: float | None
    high: float | None
    family: str
    a: float
    b: float

    def ppf(self, u: float) -> float:
        """The quantile at ``u`` in (0, 1)."""
        u = min(max(u, 1e-12), 1 - 1e-12)
        low = self.low if self.low is not None else 0.0
        if self.family == "kumaraswamy":
            high = self.high if self.high is not None else 1.0
            x: float = (1 - (1 - u) ** (1 / self.b)) ** (1 / self.a)
            return low + (high - low) * x
        if self.family == "lognormal":
            return low + math.exp(self.a + self.b * STANDARD_NORMAL.inv_cdf(u))
        if self.family == "point":
            return self.mean
        return self.mean + self.sd * STANDARD_NORMAL.inv_cdf(u)

    def at(self, z: float) -> float:
        """The value of a subject whose latent standard-normal score is ``z``."""
        return self.ppf(STANDARD_NORMAL.cdf(z))


@functools.lru_cache(maxsize=4096)
def fit(mean: float, sd: float, low: float | None = None, high: float | None = None) -> Marginal:
    """The distribution with this mean and SD within ``[low, high]``.

    :raises ValueError: when the mean lies outside the bounds or the SD is negative.
    """
    if sd < 0 or (low is not None and mean < low) or (high is not None and mean > high):
        raise ValueError(f"no distribution with mean {mean} and SD {sd} within [{low}, {high}]")
    if sd == 0 or (low is not None and high is not None and (mean in (low, high))):
        return Marginal(mean, 0.0, low, high, "point", 0.0, 0.0)
    if low is not None and high is not None:
        span = high - low
        m = (mean - low) / span
        s = min(sd / span, _MAX_SHARE * math.sqrt(m * (1 - m)))
        a, b = _kumaraswamy_shape(m, s)
        return Marginal(mean, s * span, low, high, "kumaraswamy", a, b)
    if low is not None:
        m = mean - low
        sigma2 = math.log1p((sd / m) ** 2)
        return Marginal(mean, sd, low, None, "lognormal", math.log(m) - sigma2 / 2, sigma2**0.5)
    if high is not None:  # mirror image of a lower bound: rare, keep it simple (normal)
        return Marginal(mean, sd, None, high, "normal", 0.0, 0.0)
    return Marginal(mean, sd, None, None, "normal", 0.0, 0.0)


def _moments(a: float, b: float) -> tuple[float, float]:
    """Mean and variance of Kumaraswamy(a, b): E[X^n] = b * B(1 + n/a, b)."""

    def raw(n: int) -> float:
        x = 1 + n / a
        return b * math.exp(math.lgamma(x) + math.lgamma(b) - math.lgamma(x + b))

    m1 = raw(1)
    return m1, max(raw(2) - m1 * m1, 0.0)


def _b_for_mean(a: float, mean: float) -> float:
    # The mean falls as b grows (b -> 0: mean -> 1; b -> inf: mean -> 0): bisect on log b.
    lo, hi = -20.0, 20.0
    for _ in range(70):
        mid = (lo + hi) / 2
        if _moments(a, math.exp(mid))[0] > mean:
            lo = mid
        else:
            hi = mid
    return math.exp((lo + hi) / 2)


def _kumaraswamy_shape(mean: float, sd: float) -> tuple[float, float]:
    """Shape (a, b) with the given mean and SD on [0, 1]: the variance falls as a grows
    along the curve of matching means, so bisect on log a with b solved for the mean."""
    target = sd * sd
    lo, hi = -8.0, 8.0
    for _ in range(70):
        mid = (lo + hi) / 2
        a = math.exp(mid)
        if _moments(a, _b_for_mean(a, mean))[1] > target:
            lo = mid
        else:
            hi = mid
    a = math.exp((lo + hi) / 2)
    return a, _b_for_mean(a, mean)
