"""A maker-mode trader driving the real SDK against the sandbox exchange on loopback.

The market view (books, probabilities) and the maker's inputs (changed events, report due
times) are plain objects the test sets; the venue side is the sandbox's, so every order,
cancel, post-only rejection and maker fill goes through the SDK and HTTP.
"""

from __future__ import annotations

import dataclasses
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from tests.store.conftest import make_event
from tests.trading.livekit import connect
from weatheredge.clock import VirtualClock
from weatheredge.config import Mode, TradingSettings
from weatheredge.engine import TokenRef
from weatheredge.model.book import OrderBook
from weatheredge.model.edge import Side
from weatheredge.model.market import TemperatureEvent
from weatheredge.sandbox import Sandbox
from weatheredge.trading.ledger import Ledger
from weatheredge.trading.sdk import SdkGateway
from weatheredge.trading.trader import Trader

M = 1_000_000


def sandbox_event(box: Sandbox, buckets: int = 2) -> TemperatureEvent:
    """The test event (its first ``buckets`` buckets) carrying the sandbox's first event's
    token ids."""
    q = box.quoted[0]
    base = make_event()
    more = [
        dataclasses.replace(base.markets[1], market_id=f"m{i + 1}", label=f"bucket {i + 1}")
        for i in range(2, buckets)
    ]
    markets = tuple(
        dataclasses.replace(
            m,
            yes_token=q.tokens(i)[0],
            no_token=q.tokens(i)[1],
            tick=int(Decimal(str(q.spec.tick)) * M),
            fee_rate=0.0,
        )
        for i, m in enumerate([*base.markets, *more][:buckets])
    )
    return dataclasses.replace(base, markets=markets)


class View:
    """MarketView and MakerInputs in one, set by the test."""

    def __init__(self, event: TemperatureEvent) -> None:
        self.ev = event
        self.books: dict[str, OrderBook] = {}
        self.p_yes: dict[str, float] = {}  # market_id -> P(YES)
        self.due: float | None = None
        self.dirty: set[str] = set()
        self.tokens: dict[str, TokenRef] = {}
        for m in event.markets:
            self.tokens[m.yes_token] = TokenRef(event, m, Side.YES)
            self.tokens[m.no_token] = TokenRef(event, m, Side.NO)

    # MarketView
    def ref(self, token: str) -> TokenRef | None:
        return self.tokens.get(token)

    def book(self, token: str) -> OrderBook | None:
        return self.books.get(token)

    def prob(self, token: str) -> float | None:
        ref = self.ref(token)
        p = None if ref is None else self.p_yes.get(ref.market.market_id)
        if p is None or ref is None:
            return None
        return p if ref.side is Side.YES else 1.0 - p

    def feed_problem(self) -> str | None:
        return None

    def venue_winner(self, event_id: str) -> str | None:
        return None

    # MakerInputs
    def event(self, event_id: str) -> TemperatureEvent | None:
        return self.ev if event_id == self.ev.event_id else None

    def changed(self) -> set[str]:
        out, self.dirty = self.dirty, set()
        return out

    def report_due(self, event_id: str) -> float | None:
        return self.due

    def listen(self, on: bool) -> None:
        pass  # the test sets ``dirty`` itself


class MakerRig:
    def __init__(self, box: Sandbox, db: Path, buckets: int = 2, **overrides: Any) -> None:
        self.box = box
        self.db = db
        base = {"day_timezone": "UTC", "take_profit": False, "strategy": "maker"}
        self.settings = msgspec.convert({**base, **overrides}, TradingSettings)
        self.event = sandbox_event(box, buckets)
        self.view = View(self.event)
        self.clock = VirtualClock(time.time_ns(), 1_000 * 10**9)
        self.notes: list[tuple[str, str, str]] = []
        self.gateway: SdkGateway | None = None
        self.trader: Trader | None = None
        self.ledger: Ledger | None = None

    async def start(self, gateway: SdkGateway | None = None) -> Trader:
        if gateway is None:
            gateway = self.gateway or (await connect(self.box))[0]
        self.gateway = gateway
        self.ledger = Ledger.open(self.db)
        self.trader = Trader(
            mode=Mode.LIVE,
            settings=self.settings,
            ledger=self.ledger,
            gateway=gateway,
            view=self.view,
            notify=lambda kind, title, body, ref: self.notes.append((kind, title, body)),
            clock=self.clock,
            maker_inputs=self.view,
        )
        await self.trader.recover()
        return self.trader

    async def crash(self) -> None:
        """The process dies: nothing is cancelled, the ledger is simply closed."""
        assert self.ledger is not None
        await self.ledger.close()
        self.trader = None

    async def close(self) -> None:
        if self.ledger is not None:
            try:
                await self.ledger.close()
            except Exception:
                pass
        if self.gateway is not None:
            await self.gateway.close()

    def token(self, market: int = 0, yes: bool = True) -> str:
        m = self.event.markets[market]
        return m.yes_token if yes else m.no_token

    def book(self, token: str, bids: list[tuple[str, str]], asks: list[tuple[str, str]],
             *, venue: bool = True) -> None:  # fmt: skip
        """The same book on the venue and in our view (``venue=False``: ours only)."""
        if venue:
            self.box.venue.set_book(token, bids, asks, mirror=False)
        book = OrderBook(self.event.markets[0].tick)
        book.replace(
            [(int(Decimal(p) * M), int(Decimal(s) * M)) for p, s in bids],
            [(int(Decimal(p) * M), int(Decimal(s) * M)) for p, s in asks],
            int(time.time() * 1000),
        )
        self.view.books[token] = book
        self.view.dirty.add(self.event.event_id)

    def price(self, p_yes: float, market: int = 0) -> None:
        self.view.p_yes[self.event.markets[market].market_id] = p_yes
        self.view.dirty.add(self.event.event_id)

    async def step(self, advance: float = 0.0) -> None:
        assert self.trader is not None
        self.clock.advance(advance)
        await self.trader.step()

    async def open_orders(self) -> list[tuple[Decimal, Decimal]]:
        assert self.gateway is not None
        return sorted((o.price, o.original_size - o.size_matched)
                      for o in await self.gateway.open_orders())  # fmt: skip

    def actions(self) -> list[tuple[str, str | None]]:
        import sqlite3

        con = sqlite3.connect(self.db)
        try:
            return list(con.execute("SELECT action, reason FROM quote_actions ORDER BY id"))
        finally:
            con.close()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        import sqlite3

        con = sqlite3.connect(self.db)
        try:
            return list(con.execute(sql))
        finally:
            con.close()
