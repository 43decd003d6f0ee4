"""A real Engine (books, pricing, episodes) feeding a Trader, with a scriptable gateway.

No network: books arrive as venue-shaped ``book`` frames through ``Engine.on_frame``, edge
signals go straight to the trader, and ``await h.step()`` runs one decision round.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.store.conftest import make_event
from weatheredge.config import Mode, TradingSettings
from weatheredge.engine import Engine, Pricing
from weatheredge.trading.gateway import (
    GatewayBusy,
    GatewayTimeout,
    OpenOrderView,
    OrderRequest,
    PlaceResult,
    TradeView,
)
from weatheredge.trading.ledger import Ledger
from weatheredge.trading.paper import PaperGateway
from weatheredge.trading.trader import EngineView, Trader

EVENT = make_event()
M1, M2 = EVENT.markets  # "43°F or below", "44-45°F"


def settings(**overrides: Any) -> TradingSettings:
    base = {"day_timezone": "UTC", "take_profit": False}
    return msgspec.convert({**base, **overrides}, TradingSettings)


@dataclass
class ScriptedGateway:
    """A venue double that matches against the same books as paper, plus scripted faults.

    ``faults`` is a list consumed one per place(): "timeout_after_accept" (the order is
    accepted and filled, the answer never comes), "timeout_lost" (never received), "busy".
    """

    paper: PaperGateway
    faults: list[str] = field(default_factory=list)
    placed: list[OrderRequest] = field(default_factory=list)
    accepted: list[PlaceResult] = field(default_factory=list)
    rest: bool = False  # accepted orders rest on the book instead of filling
    resting: dict[str, OpenOrderView] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)
    name: str = "scripted"

    async def place(self, request: OrderRequest) -> PlaceResult:
        fault = self.faults.pop(0) if self.faults else ""
        if fault == "busy":
            raise GatewayBusy(503, "Trading is currently disabled", retry_after=0.01)
        if fault == "timeout_lost":
            raise GatewayTimeout("no answer")
        self.placed.append(request)
        if self.rest:
            oid = f"rest:{request.intent_key}"
            self.resting[oid] = OpenOrderView(
                oid, request.token_id, request.side, request.price, request.size, Decimal(0)
            )
            result = PlaceResult(True, oid, "live", resting=True)
        else:
            result = await self.paper.place(request)
        self.accepted.append(result)
        if fault == "timeout_after_accept":
            raise GatewayTimeout("accepted, but the answer was lost")
        return result

    def untaken(self, token_id: str, buying: bool, price: int, size: int) -> int:
        return self.paper.untaken(token_id, buying, price, size)

    async def cancel(self, order_id: str) -> bool:
        self.cancelled.append(order_id)
        return self.resting.pop(order_id, None) is not None

    async def cancel_all(self) -> list[str]:
        ids = list(self.resting)
        for oid in ids:
            await self.cancel(oid)
        return ids

    async def open_orders(self, token_id: str | None = None) -> list[OpenOrderView]:
        return [o for o in self.resting.values() if token_id in (None, o.token_id)]

    async def trades(self, token_id: str | None = None) -> list[TradeView]:
        return await self.paper.trades(token_id)

    async def heartbeat(self) -> None:
        return None

    async def close(self) -> None:
        return None


class Harness:
    def __init__(self, db: Path, mode: Mode = Mode.PAPER, **overrides: Any) -> None:
        self.db = db
        self.mode = mode
        self.settings = settings(**overrides)
        self.notes: list[tuple[str, str, str]] = []
        self.engine = Engine(min_edge=0.05, hysteresis=0.01, max_forecast_age=3600, emit=self._emit)
        self.engine.set_events([EVENT])
        self.paper = PaperGateway(lambda t: self.engine.books.get(t))
        self.gateway = ScriptedGateway(self.paper)
        self.connected = True
        self.trader: Trader | None = None
        self.ledger: Ledger | None = None
        self.maker_inputs: Any = None  # maker mode: an EngineMakerView on self.engine

    def _emit(self, signal: Any) -> None:
        if self.trader is not None:
            self.trader.on_signal(signal)

    async def start(self) -> Trader:
        self.ledger = Ledger.open(self.db)
        # the paper venue's memory lives in the database, as in the daemon: a restart reloads it
        self.paper = PaperGateway(lambda t: self.engine.books.get(t), self.ledger)
        await self.paper.load()
        self.gateway.paper = self.paper
        stream = type("S", (), {"connected": property(lambda s: self.connected)})()
        self.trader = Trader(
            mode=self.mode,
            settings=self.settings,
            ledger=self.ledger,
            gateway=None if self.mode is Mode.DRY_RUN else self.gateway,
            view=EngineView(self.engine, lambda: stream),
            notify=lambda kind, title, body, ref: self.notes.append((kind, title, body)),
            maker_inputs=self.maker_inputs,
        )
        await self.trader.recover()
        return self.trader

    async def restart(self) -> Trader:
        """A new process: same database and venue, fresh memory."""
        assert self.ledger is not None
        await self.ledger.close()
        self.engine.tracker._open.clear()  # the engine's episodes die with the process too
        self.engine.edges.ids.clear()
        return await self.start()

    async def close(self) -> None:
        if self.ledger is not None:
            await self.ledger.close()

    def price(self, p_yes_m2: float, p_yes_m1: float | None = None) -> None:
        p1 = 1.0 - p_yes_m2 if p_yes_m1 is None else p_yes_m1
        pricing = Pricing({M1.market_id: p1, M2.market_id: p_yes_m2}, None, time.monotonic())
        self.engine.set_pricing(EVENT.event_id, pricing)

    def book(self, token: str, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> None:
        frame = {
            "event_type": "book",
            "market": next(
                (m.condition_id for m in EVENT.markets if token in (m.yes_token, m.no_token)),
                "0xcond",
            ),  # the venue files a book under its token's market (the engine checks)
            "asset_id": token,
            "bids": [{"price": p, "size": s} for p, s in bids],
            "asks": [{"price": p, "size": s} for p, s in asks],
            "timestamp": str(int(time.time() * 1000)),
        }
        self.engine.on_frame(json.dumps(frame), time.perf_counter_ns())
        if self.trader is not None:
            self.trader.poke()

    def fair_books(self) -> None:
        """Every token quoted wide around 0.5: no edge anywhere."""
        for m in EVENT.markets:
            for token in (m.yes_token, m.no_token):
                self.book(token, [("0.40", "100")], [("0.95", "100")])

    async def step(self) -> None:
        assert self.trader is not None
        await self.trader.step()

    def rows(self, sql: str) -> list[dict[str, Any]]:
        import sqlite3

        con = sqlite3.connect(self.db)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(sql)]
        finally:
            con.close()


class Crash(BaseException):
    """The process dies here (nothing after it runs, nothing catches it)."""


def edge(h: Harness, ask: str = "0.20", size: str = "30") -> None:
    """Fair books, p(44-45°F) = 0.40, and its YES offered at ``ask``: a buy-YES edge."""
    h.fair_books()
    h.price(0.40)
    h.book(M2.yes_token, [("0.18", "50")], [(ask, size)])


def db_rows(db: Path, sql: str) -> list[dict[str, Any]]:
    """Rows of a query on a daemon's database from outside; [] before it exists or migrated."""
    import sqlite3

    if not db.exists():
        return []
    con = sqlite3.connect(db, timeout=5)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql)]
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


def modal_yes(box: Any) -> tuple[Any, str]:
    """The sandbox's NYC event and the YES token of its most likely bucket."""
    nyc = box.quoted[0]
    modal = max(range(len(nyc.probs)), key=nyc.probs.__getitem__)
    return nyc, nyc.tokens(modal)[0]


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(tmp_path / "t.db")
    try:
        yield h
    finally:
        await h.close()


async def settle() -> None:
    await asyncio.sleep(0)
