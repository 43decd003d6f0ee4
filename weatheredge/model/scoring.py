"""Proper scores and reliability for settled bucket ladders (weather.md §3.8). Pure, stdlib only.

* **Brier** is reported per bucket (each bucket is its own YES/NO market, as traded): the mean of
  ``(p_i - o_i)^2`` over an event's buckets; :func:`multiclass_brier` is the sum instead.
* **Log loss** is ``-ln p(winning bucket)``, with ``p`` clipped to ``[eps, 1]``.
* **Reliability**: every (probability, outcome) pair is binned by probability; a calibrated
  forecaster's bins sit on the diagonal (observed frequency = mean forecast).

Market prices are turned into probabilities by :func:`market_probabilities`: YES mids, scaled so
the ladder sums to 1 (raw mids sum to ~1.01-1.05: the spread, not information).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

LOG_EPS = 1e-4


def brier(probs: Sequence[float], winner: int) -> float:
    """Mean per-bucket Brier score of one ladder."""
    if not probs:
        raise ValueError("empty ladder")
    return math.fsum((p - (1.0 if i == winner else 0.0)) ** 2 for i, p in enumerate(probs)) / len(
        probs
    )


def multiclass_brier(probs: Sequence[float], winner: int) -> float:
    return brier(probs, winner) * len(probs)


def log_loss(probs: Sequence[float], winner: int, eps: float = LOG_EPS) -> float:
    return -math.log(min(1.0, max(eps, probs[winner])))


def market_probabilities(mids: Sequence[float | None]) -> list[float] | None:
    """YES mids normalised over the ladder; None when a bucket has no mid."""
    if not mids or any(m is None or not math.isfinite(m) for m in mids):
        return None
    clipped = [min(1.0, max(0.0, float(m))) for m in mids]  # type: ignore[arg-type]
    total = math.fsum(clipped)
    if not total > 0:
        return None
    return [m / total for m in clipped]


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    lo: float
    hi: float
    count: int
    mean_prob: float
    frequency: float

    @property
    def gap(self) -> float:
        return self.frequency - self.mean_prob


def reliability(pairs: Iterable[tuple[float, bool]], bins: int = 10) -> list[ReliabilityBin]:
    """Equal-width probability bins (deciles by default); empty bins are left out."""
    sums = [0.0] * bins
    hits = [0] * bins
    counts = [0] * bins
    for p, outcome in pairs:
        i = min(bins - 1, max(0, int(p * bins)))
        sums[i] += p
        hits[i] += int(outcome)
        counts[i] += 1
    return [
        ReliabilityBin(
            i / bins, (i + 1) / bins, counts[i], sums[i] / counts[i], hits[i] / counts[i]
        )
        for i in range(bins)
        if counts[i]
    ]


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    events: int
    brier: float
    log_loss: float


def summarise(ladders: Iterable[tuple[Sequence[float], int]]) -> ScoreSummary | None:
    """Mean Brier and log loss over ``(probabilities, winner index)`` ladders."""
    briers, logs = [], []
    for probs, winner in ladders:
        briers.append(brier(probs, winner))
        logs.append(log_loss(probs, winner))
    if not briers:
        return None
    return ScoreSummary(len(briers), math.fsum(briers) / len(briers), math.fsum(logs) / len(logs))


def outcome_pairs(ladders: Iterable[tuple[Sequence[float], int]]) -> list[tuple[float, bool]]:
    return [(p, i == w) for probs, w in ladders for i, p in enumerate(probs)]
