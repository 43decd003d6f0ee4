"""Bucket probabilities from a forecast ensemble by Gaussian kernel dressing.

Each member (a forecast of the day's extreme, already in the market's unit) carries a Gaussian
kernel; the bucket probability is the dressed CDF integrated over the bucket's rounding preimage.
The kernel width combines a Silverman bandwidth (finite-ensemble smoothing) with a floor for the
station-versus-grid error no raw ensemble knows about, so no bucket gets a hard 0 or 1. A small
per-bucket floor then guards model risk, and the ladder is renormalised to sum to exactly 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from weatheredge.model.buckets import Bucket, Rounding, Unit

# Typical day-ahead error of a raw grid forecast at an airport station (weather.md §3.9):
# ~1.5 °F / ~0.85 °C. Used as the minimum kernel width until calibration knows better.
DEFAULT_MIN_SIGMA = {Unit.F: 1.5, Unit.C: 0.85}
DEFAULT_FLOOR = 0.002
_SQRT2 = math.sqrt(2.0)


def _phi(z: float) -> float:
    if z == math.inf:
        return 1.0
    if z == -math.inf:
        return 0.0
    return 0.5 * (1.0 + math.erf(z / _SQRT2))


def kernel_width(members: Sequence[float], min_sigma: float) -> float:
    """sqrt(silverman^2 + min_sigma^2): wide enough for few members and for station error."""
    n = len(members)
    mean = sum(members) / n
    var = sum((m - mean) ** 2 for m in members) / (n - 1) if n > 1 else 0.0
    silverman = 1.06 * math.sqrt(var) * n ** (-0.2)
    return math.sqrt(silverman**2 + min_sigma**2)


def dressed_cdf(x: float, members: Sequence[float], width: float) -> float:
    return sum(_phi((x - m) / width) for m in members) / len(members)


def bucket_probabilities(
    members: Sequence[float],
    buckets: Sequence[Bucket],
    rounding: Rounding,
    *,
    min_sigma: float | None = None,
    floor: float = DEFAULT_FLOOR,
) -> list[float]:
    """Probability of each bucket (in the given order); they sum to 1.

    Raises ValueError on an empty ensemble or non-finite members: a forecast that cannot be
    trusted must not produce numbers.
    """
    if not members:
        raise ValueError("empty ensemble")
    if not all(math.isfinite(m) for m in members):
        raise ValueError("non-finite ensemble member")
    if not buckets:
        return []
    unit = buckets[0].unit
    width = kernel_width(members, DEFAULT_MIN_SIGMA[unit] if min_sigma is None else min_sigma)
    if not (width > 0 and math.isfinite(width)):
        raise ValueError(f"kernel width must be positive and finite, got {width}")
    raw = []
    for bucket in buckets:
        lo, hi = bucket.preimage(rounding)
        raw.append(max(0.0, dressed_cdf(hi, members, width) - dressed_cdf(lo, members, width)))
    return normalise(raw, floor)


def normalise(probs: Sequence[float], floor: float = DEFAULT_FLOOR) -> list[float]:
    """Floor each leg, then scale so the ladder sums to 1."""
    floored = [max(p, floor) for p in probs]
    total = sum(floored)
    if not total > 0:
        raise ValueError("no probability mass to normalise")
    return [p / total for p in floored]


# --- continuous predictive distributions (EMOS Gaussian, dressed ensemble) ----------------------


class Normal:
    """A Gaussian predictive distribution of the latent reported extreme, in the market's unit."""

    __slots__ = ("mu", "sigma")

    def __init__(self, mu: float, sigma: float) -> None:
        if not (math.isfinite(mu) and math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"bad normal distribution mu={mu} sigma={sigma}")
        self.mu = mu
        self.sigma = sigma

    def cdf(self, x: float) -> float:
        return _phi((x - self.mu) / self.sigma)

    def __repr__(self) -> str:
        return f"Normal({self.mu:.3f}, {self.sigma:.3f})"


class DressedEnsemble:
    """Equal-weight Gaussian kernels on (bias-corrected) members: the no-history fallback."""

    __slots__ = ("members", "width")

    def __init__(self, members: Sequence[float], width: float) -> None:
        if not members or not all(math.isfinite(m) for m in members):
            raise ValueError("empty or non-finite ensemble")
        if not (width > 0 and math.isfinite(width)):
            raise ValueError(f"kernel width must be positive and finite, got {width}")
        self.members = tuple(members)
        self.width = width

    def cdf(self, x: float) -> float:
        return dressed_cdf(x, self.members, self.width)


def raw_bucket_probabilities(
    cdf: Callable[[float], float], buckets: Sequence[Bucket], rounding: Rounding
) -> list[float]:
    """``F(hi) - F(lo)`` over each bucket's rounding preimage; no floor, no renormalisation."""
    out = []
    for bucket in buckets:
        lo, hi = bucket.preimage(rounding)
        out.append(max(0.0, cdf(hi) - cdf(lo)))
    return out


def probabilities_from_cdf(
    cdf: Callable[[float], float],
    buckets: Sequence[Bucket],
    rounding: Rounding,
    floor: float = DEFAULT_FLOOR,
) -> list[float]:
    """Bucket probabilities of a continuous predictive CDF: floored and summing to 1."""
    return normalise(raw_bucket_probabilities(cdf, buckets, rounding), floor)
