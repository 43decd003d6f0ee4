"""Multi-model EMOS: priors, minimum-CRPS fit, shrinkage, model weights."""

from __future__ import annotations

import math
import random

import pytest

from weatheredge.model.buckets import Rounding, Unit, parse_bucket_label
from weatheredge.model.calibration import (
    TrainingCase,
    crps_normal,
    ensemble_summary,
    fit_emos,
    model_weights,
    prior_params,
)
from weatheredge.model.probability import probabilities_from_cdf

LADDER = [parse_bucket_label(f"{a}-{a + 1}°F") for a in range(30, 60, 2)]


def test_prior_is_not_overconfident_even_for_a_collapsed_ensemble() -> None:
    means, spread = ensemble_summary([45.0] * 30, [("a", 15), ("b", 15)])
    assert spread == 0.0
    dist = prior_params(Unit.F, 1).predict(means, spread)
    assert dist.sigma >= 2.0  # ~1.2 °C: a day-ahead airport max is never known to a degree
    probs = probabilities_from_cdf(dist.cdf, LADDER, Rounding.HALF_UP)
    assert max(probs) < 0.35


def test_ensemble_summary_counts_members_per_model() -> None:
    means, spread = ensemble_summary([1.0, 3.0, 10.0, 10.0, 10.0], [("x", 2), ("y", 3)])
    assert means == {"x": 2.0, "y": 10.0}
    assert spread == pytest.approx(4.43847, rel=1e-4)
    with pytest.raises(ValueError):
        ensemble_summary([1.0, float("nan")], [("x", 2)])
    with pytest.raises(ValueError):
        ensemble_summary([1.0, 2.0], [("x", 3)])


def test_crps_normal_matches_the_known_value() -> None:
    # CRPS of N(0, 1) at its mean = 2 φ(0) - 1/√π = 0.23370
    assert float(crps_normal(0.0, 0.0, 1.0)) == pytest.approx(0.233695, rel=1e-5)


def _cases(n: int, *, bias: float, spread: float, truth_sd: float, seed: int = 1) -> list:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        centre = rng.gauss(15, 5)
        truth = centre + rng.gauss(0, truth_sd)
        good = centre + bias + rng.gauss(0, 0.2)
        bad = centre + bias + rng.gauss(0, 2.0)
        out.append(TrainingCase({"good": good, "bad": bad}, spread, truth))
    return out


def test_fit_recovers_bias_and_widens_an_underdispersed_ensemble() -> None:
    cases = _cases(300, bias=2.0, spread=0.3, truth_sd=1.5)
    fitted = fit_emos(cases, prior_params(Unit.C, 1), shrink_days=5)
    assert fitted.n == 300
    assert fitted.a == pytest.approx(-2.0, abs=0.3)
    sigma = fitted.predict({"good": 15.0, "bad": 15.0}, 0.3).sigma
    assert 1.2 < sigma < 2.0
    assert fitted.weights["good"] > fitted.weights["bad"]
    assert fitted.crps is not None and fitted.crps_raw is not None
    assert fitted.crps < fitted.crps_raw


def test_short_history_is_shrunk_toward_the_prior() -> None:
    prior = prior_params(Unit.C, 1)
    assert fit_emos(_cases(3, bias=3.0, spread=0.3, truth_sd=1.0), prior) == prior.__class__(
        **{**{s: getattr(prior, s) for s in prior.__slots__}, "n": 3}
    )
    few = fit_emos(_cases(8, bias=3.0, spread=0.3, truth_sd=1.0), prior, shrink_days=20)
    many = fit_emos(_cases(400, bias=3.0, spread=0.3, truth_sd=1.0), prior, shrink_days=20)
    assert -3.3 < many.a < few.a < 0.0  # few days: pulled toward a = 0


def test_weights_shrink_toward_equal() -> None:
    cases = _cases(5, bias=0.0, spread=1.0, truth_sd=1.0)
    w_few = model_weights(cases, shrink_days=50)
    w_many = model_weights(_cases(500, bias=0.0, spread=1.0, truth_sd=1.0), shrink_days=50)
    assert abs(w_few["good"] - 0.5) < abs(w_many["good"] - 0.5)
    assert math.fsum(w_few.values()) == pytest.approx(1.0)
