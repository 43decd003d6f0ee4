"""Pure settlement tests for ``weatheredge.model.observations`` (no I/O)."""

from __future__ import annotations

import datetime as dt

import pytest

from weatheredge.model.buckets import Rounding, Unit
from weatheredge.model.day_extreme import running_extreme
from weatheredge.model.observations import Observation, local_day_window

NY = "America/New_York"


def _obs(when: dt.datetime, temp_c: float, icao: str = "KLGA", tenths: bool = True) -> Observation:
    return Observation(icao, when, temp_c, tenths, "METAR", f"{icao} raw")


def _utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("temp_c", "settled_f"),
    [(23.3, 74), (22.5, 73), (22.2, 72), (11.7, 53), (-2.2, 28), (-17.5, 1), (-20.3, -5)],
)
def test_fahrenheit_is_tenths_to_f_then_half_up(temp_c: float, settled_f: int) -> None:
    # 22.5 °C = 72.5 °F exactly: half-up gives 73 where banker's round would give 72.
    # -17.5 °C = 0.5 °F -> 1; -20.3 °C = -4.54 °F -> -5.
    obs = [_obs(_utc(2026, 11, 25, 18), temp_c)]
    assert running_extreme(obs, NY, dt.date(2026, 11, 25), Unit.F, Rounding.HALF_UP, "max") == (
        settled_f
    )


def test_max_and_min_over_the_local_day_only() -> None:
    day = dt.date(2026, 11, 25)  # EST, UTC-5: the local day is 05:00Z 25th .. 05:00Z 26th
    obs = [
        _obs(_utc(2026, 11, 25, 4, 59), 30.0),  # 23:59 on the 24th local
        _obs(_utc(2026, 11, 25, 5, 0), 2.0),  # 00:00 local: first instant of the day
        _obs(_utc(2026, 11, 25, 19, 51), 12.0),
        _obs(_utc(2026, 11, 26, 4, 51), 8.0),  # 23:51 local
        _obs(_utc(2026, 11, 26, 5, 0), -10.0),  # 00:00 on the 26th local
    ]
    assert running_extreme(obs, NY, day, Unit.C, Rounding.HALF_UP, "max") == 12
    assert running_extreme(obs, NY, day, Unit.C, Rounding.HALF_UP, "min") == 2


def test_spring_forward_day_is_23_hours() -> None:
    day = dt.date(2026, 3, 8)  # US DST starts 02:00 local
    start, end = local_day_window(NY, day)
    assert (start, end) == (_utc(2026, 3, 8, 5), _utc(2026, 3, 9, 4))
    obs = [
        _obs(_utc(2026, 3, 9, 3, 51), 15.0),  # 23:51 EDT on the 8th: counts
        _obs(_utc(2026, 3, 9, 4, 30), 25.0),  # 00:30 EDT on the 9th: does not (EST would say 23:30)
    ]
    assert running_extreme(obs, NY, day, Unit.F, Rounding.HALF_UP, "max") == 59


def test_fall_back_day_is_25_hours() -> None:
    day = dt.date(2026, 11, 1)  # US DST ends 02:00 local
    start, end = local_day_window(NY, day)
    assert end - start == dt.timedelta(hours=25)
    obs = [
        _obs(_utc(2026, 11, 1, 3, 51), 30.0),  # 23:51 EDT on 31 Oct
        _obs(_utc(2026, 11, 2, 4, 51), 9.0),  # 23:51 EST on 1 Nov: counts
        _obs(_utc(2026, 11, 1, 18, 51), 8.0),
    ]
    assert running_extreme(obs, NY, day, Unit.C, Rounding.HALF_UP, "max") == 9
    assert running_extreme(obs, NY, day, Unit.C, Rounding.HALF_UP, "min") == 8


def test_celsius_whole_degrees_and_floor_rule() -> None:
    london = [_obs(_utc(2026, 7, 1, 13, 50), 28.0, "EGLC", tenths=False)]
    assert (
        running_extreme(
            london, "Europe/London", dt.date(2026, 7, 1), Unit.C, Rounding.HALF_UP, "max"
        )
        == 28
    )
    hko = [_obs(_utc(2026, 7, 1, 6), 28.9, "VHHO")]
    assert (
        running_extreme(hko, "Asia/Hong_Kong", dt.date(2026, 7, 1), Unit.C, Rounding.FLOOR, "max")
        == 28
    )


def test_no_report_in_the_window_is_none() -> None:
    obs = [_obs(_utc(2026, 11, 24, 18), 10.0)]
    assert running_extreme(obs, NY, dt.date(2026, 11, 25), Unit.F, Rounding.HALF_UP, "max") is None
    assert running_extreme([], NY, dt.date(2026, 11, 25), Unit.F, Rounding.HALF_UP, "min") is None


def test_guards_against_mixed_stations_and_naive_times() -> None:
    day = dt.date(2026, 11, 25)
    mixed = [_obs(_utc(2026, 11, 25, 18), 1.0), _obs(_utc(2026, 11, 25, 18), 1.0, "KJFK")]
    with pytest.raises(ValueError, match="several stations"):
        running_extreme(mixed, NY, day, Unit.F, Rounding.HALF_UP, "max")
    naive = [_obs(dt.datetime(2026, 11, 25, 18), 1.0)]
    with pytest.raises(ValueError, match="naive"):
        running_extreme(naive, NY, day, Unit.F, Rounding.HALF_UP, "max")
