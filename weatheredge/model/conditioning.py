"""Condition a day's bucket probabilities on the extreme already reported (weather.md §3.6).

Identity: the settled maximum is ``Y = max(R, Z)`` where ``R`` is the running maximum of the
reports already published (settled integers) and ``Z`` the maximum of the reports still to come.
So ``P(Y <= k) = 1{R <= k} * P(Z <= k)``: every bucket wholly below ``R`` is dead (probability
exactly 0), and the bucket holding ``R`` collects the chance that nothing later beats it.

``Z`` is modelled as a mixture, which keeps the arithmetic explainable to a trader:

* with probability ``1 - w`` the day's extreme is already in (``Z`` cannot beat ``R``);
* with probability ``w`` the rest of the day is still open and the forecast distribution,
  truncated to values at least ``R``, says where it ends.

``w`` (:func:`still_open`) falls through the afternoon for highs (the day is decided by ~18:00
local) and stays higher all evening for lows (a cold front can set a new minimum at 23:59). With
``w = 1`` this is plain "truncate and renormalise". Lows are the mirror image. Pure, stdlib only.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from typing import Any

from weatheredge.model.buckets import Bucket, Rounding
from weatheredge.model.probability import DEFAULT_FLOOR, probabilities_from_cdf

# (local hour, probability the day's extreme is still to come). Highs: the peak is normally
# mid-afternoon, ~5 % of days peak before 06:00 (frontal), 0.3 % after 22:00 (weather.md §3.6).
HIGH_STILL_OPEN: tuple[tuple[float, float], ...] = (
    (0.0, 1.0),
    (9.0, 0.97),
    (12.0, 0.85),
    (14.0, 0.6),
    (16.0, 0.3),
    (18.0, 0.1),
    (20.0, 0.04),
    (23.0, 0.02),
    (24.0, 0.0),
)
# Lows: minimum near sunrise, but an evening front often sets a new one before midnight.
LOW_STILL_OPEN: tuple[tuple[float, float], ...] = (
    (0.0, 1.0),
    (5.0, 0.9),
    (7.0, 0.6),
    (9.0, 0.35),
    (15.0, 0.3),
    (19.0, 0.25),
    (22.0, 0.15),
    (23.5, 0.05),
    (24.0, 0.0),
)
_TINY_TAIL = 1e-9


def still_open(extreme: str, local_hour: float) -> float:
    """Probability the rest of the local day can still beat the running extreme."""
    table = HIGH_STILL_OPEN if extreme in ("max", "high") else LOW_STILL_OPEN
    hours = [h for h, _ in table]
    h = min(max(local_hour, 0.0), 24.0)
    i = bisect.bisect_right(hours, h)
    if i >= len(table):
        return table[-1][1]
    (h0, w0), (h1, w1) = table[i - 1], table[i]
    return w0 + (w1 - w0) * (h - h0) / (h1 - h0)


def is_dead(bucket: Bucket, observed: int, extreme: str) -> bool:
    """A bucket the running extreme has already ruled out (wholly below a max / above a min)."""
    if extreme in ("max", "high"):
        return bucket.hi is not None and bucket.hi < observed
    return bucket.lo is not None and bucket.lo > observed


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def conditioned_probabilities(
    cdf: Callable[[float], float],
    buckets: Sequence[Bucket],
    rounding: Rounding,
    observed: int,
    extreme: str,
    *,
    open_weight: float = 1.0,
    tail_sigma: float = 1.0,
    floor: float = DEFAULT_FLOOR,
    remaining: Callable[[float], float] | None = None,
) -> list[float]:
    """Bucket probabilities of ``Y = max(R, Z)`` (or ``min``) given the settled running extreme.

    ``cdf`` is the forecast CDF of the day's latent extreme (market unit), ``observed`` the
    settled integer ``R`` so far, ``open_weight`` the ``w`` above. Dead buckets get exactly 0;
    the others are floored at ``floor`` and renormalised to sum to 1. When the forecast puts
    (almost) no mass beyond ``R`` — the day already ran past the forecast — the open part is a
    half-normal of width ``tail_sigma`` starting at ``R`` instead.

    ``remaining``, when given, is the CDF of ``Z`` itself (the max, or for lows the min, of the
    reports still to come, e.g. :func:`weatheredge.model.intraday.remaining_cdf`) and replaces
    the ``open_weight`` mixture: ``P(Y <= x) = 1{R <= x} * P(Z <= x)`` exactly.
    """
    if not buckets:
        return []
    w = min(max(open_weight, 0.0), 1.0)
    high = extreme in ("max", "high")
    unit = buckets[0].unit
    cut_lo, cut_hi = Bucket(observed, observed, unit).preimage(rounding)
    if high:
        cut = cut_lo
        tail = 1.0 - cdf(cut)

        def open_cdf(x: float) -> float:  # P(Z <= x | Z >= cut)
            if x <= cut:
                return 0.0
            if x == math.inf:
                return 1.0
            if tail > _TINY_TAIL:
                return min(1.0, max(0.0, (cdf(x) - cdf(cut)) / tail))
            return 2.0 * _phi((x - cut) / tail_sigma) - 1.0

        def y_cdf(x: float) -> float:
            if x <= cut:
                return 0.0
            if remaining is not None:
                return remaining(x)
            return (1.0 - w) + w * open_cdf(x)
    else:
        cut = cut_hi
        head = cdf(cut)

        def open_cdf(x: float) -> float:  # P(Z <= x | Z < cut)
            if x >= cut:
                return 1.0
            if x == -math.inf:
                return 0.0
            if head > _TINY_TAIL:
                return min(1.0, max(0.0, cdf(x) / head))
            return 2.0 * _phi((x - cut) / tail_sigma)

        def y_cdf(x: float) -> float:
            if x >= cut:
                return 1.0
            if remaining is not None:
                return remaining(x)
            return w * open_cdf(x)

    raw: list[float] = []
    dead: list[bool] = []
    for bucket in buckets:
        lo, hi = bucket.preimage(rounding)
        dead.append(is_dead(bucket, observed, extreme))
        raw.append(0.0 if dead[-1] else max(0.0, y_cdf(hi) - y_cdf(lo)))
    floored = [0.0 if d else max(p, floor) for p, d in zip(raw, dead, strict=True)]
    total = math.fsum(floored)
    if not total > 0:
        raise ValueError("every bucket is dead: the ladder does not cover the observed value")
    return [p / total for p in floored]


def conditioned_on_distribution(
    cdf: Callable[[float], float],
    buckets: Sequence[Bucket],
    rounding: Rounding,
    distribution: Sequence[tuple[int | None, float]],
    extreme: str,
    **kwargs: Any,
) -> list[float]:
    """Bucket probabilities when the extreme so far is itself uncertain (issue 16).

    ``distribution`` lists the values the resolution table may show for the reports so far
    (``None``: none of them shows), e.g. a certain 54 plus an off-minute 56 that shows with
    probability 0.5. The result mixes :func:`conditioned_probabilities` for each value, so only
    buckets ruled out by every value (those beyond what certainly counts) reach 0, and a bucket
    only an uncertain report rules out keeps the other branches' share.
    """
    total = [0.0] * len(buckets)
    for value, weight in distribution:
        if weight <= 0.0:
            continue
        if value is None:
            part = probabilities_from_cdf(
                cdf, buckets, rounding, kwargs.get("floor", DEFAULT_FLOOR)
            )
        else:
            part = conditioned_probabilities(cdf, buckets, rounding, value, extreme, **kwargs)
        total = [t + weight * p for t, p in zip(total, part, strict=True)]
    norm = math.fsum(total)
    if not norm > 0:
        raise ValueError("empty distribution of the observed extreme")
    return [t / norm for t in total]
