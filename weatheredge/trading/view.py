"""What the trader reads of the market: catalogue, books, probabilities, feed health, venue
winners. The trader sees only :class:`MarketView`; :class:`EngineView` reads it off the live
market state (``weatheredge.live.MarketState``) and the feed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from weatheredge.engine import Engine
from weatheredge.feed.manager import FeedManager
from weatheredge.live import TokenRef
from weatheredge.model.book import OrderBook


class MarketView(Protocol):
    def ref(self, token: str) -> TokenRef | None: ...
    def book(self, token: str) -> OrderBook | None: ...
    def prob(self, token: str) -> float | None: ...
    def feed_problem(self) -> str | None: ...
    def venue_winner(self, event_id: str) -> str | None: ...


class Connection(Protocol):
    """A single market-channel connection: up or down, no shards, no polling."""

    @property
    def connected(self) -> bool: ...


class EngineView:
    """What the trader reads from the engine: catalogue, books, probabilities, feed health."""

    def __init__(
        self,
        engine: Engine,
        stream: Callable[[], FeedManager | Connection | None] = lambda: None,
    ) -> None:
        self._market = engine.market
        self._stream = stream

    def ref(self, token: str) -> TokenRef | None:
        return self._market.ref(token)

    def book(self, token: str) -> OrderBook | None:
        return self._market.book(token)

    def prob(self, token: str) -> float | None:
        return self._market.fresh_probability(token)

    def venue_winner(self, event_id: str) -> str | None:
        """The market the venue resolved YES, from a market_resolved frame seen this run."""
        return self._market.venue_winner(event_id)

    def feed_problem(self) -> str | None:
        stream = self._stream()
        if stream is None or not self._market.token_count():
            return None
        if isinstance(stream, FeedManager):  # the sharded feed: polling counts as healthy
            problems = stream.health_problems()
            return f"market feed: {problems[0]}" if problems else None
        if not stream.connected:
            return "market feed disconnected"
        return None
