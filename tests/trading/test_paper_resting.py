"""Resting paper orders (issue 14): post-only GTC orders rest, are cancelled, survive a restart,
and are filled by the market's trade prints through a real Engine under the queue model."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

from tests.store.conftest import make_event
from weatheredge.clock import VirtualClock
from weatheredge.engine import Engine
from weatheredge.trading.gateway import OrderRequest, PlaceResult, TradeView
from weatheredge.trading.ledger import Ledger
from weatheredge.trading.paper import CROSSES, PaperGateway

EVENT = make_event()
M = EVENT.markets[1]
YES = M.yes_token


class Venue:
    """A real Engine fed venue-shaped frames, with a paper gateway on its tap."""

    def __init__(self, ledger: Ledger | None = None, clock: VirtualClock | None = None) -> None:
        self.clock = clock or VirtualClock(wall_ns=1_800_000_000 * 10**9)
        self.fills: list[TradeView] = []
        self.paper = PaperGateway(
            lambda t: self.engine.books.get(t), ledger, on_fill=self.fills.append, clock=self.clock
        )
        self.engine = Engine(
            min_edge=0.05, hysteresis=0.01, max_forecast_age=3600, emit=lambda s: None,
            clock=self.clock, tap=self.paper.tap,
        )  # fmt: skip
        self.engine.set_events([EVENT])
        self.ts = int(time.time() * 1000)

    def _send(self, frame: dict) -> None:
        self.ts += 1
        frame["timestamp"] = str(self.ts)
        self.engine.on_frame(json.dumps(frame), time.perf_counter_ns())

    def book(self, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> None:
        self._send({
            "event_type": "book", "market": M.condition_id, "asset_id": YES,
            "bids": [{"price": p, "size": s} for p, s in bids],
            "asks": [{"price": p, "size": s} for p, s in asks],
        })  # fmt: skip

    def level(self, side: str, price: str, size: str) -> None:
        change = {"asset_id": YES, "price": price, "size": size, "side": side}
        self._send({"event_type": "price_change", "market": M.condition_id,
                    "price_changes": [change]})  # fmt: skip

    def trade(self, price: str, size: str, taker: str = "SELL") -> None:
        self._send({
            "event_type": "last_trade_price", "market": M.condition_id, "asset_id": YES,
            "price": price, "size": size, "side": taker,
        })  # fmt: skip


def bid(key: str, price: str, size: str, *, post_only: bool = True) -> OrderRequest:
    return OrderRequest(key, YES, "BUY", Decimal(price), Decimal(size), "GTC", post_only)


async def test_a_resting_bid_fills_only_after_the_queue_ahead_has_traded() -> None:
    v = Venue()
    v.book([("0.40", "100"), ("0.39", "50")], [("0.45", "80")])
    result = await v.paper.place(bid("q1", "0.40", "10"))
    assert result.accepted and result.resting and result.status == "live"
    assert [o.order_id for o in await v.paper.open_orders(YES)] == [result.order_id]
    v.trade("0.40", "60")  # 40 still ahead of us
    v.level("BUY", "0.40", "40")
    v.level("BUY", "0.40", "90")  # joins behind us
    v.trade("0.45", "30", taker="BUY")  # lifted the ask: nothing to do with our bid
    assert v.fills == []
    v.level("BUY", "0.40", "85")  # the venue sends the shrink first this time...
    v.trade("0.40", "45")  # ...then the print: 40 ahead, then 5 of ours
    assert [(f.size, f.price, f.role, f.fee) for f in v.fills] == [
        (Decimal("5"), Decimal("0.4"), "MAKER", Decimal(0))
    ]
    v.trade("0.39", "20")  # through our price: the rest of ours
    assert sum(f.size for f in v.fills) == Decimal("10")
    assert await v.paper.open_orders() == []
    v.clock.advance(601)  # the mid samples after the fills are taken at the next change...
    v.level("SELL", "0.45", "70")
    assert v.paper.tap.watched == set()  # ...then nothing is watched: the engine calls no one
    assert {t.trade_id for t in await v.paper.trades(YES)} == {f.trade_id for f in v.fills}


async def test_post_only_that_would_cross_is_refused_like_the_venue() -> None:
    v = Venue()
    v.book([("0.40", "100")], [("0.45", "80")])
    refused = await v.paper.place(bid("q1", "0.45", "10"))
    assert not refused.accepted and refused.reason == CROSSES
    taker = await v.paper.place(bid("q2", "0.46", "100", post_only=False))  # GTC: takes, rests
    assert taker.accepted and taker.resting
    assert [(t.size, t.role) for t in taker.trades] == [(Decimal("80"), "TAKER")]
    [rest] = await v.paper.open_orders()
    assert (rest.original_size, rest.size_matched) == (Decimal("100"), Decimal("80"))


async def test_cancel_and_cancel_all_take_orders_off_the_book() -> None:
    v = Venue()
    v.book([("0.40", "0")], [("0.45", "80")])
    a = await v.paper.place(bid("q1", "0.40", "10"))
    b = await v.paper.place(bid("q2", "0.41", "10"))
    assert await v.paper.cancel(a.order_id)
    assert not await v.paper.cancel(a.order_id)
    assert await v.paper.cancel_all() == [b.order_id]
    v.trade("0.38", "100")
    assert v.fills == [] and await v.paper.open_orders() == []


async def resting_bid(db: Path) -> tuple[Venue, Ledger, PlaceResult]:
    """A paper venue on ``db`` with a bid of 10 resting at 0.40 behind 100 shares."""
    ledger = Ledger.open(db)
    v = Venue(ledger)
    v.book([("0.40", "100")], [("0.45", "80")])
    placed = await v.paper.place(bid("q1", "0.40", "10"))
    assert placed.resting
    return v, ledger, placed


async def test_resting_orders_keep_their_queue_place_across_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "paper.db"
    v, ledger, placed = await resting_bid(db)
    v.trade("0.40", "70")  # 30 ahead now
    v.trade("0.40", "32")  # 2 of ours
    await v.paper.close()
    await ledger.close()

    ledger = Ledger.open(db)
    again = Venue(ledger)
    await again.paper.load()
    [rest] = await again.paper.open_orders()
    assert (rest.order_id, rest.size_matched) == (placed.order_id, Decimal("2"))
    [old] = await again.paper.trades()
    assert (old.role, old.fee, old.size) == ("MAKER", Decimal(0), Decimal("2"))
    again.book([("0.40", "100")], [("0.45", "80")])  # a fresh snapshot after the restart
    again.trade("0.40", "5")  # nothing ahead any more: ours
    assert [f.size for f in again.fills] == [Decimal("5")]
    assert again.fills[0].trade_id != old.trade_id
    await again.paper.close()
    await ledger.close()


async def test_each_fill_records_the_mid_then_and_one_and_ten_minutes_later(
    tmp_path: Path,
) -> None:
    import sqlite3

    db = tmp_path / "paper.db"
    ledger = Ledger.open(db)
    v = Venue(ledger)
    v.book([("0.40", "100")], [("0.50", "80")])  # mid 0.45
    await v.paper.place(bid("q1", "0.40", "10"))
    v.trade("0.39", "4")
    [fill] = v.fills
    v.clock.advance(30)
    v.level("SELL", "0.46", "10")  # mid 0.43 from here
    v.clock.advance(40)  # the 1-minute mark fell while the mid was 0.43
    v.level("BUY", "0.30", "5")  # a change elsewhere in the book, mid unchanged
    v.level("SELL", "0.44", "10")  # mid 0.42
    v.clock.advance(600)
    await v.paper.close()  # the 10-minute mark: no change since, the mid in force now
    await ledger.close()
    con = sqlite3.connect(db)
    marks = dict(
        con.execute("SELECT horizon_s, mid FROM paper_marks WHERE trade_id = ?", [fill.trade_id])
    )
    con.close()
    assert marks == {0: "0.45", 60: "0.43", 600: "0.42"}


async def test_an_untrusted_book_does_not_move_the_queue() -> None:
    v = Venue()
    v.book([("0.40", "100")], [("0.45", "80")])
    await v.paper.place(bid("q1", "0.40", "10"))
    v.engine.mark_stale([YES], "differs from REST")
    v.level("BUY", "0.40", "0")  # on a book we no longer trust
    v.trade("0.40", "5")
    assert v.fills == []
    v.book([("0.40", "3")], [("0.45", "80")])  # the fresh snapshot: at most 3 ahead
    v.clock.advance(3)  # (a print right after the shrink could be its own trade)
    v.trade("0.40", "5")
    assert [f.size for f in v.fills] == [Decimal("2")]
