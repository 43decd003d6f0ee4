"""The hot path skips re-deciding a market when a delta leaves its top of book alone, and that
changes no decision: the same traffic through an engine that re-decides on every delta (the
previous behaviour) emits the same edge changes, in the same order."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import msgspec

from weatheredge.clock import VirtualClock
from weatheredge.engine import EdgeSignal, Engine, Pricing
from weatheredge.model.edge import EpisodeTracker
from weatheredge.polymarket import gamma_wire
from weatheredge.polymarket.gamma import to_temperature_event
from weatheredge.sandbox.synth_tape import _book_dump, _markets, gamma_events

CITIES = 2  # 12 events, 240 tokens
T0_MS = 1_793_491_200_000


class FullEngine(Engine):
    """Re-decides every market a delta touches (what the engine did before the skip)."""

    def _undecided(self, ref: Any, key: str) -> bool:
        return True


def _engine(cls: type[Engine], clock: VirtualClock, out: list[tuple]) -> Engine:
    def sink(s: EdgeSignal) -> None:
        q = s.quote
        quote = None if q is None else (q.side, q.price, q.size, q.prob, q.edge)
        out.append((s.change, s.market.market_id, s.side, quote, s.reason, s.latency_us, s.kind))

    engine = cls(min_edge=0.04, hysteresis=0.01, max_forecast_age=600.0, emit=sink, clock=clock)
    events = [to_temperature_event(msgspec.convert(e, gamma_wire.GammaEvent)) for e in _listing()]
    engine.set_events(events)
    engine.on_connected()
    # The synthetic ladders sum to about 1: a threshold below zero makes them open and close.
    engine.ladders.tracker = EpisodeTracker(-0.15, 0.02)
    return engine


def _listing() -> list[dict[str, Any]]:
    return gamma_events(CITIES, dt.date(2026, 11, 1))


def _price(engine: Engine, rng: random.Random, spread: float) -> None:
    for event in engine.events.values():
        fair = 0.02 + 0.28 * rng.random()
        probs = {m.market_id: fair + rng.uniform(-spread, spread) for m in event.markets}
        engine.set_pricing(event.event_id, Pricing(probs, None, engine.clock.monotonic()))


def _delta(rng: random.Random, market: Any, ts: int) -> dict[str, Any]:
    """A change anywhere in the book: below the top (most), at it, or through it."""
    side = rng.choice(("BUY", "SELL"))
    cents = market.bid + rng.randint(-4, 1) if side == "BUY" else market.ask + rng.randint(-1, 4)
    cents = max(1, min(99, cents))
    size = rng.choice(("0", f"{rng.randint(1, 500)}.{rng.randint(0, 99):02d}"))
    return {"asset_id": rng.choice((market.yes, market.no)), "price": f"0.{cents:02d}",
            "size": size, "side": side}  # fmt: skip


def _traffic(seed: int, n: int) -> list[tuple[str, str | None]]:
    """(frame, action) pairs; the action (if any) happens just before the frame."""
    rng = random.Random(seed)
    markets = _markets(CITIES)
    out: list[tuple[str, str | None]] = [(text, None) for text in _book_dump(markets, T0_MS)]
    for i in range(n):
        frame = []
        for _ in range(rng.choice((1, 1, 1, 2, 3))):  # array frames: evaluation order matters
            m = rng.choice(markets)
            changes = [_delta(rng, m, T0_MS + i) for _ in range(rng.choice((1, 2, 2, 3)))]
            frame.append({"event_type": "price_change", "market": m.condition,
                          "price_changes": changes, "timestamp": str(T0_MS + i)})  # fmt: skip
        roll = rng.random()
        action = None
        if roll < 0.004:
            action = "stop"
        elif roll < 0.008:
            action = "reprice"
        elif roll < 0.011:
            action = "age"
        elif roll < 0.014:
            action = "catalogue"
        elif roll < 0.016:
            action = "wait"  # forecasts go stale with episodes open
        elif roll < 0.05:
            action = "tick"
        out.append((json.dumps(frame if len(frame) > 1 else frame[0]), action))
    return out


def _run(cls: type[Engine], seed: int, n: int) -> tuple[list[tuple], Engine]:
    clock = VirtualClock(T0_MS * 10**6, 10**12)
    out: list[tuple] = []
    engine = _engine(cls, clock, out)
    rng = random.Random(seed + 1)
    _price(engine, rng, 0.08)
    for text, action in _traffic(seed, n):
        if action == "stop":
            engine.stop()
        elif action == "reprice":
            _price(engine, rng, 0.08)
        elif action == "age":  # a reload: stale prices become fresh again, and back
            engine.max_forecast_age = rng.choice((1.0, 600.0))
        elif action == "catalogue":
            engine.set_events(list(engine.events.values()))
        elif action == "wait":
            clock.advance(200.0)
        elif action == "tick":
            clock.advance(rng.uniform(0.5, 5.0))
        if rng.random() < 0.5:  # else read in the same socket read: the same receive time
            clock.advance(0.001)
        engine.on_frame(text, clock.mono_ns)
    return out, engine


def test_skipping_below_the_top_changes_no_decision() -> None:
    for seed in (1, 2, 3):
        fast, engine = _run(Engine, seed, 6000)
        full, reference = _run(FullEngine, seed, 6000)
        assert len({c[0] for c in full}) == 3, "the traffic opens, updates and closes edges"
        assert {c[6] for c in full} == {"bucket", "ladder"}
        assert fast == full
        assert engine.status()["counters"] == reference.status()["counters"]


def test_a_change_below_the_top_with_no_edge_open_does_not_re_decide() -> None:
    clock = VirtualClock(T0_MS * 10**6, 10**12)
    engine = _engine(Engine, clock, [])
    evaluations: list[tuple] = []
    evaluate = engine._evaluate

    def counted(*args: Any) -> None:
        evaluations.append(args)
        evaluate(*args)

    engine._evaluate = counted  # type: ignore[method-assign]
    m = _markets(CITIES)[4]  # quoted 0.21 / 0.23
    for text in _book_dump(_markets(CITIES), T0_MS):
        engine.on_frame(text, clock.mono_ns)
    _price(engine, random.Random(5), 0.0)
    before = len(evaluations)
    below = {"asset_id": m.yes, "price": f"0.{m.bid - 2:02d}", "size": "7", "side": "BUY"}
    frame = {"event_type": "price_change", "market": m.condition, "price_changes": [below],
             "timestamp": str(T0_MS + 1)}  # fmt: skip
    engine.on_frame(json.dumps(frame), clock.mono_ns)
    engine.on_frame(json.dumps(frame), clock.mono_ns)  # the first one cleared the catalogue's
    assert len(evaluations) == before + 1
    at_top = dict(below, price=f"0.{m.bid:02d}")
    frame["price_changes"] = [at_top]
    engine.on_frame(json.dumps(frame), clock.mono_ns)
    assert len(evaluations) == before + 2
