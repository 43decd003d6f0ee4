"""Paper trading: orders filled against the live book, at the prices and sizes actually offered.

A paper order is immediate-or-cancel: it takes the levels at or better than its limit, in price
order, up to its size, and the rest is cancelled (a paper order never rests, since we cannot
know its queue position). Liquidity we took is remembered per level until the venue changes
that level, so the same offer is never filled twice. Fees are the taker fee, applied by the
order manager from the market's rate.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from weatheredge.model.book import OrderBook
from weatheredge.model.prices import MICRO
from weatheredge.trading.gateway import OpenOrderView, OrderRequest, PlaceResult, TradeView

_M = Decimal(MICRO)


class PaperGateway:
    name = "paper"

    def __init__(self, books: Callable[[str], OrderBook | None]) -> None:
        self._books = books
        self._taken: dict[tuple[str, bool, int], tuple[int, int]] = {}  # level -> (seen, taken)
        self._trades: list[TradeView] = []
        self.placed: list[OrderRequest] = []

    async def place(self, request: OrderRequest) -> PlaceResult:
        self.placed.append(request)
        order_id = f"paper:{request.intent_key}"
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
        for price in prices:
            if left <= 0:
                break
            key = (request.token_id, buying, price)
            size = levels[price]
            seen, taken = self._taken.get(key, (size, 0))
            if seen != size:
                taken = 0  # the venue refreshed this level: its size is new liquidity
            take = min(left, size - taken)
            if take <= 0:
                continue
            self._taken[key] = (size, taken + take)
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
        self._trades.extend(trades)
        if not trades:
            return PlaceResult(False, status="fak_not_filled", reason="nothing offered at limit")
        return PlaceResult(True, order_id, "matched", trades=tuple(trades))

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
