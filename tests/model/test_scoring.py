"""Brier, log loss, reliability and market-implied probabilities."""

from __future__ import annotations

import math

import pytest

from weatheredge.model.scoring import (
    brier,
    log_loss,
    market_probabilities,
    multiclass_brier,
    outcome_pairs,
    reliability,
    summarise,
)


def test_brier_and_log_loss() -> None:
    probs = [0.1, 0.6, 0.3]
    assert brier(probs, 1) == pytest.approx((0.01 + 0.16 + 0.09) / 3)
    assert multiclass_brier(probs, 1) == pytest.approx(0.26)
    assert log_loss(probs, 1) == pytest.approx(-math.log(0.6))
    assert log_loss([1.0, 0.0], 1) == pytest.approx(-math.log(1e-4))  # clipped, finite
    assert brier([0, 1, 0], 1) == 0.0


def test_market_probabilities_normalise_mids() -> None:
    assert market_probabilities([0.2, 0.5, 0.35]) == pytest.approx([0.2 / 1.05, 0.5 / 1.05, 1 / 3])
    assert market_probabilities([0.2, None]) is None


def test_reliability_bins_and_summary() -> None:
    ladders = [([0.05, 0.9, 0.05], 1), ([0.05, 0.9, 0.05], 0)]
    bins = reliability(outcome_pairs(ladders))
    low, high = bins[0], bins[-1]
    assert (low.count, low.frequency) == (4, 0.25)
    assert (high.count, high.frequency, high.mean_prob) == (2, 0.5, 0.9)
    assert high.gap == pytest.approx(-0.4)
    summary = summarise(ladders)
    assert summary is not None and summary.events == 2
    assert summarise([]) is None
