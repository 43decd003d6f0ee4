"""Settling edge cases worked by hand from weather.md §1.5 (rounding, lows, DST, negative halves).

Every expected value is computed in the comments, not by the code under test.
"""

from __future__ import annotations

import datetime as dt

import pytest

from weatheredge.model.buckets import Rounding, Unit, settle_from_celsius
from weatheredge.model.day_extreme import read_day
from weatheredge.model.observations import Observation, local_day_window, observation_from_report
from weatheredge.model.rules import SourceKind
from weatheredge.model.settling import SettlingRule, Status

NOAA_HOURLY_F_LOW = SettlingRule(SourceKind.NOAA_WRH, True, Unit.F, Rounding.HALF_UP, "min")


def _report(at: str, raw: str) -> Observation:
    station = raw.split()[1] if raw.startswith(("SPECI", "METAR")) else raw.split()[0]
    obs = observation_from_report(
        station, dt.datetime.fromisoformat(at).replace(tzinfo=dt.UTC), raw
    )
    assert obs is not None, raw
    return obs


@pytest.mark.parametrize(
    ("temp_c", "unit", "rounding", "expected"),
    [
        # Half-up is toward +infinity (JS Math.round), not away from zero:
        (-22.5, Unit.F, Rounding.HALF_UP, -8),  # -22.5 * 1.8 + 32 = -8.5 -> -8 (not -9)
        (-2.5, Unit.F, Rounding.HALF_UP, 28),  # 27.5 -> 28
        (-2.5, Unit.C, Rounding.HALF_UP, -2),  # -2.5 -> -2 (not -3)
        (-0.5, Unit.C, Rounding.HALF_UP, 0),  # -0.5 -> 0: the "0°C" bucket, not "-1°C"
        (-0.6, Unit.C, Rounding.HALF_UP, -1),
        (0.5, Unit.C, Rounding.HALF_UP, 1),
        # One-decimal sources (HKO, CWA era) floor: -0.5 -> -1, 10.9 -> 10, 11.0 -> 11.
        (-0.5, Unit.C, Rounding.FLOOR, -1),
        (10.9, Unit.C, Rounding.FLOOR, 10),
        (11.0, Unit.C, Rounding.FLOOR, 11),
        # Tenths that are not exact in binary: 0.1 * 3 = 0.30000000000000004 still floors to 0.
        (0.1 * 3, Unit.C, Rounding.FLOOR, 0),
        (2.3 - 0.3, Unit.C, Rounding.FLOOR, 2),  # 1.9999999999999998 is the reading 2.0
    ],
)
def test_rounding_edges(temp_c: float, unit: Unit, rounding: Rounding, expected: int) -> None:
    assert settle_from_celsius(temp_c, unit, rounding) == expected


def test_noaa_hourly_low_with_a_speci_split_between_body_and_t_group() -> None:
    # KLGA, 25 Nov 2026 (EST, UTC-5): local day 05:00Z 25th .. 05:00Z 26th.
    reports = [
        # 23:51 EST on the 24th: outside the day, however cold (-5.0 °C = 23 °F).
        _report(
            "2026-11-25T04:51",
            "KLGA 250451Z 00000KT 10SM CLR M05/M08 A3030 RMK AO2 SLP262 T10501083",
        ),
        # routine with SLP: -0.6 °C -> 30.92 °F -> 31
        _report(
            "2026-11-25T10:51",
            "KLGA 251051Z 00000KT 10SM CLR M01/M02 A3030 RMK AO2 SLP262 T10061022",
        ),
        # SPECI, T-group -1.1 -> 30.02 -> 30, body M01 -> 30.2 -> 30: counts 30 either way
        _report(
            "2026-11-25T11:20",
            "SPECI KLGA 251120Z 00000KT 2SM BR CLR M01/M02 A3030 RMK AO2 T10111022",
        ),
        # SPECI, T-group -1.4 -> 29.48 -> 29, body M01 -> 30: shows 29 (88 %) or 30 (12 %)
        _report(
            "2026-11-25T11:40",
            "SPECI KLGA 251140Z 00000KT 1SM BR CLR M01/M02 A3030 RMK AO2 T10141022",
        ),
        # routine without SLP (hourly view probably hides it): -2.2 -> 28.04 -> 28
        _report(
            "2026-11-25T11:51",
            "KLGA 251151Z 00000KT 10SM CLR M02/M03 A3030 RMK AO2 SLPNO T10221033",
        ),
    ]
    day = read_day(NOAA_HOURLY_F_LOW, reports, "America/New_York", dt.date(2026, 11, 25))
    assert day is not None and day.reports == 4
    # What certainly shows: 30 (the first SPECI, and the second at worst). Buckets wholly above
    # 30 are dead for the low; 28 stays possible (P = 1 - 0.25 for the hidden row).
    assert day.certain == 30
    dist = {v: round(p, 6) for v, p in day.distribution}
    # 28 shows with 0.25; else 29 with 0.75 * 0.88 = 0.66; else 30 with 0.75 * 0.12 = 0.09.
    assert dist == {28: 0.25, 29: 0.66, 30: 0.09}
    assert day.settled == 29
    statuses = [NOAA_HOURLY_F_LOW.assess(r).status for r in reports[1:]]
    assert statuses == [Status.COUNTS, Status.COUNTS, Status.UNCERTAIN, Status.UNCERTAIN]


def test_negative_zero_body_settles_zero_under_noaa_and_wu_celsius() -> None:
    # A °C market (synthetic station with US-style remarks so both values exist):
    # body M00 = [-0.5, 0) °C, T-group -0.5 -> half-up 0; both sources show 0, not -1.
    speci = _report(
        "2026-01-10T06:10", "SPECI CYYZ 100610Z 27010KT 15SM FEW030 M00/M04 A3001 RMK T10051039"
    )
    assert (speci.body_c, speci.temp_c) == (0, -0.5)
    for source in (SourceKind.NOAA_WRH, SourceKind.WUNDERGROUND):
        for extreme in ("max", "min"):
            rule = SettlingRule(source, False, Unit.C, Rounding.HALF_UP, extreme)
            day = read_day(rule, [speci], "America/Toronto", dt.date(2026, 1, 10))
            assert day is not None and (day.settled, day.certain) == (0, 0), (source, extreme)


def test_wu_celsius_reads_the_body_noaa_the_tenths() -> None:
    # T-group 12.5 half-up = 13 = body 13 (ASOS rounds the body the same way); T-group 12.4
    # -> 12 while a body 13 would be a report whose body and remarks disagree: WU shows the
    # body (13), the NOAA table the tenths (12).
    odd = _report(
        "2026-07-01T14:10", "SPECI CYYZ 011410Z 27010KT 15SM FEW030 13/04 A3001 RMK T01240039"
    )
    wu = SettlingRule(SourceKind.WUNDERGROUND, False, Unit.C, Rounding.HALF_UP, "max")
    noaa = SettlingRule(SourceKind.NOAA_WRH, False, Unit.C, Rounding.HALF_UP, "max")
    assert read_day(wu, [odd], "America/Toronto", dt.date(2026, 7, 1)).settled == 13  # type: ignore[union-attr]
    assert read_day(noaa, [odd], "America/Toronto", dt.date(2026, 7, 1)).settled == 12  # type: ignore[union-attr]


def test_southern_hemisphere_dst_days() -> None:
    # Wellington/Auckland: NZDT starts Sun 27 Sep 2026 02:00 -> 03:00 (23-hour day) and ends
    # Sun 5 Apr 2026 03:00 -> 02:00 (25-hour day).
    start, end = local_day_window("Pacific/Auckland", dt.date(2026, 9, 27))
    # 00:00 NZST (+12) = 12:00Z on the 26th; 00:00 NZDT (+13) on the 28th = 11:00Z on the 27th.
    assert (start, end) == (
        dt.datetime(2026, 9, 26, 12, tzinfo=dt.UTC),
        dt.datetime(2026, 9, 27, 11, tzinfo=dt.UTC),
    )
    start, end = local_day_window("Pacific/Auckland", dt.date(2026, 4, 5))
    assert end - start == dt.timedelta(hours=25)
    # 23:30 NZST on 5 Apr = 11:30Z: inside; 00:00 NZST on the 6th = 12:00Z: the next day.
    rule = SettlingRule(SourceKind.WUNDERGROUND, False, Unit.C, Rounding.HALF_UP, "max")
    inside = _report("2026-04-05T11:30", "NZWN 051130Z 18010KT 9999 FEW030 14/09 Q1012 NOSIG")
    after = _report("2026-04-05T12:00", "NZWN 051200Z 18010KT 9999 FEW030 19/09 Q1012 NOSIG")
    day = read_day(rule, [inside, after], "Pacific/Auckland", dt.date(2026, 4, 5))
    assert day is not None and day.settled == 14


def test_report_at_local_midnight_opens_the_day_for_lows() -> None:
    # London, 25 Oct 2026 = BST -> GMT change-over (25-hour day: 23:00Z 24th .. 00:00Z 26th).
    # The 23:50Z report on the 25th is 23:50 GMT (inside); 00:00Z on the 26th is the next day.
    rule = SettlingRule(SourceKind.WUNDERGROUND, False, Unit.C, Rounding.HALF_UP, "min")
    reports = [
        _report(
            "2026-10-24T22:50", "EGLC 242250Z 24008KT 9999 FEW030 02/01 Q1019"
        ),  # 23:50 BST 24th
        _report(
            "2026-10-24T23:00", "EGLC 242300Z 24008KT 9999 FEW030 06/01 Q1019"
        ),  # 00:00 BST 25th
        _report("2026-10-25T23:50", "EGLC 252350Z 24008KT 9999 FEW030 05/01 Q1019"),  # 23:50 GMT
        _report("2026-10-26T00:00", "EGLC 260000Z 24008KT 9999 FEW030 M01/M03 Q1019"),  # 26th
    ]
    day = read_day(rule, reports, "Europe/London", dt.date(2026, 10, 25))
    assert day is not None and (day.settled, day.reports) == (5, 2)
