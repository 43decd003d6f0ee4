"""Issue 10 §1: when a station's local day begins (its own time zone, DST-aware), highs and
lows alike are priced only once a request sent after that moment has answered."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from weatheredge.context import JobContext
from weatheredge.model.live import AWAITING_REPORTS, EventPrior
from weatheredge.model.probability import Normal
from weatheredge.polymarket.gamma_event import to_temperature_event
from weatheredge.polymarket.gamma_wire import decode_gamma_event
from weatheredge.pricing.event import compute, station_for
from weatheredge.sandbox import scenario

UTC = dt.UTC


@pytest.mark.parametrize(
    ("spec_index", "day", "start_utc"),
    [
        (0, dt.date(2026, 3, 8), dt.datetime(2026, 3, 8, 5, 0, tzinfo=UTC)),  # high, 23-h day
        (1, dt.date(2026, 3, 8), dt.datetime(2026, 3, 8, 5, 0, tzinfo=UTC)),  # low
        (1, dt.date(2026, 11, 1), dt.datetime(2026, 11, 1, 4, 0, tzinfo=UTC)),  # low, 25-h day
        (0, dt.date(2026, 7, 4), dt.datetime(2026, 7, 4, 4, 0, tzinfo=UTC)),  # high, EDT
    ],
)
def test_the_running_day_waits_for_its_reports(
    ctx: JobContext, spec_index: int, day: dt.date, start_utc: dt.datetime
) -> None:
    raw = scenario.gamma_event(scenario.event_specs()[spec_index], day, 770000 + spec_index)
    event = to_temperature_event(decode_gamma_event(json.dumps(raw).encode()))
    station = station_for(ctx, "KLGA")
    normal = Normal(45.0, 3.0)
    prior = EventPrior(
        normal.cdf, 3.0, None, ctx.engine.clock.monotonic(), start_utc, mu=45.0, sigma=3.0
    )
    second = dt.timedelta(seconds=1)

    before = compute(ctx, event, prior, station, start_utc - second)
    assert not isinstance(before, str)
    assert before.blind_after == start_utc.timestamp()  # forecast-only until the day starts

    assert compute(ctx, event, prior, station, start_utc) == AWAITING_REPORTS
    ctx.live.fetched_at["KLGA"] = start_utc - second  # an answer from before the day: not enough
    assert compute(ctx, event, prior, station, start_utc + second) == AWAITING_REPORTS
    ctx.live.fetched_at["KLGA"] = start_utc  # asked once the day had begun: reports in hand
    during = compute(ctx, event, prior, station, start_utc + second)
    assert not isinstance(during, str) and during.blind_after is None
