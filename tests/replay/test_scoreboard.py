"""The backtest scoreboard (pure) and the no-peeking rule of the calibration refit."""

from __future__ import annotations

import datetime as dt
import math
from typing import ClassVar

from jobs import refit_calibration
from tests.calibration.conftest import NY, box, ctx
from tests.calibration.test_diurnal_learning import settled_days
from weatheredge.clock import VirtualClock
from weatheredge.context import JobContext
from weatheredge.replay.driver import Decision
from weatheredge.replay.resolutions import Resolutions
from weatheredge.replay.sampler import Sampler, Samples
from weatheredge.replay.scoreboard import METRICS, RunData, forecast_scores, metric, score

__all__ = ["box", "ctx"]
S = 1_000_000_000


def _fill(at_s: int, side: str, token: str, pnl: str, fee: str = "0") -> Decision:
    fill = {"side": side, "token_id": token, "price": "0.5", "size": "10", "fee": fee,
            "realized_pnl": pnl}  # fmt: skip
    return Decision("fill", {"wall_ns": at_s * S, "data": {"fill": fill}}, (0, 0))


def _samples() -> Samples:
    s = Samples()
    s.markets = {"m1": ("e1", "NYC"), "m2": ("e1", "NYC"), "m3": ("e2", "London")}
    s.yes_tokens = {"y1": "m1", "y2": "m2", "y3": "m3"}
    return s


def test_pnl_drawdown_hit_rate_and_held_positions_valued_at_the_resolution() -> None:
    res = Resolutions()
    # The venue resolved m1 YES (a market_resolved frame), which decides m2 as NO.
    frame = '[{"event_type":"market_resolved","id":"m1","market":"0x1","assets_ids":["y1","n1"],'
    frame += '"winning_asset_id":"y1","winning_outcome":"Yes","event_message":{"id":"e1"},'
    frame += '"timestamp":"1"}]'
    res.feed({"kind": "frame", "wall_ns": 50 * S, "raw": frame})
    decisions = [
        _fill(1, "BUY", "y1", "-0.1", "0.1"),
        _fill(2, "SELL", "y1", "3"),
        _fill(3, "BUY", "y2", "-0.2", "0.2"),
        _fill(4, "SELL", "y2", "-5"),
        _fill(5, "SETTLE", "y3", "1"),
    ]
    positions = [
        {"token_id": "y1", "market_id": "m1", "event_id": "e1", "outcome": "YES", "shares": "10",
         "avg_price": "0.4", "city": "NYC"},  # pays 1: +6
        {"token_id": "n2", "market_id": "m2", "event_id": "e1", "outcome": "NO", "shares": "5",
         "avg_price": "0.8", "city": "NYC"},  # m2 lost, NO pays 1: +1
        {"token_id": "y9", "market_id": "m9", "event_id": "e9", "outcome": "YES", "shares": "3",
         "avg_price": "0.5", "city": "Paris"},  # no resolution on the tape: open
        {"token_id": "y8", "market_id": "m8", "event_id": "e8", "outcome": "YES", "shares": "0",
         "avg_price": "0", "city": "Paris"},  # closed
    ]  # fmt: skip
    run = RunData({"min_edge": "0.05"}, decisions, positions, _samples(), res, 100 * S)
    result = score(run)
    m = result.metrics
    assert m["trades"] == 4 and math.isclose(m["fees"], 0.3)
    assert math.isclose(m["pnl"], -0.1 + 3 - 0.2 - 5 + 1 + 6 + 1)
    # Cumulative: -0.1, 2.9, 2.7, -2.3, -1.3, then +6 and +1 at the end: peak 2.9 -> -2.3.
    assert math.isclose(m["max_drawdown"], 5.2)
    assert math.isclose(m["hit_rate"], 4 / 5)  # SELL +3, SELL -5, SETTLE +1, two resolutions
    assert m["open"] == 1
    assert result.curve[-1][0] == 100 * S and result.name == "min_edge=0.05"
    assert math.isclose(result.pnl_by_city["NYC"], -0.1 + 3 - 0.2 - 5 + 6 + 1)


def test_brier_and_log_loss_from_the_sums_equal_the_direct_formulas() -> None:
    class Book:
        synced = True

        def __init__(self, bid: int, ask: int) -> None:
            self.bid, self.ask = bid, ask

        def best_bid(self) -> tuple[int, int]:
            return (self.bid, 1)

        def best_ask(self) -> tuple[int, int]:
            return (self.ask, 1)

    class Market:
        def __init__(self, n: int) -> None:
            self.market_id, self.yes_token, self.no_token = f"m{n}", f"y{n}", f"n{n}"

    class Rule:
        station = "KLGA"

    class Event:
        event_id, city, rule = "e1", "NYC", Rule()
        date = dt.date(2026, 12, 3)
        markets = (Market(1), Market(2))

    class Pricing:
        probs: ClassVar[dict[str, float]] = {}

    class MarketState:  # the read API of weatheredge.live.MarketState the sampler uses
        books: ClassVar[dict[str, Book]] = {}

        def events(self) -> dict:
            return {"e1": Event()}

        def pricing(self, event_id: str) -> Pricing:
            return Pricing()

        def best(self, token: str) -> tuple:
            book = self.books.get(token)
            return (book.best_bid(), book.best_ask()) if book else (None, None)

    class Engine:
        market = MarketState()

    engine = Engine()
    sampler = Sampler(engine, lambda icao: "America/New_York", 60 * S)
    pairs = []  # (when, p1, mid1, p2, mid2)
    for day, hour, p1, bid1, ask1 in (
        (1, 12, 0.6, 0.40, 0.50),
        (2, 12, 0.7, 0.50, 0.60),
        (3, 10, 0.9, 0.80, 0.90),
        (3, 11, 0.95, 0.85, 0.95),
    ):
        at = dt.datetime(2026, 12, day, hour, tzinfo=NY)
        Pricing.probs = {"m1": p1, "m2": 1 - p1}
        engine.market.books = {
            "y1": Book(round(bid1 * 1e6), round(ask1 * 1e6)),
            "y2": Book(round((1 - ask1) * 1e6), round((1 - bid1) * 1e6)),
        }
        sampler.sample(int(at.timestamp() * S))
        pairs.append((day, p1, (bid1 + ask1) / 2))
    sampler.sample(int(dt.datetime(2026, 12, 4, 1, tzinfo=NY).timestamp() * S))  # day over
    res = Resolutions()
    body = (
        '{"id":"e1","slug":"s","title":"t","closed":true,"markets":[{"id":"m1","closed":true,'
        '"outcomePrices":"[\\"1\\", \\"0\\"]"}]}'
    )
    res.feed({"kind": "http", "source": "gamma", "status": 200, "wall_ns": 1,
              "url": "http://x/events/slug/s", "body": body})  # fmt: skip
    assert res.outcome == {"m1": 1} and res.outcome_of("m2", "e1") == 0
    scores = forecast_scores(sampler.samples, res)
    assert scores["horizon"].keys() == {"2+ days", "1 day", "running day"}
    running = scores["horizon"]["running day"]
    ours = [((p - 1) ** 2 + (1 - p) ** 2) / 2 for d, p, _ in pairs if d == 3]
    mids = [((m - 1) ** 2 + ((1 - m) - 0) ** 2) / 2 for d, _, m in pairs if d == 3]
    assert running["n"] == 4  # two samples of two buckets
    assert math.isclose(running["brier"], sum(ours) / 2)
    assert math.isclose(running["brier_mkt"], sum(mids) / 2)
    log_loss = -sum(math.log(p) + math.log(1 - (1 - p)) for d, p, _ in pairs if d == 3) / 4
    assert math.isclose(running["log_loss"], log_loss)
    assert scores["city"]["NYC"]["n"] == 8 and scores["all"]["all"]["n"] == 8


def test_another_module_adds_a_column_with_one_function() -> None:
    @metric("intents", "{:d}", header="intents")
    def intents(run: RunData) -> int:
        return sum(1 for d in run.decisions if d.kind == "intent")

    try:
        run = RunData({}, [Decision("intent", {"data": {}}, (0, 0))], [], Samples(),
                      Resolutions(), 0)  # fmt: skip
        assert score(run).metrics["intents"] == 1
    finally:
        del METRICS["intents"]


async def test_a_refit_at_virtual_time_t_fits_only_days_settled_before_t(
    ctx: JobContext,
) -> None:
    """No peeking: a replay's refit at time t never reads a settlement recorded after t."""
    # After the reports of the settled days (2-11 days back from today): a fixed date would
    # leave some of them observed after it, and the test would depend on the day it runs.
    settled_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    await settled_days(ctx, range(2, 12), settled_at)
    clock = VirtualClock()
    ctx.engine.clock = clock
    clock.set(int((settled_at - dt.timedelta(seconds=1)).timestamp() * S), 0)
    await refit_calibration.run(ctx)
    assert ("KLGA", "max") not in ctx.live.shapes  # the settlements were in its future
    clock.set(int(settled_at.timestamp() * S), 1)
    await refit_calibration.run(ctx)
    assert ctx.live.shapes[("KLGA", "max")].days > 0
