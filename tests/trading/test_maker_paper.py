"""Maker mode in paper (issue 14): the trader's quote rests in the paper venue, a real Engine
fed venue-shaped frames carries the market's trade prints to it, the queue model fills it once
the queue ahead has traded, and the fill reaches the trader's ledger and quote log."""

from __future__ import annotations

import json
import sqlite3
import time
from decimal import Decimal
from pathlib import Path

import msgspec

from tests.store.conftest import make_event
from tests.trading.makerkit import View
from weatheredge.clock import VirtualClock
from weatheredge.config import Mode, TradingSettings
from weatheredge.engine import Engine
from weatheredge.model.market import TemperatureEvent
from weatheredge.trading.ledger import Ledger
from weatheredge.trading.paper import PaperGateway
from weatheredge.trading.trader import Trader

EVENT = make_event()
M = EVENT.markets[1]
YES = M.yes_token
D = Decimal


class PaperMaker:
    """A maker-mode Trader on a PaperGateway whose tap is a real Engine's, as the daemon wires
    them (weatheredge/trading/setup.py)."""

    def __init__(self, db: Path, event: TemperatureEvent = EVENT) -> None:
        self.db = db
        self.clock = VirtualClock(wall_ns=time.time_ns())
        self.view = View(event)
        self.ledger = Ledger.open(db)
        self.paper = PaperGateway(
            lambda t: self.engine.books.get(t), self.ledger, clock=self.clock,
            on_fill=lambda trade: self.trader.on_trade_event(trade),
        )  # fmt: skip
        self.engine = Engine(
            min_edge=0.05, hysteresis=0.01, max_forecast_age=3600, emit=lambda s: None,
            clock=self.clock, tap=self.paper.tap,
        )  # fmt: skip
        self.engine.set_events([event])
        settings = {"day_timezone": "UTC", "take_profit": False, "strategy": "maker"}
        self.trader = Trader(
            mode=Mode.PAPER, settings=msgspec.convert(settings, TradingSettings),
            ledger=self.ledger, gateway=self.paper, view=self.view, notify=None,
            clock=self.clock, maker_inputs=self.view,
        )  # fmt: skip
        self.ts = int(time.time() * 1000)

    def send(self, frame: dict) -> None:
        self.ts += 1
        frame.update(market=M.condition_id, asset_id=YES, timestamp=str(self.ts))
        self.engine.on_frame(json.dumps(frame), time.perf_counter_ns())
        # the maker prices from the same book the paper venue watches
        self.view.books[YES] = self.engine.books.get(YES)
        self.view.dirty.add(EVENT.event_id)

    def book(self, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> None:
        self.send({
            "event_type": "book",
            "bids": [{"price": p, "size": s} for p, s in bids],
            "asks": [{"price": p, "size": s} for p, s in asks],
        })  # fmt: skip

    def trade(self, price: str, size: str) -> None:
        self.send({"event_type": "last_trade_price", "price": price, "size": size, "side": "SELL"})

    def rows(self, sql: str) -> list[tuple]:
        con = sqlite3.connect(self.db)
        try:
            return list(con.execute(sql))
        finally:
            con.close()


async def test_a_paper_quote_is_filled_by_prints_after_the_queue_ahead(tmp_path: Path) -> None:
    rig = PaperMaker(tmp_path / "paper.db")
    try:
        await rig.trader.recover()
        rig.book([("0.48", "30")], [("0.60", "100")])
        rig.view.p_yes[M.market_id] = 0.50
        await rig.trader.step()
        # min(p - margin = 0.48, ask - tick, best bid + tick): it joins 0.48 behind 30 shares
        (order,) = await rig.paper.open_orders(YES)
        assert order.price == D("0.48")
        size = order.original_size
        assert size > 15
        assert rig.rows("SELECT action FROM quote_actions") == [("place",)]
        rig.trade("0.48", "20")  # 10 still ahead of us
        await rig.trader.step()
        assert rig.rows("SELECT count(*) FROM trade_fills") == [(0,)]
        rig.trade("0.48", "25")  # the last 10 ahead, then 15 of ours
        await rig.trader.step()
        fills = rig.rows("SELECT action, price_micros, size_micros, reason FROM quote_actions "
                         "WHERE action = 'fill'")  # fmt: skip
        assert fills == [("fill", 480_000, 15_000_000, "MAKER")]
        assert rig.rows("SELECT shares FROM positions") == [("15",)]
        assert rig.rows("SELECT fee FROM trade_fills") == [("0",)]
        (rest,) = await rig.paper.open_orders(YES)
        assert rest.original_size - rest.size_matched == size - 15
        assert await rig.trader.shutdown() == 1
        assert await rig.paper.open_orders() == []
        assert rig.rows("SELECT action, reason FROM quote_actions")[-1] == ("cancel", "shutdown")
    finally:
        await rig.ledger.close()
