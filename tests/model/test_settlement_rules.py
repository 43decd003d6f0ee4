"""What resolves: rounding per source kind, the day's extreme, bad observation input, polling."""

from __future__ import annotations

import datetime as dt

import pytest

from weatheredge.model.buckets import Rounding, Unit, parse_bucket_label, settle_from_celsius
from weatheredge.model.day_extreme import read_day
from weatheredge.model.observations import (
    Observation,
    observation_problem,
    poll_due,
    routine_minutes,
)
from weatheredge.model.rules import SourceKind, parse_rule
from weatheredge.model.settling import SettlingRule

NY = "America/New_York"
DAY = dt.date(2026, 11, 25)


def _obs(hour: int, minute: int, temp_c: float, tenths: bool = True, kind: str = "METAR"):
    at = dt.datetime(2026, 11, 25, hour, minute, tzinfo=dt.UTC)
    return Observation("KLGA", at, temp_c, tenths, kind, "KLGA raw")


@pytest.mark.parametrize(
    ("source_text", "unit", "temp_c", "expected"),
    [
        # NOAA WRH table (US, °F): tenths °C -> °F -> half-up.
        ("https://www.weather.gov/wrh/timeseries?site=KLGA", Unit.F, 22.5, 73),
        # Weather Underground (US, °F): the same conversion.
        ("https://www.wunderground.com/history/daily/us/ny/new-york-city/KLGA", Unit.F, 11.7, 53),
        # Non-US whole-degree METAR (°C): the body integer is the settlement.
        ("https://www.wunderground.com/history/daily/gb/london/EGLC", Unit.C, 12.0, 12),
        # Hong Kong Observatory: one decimal, floor (21.9 °C is the 21 °C bucket).
        ("https://www.weather.gov.hk/en/cis/climat.htm", Unit.C, 21.9, 21),
        ("https://www.weather.gov.hk/en/cis/climat.htm", Unit.C, -0.1, -1),
    ],
)
def test_rounding_rule_per_source_kind(
    source_text: str, unit: Unit, temp_c: float, expected: int
) -> None:
    u = unit.value
    description = f"Resolves in degrees {'Fahrenheit' if unit is Unit.F else 'Celsius'} (°{u})."
    if "weather.gov.hk" in source_text:
        description += " The Hong Kong Observatory measures to one decimal place."
    rule = parse_rule("Highest temperature in X on May 1?", description, source_text, unit)
    if "weather.gov.hk" in source_text:
        assert rule.source is SourceKind.HKO and rule.rounding is Rounding.FLOOR
    else:
        assert rule.rounding is Rounding.HALF_UP
    assert settle_from_celsius(temp_c, unit, rule.rounding) == expected


def test_day_extreme_keeps_the_settling_report_and_counts_specials() -> None:
    reports = [
        _obs(14, 51, 10.0),
        _obs(17, 12, 11.7, kind="SPECI"),  # a special between hourlies counts
        _obs(18, 51, 11.6),
        _obs(4, 51, 30.0),  # 23:51 the previous local day: not in the window
    ]
    wu = SettlingRule(SourceKind.WUNDERGROUND, False, Unit.F, Rounding.HALF_UP, "max")
    found = read_day(wu, reports, NY, DAY)
    assert found is not None
    assert (found.settled, found.reports) == (53, 3)
    assert found.raw == pytest.approx(53.06)
    assert found.last_report.hour == 18
    low = read_day(
        SettlingRule(SourceKind.WUNDERGROUND, False, Unit.F, Rounding.HALF_UP, "min"),
        reports,
        NY,
        DAY,
    )
    assert low is not None and low.settled == 50
    assert parse_bucket_label("52-53°F").contains(found.settled)


def test_bad_observation_input_is_named() -> None:
    now = dt.datetime(2026, 11, 25, 20, 0, tzinfo=dt.UTC)  # 15:00 in New York
    kw = {
        "now": now,
        "station_tz": NY,
        "local_date": DAY,
        "max_silence": dt.timedelta(hours=3),
        "max_skew": dt.timedelta(minutes=10),
    }
    ok = [_obs(18, 51, 10.0), _obs(19, 51, 11.0)]
    assert observation_problem(ok, unit=Unit.F, **kw) is None
    skewed = [*ok, _obs(20, 40, 11.0)]
    assert "clock skew" in (observation_problem(skewed, unit=Unit.F, **kw) or "")
    whole = [_obs(18, 51, 10.0, tenths=False)]
    # Whole degrees in a °F market are an uncertain value (settling rule), not a stale event.
    assert observation_problem(whole, unit=Unit.F, **kw) is None
    assert observation_problem(whole, unit=Unit.C, **kw) is None
    silent = [_obs(12, 51, 10.0)]
    assert "no reports" in (observation_problem(silent, unit=Unit.F, **kw) or "")
    assert "no reports" in (observation_problem([], unit=Unit.F, **kw) or "")


def test_polling_is_tuned_to_report_times() -> None:
    fast, slow = dt.timedelta(seconds=30), dt.timedelta(minutes=5)
    at = dt.datetime(2026, 11, 25, 14, 54, tzinfo=dt.UTC)
    minutes = routine_minutes([_obs(12, 51, 1.0), _obs(13, 51, 1.0), _obs(13, 20, 1, kind="SPECI")])
    assert minutes == [51]
    recent = at - dt.timedelta(seconds=40)
    assert poll_due(at, recent, minutes, fast=fast, slow=slow)  # just after :51: poll often
    quiet = at.replace(minute=30)
    assert not poll_due(quiet, quiet - dt.timedelta(seconds=40), minutes, fast=fast, slow=slow)
    assert poll_due(quiet, quiet - dt.timedelta(minutes=6), minutes, fast=fast, slow=slow)
    assert poll_due(at, None, minutes, fast=fast, slow=slow)
