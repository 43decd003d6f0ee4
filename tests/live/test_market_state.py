"""The live market state's read API: what the trader, jobs, status page and Home Assistant see."""

from __future__ import annotations

import json

import pytest

from tests.store.conftest import make_event
from weatheredge.clock import VirtualClock
from weatheredge.engine import EdgeSignal, Engine
from weatheredge.live import FORECAST_STALE, NO_FORECAST, Pricing
from weatheredge.model.live import AWAITING_REPORTS
from weatheredge.model.prices import to_micros

EVENT = make_event()
M1, M2 = EVENT.markets
WALL0 = 1_800_000_000


def _engine(**hooks: object) -> tuple[Engine, VirtualClock, list[EdgeSignal]]:
    clock = VirtualClock(wall_ns=WALL0 * 10**9, mono_ns=10**12)
    signals: list[EdgeSignal] = []
    engine = Engine(
        min_edge=0.05,
        hysteresis=0.01,
        max_forecast_age=600,
        emit=signals.append,
        clock=clock,
        **hooks,  # type: ignore[arg-type]
    )
    engine.set_events([EVENT])
    return engine, clock, signals


def _book(token: str, condition: str, bid: str, ask: str, ts: int = 1) -> str:
    return json.dumps(
        {
            "event_type": "book",
            "market": condition,
            "asset_id": token,
            "bids": [{"price": bid, "size": "100"}],
            "asks": [{"price": ask, "size": "50"}],
            "timestamp": str(ts),
        }
    )


def _pricing(clock: VirtualClock, blind_after: float | None = None) -> Pricing:
    return Pricing({M1.market_id: 0.6, M2.market_id: 0.4}, 7, clock.monotonic(), blind_after)


def test_fresh_probability_is_the_sides_probability_while_the_forecast_is_fresh() -> None:
    engine, clock, _ = _engine()
    market = engine.market
    assert market.fresh_probability(M2.yes_token) is None
    assert market.usable_pricing(EVENT.event_id) == (None, NO_FORECAST)

    engine.set_pricing(EVENT.event_id, _pricing(clock))
    assert market.fresh_probability(M2.yes_token) == pytest.approx(0.4)
    assert market.fresh_probability(M2.no_token) == pytest.approx(0.6)
    assert market.fresh_probability("unknown") is None
    assert market.is_fresh(EVENT.event_id)

    clock.advance(601)  # older than max_forecast_age
    assert market.fresh_probability(M2.yes_token) is None
    assert market.usable_pricing(EVENT.event_id) == (None, FORECAST_STALE)
    assert not market.is_fresh(EVENT.event_id)
    assert market.pricing(EVENT.event_id) is not None  # still shown, never decided on
    assert market.forecast_age(EVENT.event_id) == pytest.approx(601)


def test_forecast_only_prices_lapse_when_the_stations_day_starts() -> None:
    engine, clock, _ = _engine()
    engine.set_pricing(EVENT.event_id, _pricing(clock, blind_after=WALL0 + 60))
    assert engine.market.fresh_probability(M1.yes_token) == pytest.approx(0.6)
    clock.advance(60)
    assert engine.market.fresh_probability(M1.yes_token) is None
    assert engine.market.usable_pricing(EVENT.event_id) == (None, AWAITING_REPORTS)
    assert engine.market.is_fresh(EVENT.event_id)  # the forecast itself is not old


def test_quotes_and_best_levels_come_from_synced_books_only() -> None:
    engine, clock, _ = _engine()
    market = engine.market
    engine.set_pricing(EVENT.event_id, _pricing(clock))
    assert market.best(M2.yes_token) == (None, None)  # no snapshot yet
    engine.on_frame(_book(M2.yes_token, M2.condition_id, "0.05", "0.10"), clock.perf_ns())
    bid, ask = market.best(M2.yes_token)
    assert bid == (to_micros("0.05"), to_micros("100"))
    assert ask == (to_micros("0.10"), to_micros("50"))
    assert market.synced(M2.yes_token) and market.synced_count() == 1
    q = market.quote(M2.yes_token)
    assert q is not None and q.price == to_micros("0.10") and q.prob == pytest.approx(0.4)
    assert M2.yes_token in market.open_edges()

    engine.mark_stale([M2.yes_token], "test")
    assert market.best(M2.yes_token) == (None, None)
    assert M2.yes_token not in market.open_edges()


def test_catalogue_reads_and_a_stable_events_view() -> None:
    engine, _, _ = _engine()
    market = engine.market
    view = market.events()
    assert market.event(EVENT.event_id) is EVENT and list(view) == [EVENT.event_id]
    ref = market.ref(M1.no_token)
    assert ref is not None and ref.market is M1 and ref.side.value == "NO"
    assert market.owner_of(M1.yes_token) == EVENT.event_id
    assert market.group_of("stray") == "stray"
    assert market.token_count() == 4 and set(market.tokens()) == {
        M1.yes_token,
        M1.no_token,
        M2.yes_token,
        M2.no_token,
    }
    assert market.events() is view  # readers may cache on it until the catalogue changes
    with pytest.raises(TypeError):
        view["x"] = EVENT  # type: ignore[index]
    engine.set_events([])
    assert market.events() is not view and market.event(EVENT.event_id) is None
    assert market.book(M1.yes_token) is None


def test_hooks_are_constructor_arguments() -> None:
    desyncs: list[tuple[str, str]] = []
    resolved: list[list[str]] = []
    engine, clock, _ = _engine(
        on_desync=lambda token, reason: desyncs.append((token, reason)),
        on_resolved=resolved.append,
    )
    engine.on_frame(_book(M1.yes_token, M1.condition_id, "0.05", "0.10", ts=5), clock.perf_ns())
    delta = {
        "event_type": "price_change",
        "market": M1.condition_id,
        "timestamp": "4",  # older than the snapshot
        "price_changes": [{"asset_id": M1.yes_token, "price": "0.06", "size": "1", "side": "BUY"}],
    }
    engine.on_frame(json.dumps(delta), clock.perf_ns())
    assert [token for token, _ in desyncs] == [M1.yes_token]
    assert "out-of-order" in desyncs[0][1]

    frame = {
        "event_type": "market_resolved",
        "id": M2.market_id,
        "market": M2.condition_id,
        "assets_ids": [M2.yes_token, M2.no_token],
        "winning_asset_id": M2.yes_token,
        "winning_outcome": "Yes",
        "timestamp": "6",
    }
    engine.on_frame(json.dumps(frame), clock.perf_ns())
    assert resolved == [[M2.yes_token, M2.no_token]]
    assert engine.market.venue_winner(EVENT.event_id) == M2.market_id


def test_ladder_threshold_is_a_constructor_argument() -> None:
    engine = Engine(
        min_edge=0.05, hysteresis=0.01, max_forecast_age=60, emit=print, ladder_min_edge=0.2
    )
    assert engine.ladders.tracker.min_edge == 0.2
