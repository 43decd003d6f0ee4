"""What the trader reads of the market: catalogue, books, probabilities, feed health, venue
winners. The trader sees only :class:`MarketView`; :class:`EngineView` reads it off the engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from weatheredge.engine import TokenRef
from weatheredge.model.book import OrderBook
from weatheredge.model.edge import Side


class MarketView(Protocol):
    def ref(self, token: str) -> TokenRef | None: ...
    def book(self, token: str) -> OrderBook | None: ...
    def prob(self, token: str) -> float | None: ...
    def feed_problem(self) -> str | None: ...
    def venue_winner(self, event_id: str) -> str | None: ...


class EngineView:
    """What the trader reads from the engine: catalogue, books, probabilities, feed health."""

    def __init__(self, engine: Any, stream: Callable[[], Any] = lambda: None) -> None:
        self._engine = engine
        self._stream = stream

    def ref(self, token: str) -> TokenRef | None:
        return self._engine.tokens.get(token)

    def book(self, token: str) -> OrderBook | None:
        return self._engine.books.get(token)

    def prob(self, token: str) -> float | None:
        ref = self.ref(token)
        if ref is None:
            return None
        pricing = self._engine.pricing.get(ref.event.event_id)
        if pricing is None:
            return None
        if self._engine.clock.monotonic() - pricing.issued_mono > self._engine.max_forecast_age:
            return None
        p = pricing.probs.get(ref.market.market_id)
        if p is None:
            return None
        return p if ref.side is Side.YES else 1.0 - p

    def venue_winner(self, event_id: str) -> str | None:
        """The market the venue resolved YES, from a market_resolved frame seen this run."""
        return self._engine.venue_winners.get(event_id)

    def feed_problem(self) -> str | None:
        stream = self._stream()
        if stream is None or not self._engine.tokens:
            return None
        if hasattr(stream, "health_problems"):  # the sharded feed: polling counts as healthy
            problems = stream.health_problems()
            return f"market feed: {problems[0]}" if problems else None
        if not getattr(stream, "connected", True):
            return "market feed disconnected"
        return None
