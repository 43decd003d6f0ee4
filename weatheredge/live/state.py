"""The live market state: the catalogue, the books, each event's pricing, what the venue said.

One object with one writer: the Engine (``weatheredge/engine.py``) and its ladder watch
(``weatheredge/ladders.py``) mutate its tables from frames, REST books and the jobs' prices, and
reach them directly because the hot path cannot afford a call per price level. Everyone else —
the trader, the jobs, the feed, the status page, Home Assistant — reads through the methods
below, never the tables (``tests/live/test_readers.py`` checks that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from weatheredge.clock import Clock
from weatheredge.model.book import OrderBook
from weatheredge.model.catalogue import unique_owners
from weatheredge.model.edge import Quote, Side, quote
from weatheredge.model.live import AWAITING_REPORTS
from weatheredge.model.market import BucketMarket, TemperatureEvent

NO_FORECAST = "no forecast"
FORECAST_STALE = "forecast stale"


@dataclass(frozen=True, slots=True)
class TokenRef:
    event: TemperatureEvent
    market: BucketMarket
    side: Side


@dataclass(frozen=True, slots=True)
class Pricing:
    probs: dict[str, float]  # market_id -> probability that YES pays
    forecast_id: int | None
    issued_mono: float  # clock.monotonic() when the forecast was fetched
    # Epoch s at which the station's local day starts: from then on these forecast-only prices
    # are blind to the day's reports and carry no edge until re-priced with them (issue 10).
    blind_after: float | None = None


Level = tuple[int, int]  # (price, size) in micro-units


class MarketState:
    """What the daemon knows of the market right now; read it through the methods."""

    def __init__(
        self, *, clock: Clock, max_forecast_age: float, open_edges: Callable[[], list[str]]
    ) -> None:
        self.clock = clock
        self.max_forecast_age = max_forecast_age
        self._open_edges = open_edges
        # The writer's tables (see the module docstring).
        self._tokens: dict[str, TokenRef] = {}
        self._books: dict[str, OrderBook] = {}  # one dict for the process: never rebound
        self._events: Mapping[str, TemperatureEvent] = MappingProxyType({})
        self._rejected: list[tuple[str, str]] = []  # (slug, reason) left out of the catalogue
        self._pricing: dict[str, Pricing] = {}
        # Last trade per token as the venue printed it (exact text), for the status page.
        self._last_trades: dict[str, str] = {}
        # event_id -> market_id the venue resolved YES, from market_resolved frames; the
        # settlement job cross-checks ours against it before asking Gamma.
        self._venue_winners: dict[str, str] = {}

    # -- writing (the Engine) -----------------------------------------------------------------

    def replace_catalogue(
        self, events: Iterable[TemperatureEvent], close: Callable[[str], None]
    ) -> tuple[list[str], list[str]]:
        """The new catalogue; ``close(token)`` runs for each dropped token while it is still
        known. Returns (tokens added, tokens removed)."""
        kept, self._rejected = unique_owners(events, self.owner_of)
        new_events = {e.event_id: e for e in kept}
        old_tokens = self._tokens
        tokens: dict[str, TokenRef] = {}
        for event in new_events.values():
            for market in event.markets:
                tokens[market.yes_token] = TokenRef(event, market, Side.YES)
                tokens[market.no_token] = TokenRef(event, market, Side.NO)
        removed = [t for t in old_tokens if t not in tokens]
        for token in removed:
            close(token)
            self._books.pop(token, None)
        for event_id in list(self._pricing):
            if event_id not in new_events:
                del self._pricing[event_id]
        for token, ref in tokens.items():
            self._books.setdefault(token, OrderBook(ref.market.tick))
        self._tokens = tokens
        # A read-only view, new only when the catalogue is: readers may cache on its identity.
        self._events = MappingProxyType(new_events)
        return [t for t in tokens if t not in old_tokens], removed

    # -- the catalogue ------------------------------------------------------------------------

    def events(self) -> Mapping[str, TemperatureEvent]:
        """event_id -> event; the same object until the catalogue changes."""
        return self._events

    def event(self, event_id: str) -> TemperatureEvent | None:
        return self._events.get(event_id)

    def rejected(self) -> list[tuple[str, str]]:
        """(slug, reason) of the events the last catalogue left out."""
        return list(self._rejected)

    def ref(self, token: str) -> TokenRef | None:
        """The event, bucket and side of ``token``."""
        return self._tokens.get(token)

    def owner_of(self, token: str) -> str | None:
        """The event id that owns ``token`` in the current catalogue."""
        ref = self._tokens.get(token)
        return ref.event.event_id if ref is not None else None

    def group_of(self, token: str) -> str:
        """The event a token belongs to (the feed keeps an event's tokens on one socket)."""
        ref = self._tokens.get(token)
        return ref.event.event_id if ref is not None else token

    def tokens(self) -> list[str]:
        return list(self._tokens)

    def token_count(self) -> int:
        return len(self._tokens)

    # -- books --------------------------------------------------------------------------------

    def book(self, token: str) -> OrderBook | None:
        return self._books.get(token)

    def synced(self, token: str) -> bool:
        book = self._books.get(token)
        return book is not None and book.synced

    def synced_count(self, tokens: Iterable[str] | None = None) -> int:
        books = self._books
        if tokens is None:
            return sum(1 for b in books.values() if b.synced)
        return sum(1 for t in tokens if (b := books.get(t)) is not None and b.synced)

    def book_count(self) -> int:
        return len(self._books)

    def best(self, token: str) -> tuple[Level | None, Level | None]:
        """(best bid, best ask) of a synced book; (None, None) while it cannot be trusted."""
        book = self._books.get(token)
        if book is None or not book.synced:
            return None, None
        return book.best_bid(), book.best_ask()

    def last_trade(self, token: str) -> str | None:
        """The last trade price the venue printed for a YES token (NO prints mirrored)."""
        return self._last_trades.get(token)

    def venue_winner(self, event_id: str) -> str | None:
        """The market the venue resolved YES, from a market_resolved frame seen this run."""
        return self._venue_winners.get(event_id)

    # -- pricing ------------------------------------------------------------------------------

    def pricing(self, event_id: str) -> Pricing | None:
        """The event's current prices, fresh or not (see :meth:`usable_pricing`)."""
        return self._pricing.get(event_id)

    def priced_events(self) -> list[str]:
        return list(self._pricing)

    def priced_count(self) -> int:
        return len(self._pricing)

    def forecast_age(self, event_id: str) -> float | None:
        """Seconds since the event's forecast was fetched; None when unpriced."""
        pricing = self._pricing.get(event_id)
        return None if pricing is None else self.clock.monotonic() - pricing.issued_mono

    def is_fresh(self, event_id: str) -> bool:
        """Priced, and its forecast no older than ``max_forecast_age``: the one freshness rule."""
        pricing = self._pricing.get(event_id)
        return pricing is not None and self._young(pricing)

    def _young(self, pricing: Pricing) -> bool:
        return self.clock.monotonic() - pricing.issued_mono <= self.max_forecast_age

    def usable_pricing(self, event_id: str) -> tuple[Pricing | None, str]:
        """The prices to decide on, or (None, why not): no forecast, a stale one, or
        forecast-only prices once the station's day started (issue 10)."""
        pricing = self._pricing.get(event_id)
        if pricing is None:
            return None, NO_FORECAST
        if not self._young(pricing):
            return None, FORECAST_STALE
        if pricing.blind_after is not None and self.clock.time() >= pricing.blind_after:
            return None, AWAITING_REPORTS
        return pricing, ""

    def fresh_probability(self, token: str) -> float | None:
        """P(``token`` pays) from usable prices; None when there are none."""
        ref = self._tokens.get(token)
        if ref is None:
            return None
        pricing, _ = self.usable_pricing(ref.event.event_id)
        p = pricing.probs.get(ref.market.market_id) if pricing is not None else None
        if p is None:
            return None
        return p if ref.side is Side.YES else 1.0 - p

    def quote(self, token: str) -> Quote | None:
        """Buying ``token`` at its best ask against its fresh probability, after fees."""
        ref = self._tokens.get(token)
        p = self.fresh_probability(token)
        book = self._books.get(token)
        if ref is None or p is None or book is None:
            return None
        return quote(ref.side, p, book.best_ask(), ref.market.fee_rate)

    def open_edges(self) -> list[str]:
        """Tokens with an open edge episode."""
        return self._open_edges()
