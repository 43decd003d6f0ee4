"""Issue 10 §3: each station's schedule (routine minute, publication delay) learnt from its
own reports; fast polling from just before a report is expected until it is in hand."""

from __future__ import annotations

import datetime as dt
import json

from weatheredge.model.observations import Observation
from weatheredge.model.report_schedule import (
    PollTiming,
    StationSchedule,
    chunk_ids,
    expected_publication,
    learn_schedule,
    next_poll,
)
from weatheredge.weather.metar import decode_metars

T0 = dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC)
TIMING = PollTiming(fast_s=3, slow_s=300, lead_s=20, give_up_s=900)


def _report(at: dt.datetime, delay_s: float | None, kind: str = "METAR") -> Observation:
    published = None if delay_s is None else at + dt.timedelta(seconds=delay_s)
    return Observation("KLGA", at, 10.0, True, kind, "KLGA ...", published_at=published)


def test_receipt_time_is_the_publication_time() -> None:
    body = json.dumps(
        [
            {
                "icaoId": "KLGA",
                "receiptTime": "2025-11-25 23:54:12",
                "obsTime": 1764114660,
                "temp": 11.7,
                "metarType": "METAR",
                "rawOb": "KLGA 252351Z 31012KT 10SM FEW250 12/M01 A3010 RMK AO2 T01171011",
            },
            {"icaoId": "EGLC", "obsTime": 1764114600, "temp": 9, "rawOb": "EGLC 252350Z ..."},
            {  # newer captures: ISO with milliseconds and Z
                "icaoId": "RKSI",
                "receiptTime": "2025-11-25T23:53:30.000Z",
                "obsTime": 1764114600,
                "temp": 3,
                "rawOb": "RKSI 252350Z 32010KT CAVOK 03/M05 Q1025 NOSIG",
            },
        ]
    ).encode()
    (eglc, klga, rksi), _ = decode_metars(body)
    assert klga.published_at == dt.datetime(2025, 11, 25, 23, 54, 12, tzinfo=dt.UTC)
    assert (klga.published_at - klga.observed_at).total_seconds() == 192
    assert eglc.published_at is None
    assert rksi.published_at == dt.datetime(2025, 11, 25, 23, 53, 30, tzinfo=dt.UTC)


def test_schedule_is_learnt_from_the_stations_own_reports() -> None:
    hourly = [
        _report(T0 + dt.timedelta(hours=h, minutes=51), 100 + 10 * (h % 3)) for h in range(12)
    ]
    special = _report(T0 + dt.timedelta(hours=3, minutes=7), 30, "SPECI")
    schedule = learn_schedule([*hourly, special])
    assert schedule.minutes[0] == 51
    assert schedule.delay_s == 110  # median of 100/110/120 (+ the special's 30)
    assert 110 <= schedule.delay_p90_s <= 120
    assert schedule.samples == 13
    # Nothing learnt yet: the common minutes and a two-minute delay.
    blank = learn_schedule([_report(T0, None, "SPECI")])
    assert blank.samples == 0 and 51 in blank.minutes


def test_poll_fast_from_just_before_the_report_until_it_is_in_hand() -> None:
    schedule = StationSchedule((51,), 120.0, 150.0, 20)
    last = T0 + dt.timedelta(hours=11, minutes=51)  # the 11:51 report is in hand
    # 12:30: quiet, the next request waits (slow cadence, or the hot window if sooner).
    quiet = T0 + dt.timedelta(hours=12, minutes=30)
    fetched = quiet - dt.timedelta(seconds=10)
    when = next_poll(schedule, quiet, last_fetch=fetched, last_report=last, timing=TIMING)
    assert when > quiet + dt.timedelta(minutes=1)
    assert expected_publication(schedule, quiet, last, TIMING) == T0 + dt.timedelta(
        hours=12, minutes=53
    )
    assert when == fetched + dt.timedelta(seconds=300)
    # Hot from 12:52:10 (fast decile: 90 s after the observation, minus the 20 s lead) ...
    fetched = T0 + dt.timedelta(hours=12, minutes=50)
    when = next_poll(schedule, fetched, last_fetch=fetched, last_report=last, timing=TIMING)
    assert when == T0 + dt.timedelta(hours=12, minutes=52, seconds=10)
    hot = T0 + dt.timedelta(hours=12, minutes=52, seconds=30)
    fetched = hot - dt.timedelta(seconds=2)
    when = next_poll(schedule, hot, last_fetch=fetched, last_report=last, timing=TIMING)
    assert when == fetched + dt.timedelta(seconds=3)  # every 3 s while the report is due
    # ... still hot when the report is late ...
    late = T0 + dt.timedelta(hours=12, minutes=58)
    when = next_poll(schedule, late, last_fetch=late, last_report=last, timing=TIMING)
    assert when == late + dt.timedelta(seconds=3)
    # ... and back off once it is in hand.
    got = T0 + dt.timedelta(hours=12, minutes=51)
    when = next_poll(schedule, late, last_fetch=late, last_report=got, timing=TIMING)
    assert when == late + dt.timedelta(seconds=300)
    # A report never filed is given up on after 15 minutes: back to the slow cadence.
    gone = T0 + dt.timedelta(hours=13, minutes=10)
    when = next_poll(schedule, gone, last_fetch=gone, last_report=last, timing=TIMING)
    assert when == gone + dt.timedelta(seconds=300)
    # Never fetched: now.
    assert next_poll(schedule, quiet, last_fetch=None, last_report=None, timing=TIMING) == quiet


def test_one_request_per_chunk_under_the_record_cap() -> None:
    ids = [f"K{i:03d}" for i in range(150)]
    routine = chunk_ids(ids, 2.0)
    assert len(routine) == 3 and sum(map(len, routine)) == 150  # 66 stations x 6 records
    catch_up = chunk_ids(ids[:10], 26.0)
    assert all(len(c) * 78 <= 400 for c in catch_up) and sum(map(len, catch_up)) == 10
