"""Gaussian kernel dressing of an ensemble into bucket probabilities (weather.md §3.1-3.2)."""

from __future__ import annotations

import itertools
import math

import pytest

from weatheredge.model.buckets import Bucket, Rounding, Unit, parse_bucket_label
from weatheredge.model.probability import (
    DEFAULT_FLOOR,
    DEFAULT_MIN_SIGMA,
    bucket_probabilities,
    dressed_cdf,
    kernel_width,
    normalise,
)

HALF_UP, FLOOR = Rounding.HALF_UP, Rounding.FLOOR


def _ladder(*labels: str) -> list[Bucket]:
    return [parse_bucket_label(x) for x in labels]


NYC = _ladder(
    "39°F or below",
    "40-41°F",
    "42-43°F",
    "44-45°F",
    "46-47°F",
    "48-49°F",
    "50-51°F",
    "52-53°F",
    "54-55°F",
    "56°F or higher",
)
LONDON = _ladder("17°C or below", *(f"{k}°C" for k in range(18, 27)), "27°C or higher")
HK = _ladder("29°C or below", "30°C", "31°C", "32°C", "33°C", "34°C", "35°C or higher")

ENSEMBLES = [
    [44.0],
    [44.0, 45.0, 46.0],
    [38.0, 41.2, 44.7, 45.1, 46.3, 50.0, 51.9],
    [float(x) for x in range(30, 70)],
    [120.0, 121.0, 122.0],
    [-20.0, -19.0],
]


@pytest.mark.parametrize("members", ENSEMBLES)
@pytest.mark.parametrize("rounding", [HALF_UP, FLOOR])
def test_sums_to_one(members: list[float], rounding: Rounding) -> None:
    probs = bucket_probabilities(members, NYC, rounding)
    assert len(probs) == len(NYC)
    assert math.fsum(probs) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("members", ENSEMBLES)
def test_no_bucket_is_zero_or_one(members: list[float]) -> None:
    probs = bucket_probabilities(members, NYC, HALF_UP)
    assert all(0.0 < p < 1.0 for p in probs)


def test_three_members_far_from_a_bucket_still_leave_every_leg_open() -> None:
    probs = bucket_probabilities([70.0, 71.0, 72.0], NYC, HALF_UP)
    assert probs[-1] > 0.97  # "56°F or higher" takes almost everything
    assert probs[-1] < 1.0
    for p in probs[:-1]:
        assert 0.0 < p < 0.01
    # the floor keeps the far legs at roughly DEFAULT_FLOOR after renormalisation
    assert probs[0] == pytest.approx(DEFAULT_FLOOR, rel=0.05)


def test_mass_concentrates_where_members_are() -> None:
    probs = bucket_probabilities([44.2, 44.8, 45.0, 45.3, 44.6], NYC, HALF_UP)
    best = max(range(len(probs)), key=probs.__getitem__)
    assert NYC[best] == Bucket(44, 45, Unit.F)
    # unimodal around the members: decreasing away from the mode on both sides
    assert probs[3] > probs[2] > probs[1] > probs[0]
    assert probs[3] > probs[4] > probs[5] > probs[6]


def test_shifting_members_shifts_mass() -> None:
    low = bucket_probabilities([42.0, 43.0], NYC, HALF_UP)
    high = bucket_probabilities([50.0, 51.0], NYC, HALF_UP)
    assert low[2] > high[2]
    assert high[6] > low[6]


def test_integrates_over_half_up_preimage() -> None:
    """Members at exactly 45.0 °F settle to 45: the 44-45 bucket, not 46-47."""
    probs = bucket_probabilities([45.0, 45.0, 45.0], NYC, HALF_UP, min_sigma=0.01)
    by_label = {b.label(): p for b, p in zip(NYC, probs, strict=True)}
    assert by_label["44-45°F"] > 0.97
    assert by_label["46-47°F"] < 0.005
    assert by_label["42-43°F"] < 0.005


def test_integrates_exactly_without_floor() -> None:
    probs = bucket_probabilities([45.0, 45.0, 45.0], NYC, HALF_UP, min_sigma=0.01, floor=0.0)
    assert probs[3] == pytest.approx(1.0, abs=1e-12)
    assert probs[4] == pytest.approx(0.0, abs=1e-12)


def test_edge_at_half_degree_splits_evenly() -> None:
    # 45.5 is the edge between 44-45 and 46-47 under half-up: a tight kernel splits 50/50.
    probs = bucket_probabilities([45.5], NYC, HALF_UP, min_sigma=0.01, floor=0.0)
    assert probs[3] == pytest.approx(0.5, abs=1e-9)
    assert probs[4] == pytest.approx(0.5, abs=1e-9)


def test_floor_rounding_uses_floor_preimage() -> None:
    # HKO: 33.5 °C is inside "33°C" (33.0-33.9), not "34°C".
    probs = bucket_probabilities([33.5], HK, FLOOR, min_sigma=0.05, floor=0.0)
    by_label = {b.label(): p for b, p in zip(HK, probs, strict=True)}
    assert by_label["33°C"] > 0.99
    # Same members under half-up are split between 33 and 34.
    half = bucket_probabilities([33.5], HK, HALF_UP, min_sigma=0.05, floor=0.0)
    assert half[4] == pytest.approx(0.5, abs=1e-9)
    assert half[5] == pytest.approx(0.5, abs=1e-9)


def test_celsius_buckets_use_celsius_default_sigma() -> None:
    probs = bucket_probabilities([22.0], LONDON, HALF_UP)
    assert math.fsum(probs) == pytest.approx(1.0)
    by_label = {b.label(): p for b, p in zip(LONDON, probs, strict=True)}
    assert max(by_label, key=by_label.__getitem__) == "22°C"
    # one-member kernel of width 0.85 °C over [21.5, 22.5): 2*Phi(0.5/0.85) - 1
    expected = math.erf(0.5 / 0.85 / math.sqrt(2))
    assert by_label["22°C"] == pytest.approx(expected, rel=0.02)
    assert by_label["21°C"] == pytest.approx(by_label["23°C"], rel=1e-9)


def test_single_member_matches_closed_form() -> None:
    sigma = DEFAULT_MIN_SIGMA[Unit.F]
    probs = bucket_probabilities([45.0], NYC, HALF_UP, floor=0.0)

    def cdf(x: float) -> float:
        return 0.5 * (1 + math.erf((x - 45.0) / (sigma * math.sqrt(2))))

    assert probs[3] == pytest.approx(cdf(45.5) - cdf(43.5), abs=1e-12)
    assert probs[0] == pytest.approx(cdf(39.5), abs=1e-12)
    assert probs[-1] == pytest.approx(1 - cdf(55.5), abs=1e-12)


def test_order_of_buckets_is_preserved() -> None:
    members = [44.0, 47.0, 52.0]
    forward = bucket_probabilities(members, NYC, HALF_UP)
    backward = bucket_probabilities(members, list(reversed(NYC)), HALF_UP)
    assert forward == pytest.approx(list(reversed(backward)))


def test_member_order_does_not_matter() -> None:
    a = bucket_probabilities([41.0, 45.0, 49.0], NYC, HALF_UP)
    b = bucket_probabilities([49.0, 41.0, 45.0], NYC, HALF_UP)
    assert a == pytest.approx(b)


@pytest.mark.parametrize(
    "members",
    [[], [float("nan")], [44.0, float("nan")], [math.inf], [44.0, -math.inf]],
)
def test_bad_ensemble_raises(members: list[float]) -> None:
    with pytest.raises(ValueError):
        bucket_probabilities(members, NYC, HALF_UP)


def test_empty_ladder_returns_empty() -> None:
    assert bucket_probabilities([44.0], [], HALF_UP) == []


def test_zero_width_kernel_raises_value_error() -> None:
    # identical members and no minimum width: no smoothing at all, must not divide by zero
    with pytest.raises(ValueError):
        bucket_probabilities([45.0, 45.0], NYC, HALF_UP, min_sigma=0.0)


def test_zero_min_sigma_with_spread_members_is_fine() -> None:
    probs = bucket_probabilities([43.0, 45.0, 47.0], NYC, HALF_UP, min_sigma=0.0)
    assert math.fsum(probs) == pytest.approx(1.0)


def test_partial_ladder_with_no_mass_and_no_floor_raises() -> None:
    with pytest.raises(ValueError):
        bucket_probabilities([200.0], NYC[3:5], HALF_UP, floor=0.0)


# --- kernel width, dressed CDF, normalise --------------------------------------------------------


def test_kernel_width_single_member_is_min_sigma() -> None:
    assert kernel_width([45.0], 1.5) == pytest.approx(1.5)


def test_kernel_width_identical_members_is_min_sigma() -> None:
    assert kernel_width([45.0] * 10, 0.85) == pytest.approx(0.85)


def test_kernel_width_combines_silverman_and_floor() -> None:
    members = [40.0, 42.0, 44.0, 46.0, 48.0]
    n = len(members)
    sd = math.sqrt(sum((m - 44.0) ** 2 for m in members) / (n - 1))
    silverman = 1.06 * sd * n ** (-0.2)
    assert kernel_width(members, 1.5) == pytest.approx(math.hypot(silverman, 1.5))
    assert kernel_width(members, 1.5) > max(silverman, 1.5)


def test_dressed_cdf_limits_and_midpoint() -> None:
    members = [40.0, 50.0]
    assert dressed_cdf(-math.inf, members, 1.0) == 0.0
    assert dressed_cdf(math.inf, members, 1.0) == 1.0
    assert dressed_cdf(45.0, members, 1.0) == pytest.approx(0.5)
    assert dressed_cdf(40.0, members, 1.0) == pytest.approx(0.25, abs=1e-6)


def test_dressed_cdf_is_monotone() -> None:
    members = [41.0, 44.5, 47.0]
    xs = [30 + 0.25 * i for i in range(120)]
    values = [dressed_cdf(x, members, 1.5) for x in xs]
    assert all(b >= a for a, b in itertools.pairwise(values))


@pytest.mark.parametrize(
    ("probs", "floor", "expected"),
    [
        ([0.25, 0.75], 0.0, [0.25, 0.75]),
        ([1.0, 1.0], 0.0, [0.5, 0.5]),
        ([1.0, 0.0], 0.01, [1.0 / 1.01, 0.01 / 1.01]),
        ([0.0, 0.0, 0.0, 0.0], 0.002, [0.25, 0.25, 0.25, 0.25]),
    ],
)
def test_normalise(probs: list[float], floor: float, expected: list[float]) -> None:
    assert normalise(probs, floor) == pytest.approx(expected)


def test_normalise_all_zero_without_floor_raises() -> None:
    with pytest.raises(ValueError):
        normalise([0.0, 0.0], 0.0)
