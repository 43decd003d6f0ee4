"""The clock seam: the engine reads wall and monotonic time from the clock it is given."""

from __future__ import annotations

import datetime as dt
import json

from tests.polymarket.factories import make_event
from weatheredge.clock import SystemClock, VirtualClock
from weatheredge.engine import EdgeSignal, Engine, Pricing
from weatheredge.model.edge import Change
from weatheredge.polymarket.gamma_event import to_temperature_event
from weatheredge.polymarket.gamma_wire import decode_gamma_event

T0 = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)


def _engine(clock: VirtualClock) -> tuple[Engine, list[EdgeSignal], object]:
    signals: list[EdgeSignal] = []
    engine = Engine(
        min_edge=0.05, hysteresis=0.01, max_forecast_age=600, emit=signals.append, clock=clock
    )
    event = to_temperature_event(decode_gamma_event(json.dumps(make_event())))
    engine.set_events([event])
    return engine, signals, event


def _book(token: str, ask: str, market: str) -> str:
    return json.dumps(
        {
            "event_type": "book",
            "asset_id": token,
            "market": market,  # the venue's condition id for the token
            "bids": [{"price": "0.30", "size": "100"}],
            "asks": [{"price": ask, "size": "100"}],
            "timestamp": "1",
            "hash": "h",
        }
    )


def test_episode_times_and_forecast_age_follow_the_virtual_clock() -> None:
    clock = VirtualClock(int(T0.timestamp() * 1e9), 5_000_000_000)
    engine, signals, event = _engine(clock)
    market = event.markets[1]
    engine.on_connected()
    engine.set_pricing(event.event_id, Pricing({market.market_id: 0.6}, 1, clock.monotonic()))
    clock.advance(2.0)
    engine.on_frame(_book(market.yes_token, "0.44", market.condition_id), clock.perf_ns())
    opened = [s for s in signals if s.change is Change.OPEN]
    assert [s.at for s in opened] == [T0 + dt.timedelta(seconds=2)]
    assert opened[0].latency_us == 0  # the frame arrived at the virtual instant it was read
    # Ten virtual minutes later the forecast is stale: the next frame closes the episode.
    clock.advance(601.0)
    engine.on_frame(_book(market.yes_token, "0.43", market.condition_id), clock.perf_ns())
    closed = signals[-1]
    assert closed.change is Change.CLOSE and closed.reason == "forecast stale"
    assert closed.at == T0 + dt.timedelta(seconds=603)


def test_virtual_clock_never_runs_back_and_system_clock_is_utc() -> None:
    clock = VirtualClock()
    clock.set(10, 20)
    clock.set(5, 7)
    assert (clock.wall_ns, clock.monotonic_ns(), clock.perf_ns()) == (10, 20, 20)
    assert SystemClock().now().tzinfo is dt.UTC
