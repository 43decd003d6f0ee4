"""The paper venue's resting orders: their queue positions, fed by the market's prints.

This is the :class:`~weatheredge.engine.MarketTap` the engine tells about trade prints and level
changes of the tokens we rest on (and only those: nothing is watched, nothing is called). The
queue rules are :mod:`weatheredge.model.queue_fill`; fills are handed over at once and in order
(the trader enqueues them), so a replay is deterministic, and written to the ledger by one
writer task in the order they happened.

For the backtest's adverse selection, every fill also takes the token's mid at the fill and the
mid in force 1 and 10 minutes later (``paper_marks``): the mid a book change ends is the mid
that held until it, so a due mark is taken from the mid seen before the first change after it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from weatheredge.clock import SYSTEM, Clock
from weatheredge.model.book import NO_ASK, NO_BID, OrderBook
from weatheredge.model.prices import MICRO
from weatheredge.model.queue_fill import QueueSlot, on_level, on_print
from weatheredge.timestamps import utc_iso
from weatheredge.trading.gateway import TradeView
from weatheredge.trading.portfolio import _txt

logger = logging.getLogger(__name__)

_M = Decimal(MICRO)
MARK_HORIZONS_S = (60, 600)  # mid samples after each fill (0 is taken at the fill)


@dataclass(slots=True)
class Resting:
    order_id: str
    token_id: str
    side: str  # BUY | SELL
    price: int  # micros
    size: int  # original, micros
    slot: QueueSlot
    created_ms: int
    fills: int = 0  # trades so far (numbering the trade ids)

    @property
    def matched(self) -> int:
        return self.size - self.slot.left


def mid(book: OrderBook | None) -> int | None:
    """The book's mid in micros; None without both sides."""
    if book is None or not book.synced or book.bid_px == NO_BID or book.ask_px == NO_ASK:
        return None
    return (book.bid_px + book.ask_px) // 2


class RestingBook:
    def __init__(
        self,
        books: Callable[[str], OrderBook | None],
        on_fill: Callable[[TradeView], None] | None,
        save: Callable[[dict[str, list[dict[str, Any]]]], Any] | None,
        clock: Clock = SYSTEM,
    ) -> None:
        self._books = books
        self._on_fill = on_fill
        self._save = save  # async: one transaction of rows per table; None: memory only
        self.clock = clock
        self.orders: dict[str, Resting] = {}
        self.watched: set[str] = set()  # tokens with a resting order or a pending mark
        self.trades: list[TradeView] = []
        self._marks: list[tuple[int, str, str, int]] = []  # (due ns, token, trade id, horizon)
        self._mids: dict[str, int | None] = {}  # mid at the last notice, per watched token
        self._rows: dict[str, list[dict[str, Any]]] = {}
        self._writer: asyncio.Task[None] | None = None

    def _now_ns(self) -> int:
        return int(self.clock.time() * 1e9)

    # -- orders ------------------------------------------------------------------------------

    def restore(self, order: Resting) -> None:
        """An order a previous run left resting (already stored)."""
        self.orders[order.order_id] = order
        self._watch(order.token_id)

    def add(self, order: Resting) -> None:
        self.orders[order.order_id] = order
        self._watch(order.token_id)
        self.stage_order(order, "open")

    def remove(self, order_id: str, status: str) -> Resting | None:
        order = self.orders.pop(order_id, None)
        if order is not None:
            self.stage_order(order, status)
            self._unwatch(order.token_id)
        return order

    def _watch(self, token: str) -> None:
        if token not in self.watched:
            self.watched.add(token)
            self._mids[token] = mid(self._books(token))

    def _unwatch(self, token: str) -> None:
        if any(o.token_id == token for o in self.orders.values()):
            return
        if any(m[1] == token for m in self._marks):
            return
        self.watched.discard(token)
        self._mids.pop(token, None)

    # -- the engine's tap (hot path: sync, no I/O) -----------------------------------------

    def on_level(self, token: str) -> None:
        now = self._now_ns()
        self._due_marks(token, now)  # at the mid before this change
        book = self._books(token)
        if token in self.watched:
            self._mids[token] = mid(book)
        if book is None or not book.synced:
            return  # an untrusted book says nothing about the queue: wait for its snapshot
        for order in self._on(token):
            levels = book.bids if order.side == "BUY" else book.asks
            slot = on_level(order.slot, levels.get(order.price, 0), now)
            if slot is not order.slot:
                order.slot = slot
                self.stage_order(order, "open")

    def on_print(self, token: str, price: int, size: int, taker_buying: bool) -> None:
        now = self._now_ns()
        self._due_marks(token, now)
        for order in self._on(token):  # placement order: an earlier order is filled first
            slot, fill = on_print(order.slot, price, size, taker_buying, now)
            if slot is order.slot:
                continue
            order.slot = slot
            size -= fill
            if fill > 0:
                self._fill(order, fill, now)
            if slot.left <= 0:
                self.remove(order.order_id, "filled")
            else:
                self.stage_order(order, "open")

    def _on(self, token: str) -> list[Resting]:
        return [o for o in self.orders.values() if o.token_id == token]

    def _fill(self, order: Resting, fill: int, now_ns: int) -> None:
        order.fills += 1
        trade = TradeView(
            trade_id=f"{order.order_id}:m{order.fills}",
            order_id=order.order_id,
            token_id=order.token_id,
            side=order.side,
            price=Decimal(order.price) / _M,
            size=Decimal(fill) / _M,
            status="CONFIRMED",
            role="MAKER",
            fee=Decimal(0),
            at_ms=now_ns // 1_000_000,
        )
        self.trades.append(trade)
        self.stage_trade(trade)
        now_mid = self._mids.get(order.token_id)
        self._stage_mark(trade.trade_id, 0, now_ns, now_mid)
        for horizon in MARK_HORIZONS_S:
            due = now_ns + horizon * 1_000_000_000
            self._marks.append((due, order.token_id, trade.trade_id, horizon))
        if self._on_fill is not None:
            self._on_fill(trade)

    # -- marks -------------------------------------------------------------------------------

    def _due_marks(self, token: str, now_ns: int) -> None:
        if not self._marks:
            return
        due = [m for m in self._marks if m[1] == token and m[0] <= now_ns]
        if not due:
            return
        for m in due:
            self._marks.remove(m)
            self._stage_mark(m[2], m[3], m[0], self._mids.get(token))
        self._unwatch(token)

    def settle_marks(self) -> None:
        """At close: marks already due take the mid in force now (no change since)."""
        now = self._now_ns()
        for token in {m[1] for m in self._marks}:
            self._mids[token] = mid(self._books(token))
            self._due_marks(token, now)
        self._marks.clear()

    def _stage_mark(self, trade_id: str, horizon: int, at_ns: int, value: int | None) -> None:
        if value is None:
            return  # no two-sided book then: nothing to compare against
        self.stage(
            "paper_marks",
            {
                "trade_id": trade_id,
                "horizon_s": horizon,
                "at": _iso(at_ns),
                "mid": dec(value),
            },
        )

    # -- persistence -------------------------------------------------------------------------

    def stage_trade(self, trade: TradeView) -> None:
        self.stage("paper_trades", trade_row(trade, self.clock))

    def stage_order(self, order: Resting, status: str) -> None:
        s = order.slot
        self.stage(
            "paper_orders",
            {
                "order_id": order.order_id,
                "token_id": order.token_id,
                "side": order.side,
                "price": dec(order.price),
                "size": dec(order.size),
                "left_size": dec(s.left),
                "ahead": dec(s.ahead),
                "level": dec(s.level),
                "forced": dec(s.forced),
                "forced_ns": s.forced_ns,
                "fills": order.fills,
                "status": status,
                "created_ms": order.created_ms,
            },
        )

    def stage(self, table: str, row: dict[str, Any]) -> None:
        if self._save is None:
            return
        self._rows.setdefault(table, []).append(row)
        if self._writer is None or self._writer.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop (a synchronous caller): the next flush() writes it
            self._writer = loop.create_task(self._write_loop(), name="paper-writer")

    async def _write_loop(self) -> None:
        while self._rows:
            try:
                await self.flush()
            except Exception:
                return  # kept for the next flush (an order call, or close)

    async def flush(self) -> None:
        """Write every staged row now, in one transaction (later rows of a key win)."""
        if self._save is None or not self._rows:
            return
        rows, self._rows = self._rows, {}
        try:
            await self._save(rows)
        except Exception:  # the next flush retries: rows go back in front of newer ones
            logger.exception("paper venue state not saved")
            for table, batch in rows.items():
                self._rows[table] = batch + self._rows.get(table, [])
            raise


def trade_row(trade: TradeView, clock: Clock) -> dict[str, Any]:
    return {
        "trade_id": trade.trade_id,
        "order_id": trade.order_id,
        "token_id": trade.token_id,
        "side": trade.side,
        "price": _txt(trade.price),
        "size": _txt(trade.size),
        "status": trade.status,
        "role": trade.role,
        "created_at": _iso(int(clock.time() * 1e9)),
    }


def dec(micros: int) -> str:
    return _txt(Decimal(micros) / _M)


def _iso(ns: int) -> str:
    return utc_iso(dt.datetime.fromtimestamp(ns / 1e9, dt.UTC))
