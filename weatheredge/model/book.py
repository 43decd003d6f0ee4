"""A local order book for one token, in exact micro-units.

Level order on the wire is not guaranteed (REST and WS snapshots list the best level last), so
best bid is the max bid price and best ask the min ask price, never "the first level".
"""

from __future__ import annotations

from collections.abc import Iterable


class OrderBook:
    __slots__ = ("asks", "bids", "synced", "tick", "updated_ms")

    def __init__(self, tick: int = 10_000) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.synced = False  # True once a full snapshot has arrived on the current connection
        self.tick = tick
        self.updated_ms = 0

    def replace(
        self, bids: Iterable[tuple[int, int]], asks: Iterable[tuple[int, int]], ts_ms: int
    ) -> None:
        self.bids = {p: s for p, s in bids if s > 0}
        self.asks = {p: s for p, s in asks if s > 0}
        self.synced = True
        self.updated_ms = ts_ms

    def set_level(self, is_bid: bool, price: int, size: int, ts_ms: int) -> None:
        """Apply a price_change entry: size is the new level total, 0 removes the level."""
        levels = self.bids if is_bid else self.asks
        if size:
            levels[price] = size
        else:
            levels.pop(price, None)
        self.updated_ms = ts_ms

    def unsync(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self.synced = False

    def best_bid(self) -> tuple[int, int] | None:
        if not self.bids:
            return None
        price = max(self.bids)
        return price, self.bids[price]

    def best_ask(self) -> tuple[int, int] | None:
        if not self.asks:
            return None
        price = min(self.asks)
        return price, self.asks[price]

    def crossed(self) -> bool:
        bid, ask = self.best_bid(), self.best_ask()
        return bid is not None and ask is not None and bid[0] >= ask[0]
