"""One owner per token id in the engine's catalogue (issue 13, break 2), whatever discovery did."""

from __future__ import annotations

import dataclasses
import json

from tests.polymarket.factories import f_labels, make_event
from weatheredge.engine import EdgeSignal, Engine
from weatheredge.model.catalogue import unique_owners
from weatheredge.model.edge import Side
from weatheredge.model.market import TemperatureEvent
from weatheredge.polymarket.gamma_event import to_temperature_event
from weatheredge.polymarket.gamma_wire import decode_gamma_event


def _event(raw: dict) -> TemperatureEvent:
    return to_temperature_event(decode_gamma_event(json.dumps(raw).encode()))


def _pair() -> tuple[TemperatureEvent, TemperatureEvent]:
    """NYC, and an impostor (+40 °F ladder, newer id) listing NYC's 11 token pairs."""
    nyc = make_event(event_id="100")
    impostor = make_event("Gotham", event_id="200", labels=f_labels(79))
    for market, theirs in zip(impostor["markets"], nyc["markets"], strict=True):
        market["clobTokenIds"] = theirs["clobTokenIds"]
    return _event(nyc), _event(impostor)


def _engine() -> Engine:
    signals: list[EdgeSignal] = []
    return Engine(min_edge=0.05, hysteresis=0.01, max_forecast_age=3600, emit=signals.append)


def test_the_engine_never_remaps_a_token_to_a_second_event() -> None:
    nyc, impostor = _pair()
    engine = _engine()
    added, _ = engine.set_events([nyc, impostor])  # last writer used to win
    assert len(added) == 22
    for market in nyc.markets:
        assert engine.tokens[market.yes_token].event is nyc
        assert engine.tokens[market.no_token].side is Side.NO
    assert set(engine.events) == {"100"}
    ((slug, reason),) = engine.rejected
    assert slug == impostor.slug and reason.endswith(f"belongs to {nyc.slug}")


def test_the_running_owner_keeps_its_tokens_on_the_next_catalogue() -> None:
    nyc, impostor = _pair()
    engine = _engine()
    engine.set_events([nyc])
    # Even an impostor with an older id cannot take over a live event's books.
    older = dataclasses.replace(impostor, event_id="1")
    added, removed = engine.set_events([older, nyc])
    assert (added, removed) == ([], [])
    assert all(engine.tokens[m.yes_token].event is nyc for m in nyc.markets)
    assert [slug for slug, _ in engine.rejected] == [impostor.slug]
    engine.set_events([nyc])
    assert engine.rejected == []


def test_unique_owners_refuses_a_repeated_event_id_and_keeps_input_order() -> None:
    nyc, _ = _pair()
    london = _event(make_event("London", event_id="50"))
    twin = _event(make_event("Paris", event_id="100"))
    kept, rejected = unique_owners([nyc, london, twin])
    assert kept == [nyc, london]
    assert rejected == [(twin.slug, f"event id 100 also used by {nyc.slug}")]
