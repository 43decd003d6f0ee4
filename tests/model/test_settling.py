"""Which reports settle, per resolution source: real-format report days worked out by hand.

Each day lists raw reports as aviationweather serves them; the settled value in each test is
computed in the comments from the source's rule (weather.md §1.5), not by the code under test.
"""

from __future__ import annotations

import datetime as dt

import pytest

from weatheredge.model.buckets import Bucket, Rounding, Unit
from weatheredge.model.conditioning import conditioned_on_distribution
from weatheredge.model.day_extreme import extreme_distribution, read_day
from weatheredge.model.observations import Observation, observation_from_report
from weatheredge.model.probability import Normal
from weatheredge.model.rules import SourceKind
from weatheredge.model.settling import SettlingRule, StationFacts, Status, learn_station_facts


def _report(at: str, raw: str) -> Observation:
    obs = observation_from_report(
        raw.split()[1] if raw.startswith(("SPECI", "METAR")) else raw.split()[0],
        dt.datetime.fromisoformat(at).replace(tzinfo=dt.UTC),
        raw,
    )
    assert obs is not None, raw
    return obs


def _routine_history(icao: str, day: str, minutes: tuple[int, ...], hours: int) -> list:
    """``hours`` hours of routine reports at ``minutes`` (10 °C) before ``day``'s reports."""
    start = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
    out = []
    for h in range(hours):
        for m in minutes:
            at = start + dt.timedelta(hours=h, minutes=m)
            out.append(
                _report(at.isoformat()[:16], f"{icao} {at:%d%H%M}Z 18004MPS 9999 10/05 Q1021")
            )
    return out


def _dist(reading) -> dict:
    return {v: round(p, 6) for v, p in reading.distribution}


# --- NOAA era, "Show Hourly Data" (KLGA, °F) ----------------------------------------------------

NOAA_HOURLY_F = SettlingRule(SourceKind.NOAA_WRH, True, Unit.F, Rounding.HALF_UP, "max")
KLGA_DAY = [  # 15 Sep 2026, EDT (UTC-4): the local day is 04:00Z 15 Sep .. 04:00Z 16 Sep
    # 23:51 EDT on the 14th: the day before, whatever its value (31.1 °C = 88 °F).
    ("2026-09-15T03:51", "KLGA 150351Z 21006KT 10SM FEW250 31/20 A2998 RMK AO2 SLP150 T03110200"),
    # routine, SLP: 27.2 °C * 1.8 + 32 = 80.96 -> 81
    ("2026-09-15T17:51", "KLGA 151751Z 20009KT 10SM FEW045 27/16 A3004 RMK AO2 SLP171 T02720161"),
    # routine, SLP: 27.8 * 1.8 + 32 = 82.04 -> 82
    ("2026-09-15T18:51", "KLGA 151851Z 19010KT 10SM FEW045 28/16 A3003 RMK AO2 SLP168 T02780156"),
    # SPECI: T-group 28.3 -> 82.94 -> 83, but its body 28 -> 82.4 -> 82: the table shows one of
    # them (the body on ~12 % of SPECI rows)
    ("2026-09-15T19:12", "SPECI KLGA 151912Z 19012G20KT 10SM FEW040 28/15 A3002 RMK AO2 T02830150"),
    # routine without sea-level pressure: probably hidden; 26.7 -> 80.06 -> 80 (lower anyway)
    ("2026-09-15T19:51", "KLGA 151951Z 20011KT 10SM SCT045 27/15 A3002 RMK AO2 SLPNO T02670150"),
    # off-minute auxiliary METAR, no SLP (a 5-minute-style row): 28.9 -> 84.02 -> 84
    ("2026-09-15T20:05", "KLGA 152005Z 20012KT 10SM FEW045 29/14 A3001 RMK AO2 T02890144"),
    # SPECI without a T-group: body 27 -> 80.6 -> 81 (26.5..27.4 °C -> 80..81 °F)
    ("2026-09-15T21:30", "SPECI KLGA 152130Z 21008KT 10SM FEW050 27/14 A3002 RMK AO2"),
]


def test_noaa_hourly_klga_day_by_hand() -> None:
    reports = [_report(at, raw) for at, raw in KLGA_DAY]
    statuses = [NOAA_HOURLY_F.assess(o).status for o in reports[1:]]
    assert statuses == [
        Status.COUNTS,
        Status.COUNTS,
        Status.UNCERTAIN,  # body vs T-group
        Status.UNCERTAIN,  # SLPNO
        Status.UNCERTAIN,  # no SLP, off-minute
        Status.UNCERTAIN,  # no T-group
    ]
    day = read_day(NOAA_HOURLY_F, reports, "America/New_York", dt.date(2026, 9, 15))
    assert day is not None
    # Certain: 82 (18:51 routine; the SPECI shows at least 82 either way).
    # P(max <= 82) = P(SPECI shows its body 82) 0.12 * P(20:05 hidden) 0.75 = 0.09
    # P(max <= 83) = 1 * 0.75 = 0.75 -> P(83) = 0.66; P(84) = 0.25. Settled: 83.
    assert day.certain == 82
    assert day.settled == 83
    assert _dist(day) == {82: 0.09, 83: 0.66, 84: 0.25}
    assert day.reports == 6  # the 03:51Z report is the 14th locally
    assert day.raw == pytest.approx(28.3 * 1.8 + 32)
    assert [a.obs.observed_at.strftime("%H%M") for a in day.involved] == ["1912", "2005"]
    assert not day.is_certain


def test_dead_buckets_only_below_what_certainly_counts() -> None:
    reports = [_report(at, raw) for at, raw in KLGA_DAY]
    day = read_day(NOAA_HOURLY_F, reports, "America/New_York", dt.date(2026, 9, 15))
    assert day is not None
    labels = [(None, 79), (80, 81), (82, 83), (84, 85), (86, None)]
    buckets = [Bucket(lo, hi, Unit.F) for lo, hi in labels]
    prior = Normal(84.0, 2.0)
    probs = conditioned_on_distribution(
        prior.cdf, buckets, Rounding.HALF_UP, day.distribution, "max", open_weight=0.2
    )
    assert probs[0] == 0.0 and probs[1] == 0.0  # below the certain 82
    assert 0.0 < probs[2] < 1.0 and 0.0 < probs[3] < 1.0 and probs[4] > 0.0
    assert sum(probs) == pytest.approx(1.0)
    # Had the off-minute 84 counted for sure, 82-83 would be dead; it is only shaded.
    sure = conditioned_on_distribution(
        prior.cdf, buckets, Rounding.HALF_UP, [(84, 1.0)], "max", open_weight=0.2
    )
    assert sure[2] == 0.0 and probs[2] > 0.1


# --- NOAA era, all data, a station with off-minutes (UUWW Moscow, °C) ----------------------------

UUWW_DAY = [  # 10 Oct 2026, MSK (UTC+3): local day 21:00Z 9 Oct .. 21:00Z 10 Oct
    ("2026-10-10T11:00", "UUWW 101100Z 20003MPS CAVOK 14/04 Q1020 R01/290050 NOSIG"),  # 14
    ("2026-10-10T11:30", "UUWW 101130Z 21004MPS CAVOK 15/04 Q1020 NOSIG"),  # 15
    ("2026-10-10T11:50", "UUWW 101150Z 21004MPS CAVOK 17/04 Q1020 NOSIG"),  # :50 never counts
    ("2026-10-10T12:12", "SPECI UUWW 101212Z 21005MPS 9999 -SHRA 16/06 Q1019"),  # SPECI: 16
    ("2026-10-10T13:24", "UUWW 101324Z 22004MPS CAVOK 18/05 Q1019 NOSIG"),  # :24 never counts
    ("2026-10-10T14:00", "UUWW 101400Z 22004MPS CAVOK 15/05 Q1019 NOSIG"),  # 15
    ("2026-10-10T21:00", "UUWW 102100Z 00000MPS CAVOK 19/05 Q1022 NOSIG"),  # 00:00 on the 11th
]


def test_noaa_all_data_moscow_off_minutes_never_count() -> None:
    history = _routine_history("UUWW", "2026-10-08T00:00", (0, 30), 24)
    facts = learn_station_facts("UUWW", history)
    assert facts.routine_minutes == (0, 30) and facts.pattern == "half-hourly"
    assert facts.excluded_minutes == (24, 50)
    rule = SettlingRule(SourceKind.NOAA_WRH, False, Unit.C, Rounding.HALF_UP, "max", facts)
    reports = [_report(at, raw) for at, raw in UUWW_DAY]
    assert [rule.assess(o).status for o in reports[:6]] == [
        Status.COUNTS,
        Status.COUNTS,
        Status.EXCLUDED,
        Status.COUNTS,
        Status.EXCLUDED,
        Status.COUNTS,
    ]
    day = read_day(rule, reports, "Europe/Moscow", dt.date(2026, 10, 10))
    assert day is not None
    # max(14, 15, 16 SPECI, 15) = 16; the 17 at :50 and 18 at :24 are left out.
    assert (day.settled, day.certain, _dist(day)) == (16, 16, {16: 1.0})
    assert day.is_certain and day.uncertain == 0


# --- NOAA era, all data, learnt pattern (CYYZ Toronto, °C, negatives) -----------------------------


def test_noaa_all_data_toronto_off_minute_is_uncertain() -> None:
    history = _routine_history("CYYZ", "2026-01-14T00:00", (0,), 20)
    rule = SettlingRule(
        SourceKind.NOAA_WRH,
        False,
        Unit.C,
        Rounding.HALF_UP,
        "max",
        learn_station_facts("CYYZ", history),
    )
    day_reports = [  # 15 Jan 2026, EST: 05:00Z .. 05:00Z
        ("2026-01-15T18:00", "CYYZ 151800Z 27014KT 15SM FEW040 M02/M09 A3010 RMK SC1 SLP199"),
        (
            "2026-01-15T18:26",
            "SPECI CYYZ 151826Z 28015G25KT 15SM -SHSN BKN030 M01/M08 A3009 RMK SC7",
        ),
        ("2026-01-15T18:41", "CYYZ 151841Z 28012KT 15SM BKN030 00/M07 A3009 RMK SC7"),  # off-minute
        ("2026-01-15T19:00", "CYYZ 151900Z 28012KT 15SM BKN030 M01/M08 A3009 RMK SC7 SLP196"),
        ("2026-01-15T20:00", "CYYZ 152000Z 28010KT 15SM BKN030 M00/M07 A3009 RMK SC7 SLP195"),
    ]
    reports = [_report(at, raw) for at, raw in day_reports]
    assert rule.assess(reports[2]).status is Status.UNCERTAIN
    day = read_day(rule, reports, "America/Toronto", dt.date(2026, 1, 15))
    assert day is not None
    # Counted: -2, -1 (SPECI), -1, M00 = 0 (-0.4 .. -0.1 rounds to 0). Max 0; the off-minute 0
    # changes nothing.
    assert (day.settled, day.certain) == (0, 0)
    lows = SettlingRule(SourceKind.NOAA_WRH, False, Unit.C, Rounding.HALF_UP, "min", rule.facts)
    low = read_day(lows, reports, "America/Toronto", dt.date(2026, 1, 15))
    assert low is not None and (low.settled, low.certain) == (-2, -2)


# --- Weather Underground era (EGLC °C; KORD °F lows) ---------------------------------------------


def test_wu_era_london_counts_every_routine_report_and_speci() -> None:
    rule = SettlingRule(SourceKind.WUNDERGROUND, False, Unit.C, Rounding.HALF_UP, "max")
    day_reports = [  # 21 Jul 2026, BST (UTC+1): 23:00Z 20 Jul .. 23:00Z 21 Jul
        ("2026-07-20T22:50", "EGLC 202250Z 24005KT CAVOK 29/15 Q1012"),  # 23:50 BST on the 20th
        ("2026-07-21T12:20", "EGLC 211220Z 24008KT 9999 FEW040 26/14 Q1015"),  # 26
        ("2026-07-21T12:50", "EGLC 211250Z 23009KT CAVOK 27/13 Q1015"),  # 27
        ("2026-07-21T13:05", "EGLC 211305Z AUTO 23010KT 9999 NCD 28/13 Q1015"),  # 28 (WU shows it)
        ("2026-07-21T13:31", "SPECI EGLC 211331Z 23012KT 9999 -TSRA 25/17 Q1015"),  # 25
        ("2026-07-21T14:50", "EGLC 211450Z COR 24010KT CAVOK 27/12 Q1014"),  # 27
        ("2026-07-21T23:20", "EGLC 212320Z 25005KT CAVOK 30/12 Q1017"),  # 00:20 BST on the 22nd
    ]
    reports = [_report(at, raw) for at, raw in day_reports]
    day = read_day(rule, reports, "Europe/London", dt.date(2026, 7, 21))
    assert day is not None
    assert (day.settled, day.certain, day.reports, day.uncertain) == (28, 28, 5, 0)


def test_wu_era_chicago_low_from_t_groups_speci_included() -> None:
    rule = SettlingRule(SourceKind.WUNDERGROUND, False, Unit.F, Rounding.HALF_UP, "min")
    day_reports = [  # 15 Jan 2026, CST (UTC-6): 06:00Z 15 Jan .. 06:00Z 16 Jan
        # -14.4 * 1.8 + 32 = 6.08 -> 6
        (
            "2026-01-15T10:51",
            "KORD 151051Z 29012KT 10SM FEW250 M14/M19 A3040 RMK AO2 SLP318 T11441189",
        ),
        # -15.0 -> 5.0 -> 5
        (
            "2026-01-15T11:51",
            "KORD 151151Z 29011KT 10SM CLR M15/M20 A3041 RMK AO2 SLP322 T11501200",
        ),
        # SPECI -15.6 -> 3.92 -> 4 (WU reads the T-group of SPECIs too)
        ("2026-01-15T12:14", "SPECI KORD 151214Z 30010KT 10SM CLR M15/M20 A3041 RMK AO2 T11560200"),
        # no T-group: M15 -> -15.5..-14.6 °C -> 4..6 °F, uncertain (all above 4 anyway)
        ("2026-01-15T12:51", "KORD 151251Z 30009KT 10SM CLR M15/M21 A3042 RMK AO2 SLP330"),
        # 23:51 CST, still the 15th: -17.2 -> 1.04 -> 1 (the day's low)
        (
            "2026-01-16T05:51",
            "KORD 160551Z 31008KT 10SM CLR M17/M22 A3045 RMK AO2 SLP345 T11721222",
        ),
        # 00:51 CST on the 16th: -18.3 -> -0.94 -> -1, another day
        (
            "2026-01-16T06:51",
            "KORD 160651Z 31008KT 10SM CLR M18/M23 A3046 RMK AO2 SLP349 T11831233",
        ),
    ]
    reports = [_report(at, raw) for at, raw in day_reports]
    assert rule.assess(reports[3]).status is Status.UNCERTAIN
    day = read_day(rule, reports, "America/Chicago", dt.date(2026, 1, 15))
    assert day is not None
    assert (day.settled, day.certain, _dist(day)) == (1, 1, {1: 1.0})


def test_body_above_t_group_across_a_bucket_edge() -> None:
    # SPECI KLGA: T-group 21.6 -> 70.88 -> 71 (bucket 70-71), body 22 -> 71.6 -> 72 (72-73).
    raw = "SPECI KLGA 181742Z 22011KT 10SM FEW050 22/12 A3010 RMK AO2 T02160122"
    speci = _report("2026-09-18T17:42", raw)
    routine = _report(
        "2026-09-18T16:51", "KLGA 181651Z 21010KT 10SM FEW050 21/12 A3011 RMK AO2 SLP195 T02110122"
    )  # 21.1 -> 69.98 -> 70
    assessed = [NOAA_HOURLY_F.assess(o) for o in (routine, speci)]
    assert assessed[1].status is Status.UNCERTAIN and "body 72 vs T-group 71" in assessed[1].reason
    dist = dict(extreme_distribution(assessed, "max"))
    assert dist == pytest.approx({71: 0.88, 72: 0.12})
    day = read_day(NOAA_HOURLY_F, [routine, speci], "America/New_York", dt.date(2026, 9, 18))
    assert day is not None and (day.settled, day.certain) == (71, 71)
    buckets = [Bucket(None, 69, Unit.F), Bucket(70, 71, Unit.F), Bucket(72, None, Unit.F)]
    probs = conditioned_on_distribution(
        Normal(70.0, 1.5).cdf, buckets, Rounding.HALF_UP, day.distribution, "max", open_weight=0.0
    )
    assert probs[0] == 0.0 and 0.0 < probs[2] < 1.0 and 0.0 < probs[1] < 1.0


def test_unknown_pattern_and_known_pattern() -> None:
    rule = SettlingRule(SourceKind.NOAA_WRH, False, Unit.C, Rounding.HALF_UP, "max")
    obs = _report("2026-07-21T12:25", "EHAM 211225Z 24015KT 9999 SCT035 17/09 Q1012 NOSIG")
    first = rule.assess(obs)
    assert first.status is Status.UNCERTAIN and "not learnt" in first.reason
    facts = learn_station_facts("EHAM", _routine_history("EHAM", "2026-07-20T00:00", (25, 55), 13))
    assert facts.known and facts.routine_minutes == (25, 55)
    known = SettlingRule(SourceKind.NOAA_WRH, False, Unit.C, Rounding.HALF_UP, "max", facts)
    assert known.assess(obs).status is Status.COUNTS
    few = learn_station_facts("EHAM", _routine_history("EHAM", "2026-07-20T00:00", (25,), 5))
    assert not few.known and few.pattern == "unknown"
    assert StationFacts("X", (51,), 20, 20).as_dict()["pattern"] == "hourly"
