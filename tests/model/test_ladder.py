"""Model-free ladder arbitrage across a neg-risk event."""

from __future__ import annotations

import datetime as dt

import pytest

from weatheredge.engine import EdgeSignal, Engine
from weatheredge.model.buckets import Rounding, Unit, parse_bucket_label
from weatheredge.model.edge import Change
from weatheredge.model.ladder import LadderLeg, LadderSide, best_ladder, ladder_quotes
from weatheredge.model.market import BucketMarket, TemperatureEvent
from weatheredge.model.prices import to_micros
from weatheredge.model.rules import Extreme, ResolutionRule, SourceKind


def _leg(bid: str | None, ask: str | None, size: str = "100", rate: float = 0.0) -> LadderLeg:
    return LadderLeg(
        None if bid is None else (to_micros(bid), to_micros(size)),
        None if ask is None else (to_micros(ask), to_micros(size)),
        rate,
    )


def test_sum_of_asks_below_one_is_a_buy_ladder() -> None:
    legs = [_leg("0.20", "0.30"), _leg("0.30", "0.40"), _leg("0.15", "0.25")]
    quote = best_ladder(legs)
    assert quote is not None and quote.side is LadderSide.BUY
    assert quote.total == to_micros("0.95")
    assert quote.edge == pytest.approx(0.05)


def test_fees_count() -> None:
    legs = [_leg("0.20", "0.30", rate=0.05), _leg("0.30", "0.40", rate=0.05), _leg("0.1", "0.25")]
    buy = next(q for q in ladder_quotes(legs) if q.side is LadderSide.BUY)
    fees = 0.05 * 0.3 * 0.7 + 0.05 * 0.4 * 0.6
    assert buy.fees == pytest.approx(fees)
    assert buy.edge == pytest.approx(0.05 - fees)


def test_sum_of_bids_above_one_is_a_sell_ladder_and_size_is_the_thinnest_leg() -> None:
    legs = [_leg("0.40", "0.45", "50"), _leg("0.35", "0.40", "20"), _leg("0.30", "0.35", "80")]
    quote = best_ladder(legs)
    assert quote is not None and quote.side is LadderSide.SELL
    assert quote.edge == pytest.approx(0.05)
    assert quote.size == to_micros("20")


def test_incomplete_ladder_has_no_quote_on_that_side() -> None:
    legs = [_leg("0.40", None), _leg("0.35", "0.40"), _leg("0.30", "0.35")]
    assert [q.side for q in ladder_quotes(legs)] == [LadderSide.SELL]
    assert ladder_quotes([_leg(None, None)]) == []


def _event(prices: list[tuple[str, str]]) -> TemperatureEvent:
    labels = ["43°F or below", "44-45°F", "46°F or higher"]
    rule = ResolutionRule(Extreme.HIGH, Unit.F, SourceKind.NOAA_WRH, Rounding.HALF_UP, "KLGA", True)
    markets = tuple(
        BucketMarket(
            f"m{i}",
            f"c{i}",
            label,
            parse_bucket_label(label),
            f"y{i}",
            f"n{i}",
            10_000,
            5_000_000,
            0.0,
            True,
            True,
        )
        for i, label in enumerate(labels)
    )
    return TemperatureEvent("e1", "slug", "Highest temperature in NYC on May 1?", "NYC",
                            dt.date(2026, 5, 1), rule, markets)  # fmt: skip


def test_engine_records_a_ladder_edge_when_a_book_changes_and_closes_it_on_stop() -> None:
    signals: list[EdgeSignal] = []
    engine = Engine(min_edge=0.05, hysteresis=0.01, max_forecast_age=3600, emit=signals.append)
    event = _event([])
    engine.set_events([event])
    asks = ["0.30", "0.40", "0.25"]
    for i, ask in enumerate(asks):
        engine.books[f"y{i}"].replace([(to_micros("0.10"), 10**8)], [(to_micros(ask), 10**8)], 1)
    engine.evaluate_ladder(event, 1)
    ladders = [s for s in signals if s.kind == "ladder"]
    assert [s.change for s in ladders] == [Change.OPEN]
    assert ladders[0].quote is not None and ladders[0].quote.edge == pytest.approx(0.05)
    assert ladders[0].quote.size == 10**8
    engine.stop()
    assert signals[-1].kind == "ladder" and signals[-1].change is Change.CLOSE
