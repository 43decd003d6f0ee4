"""The hot path: WebSocket frame -> local books -> edge decision.

Everything here is synchronous and in memory. The Engine is the one writer of the live market
state (``weatheredge/live/``: catalogue, books, prices, venue results), which everyone else reads
through its methods (``engine.market``). Decisions leave through ``emit`` (a callback that only
enqueues: the store and the notifier drain their queues on their own tasks), so a frame is never
held up by the disk, the network or a notification. What a frame does to the books is
``frames.py`` (a mixin of the Engine); bucket edges ``edges.py``; ladder arbitrage ``ladders.py``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable

from weatheredge.clock import SYSTEM, Clock
from weatheredge.edges import Edges, EdgeSignal
from weatheredge.frames import DEFAULT_MAX_FRAME_BYTES, FrameApplier, MarketTap
from weatheredge.live import MarketState, Pricing, TokenRef
from weatheredge.metrics_core import LatencyHistogram
from weatheredge.model.edge import EpisodeTracker
from weatheredge.model.market import TemperatureEvent
from weatheredge.ratelog import RateLimitedLog

__all__ = ["EdgeSignal", "Engine", "MarketTap", "Pricing", "TokenRef"]

logger = logging.getLogger(__name__)

_LOG_EVERY_S = 30.0  # rate limit for repeated bad-input log lines, per kind


def _table(name: str) -> property:
    return property(lambda engine: getattr(engine.market, name))


class Engine(FrameApplier):
    """Books and edge episodes for every subscribed token; fed by the feed, synchronously.

    ``on_desync(token, reason)`` runs when a book can no longer be trusted (top of book differs
    from the venue's ``best_bid``/``best_ask``, an out-of-order delta, a snapshot that could not
    be applied): the feed reconnects that token's socket for a fresh snapshot.
    ``on_resolved(tokens)`` runs when the venue says a market resolved: the feed unsubscribes
    them. ``ladder_min_edge`` is the ladder threshold (hysteresis half of it); by default the
    buckets' own.
    """

    def __init__(
        self,
        *,
        min_edge: float,
        hysteresis: float,
        max_forecast_age: float,
        emit: Callable[[EdgeSignal], None],
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        clock: Clock = SYSTEM,
        on_desync: Callable[[str, str], None] | None = None,
        on_resolved: Callable[[list[str]], None] | None = None,
        ladder_min_edge: float | None = None,
        tap: MarketTap | None = None,
    ) -> None:
        self.tap = tap
        self.clock = clock  # every time read of the engine, and of the jobs that price it
        self._recheck: set[str] = set()  # tokens whose next frame re-decides in full: see below
        self.max_frame_bytes = max_frame_bytes
        self.on_desync = on_desync
        self.on_resolved = on_resolved
        self.tracker = EpisodeTracker(min_edge, hysteresis)
        self.market = MarketState(
            clock=clock, max_forecast_age=max_forecast_age, open_edges=self.tracker.open_keys
        )
        # The hot path's handles on the state's tables (``tokens`` is rebound by set_events);
        # only the Engine uses them: everyone else reads ``market`` (tests/live/test_readers.py).
        self.tokens = self.market._tokens
        self.books = self.market._books
        self.last_trades = self.market._last_trades
        self.venue_winners = self.market._venue_winners
        self.counters: Counter[str] = Counter()
        self.bad_frames: Counter[str] = Counter()
        self._log = RateLimitedLog(logger, _LOG_EVERY_S)
        self._px: dict[str, int] = {}
        self.frames = 0  # plain ints on the hot path; merged into counters by status()
        self.messages = 0
        self.latency = LatencyHistogram()
        ladder_tracker = (  # hysteresis half the threshold, as the daemon always built it
            EpisodeTracker(min_edge, hysteresis)
            if ladder_min_edge is None
            else EpisodeTracker(ladder_min_edge, ladder_min_edge / 2)
        )
        self.edges = Edges(self.market, self.tracker, ladder_tracker, emit, self.counters, clock)
        self.ladders = self.edges.ladders
        self._ladder_dirty = self.ladders.dirty
        self._evaluate = self.edges.evaluate  # bound once: called per touched bucket
        self._ladder_check = self.ladders.on_book_change  # what evaluate does after a bucket
        self._close = self.edges.close

    def watch_evaluations(self, hook: Callable[[str], None] | None) -> None:
        """Maker mode (built after the engine, with trading): told the event id of every edge
        evaluation (its books or prices changed). The hook records and returns; never awaits."""
        self.edges.on_evaluate = hook

    def set_tap(self, tap: MarketTap | None) -> None:
        """The paper venue is built after the engine (it needs the running books): it joins
        here, once, before any order rests."""
        self.tap = tap

    # -- the state's tables, for tests and diagnostics (production code reads ``market``) ---

    events = _table("_events")
    pricing = _table("_pricing")
    rejected = _table("_rejected")

    @property
    def min_edge(self) -> float:
        return self.edges.min_edge

    @property
    def max_forecast_age(self) -> float:
        return self.market.max_forecast_age

    @max_forecast_age.setter
    def max_forecast_age(self, seconds: float) -> None:  # a config reload
        self.market.max_forecast_age = seconds
        self._recheck.update(self.tokens)  # a longer age may make stale prices fresh again

    # -- catalogue and prices -------------------------------------------------------------

    def set_events(self, events: Iterable[TemperatureEvent]) -> tuple[list[str], list[str]]:
        """Replace the catalogue. Returns (tokens added, tokens removed) for the stream.

        A token keeps its owner: an event claiming ids another event holds is left out, never
        re-mapped (discovery already checks; ``rejected`` says why when it did not).
        """
        market = self.market
        added, removed = market.replace_catalogue(
            events, lambda token: self._close(token, "market no longer listed", None)
        )
        self.tokens = market._tokens
        for slug, reason in market.rejected():
            self._log("catalogue", "event %s left out of the catalogue: %s", slug, reason)
        self._recheck.update(self.tokens)  # a market's fee or id may have changed
        return added, removed

    def set_pricing(self, event_id: str, pricing: Pricing) -> None:
        """New probabilities for an event: re-evaluate its edges now, not at the next tick."""
        event = self.market.event(event_id)
        if event is None:
            return
        self.market._pricing[event_id] = pricing
        for market in event.markets:
            self._evaluate(event, market, None)

    def reprice_observed(self, event_id: str, pricing: Pricing, recv_ns: int) -> int | None:
        """New probabilities after a report moved the day's running extreme.

        Like :meth:`set_pricing`, but edges opened here carry their latency from ``recv_ns`` (when
        the report was in hand). Returns that latency in µs, None for an unknown event.
        """
        event = self.market.event(event_id)
        if event is None:
            return None
        self.market._pricing[event_id] = pricing
        for market in event.markets:
            self._evaluate(event, market, recv_ns)
        return (self.clock.perf_ns() - recv_ns) // 1000

    def clear_pricing(self, event_id: str, reason: str) -> None:
        self.market._pricing.pop(event_id, None)
        event = self.market.event(event_id)
        if event is not None:
            for market in event.markets:
                self._close(market.yes_token, reason, None)
                self._close(market.no_token, reason, None)

    def set_thresholds(
        self, min_edge: float, hysteresis: float, ladder_min_edge: float, reason: str
    ) -> None:
        """New thresholds in force at once (a config reload): every open episode and every priced
        event is re-evaluated now, closing and opening with ``reason``; books stay as they are."""
        with self.edges.opened_because(reason):
            self.edges.retune(min_edge, hysteresis, reason)
            self.ladders.retune(ladder_min_edge, reason)
            for event in self.market.events().values():
                for market in event.markets:
                    self._evaluate(event, market, None)
                self.ladders.evaluate(event, None)

    def evaluate_ladder(self, event: TemperatureEvent, recv_ns: int | None = None) -> None:
        self.ladders.evaluate(event, recv_ns)

    # -- feed hooks -----------------------------------------------------------------------

    def on_connected(self, tokens: Iterable[str] | None = None) -> None:
        """A socket opened: its tokens wait for that socket's own snapshot before deltas apply.

        A REST-seeded book (polling fallback) stays priced until the snapshot replaces it.
        """
        self.counters["connects"] += 1
        for token in self.books if tokens is None else tokens:
            book = self.books.get(token)
            if book is not None:
                book.ws = False

    def on_disconnected(self, reason: str, tokens: Iterable[str] | None = None) -> None:
        """A lost socket means its books may have missed deltas: trust none until re-seeded."""
        for token in list(self.books if tokens is None else tokens):
            book = self.books.get(token)
            if book is not None:
                book.unsync()
            self._close(token, f"feed lost: {reason}", None)
        self.ladders.unsynced(self.books if tokens is None else tokens)

    def mark_stale(self, tokens: Iterable[str], reason: str) -> int:
        """The watchdog found these books stale: unsync them and close their edges."""
        tokens = list(tokens)
        n = 0
        for token in tokens:
            book = self.books.get(token)
            if book is not None:
                book.unsync()
                n += 1
            self._close(token, f"book stale: {reason}", None)
        self.counters["stale_books"] += n
        self.ladders.unsynced(tokens)
        return n

    def stop(self, reason: str = "daemon stopped") -> None:
        """Close every open episode: nobody watches the book once the daemon is gone."""
        self._recheck.update(self.tokens)  # closed with their edges still there
        self.edges.close_all(reason)
        self.ladders.close_all(reason)

    def status(self) -> dict[str, object]:
        market = self.market
        counters = dict(self.counters)
        counters["frames"] = self.frames
        counters["events"] = self.messages
        return {
            "events": len(market.events()),
            "tokens": market.token_count(),
            "books_synced": market.synced_count(),
            "priced_events": market.priced_count(),
            "open_edges": len(self.tracker.open_keys()),
            "counters": counters,
            "bad_frames": dict(self.bad_frames),
            "latency": self.latency.summary(),
        }
