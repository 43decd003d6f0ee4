"""The hot path: WebSocket frame -> local books -> edge decision.

Everything here is synchronous and in memory. The Engine is the one writer of the live market
state (``weatheredge/live/``: catalogue, books, prices, venue results), which everyone else reads
through its methods (``engine.market``). Decisions leave through ``emit`` (a callback that only
enqueues: the store and the notifier drain their queues on their own tasks), so a frame is never
held up by the disk, the network or a notification. Ladder arbitrage is ``ladders.py``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from typing import Protocol

import msgspec

from weatheredge.clock import SYSTEM, Clock
from weatheredge.edges import Edges, EdgeSignal
from weatheredge.live import MarketState, Pricing, TokenRef
from weatheredge.metrics_core import LatencyHistogram
from weatheredge.model.edge import EpisodeTracker, Side
from weatheredge.model.market import TemperatureEvent
from weatheredge.model.prices import MAX_SIZE_MICROS, MICRO, from_micros, to_micros
from weatheredge.polymarket import wire
from weatheredge.ratelog import RateLimitedLog

__all__ = ["EdgeSignal", "Engine", "Pricing", "TokenRef"]

logger = logging.getLogger(__name__)

_LOG_EVERY_S = 30.0  # rate limit for repeated bad-input log lines, per kind
_PX_CACHE_MAX = 1 << 16  # decimal text -> micro-units memo (prices repeat; sizes mostly do)
DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024

_PriceChangeEvent = wire.PriceChangeEvent
_BookEvent = wire.BookEvent
_YES, _NO = Side.YES, Side.NO


def _table(name: str) -> property:
    return property(lambda engine: getattr(engine.market, name))


class MarketTap(Protocol):
    """Who watches trade prints and level changes of a few tokens (the paper venue's resting
    orders): told only about ``watched`` tokens, so it costs nothing when none is watched."""

    watched: Collection[str]

    def on_print(self, token: str, price: int, size: int, taker_buying: bool) -> None: ...

    def on_level(self, token: str) -> None: ...


class Engine:
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

    def on_frame(self, data: str | bytes, recv_ns: int) -> None:
        """Decode one WebSocket frame, apply it to the books and decide on the edges it touches."""
        self.frames += 1
        if type(data) is not str:
            self._bad("binary", repr(data[:200]))
            return
        if len(data) > self.max_frame_bytes:
            self._bad("oversize", f"{len(data)} bytes: {data[:120]}")
            return
        try:
            value = _decode(data)
        except (msgspec.DecodeError, RecursionError):  # too deep: counted by the slow path
            decoded = wire.decode_market_frame(data)
            for error in decoded.errors:
                self._bad(error.kind, error.sample)
            events: list | tuple = decoded.events
        else:
            events = value if type(value) is list else (value,)
        # market (its YES token) -> what to re-decide: the market (a TokenRef), or only its
        # event's ladder (a TemperatureEvent) for a change below the top: see _undecided.
        touched: dict[str, TokenRef | TemperatureEvent] = {}
        deltas = False
        for msg in events:
            self.messages += 1
            try:
                if type(msg) is _PriceChangeEvent:
                    deltas = True
                    self._price_change(msg, touched, recv_ns)
                else:
                    self._apply(msg, touched, recv_ns)
            except ValueError as err:
                self._bad("invalid_value", f"{type(msg).__name__}: {err}")
        for ref in touched.values():
            if type(ref) is TokenRef:
                self._evaluate(ref.event, ref.market, recv_ns)
            else:  # what _evaluate would have done after deciding nothing new on the market
                self._ladder_check(ref, recv_ns)
        if deltas:  # the start-up snapshot burst would otherwise dominate the percentiles
            self.latency.observe(self.clock.perf_ns() - recv_ns)

    def on_rest_books(self, books: Iterable[wire.RestBook], recv_ns: int) -> None:
        """Apply REST snapshots (polling fallback): each replaces the local book.

        A book already live on a socket is left alone: the socket's deltas are newer.
        """
        touched: dict[str, TokenRef] = {}
        for book in books:
            ref = self.tokens.get(book.asset_id)
            if ref is None or self._foreign(book.asset_id, book.market, ref):
                continue
            local = self.books[book.asset_id]
            if local.ws:
                continue
            try:
                bids, asks = self._levels(book.bids), self._levels(book.asks)
                ts = int(book.timestamp)
            except ValueError as err:
                self._bad("invalid_value", f"RestBook {book.asset_id}: {err}")
                continue
            if any(size > MAX_SIZE_MICROS for _, size in (*bids, *asks)):
                self._bad("absurd_size", f"RestBook {book.asset_id}")
                local.unsync()  # the venue's book is unknown now: price nothing from it
                self._close(book.asset_id, "book not synced", recv_ns)
                continue
            local.replace(bids, asks, ts, ws=False, seen_ns=recv_ns)
            self._ladder_dirty.add(ref.event.event_id)
            touched[ref.market.yes_token] = ref
            if self.tap is not None and book.asset_id in self.tap.watched:
                self.tap.on_level(book.asset_id)
        for ref in touched.values():
            self._evaluate(ref.event, ref.market, recv_ns)

    # -- internals ------------------------------------------------------------------------

    def _micros(self, text: str) -> int:
        value = self._px.get(text)
        if value is None:
            whole, dot, frac = text.partition(".")
            if (
                len(frac) <= 6
                and text.isascii()
                and (whole.isdigit() if whole else frac.isdigit())
                and (frac.isdigit() or not (dot or frac))
            ):
                value = int(whole or "0") * MICRO + (int(frac.ljust(6, "0")) if frac else 0)
            else:
                value = to_micros(text)  # the strict parser: raises ValueError if malformed
            if len(self._px) >= _PX_CACHE_MAX:
                self._px.clear()
            self._px[text] = value
        return value

    def _levels(self, levels: list[wire.Level]) -> list[tuple[int, int]]:
        micros = self._micros
        return [(micros(level.price), micros(level.size)) for level in levels]

    def _price_change(self, msg: wire.PriceChangeEvent, touched: dict, recv_ns: int) -> None:
        tokens, books, px = self.tokens, self.books, self._px
        ts = int(msg.timestamp)
        tap = self.tap if self.tap is not None and self.tap.watched else None
        for change in msg.price_changes:
            token = change.asset_id
            ref = tokens.get(token)
            if ref is None:
                continue
            book = books[token]
            if not book.ws:
                continue  # a delta before this socket's snapshot would corrupt the book
            price = px.get(change.price)
            if price is None:
                price = self._micros(change.price)
            size = px.get(change.size)
            if size is None:
                size = self._micros(change.size)
            tick = book.tick
            if price % tick or price < tick or price > MICRO - tick:
                self._bad("off_tick", f"{token}: price {change.price} tick {tick}")
                continue
            if size > MAX_SIZE_MICROS:  # dropping it would leave the level wrong: re-snapshot
                self._bad("absurd_size", f"{token}: size {change.size}")
                self._desync(token, "absurd size in a price_change")
                touched[ref.market.yes_token] = ref
                continue
            if ts < book.updated_ms:
                self._desync(token, f"out-of-order price_change ({ts} < {book.updated_ms})")
                touched[ref.market.yes_token] = ref
                continue
            if change.side == "BUY":
                top = price >= book.bid_px
                book.set_level(True, price, size, ts)
            else:
                top = price <= book.ask_px
                book.set_level(False, price, size, ts)
            if top and ref.side is _YES:
                self._ladder_dirty.add(ref.event.event_id)
            book.seen_ns = recv_ns
            if tap is not None and token in tap.watched:
                tap.on_level(token)
            key = ref.market.yes_token
            if top or self._undecided(ref, key):
                touched[key] = ref
            elif key not in touched:
                touched[key] = ref.event
            best = change.best_bid
            if best is not None and (px.get(best) or self._micros(best)) != book.bid_px:
                self._desync(token, f"best bid {best} differs from ours")
                continue
            best = change.best_ask
            if best is not None and (px.get(best) or self._micros(best)) != book.ask_px:
                self._desync(token, f"best ask {best} differs from ours")

    def _undecided(self, ref: TokenRef, key: str) -> bool:
        """Whether a change below the top of book (the best prices and the best ask's size
        unchanged) must still re-evaluate its market. Without an open episode, the last
        evaluation with this top of book opened nothing and nothing it reads has changed since
        (pricing and thresholds re-evaluate when set; a forecast that goes stale or blind only
        closes), so it would open nothing now: skipping it leaves every decision as it was.
        ``_recheck`` holds the tokens for which that may not hold (a catalogue change, a stop,
        a new forecast age). The event's ladder is still checked at the market's place in the
        frame's order."""
        recheck = self._recheck
        if key in recheck:
            recheck.discard(key)
            recheck.discard(ref.market.no_token)
            return True
        is_open = self.tracker.is_open
        return is_open(key) or is_open(ref.market.no_token)

    def _apply(self, msg: wire.MarketEvent, touched: dict, recv_ns: int) -> None:
        if type(msg) is _BookEvent:
            ref = self.tokens.get(msg.asset_id)
            if ref is None or self._foreign(msg.asset_id, msg.market, ref):
                return
            book = self.books[msg.asset_id]
            tick = self._micros(msg.tick_size) if msg.tick_size else book.tick
            bids, asks = self._levels(msg.bids), self._levels(msg.asks)
            for price, size in (*bids, *asks):
                if tick <= 0 or price % tick or price < tick or price > MICRO - tick:
                    kind, what = "off_tick", f"level {price} tick {tick}"
                elif size > MAX_SIZE_MICROS:
                    kind, what = "absurd_size", f"level {price} size {size // MICRO} shares"
                else:
                    continue
                self._bad(kind, f"book {msg.asset_id}: {what}")
                if book.synced:
                    self._desync(msg.asset_id, f"snapshot with an {kind.replace('_', '-')} level")
                touched[ref.market.yes_token] = ref
                return
            book.tick = tick
            book.replace(bids, asks, int(msg.timestamp), ws=True, seen_ns=recv_ns)
            if msg.last_trade_price:
                self._last_trade(msg.asset_id, msg.last_trade_price)
            self._ladder_dirty.add(ref.event.event_id)
            touched[ref.market.yes_token] = ref
            if self.tap is not None and msg.asset_id in self.tap.watched:
                self.tap.on_level(msg.asset_id)
        elif isinstance(msg, wire.TickSizeChangeEvent):
            book = self.books.get(msg.asset_id)
            if book is not None:
                tick = self._micros(msg.new_tick_size)
                if not 0 < tick < MICRO:
                    raise ValueError(f"tick {msg.new_tick_size!r} out of range")
                book.tick = tick
        elif isinstance(msg, wire.LastTradePriceEvent):
            self._last_trade(msg.asset_id, msg.price)
            if self.tap is not None and msg.asset_id in self.tap.watched:
                size = self._micros(msg.size)
                self.tap.on_print(msg.asset_id, self._micros(msg.price), size, msg.side == "BUY")
        elif isinstance(msg, wire.MarketResolvedEvent):
            winner = self.tokens.get(msg.winning_asset_id)
            if winner is not None and winner.side is _YES:  # a NO win only says who lost
                self.venue_winners[winner.event.event_id] = winner.market.market_id
            known = [t for t in msg.assets_ids if t in self.tokens]
            for token in msg.assets_ids:
                self._close(token, "market resolved", None)
                book = self.books.get(token)
                if book is not None:
                    book.unsync()
            if known and self.on_resolved is not None:
                self.on_resolved(known)

    def _last_trade(self, token: str, price: str) -> None:
        ref = self.tokens.get(token)
        if ref is None:
            return
        if not 0 <= self._micros(price) <= MICRO:  # raises ValueError on garbage
            raise ValueError(f"last trade price {price[:40]!r} out of range")
        if ref.side is _YES:
            self.last_trades[token] = price
        else:  # a NO print at q is a YES print at 1 - q on the mirrored book
            self.last_trades[ref.market.yes_token] = from_micros(MICRO - self._micros(price))

    def _desync(self, token: str, reason: str) -> None:
        book = self.books.get(token)
        if book is not None:
            book.unsync()
        self.counters["desyncs"] += 1
        self._close(token, f"book desynced: {reason}", None)
        self.ladders.unsynced([token])
        if self.on_desync is not None:
            self.on_desync(token, reason)

    def _foreign(self, token: str, market: str, ref: TokenRef) -> bool:
        """The venue files this book under another market than the event claiming the token:
        that event listed a token it does not own (a Gamma id can be chosen to look oldest), so
        its book is never used. The venue's snapshot is the one authority on a token's market."""
        if market == ref.market.condition_id:
            return False
        self._bad(
            "foreign_token", f"book {token}: venue market {market}, {ref.event.slug} claims it"
        )
        return True

    def _bad(self, kind: str, sample: str) -> None:
        self.bad_frames[kind] += 1
        self._log(
            kind,
            "dropped bad market frame (%s, %d so far): %.200s",
            kind,
            self.bad_frames[kind],
            sample,
        )

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


_decode = wire.decode_fast
