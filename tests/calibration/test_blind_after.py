"""Issue 10 §1: a price computed before the station's local day began lapses the second the day
starts: the engine opens no edge on it (and closes one it had) until re-priced with reports."""

from __future__ import annotations

import json

from tests.store.conftest import make_event
from weatheredge.clock import VirtualClock
from weatheredge.engine import EdgeSignal, Engine, Pricing
from weatheredge.model.edge import Change

EVENT = make_event()
M1, M2 = EVENT.markets
CLOCK = VirtualClock(wall_ns=1_795_000_000 * 10**9, mono_ns=10**12)  # the engine's only clock


def _engine() -> tuple[Engine, list[EdgeSignal]]:
    signals: list[EdgeSignal] = []
    engine = Engine(
        min_edge=0.05, hysteresis=0.01, max_forecast_age=3600, emit=signals.append, clock=CLOCK
    )
    engine.set_events([EVENT])
    frame = {
        "event_type": "book",
        "market": M2.condition_id,  # the venue files a book under its market's condition id
        "asset_id": M2.yes_token,
        "bids": [{"price": "0.05", "size": "100"}],
        "asks": [{"price": "0.10", "size": "100"}],
        "timestamp": str(int(CLOCK.time() * 1000)),
    }
    engine.on_frame(json.dumps(frame), CLOCK.perf_ns())
    return engine, signals


def _pricing(blind_after: float | None) -> Pricing:
    return Pricing({M1.market_id: 0.6, M2.market_id: 0.4}, None, CLOCK.monotonic(), blind_after)


def test_a_forecast_only_price_carries_no_edge_once_the_day_has_begun() -> None:
    engine, signals = _engine()
    engine.set_pricing(EVENT.event_id, _pricing(CLOCK.time() + 3600))  # the day starts later
    assert engine.tracker.is_open(M2.yes_token)  # 0.4 vs an ask of 0.10: an edge

    engine.set_pricing(EVENT.event_id, _pricing(CLOCK.time() - 1))  # the day has begun
    assert not engine.tracker.is_open(M2.yes_token)
    [closed] = [s for s in signals if s.change is Change.CLOSE]
    assert closed.reason == "awaiting today's reports"

    fresh, _ = _engine()
    fresh.set_pricing(EVENT.event_id, _pricing(CLOCK.time() - 1))
    assert not fresh.tracker.open_keys()  # never opened, from the first second
