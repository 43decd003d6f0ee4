"""What maker mode reads off the engine and the live model state: changed events (the
engine's evaluation hook, never awaiting) and the next report due per event's station."""

from __future__ import annotations

import datetime as dt
import time

from tests.store.conftest import make_event
from weatheredge.clock import VirtualClock
from weatheredge.engine import Engine, Pricing
from weatheredge.model.live import LiveState
from weatheredge.model.observations import Observation
from weatheredge.trading.maker_view import EngineMakerView

EVENT = make_event()  # station KLGA


def report(at: dt.datetime, delay_s: float) -> Observation:
    return Observation(
        "KLGA", at, 10.0, True, "METAR", "KLGA ...",
        published_at=at + dt.timedelta(seconds=delay_s),
    )  # fmt: skip


def engine_at(now: dt.datetime) -> Engine:
    clock = VirtualClock(int(now.timestamp() * 1e9), 10**12)
    engine = Engine(
        min_edge=0.05, hysteresis=0.01, max_forecast_age=3600, emit=lambda s: None, clock=clock
    )
    engine.set_events([EVENT])
    return engine


def test_a_price_or_book_change_marks_its_event_and_wakes_the_trader() -> None:
    engine = engine_at(dt.datetime.now(dt.UTC))
    woken: list[int] = []
    view = EngineMakerView(engine, wake=lambda: woken.append(1))
    assert view.changed() == set()
    engine.set_pricing(EVENT.event_id, Pricing({"m1": 0.4, "m2": 0.6}, None, time.monotonic()))
    assert view.changed() == {EVENT.event_id} and woken
    assert view.changed() == set()  # taken once
    assert view.event(EVENT.event_id) is EVENT


def test_next_report_due_from_the_stations_learnt_schedule() -> None:
    base = dt.datetime(2026, 11, 25, 0, 51, tzinfo=dt.UTC)
    live = LiveState()
    live.add_observations([report(base + dt.timedelta(hours=h), 120) for h in range(6)])
    # last report observed 05:51, published 05:53; now 06:30: the 06:51 one is due at 06:53
    engine = engine_at(dt.datetime(2026, 11, 25, 6, 30, tzinfo=dt.UTC))
    view = EngineMakerView(engine, live)
    due = view.report_due(EVENT.event_id)
    assert due == dt.datetime(2026, 11, 25, 6, 53, tzinfo=dt.UTC).timestamp()
    # late: still the 06:51 report while it is not in hand
    engine.clock.set(int(dt.datetime(2026, 11, 25, 6, 58, tzinfo=dt.UTC).timestamp() * 1e9), 0)
    assert view.report_due(EVENT.event_id) == due
    live.add_observations([report(base + dt.timedelta(hours=6), 120)])
    nxt = dt.datetime(2026, 11, 25, 7, 53, tzinfo=dt.UTC).timestamp()
    assert view.report_due(EVENT.event_id) == nxt


def test_no_report_due_for_a_station_not_observed() -> None:
    view = EngineMakerView(engine_at(dt.datetime.now(dt.UTC)), LiveState())
    assert view.report_due(EVENT.event_id) is None
    assert view.report_due("unknown") is None
