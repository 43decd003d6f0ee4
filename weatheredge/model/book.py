"""A local order book for one token, in exact micro-units.

Level order on the wire is not guaranteed (REST and WS snapshots list the best level last), so
best bid is the max bid price and best ask the min ask price, never "the first level".

The best prices are maintained incrementally (``bid_px``/``ask_px``): a delta that improves the
top is O(1), only removing the best level rescans that side. That keeps the hot path cheap.

Trust has two levels:

- ``synced``: the book holds a full snapshot (WebSocket ``book`` or REST) and may be priced;
- ``ws``: that snapshot arrived on the *current* socket, so ``price_change`` deltas may be
  applied on top of it. A REST-seeded book (polling fallback) is synced but not ``ws``: deltas
  are ignored until the socket's own snapshot replaces it.
"""

from __future__ import annotations

from collections.abc import Iterable

NO_BID = -1
NO_ASK = 1 << 62


class OrderBook:
    __slots__ = (
        "ask_px",
        "asks",
        "bid_px",
        "bids",
        "seen_ns",
        "synced",
        "tick",
        "updated_ms",
        "ws",
    )

    def __init__(self, tick: int = 10_000) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.bid_px = NO_BID  # best bid price, NO_BID when there is none
        self.ask_px = NO_ASK  # best ask price, NO_ASK when there is none
        self.synced = False  # True once a full snapshot has arrived (WS or REST)
        self.ws = False  # True when that snapshot came on the current socket
        self.tick = tick
        self.updated_ms = 0  # venue timestamp of the last change applied
        self.seen_ns = 0  # local perf_counter_ns of the last change (or last verification)

    def replace(
        self,
        bids: Iterable[tuple[int, int]],
        asks: Iterable[tuple[int, int]],
        ts_ms: int,
        *,
        ws: bool = True,
        seen_ns: int = 0,
    ) -> None:
        self.bids = {p: s for p, s in bids if s > 0}
        self.asks = {p: s for p, s in asks if s > 0}
        self.bid_px = max(self.bids) if self.bids else NO_BID
        self.ask_px = min(self.asks) if self.asks else NO_ASK
        self.synced = True
        self.ws = ws
        self.updated_ms = ts_ms
        self.seen_ns = seen_ns

    def set_level(self, is_bid: bool, price: int, size: int, ts_ms: int) -> None:
        """Apply a price_change entry: size is the new level total, 0 removes the level."""
        if is_bid:
            levels = self.bids
            if size:
                levels[price] = size
                if price > self.bid_px:
                    self.bid_px = price
            elif levels.pop(price, None) is not None and price == self.bid_px:
                self.bid_px = max(levels) if levels else NO_BID
        else:
            levels = self.asks
            if size:
                levels[price] = size
                if price < self.ask_px:
                    self.ask_px = price
            elif levels.pop(price, None) is not None and price == self.ask_px:
                self.ask_px = min(levels) if levels else NO_ASK
        self.updated_ms = ts_ms

    def unsync(self) -> None:
        self.bids = {}
        self.asks = {}
        self.bid_px = NO_BID
        self.ask_px = NO_ASK
        self.synced = False
        self.ws = False

    def best_bid(self) -> tuple[int, int] | None:
        price = self.bid_px
        if price == NO_BID:
            return None
        return price, self.bids[price]

    def best_ask(self) -> tuple[int, int] | None:
        price = self.ask_px
        if price == NO_ASK:
            return None
        return price, self.asks[price]

    def crossed(self) -> bool:
        return self.bid_px != NO_BID and self.ask_px != NO_ASK and self.bid_px >= self.ask_px

    def levels(self) -> tuple[dict[int, int], dict[int, int]]:
        """(bids, asks) copies, for comparisons with another source."""
        return dict(self.bids), dict(self.asks)
