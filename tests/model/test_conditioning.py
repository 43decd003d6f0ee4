"""Observed-extreme conditioning: Y = max(R, Z) (weather.md §3.6)."""

from __future__ import annotations

import math

import pytest

from weatheredge.model.buckets import Bucket, Rounding, Unit, parse_bucket_label
from weatheredge.model.conditioning import conditioned_probabilities, is_dead, still_open
from weatheredge.model.intraday import DEFAULT_DIURNAL, deficit, diurnal_prior, remaining_max
from weatheredge.model.probability import Normal, probabilities_from_cdf, raw_bucket_probabilities

NYC = [
    parse_bucket_label(x)
    for x in (
        "39°F or below",
        "40-41°F",
        "42-43°F",
        "44-45°F",
        "46-47°F",
        "48-49°F",
        "50°F or higher",
    )
]
HK = [parse_bucket_label(x) for x in ("29°C or below", "30°C", "31°C", "32°C", "33°C or higher")]
PRIOR = Normal(44.0, 2.5)


def test_buckets_below_the_running_max_are_dead_and_the_rest_renormalise() -> None:
    probs = conditioned_probabilities(
        PRIOR.cdf, NYC, Rounding.HALF_UP, 44, "max", open_weight=1.0, floor=0.0
    )
    assert probs[:3] == [0.0, 0.0, 0.0]  # wholly below 44: dead, exactly 0
    assert math.fsum(probs) == pytest.approx(1.0)
    # With the whole day still open (w = 1) the survivors keep the forecast's proportions,
    # truncated at the observed value's rounding preimage (43.5).
    raw = raw_bucket_probabilities(PRIOR.cdf, NYC, Rounding.HALF_UP)
    tail = 1 - PRIOR.cdf(43.5)
    assert probs[3] == pytest.approx((PRIOR.cdf(45.5) - PRIOR.cdf(43.5)) / tail)
    for i in (4, 5, 6):
        assert probs[i] == pytest.approx(raw[i] / tail)


def test_bucket_holding_the_max_collects_what_later_reports_cannot_beat() -> None:
    early = conditioned_probabilities(PRIOR.cdf, NYC, Rounding.HALF_UP, 45, "max", open_weight=0.9)
    late = conditioned_probabilities(PRIOR.cdf, NYC, Rounding.HALF_UP, 45, "max", open_weight=0.05)
    closed = conditioned_probabilities(
        PRIOR.cdf, NYC, Rounding.HALF_UP, 45, "max", open_weight=0.0, floor=0.0
    )
    assert late[3] > early[3]
    assert closed == [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    assert all(p > 0 for p in late[3:])  # floored, never a hard 0 unless dead


def test_lowest_temperature_mirror_image() -> None:
    probs = conditioned_probabilities(PRIOR.cdf, NYC, Rounding.HALF_UP, 43, "min", open_weight=0.5)
    assert probs[3:] == [0.0, 0.0, 0.0, 0.0]  # wholly above the running min: dead
    assert math.fsum(probs) == pytest.approx(1.0)
    assert probs[2] > probs[1] > probs[0]


def test_day_running_past_the_forecast_keeps_a_sane_tail() -> None:
    probs = conditioned_probabilities(
        Normal(30.0, 1.0).cdf, NYC, Rounding.HALF_UP, 47, "max", open_weight=1.0, tail_sigma=1.0
    )
    assert probs[:4] == [0.0] * 4
    assert probs[4] > probs[5] > probs[6] > 0
    assert math.fsum(probs) == pytest.approx(1.0)


def test_floor_rounding_source_uses_its_own_preimage() -> None:
    # HKO one-decimal floor: 31°C covers [31.0, 32.0); an observed 31.x kills 29-and-30.
    prior = Normal(31.0, 1.0)
    probs = conditioned_probabilities(prior.cdf, HK, Rounding.FLOOR, 31, "max", open_weight=1.0)
    assert probs[:2] == [0.0, 0.0]
    tail = 1 - prior.cdf(31.0)
    assert probs[2] == pytest.approx((prior.cdf(32.0) - prior.cdf(31.0)) / tail, rel=1e-2)


def test_observed_below_every_bucket_keeps_the_forecast() -> None:
    base = probabilities_from_cdf(PRIOR.cdf, NYC, Rounding.HALF_UP)
    probs = conditioned_probabilities(PRIOR.cdf, NYC, Rounding.HALF_UP, 20, "max", open_weight=1.0)
    assert probs == pytest.approx(base, abs=1e-6)


def test_dead_bucket_definition() -> None:
    b = Bucket(44, 45, NYC[0].unit)
    assert is_dead(b, 46, "max") and not is_dead(b, 45, "max")
    assert is_dead(b, 43, "min") and not is_dead(b, 44, "min")
    assert not is_dead(NYC[0], 100, "min") and not is_dead(NYC[-1], -100, "max")


def test_still_open_falls_through_the_afternoon() -> None:
    hs = [still_open("max", h) for h in (6, 12, 15, 18, 23.9)]
    assert hs == sorted(hs, reverse=True)
    assert hs[0] > 0.9 and hs[-1] < 0.05
    assert still_open("min", 20) > still_open("max", 20)  # evening fronts set new lows


# --- the max still to come from the latest report and the diurnal curve (model/intraday.py) ---

F = Unit.F


def _with_latest(hour: float, value: float, running: int) -> list[float]:
    rest = remaining_max(PRIOR.mu, PRIOR.sigma, [(hour, value)], F, DEFAULT_DIURNAL)
    return conditioned_probabilities(
        PRIOR.cdf, NYC, Rounding.HALF_UP, running, "max", remaining=rest.cdf
    )


def test_hot_morning_shifts_mass_up() -> None:
    # 10:00 and the curve usually still has ~60 % (7.4 °F) of a 12.6 °F range to climb: a 37 °F
    # report is on course for the forecast (44), a 42 °F one for ~49.
    usual = _with_latest(10.0, 37.0, 37)
    hot = _with_latest(10.0, 42.0, 42)
    mean = lambda p: sum(i * q for i, q in enumerate(p))  # noqa: E731
    assert mean(hot) > mean(usual) + 1.0
    assert sum(hot[4:]) > 0.6 > sum(usual[4:])
    assert math.fsum(hot) == pytest.approx(1.0)


def test_after_the_peak_with_a_falling_temperature_the_running_max_bucket_dominates() -> None:
    probs = _with_latest(17.5, 42.0, 45)  # max 45 at ~15:00, now 42 and falling
    assert probs[:3] == [0.0, 0.0, 0.0]
    assert probs[3] > 0.9
    assert probs[3] == max(probs)


def test_before_dawn_the_forecast_still_decides() -> None:
    base = probabilities_from_cdf(PRIOR.cdf, NYC, Rounding.HALF_UP)
    probs = _with_latest(4.0, 32.0, 33)  # a normal night ~12 °F under the coming peak
    assert probs == pytest.approx(base, abs=0.06)
    assert remaining_max(PRIOR.mu, PRIOR.sigma, [], F).mean == PRIOR.mu


def test_no_report_left_today_means_nothing_can_beat_the_running_max() -> None:
    rest = remaining_max(PRIOR.mu, PRIOR.sigma, [(23.5, 40.0)], F)
    assert rest.cdf(-100.0) == 1.0
    probs = _with_latest(23.5, 40.0, 45)
    assert probs[3] > 0.98


def test_remaining_max_spread_shrinks_through_the_day() -> None:
    def spread(hour: float, value: float) -> float:
        rest = remaining_max(PRIOR.mu, PRIOR.sigma, [(hour, value)], F)
        m = rest.mean
        return math.sqrt(sum(w * (s * s + (mu - m) ** 2) for w, mu, s in rest.components))

    assert spread(4.0, 32.0) > spread(11.0, 38.0) > spread(14.0, 43.0)


def test_diurnal_curve_shape_and_station_overrides() -> None:
    prior = DEFAULT_DIURNAL
    assert deficit(3.0, 15.0, prior) == 1.0
    assert deficit(15.0, 15.0, prior) == pytest.approx(0.0)
    rising = [deficit(h, 15.0, prior) for h in (7, 10, 13)]
    assert rising == sorted(rising, reverse=True)
    assert 0 < deficit(20.0, 15.0, prior) < 1
    assert diurnal_prior("KLGA").peak_hour == pytest.approx(15.8)
    assert diurnal_prior("ZZZZ") == DEFAULT_DIURNAL
