"""Paper trading: orders filled against the live book, at the prices and sizes actually offered.

A FAK paper order (the default) takes the levels at or better than its limit, in price order, up
to its size, and the rest is cancelled. Liquidity we took is remembered per level until the venue
changes that level, so the same offer is never filled twice. Fees are the taker fee, applied by
the order manager from the market's rate.

A GTC order takes what crosses the same way and rests the remainder; a post-only GTC order that
would cross is refused, as the venue refuses it. A resting order joins the back of its level's
queue and is filled by the market's trade prints under the conservative queue model
(:mod:`weatheredge.model.queue_fill`, ``docs/fill-model.md``) as a MAKER with no fee; fills go
to ``on_fill`` (the trader's ``on_trade_event``). The engine feeds the model through its tap
(``PaperGateway.tap``), which it calls only for tokens we rest on.

The live book never shows our paper takes, so that memory is the paper venue's state, as a
real venue's book is its own: with a ledger it is committed (with the trades) before an order is
answered and loaded again at start, so a restarted daemon neither re-buys an offer it already
took nor loses a fill it made just before a crash (reconciliation finds it in ``trades``).
Resting orders and their queue positions are kept the same way (``paper_orders``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from weatheredge.clock import SYSTEM, Clock
from weatheredge.model.book import OrderBook
from weatheredge.model.prices import MICRO
from weatheredge.model.queue_fill import QueueSlot, join
from weatheredge.trading.gateway import OpenOrderView, OrderRequest, PlaceResult, TradeView
from weatheredge.trading.ledger import Ledger, now_iso
from weatheredge.trading.paper_resting import Resting, RestingBook
from weatheredge.trading.portfolio import _txt

CROSSES = "invalid post-only order: order crosses book"  # the venue's words

_M = Decimal(MICRO)
Level = tuple[str, bool, int]  # token, buying (took asks), price in micros


def _dec(micros: int) -> str:
    return _txt(Decimal(micros) / _M)


def _micros(text: str) -> int:
    return int(Decimal(text) * _M)


class PaperGateway:
    name = "paper"

    def __init__(
        self,
        books: Callable[[str], OrderBook | None],
        ledger: Ledger | None = None,
        *,
        on_fill: Callable[[TradeView], None] | None = None,
        clock: Clock = SYSTEM,
    ) -> None:
        self._books = books
        self._ledger = ledger  # None: memory only
        self._taken: dict[Level, tuple[int, int]] = {}  # level -> (seen, taken)
        self._trades: list[TradeView] = []
        self.placed: list[OrderRequest] = []
        save = ledger.save_paper_rows if ledger is not None else None
        self.tap = RestingBook(books, on_fill, save, clock)  # give it to the Engine

    async def load(self) -> None:
        """What earlier runs took and traded, from the ledger."""
        if self._ledger is None:
            return
        levels, trades = await self._ledger.paper_state()
        for row in await self._ledger.paper_orders():
            self.tap.restore(_resting(row))
        for row in levels:
            key = (row["token_id"], row["side"] == "BUY", _micros(row["price"]))
            self._taken[key] = (_micros(row["seen"]), _micros(row["taken"]))
        known = {t.trade_id for t in self._trades}
        for row in trades:
            if row["trade_id"] not in known:
                self._trades.append(
                    TradeView(
                        trade_id=row["trade_id"],
                        order_id=row["order_id"],
                        token_id=row["token_id"],
                        side=row["side"],
                        price=Decimal(row["price"]),
                        size=Decimal(row["size"]),
                        status=row["status"],
                        role=row.get("role") or "TAKER",
                        fee=Decimal(0) if row.get("role") == "MAKER" else None,
                    )
                )

    def untaken(self, token_id: str, buying: bool, price: int, size: int) -> int:
        """How much of a level (price and size in micros) paper orders have not taken yet."""
        seen, taken = self._taken.get((token_id, buying, price), (size, 0))
        return size if seen != size else max(0, size - taken)

    async def place(self, request: OrderRequest) -> PlaceResult:
        self.placed.append(request)
        order_id = f"paper:{request.intent_key}"
        if self._ledger is not None:  # the instant the order meets the books, for a replay
            self._ledger.note(
                "paper_match",
                {"token_id": request.token_id, "side": request.side,
                 "price": str(request.price), "size": str(request.size)},
            )  # fmt: skip
        book = self._books(request.token_id)
        if book is None or not book.synced:
            return PlaceResult(False, status="market_not_ready", reason="no synced book")
        resting = request.order_type in ("GTC", "GTD")
        if request.post_only and (not resting or self._crosses(book, request)):
            reason = CROSSES if resting else "post-only needs GTC or GTD"
            return PlaceResult(False, status="post_only_crosses", reason=reason)
        buying = request.side == "BUY"
        levels = book.asks if buying else book.bids
        limit = int(request.price * _M)
        prices = sorted(p for p in levels if (p <= limit if buying else p >= limit))
        if not buying:
            prices.reverse()
        left = int(request.size * _M)
        trades: list[TradeView] = []
        took: dict[Level, tuple[int, int]] = {}
        for price in prices:
            if left <= 0:
                break
            key = (request.token_id, buying, price)
            size = levels[price]
            take = min(left, self.untaken(request.token_id, buying, price, size))
            if take <= 0:
                continue
            seen, taken = self._taken.get(key, (size, 0))
            took[key] = (size, (taken if seen == size else 0) + take)
            left -= take
            trades.append(
                TradeView(
                    trade_id=f"{order_id}:{len(trades)}",
                    order_id=order_id,
                    token_id=request.token_id,
                    side=request.side,
                    price=Decimal(price) / _M,
                    size=Decimal(take) / _M,
                    status="CONFIRMED",
                    role="TAKER",
                )
            )
        if resting and left > 0:
            return await self._rest(request, order_id, book, left, took, trades)
        if not trades:
            return PlaceResult(False, status="fak_not_filled", reason="nothing offered at limit")
        await self._save(took, trades)
        self._taken.update(took)
        self._trades.extend(trades)
        return PlaceResult(True, order_id, "matched", trades=tuple(trades))

    def _crosses(self, book: OrderBook, request: OrderRequest) -> bool:
        limit = int(request.price * _M)
        if request.side == "BUY":
            return book.ask_px <= limit
        return book.bid_px >= limit

    async def _rest(
        self,
        request: OrderRequest,
        order_id: str,
        book: OrderBook,
        left: int,
        took: dict[Level, tuple[int, int]],
        trades: list[TradeView],
    ) -> PlaceResult:
        """The remainder joins the back of its level's queue (what is displayed there now)."""
        buying = request.side == "BUY"
        price = int(request.price * _M)
        level = (book.bids if buying else book.asks).get(price, 0)
        order = Resting(
            order_id, request.token_id, request.side, price, int(request.size * _M),
            join(buying, price, left, level), int(self.tap.clock.time() * 1000),
        )  # fmt: skip
        self.tap.add(order)
        await self._save(took, trades)
        self._taken.update(took)
        self._trades.extend(trades)
        return PlaceResult(
            True, order_id, "matched" if trades else "live", trades=tuple(trades), resting=True
        )

    async def _save(self, took: dict[Level, tuple[int, int]], trades: list[TradeView]) -> None:
        """What an order took, its trades and any resting order staged: one transaction."""
        now = now_iso()
        for (token, buying, price), (seen, taken) in took.items():
            self.tap.stage(
                "paper_levels",
                {
                    "token_id": token,
                    "side": "BUY" if buying else "SELL",
                    "price": _dec(price),
                    "seen": _dec(seen),
                    "taken": _dec(taken),
                    "updated_at": now,
                },
            )
        for trade in trades:
            self.tap.stage_trade(trade)
        await self.tap.flush()

    async def cancel(self, order_id: str) -> bool:
        found = self.tap.remove(order_id, "cancelled") is not None
        await self.tap.flush()
        return found

    async def cancel_all(self) -> list[str]:
        ids = list(self.tap.orders)
        for order_id in ids:
            self.tap.remove(order_id, "cancelled")
        await self.tap.flush()
        return ids

    async def open_orders(self, token_id: str | None = None) -> list[OpenOrderView]:
        return [
            _open_view(o)
            for o in self.tap.orders.values()
            if token_id is None or o.token_id == token_id
        ]

    async def trades(self, token_id: str | None = None) -> list[TradeView]:
        return [
            t
            for t in (*self._trades, *self.tap.trades)
            if token_id is None or t.token_id == token_id
        ]

    async def heartbeat(self) -> None:
        return None

    async def close(self) -> None:
        """Marks already due take the mid now; everything staged is written. Resting orders
        stay resting, as at a venue (the trader cancels them on shutdown if it wants)."""
        self.tap.settle_marks()
        await self.tap.flush()


def _open_view(o: Resting) -> OpenOrderView:
    return OpenOrderView(
        o.order_id, o.token_id, o.side, Decimal(o.price) / _M, Decimal(o.size) / _M,
        Decimal(o.matched) / _M, o.created_ms,
    )  # fmt: skip


def _resting(row: dict) -> Resting:
    m = _micros
    slot = QueueSlot(
        row["side"] == "BUY", m(row["price"]), m(row["left_size"]), m(row["ahead"]),
        m(row["level"]), m(row["forced"] or "0"), row["forced_ns"] or 0,
    )  # fmt: skip
    return Resting(
        row["order_id"], row["token_id"], row["side"], m(row["price"]), m(row["size"]), slot,
        row["created_ms"] or 0, row["fills"] or 0,
    )  # fmt: skip
