"""Paper trading: orders filled against the live book, at the prices and sizes actually offered.

A paper order is immediate-or-cancel: it takes the levels at or better than its limit, in price
order, up to its size, and the rest is cancelled (a paper order never rests, since we cannot
know its queue position). Liquidity we took is remembered per level until the venue changes
that level, so the same offer is never filled twice. Fees are the taker fee, applied by the
order manager from the market's rate.

The live book never shows our paper takes, so that memory is the paper venue's state, as a
real venue's book is its own: with a ledger it is committed (with the trades) before an order is
answered and loaded again at start, so a restarted daemon neither re-buys an offer it already
took nor loses a fill it made just before a crash (reconciliation finds it in ``trades``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from weatheredge.model.book import OrderBook
from weatheredge.model.prices import MICRO
from weatheredge.trading.gateway import OpenOrderView, OrderRequest, PlaceResult, TradeView
from weatheredge.trading.ledger import Ledger, now_iso
from weatheredge.trading.portfolio import _txt

_M = Decimal(MICRO)
Level = tuple[str, bool, int]  # token, buying (took asks), price in micros


def _dec(micros: int) -> str:
    return _txt(Decimal(micros) / _M)


def _micros(text: str) -> int:
    return int(Decimal(text) * _M)


class PaperGateway:
    name = "paper"

    def __init__(
        self, books: Callable[[str], OrderBook | None], ledger: Ledger | None = None
    ) -> None:
        self._books = books
        self._ledger = ledger  # None: memory only
        self._taken: dict[Level, tuple[int, int]] = {}  # level -> (seen, taken)
        self._trades: list[TradeView] = []
        self.placed: list[OrderRequest] = []

    async def load(self) -> None:
        """What earlier runs took and traded, from the ledger."""
        if self._ledger is None:
            return
        levels, trades = await self._ledger.paper_state()
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
                        role="TAKER",
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
        if not trades:
            return PlaceResult(False, status="fak_not_filled", reason="nothing offered at limit")
        await self._save(took, trades)
        self._taken.update(took)
        self._trades.extend(trades)
        return PlaceResult(True, order_id, "matched", trades=tuple(trades))

    async def _save(self, took: dict[Level, tuple[int, int]], trades: list[TradeView]) -> None:
        if self._ledger is None:
            return
        now = now_iso()
        levels = [
            {
                "token_id": token,
                "side": "BUY" if buying else "SELL",
                "price": _dec(price),
                "seen": _dec(seen),
                "taken": _dec(taken),
                "updated_at": now,
            }
            for (token, buying, price), (seen, taken) in took.items()
        ]
        rows = [
            {
                "trade_id": t.trade_id,
                "order_id": t.order_id,
                "token_id": t.token_id,
                "side": t.side,
                "price": _txt(t.price),
                "size": _txt(t.size),
                "status": t.status,
                "created_at": now,
            }
            for t in trades
        ]
        await self._ledger.save_paper(levels, rows)

    async def cancel(self, order_id: str) -> bool:
        return False  # paper orders never rest

    async def cancel_all(self) -> list[str]:
        return []

    async def open_orders(self, token_id: str | None = None) -> list[OpenOrderView]:
        return []

    async def trades(self, token_id: str | None = None) -> list[TradeView]:
        return [t for t in self._trades if token_id is None or t.token_id == token_id]

    async def heartbeat(self) -> None:
        return None

    async def close(self) -> None:
        return None
