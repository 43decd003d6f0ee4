"""The hot path: WebSocket frame -> local books -> edge decision.

Everything here is synchronous and in memory. Decisions leave through ``emit`` (a callback that
only enqueues: the store and the notifier drain their queues on their own tasks), so a frame is
never held up by the disk, the network or a notification.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import msgspec

from weatheredge.clock import SYSTEM, Clock
from weatheredge.metrics_core import LatencyHistogram
from weatheredge.model.book import NO_ASK, NO_BID, OrderBook
from weatheredge.model.catalogue import unique_owners
from weatheredge.model.edge import Change, EpisodeEvent, EpisodeTracker, Quote, Side
from weatheredge.model.ladder import LadderLeg, LadderSide, ladder_quotes
from weatheredge.model.live import AWAITING_REPORTS
from weatheredge.model.market import BucketMarket, TemperatureEvent
from weatheredge.model.prices import MAX_SIZE_MICROS, MICRO, from_micros, to_micros
from weatheredge.polymarket import wire
from weatheredge.ratelog import RateLimitedLog

logger = logging.getLogger(__name__)

_LOG_EVERY_S = 30.0  # rate limit for repeated bad-input log lines, per kind
_PX_CACHE_MAX = 1 << 16  # decimal text -> micro-units memo (prices repeat; sizes mostly do)
DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024

_PriceChangeEvent = wire.PriceChangeEvent
_BookEvent = wire.BookEvent
_YES, _NO = Side.YES, Side.NO


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


@dataclass(frozen=True, slots=True)
class EdgeSignal:
    """One change of one edge episode, ready to be stored and notified."""

    change: Change
    edge_id: str
    event: TemperatureEvent
    market: BucketMarket
    side: Side
    quote: Quote | None
    forecast_id: int | None
    latency_us: int | None
    at: dt.datetime
    reason: str = ""
    kind: str = "bucket"  # "ladder": a model-free arbitrage across the whole event


class Engine:
    """Books and edge episodes for every subscribed token; fed by the feed, synchronously.

    Hooks the feed sets: ``on_desync(token, reason)`` when a book can no longer be trusted
    (top of book differs from the venue's ``best_bid``/``best_ask``, an out-of-order delta, a
    snapshot that could not be applied): the feed reconnects that token's socket for a fresh
    snapshot. ``on_resolved(tokens)`` when the venue says a market resolved: the feed
    unsubscribes them.
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
    ) -> None:
        self._emit = emit
        self.clock = clock  # every time read of the engine, and of the jobs that price it
        self.max_forecast_age = max_forecast_age
        self.max_frame_bytes = max_frame_bytes
        self.min_edge = min_edge
        self.tracker = EpisodeTracker(min_edge, hysteresis)
        self.tokens: dict[str, TokenRef] = {}
        self.books: dict[str, OrderBook] = {}
        self.events: dict[str, TemperatureEvent] = {}
        self.rejected: list[tuple[str, str]] = []  # (slug, reason) left out by set_events
        self.pricing: dict[str, Pricing] = {}
        self._edge_ids: dict[str, str] = {}
        self.counters: Counter[str] = Counter()
        self.bad_frames: Counter[str] = Counter()
        self._log = RateLimitedLog(logger, _LOG_EVERY_S)
        self._px: dict[str, int] = {}
        self.frames = 0  # plain ints on the hot path; merged into counters by status()
        self.messages = 0
        self.latency = LatencyHistogram()
        self.on_desync: Callable[[str, str], None] | None = None
        self.on_resolved: Callable[[list[str]], None] | None = None
        # Maker mode (issue 14): told the event id of every edge evaluation (books or prices
        # changed); records and returns, it never awaits.
        self.on_evaluate: Callable[[str], None] | None = None
        # Last trade per token as the venue printed it (exact text), for the status page.
        self.last_trades: dict[str, str] = {}
        # event_id -> market_id the venue resolved YES, from market_resolved frames; the
        # settlement job cross-checks ours against it before asking Gamma.
        self.venue_winners: dict[str, str] = {}
        # Ladder arbitrage (issue 4): its own episodes, keyed "ladder:<event>:<direction>".
        self.ladder_tracker = EpisodeTracker(min_edge, hysteresis)
        self._ladder_ids: dict[str, str] = {}
        self._ladder_seen: dict[str, int] = {}  # event_id -> recv_ns of the last evaluation
        # Events whose YES top of book (price or size) moved since their ladder was evaluated:
        # a ladder depends on nothing else, so the others are skipped on the hot path.
        self._ladder_dirty: set[str] = set()

    # -- catalogue ------------------------------------------------------------------------

    def set_events(self, events: Iterable[TemperatureEvent]) -> tuple[list[str], list[str]]:
        """Replace the catalogue. Returns (tokens added, tokens removed) for the stream.

        A token keeps its owner: an event claiming ids another event holds is left out, never
        re-mapped (discovery already checks; ``rejected`` says why when it did not).
        """
        kept, self.rejected = unique_owners(events, self.owner_of)
        for slug, reason in self.rejected:
            self._log("catalogue", "event %s left out of the catalogue: %s", slug, reason)
        new_events = {e.event_id: e for e in kept}
        old_tokens = set(self.tokens)
        tokens: dict[str, TokenRef] = {}
        for event in new_events.values():
            for market in event.markets:
                tokens[market.yes_token] = TokenRef(event, market, Side.YES)
                tokens[market.no_token] = TokenRef(event, market, Side.NO)
        removed = [t for t in old_tokens if t not in tokens]
        for token in removed:
            self._close(token, "market no longer listed", None)
            self.books.pop(token, None)
        for event_id in list(self.pricing):
            if event_id not in new_events:
                del self.pricing[event_id]
        for token, ref in tokens.items():
            self.books.setdefault(token, OrderBook(ref.market.tick))
        self.tokens = tokens
        self.events = new_events
        return [t for t in tokens if t not in old_tokens], removed

    def owner_of(self, token: str) -> str | None:
        """The event id that owns ``token`` in the current catalogue."""
        ref = self.tokens.get(token)
        return ref.event.event_id if ref is not None else None

    def group_of(self, token: str) -> str:
        """The event a token belongs to (the feed keeps an event's tokens on one socket)."""
        ref = self.tokens.get(token)
        return ref.event.event_id if ref is not None else token

    def set_pricing(self, event_id: str, pricing: Pricing) -> None:
        """New probabilities for an event: re-evaluate its edges now, not at the next tick."""
        event = self.events.get(event_id)
        if event is None:
            return
        self.pricing[event_id] = pricing
        for market in event.markets:
            self._evaluate(event, market, None)

    def clear_pricing(self, event_id: str, reason: str) -> None:
        self.pricing.pop(event_id, None)
        event = self.events.get(event_id)
        if event is not None:
            for market in event.markets:
                self._close(market.yes_token, reason, None)
                self._close(market.no_token, reason, None)

    def set_thresholds(
        self, min_edge: float, hysteresis: float, ladder_min_edge: float, reason: str
    ) -> None:
        """New thresholds in force at once (a config reload): every open episode and every priced
        event is re-evaluated now, closing and opening with ``reason``; books stay as they are."""
        self.min_edge = min_edge
        emit = self._emit

        def tagged(signal: EdgeSignal) -> None:  # an open says why it opened now
            opened = signal.change is Change.OPEN and not signal.reason
            emit(dataclasses.replace(signal, reason=reason) if opened else signal)

        self._emit = tagged
        try:
            for ev in self.tracker.retune(min_edge, hysteresis, reason):
                ref = self.tokens.get(ev.key)
                self._publish(ev, None, self.pricing.get(ref.event.event_id) if ref else None)
            # Ladder hysteresis is half its threshold, as the daemon builds the tracker.
            for ev in self.ladder_tracker.retune(ladder_min_edge, ladder_min_edge / 2, reason):
                _, event_id, direction = ev.key.split(":", 2)
                if (event := self.events.get(event_id)) is not None:
                    self._publish_ladder(event, LadderSide(direction), ev, None)
            for event in self.events.values():
                for market in event.markets:
                    self._evaluate(event, market, None)
                self.evaluate_ladder(event, None)
        finally:
            self._emit = emit

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
        self._unsynced_ladders(self.books if tokens is None else tokens)

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
        self._unsynced_ladders(tokens)
        return n

    def _unsynced_ladders(self, tokens: Iterable[str]) -> None:
        """Ladders with an open episode and a leg that lost its book: close them now."""
        if not self.ladder_tracker.open_keys():
            return
        events = {ref.event.event_id for t in tokens if (ref := self.tokens.get(t)) is not None}
        for event_id in events:
            event = self.events.get(event_id)
            if event is not None:
                self._ladder_dirty.discard(event_id)
                self.evaluate_ladder(event, None)

    def stop(self, reason: str = "daemon stopped") -> None:
        """Close every open episode: nobody watches the book once the daemon is gone."""
        for token in self.tracker.open_keys():
            self._close(token, reason, None)
        self.close_ladders(reason)

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
        touched: dict[str, TokenRef] = {}
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
            self._evaluate(ref.event, ref.market, recv_ns)
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
            touched[ref.market.yes_token] = ref
            best = change.best_bid
            if best is not None and (px.get(best) or self._micros(best)) != book.bid_px:
                self._desync(token, f"best bid {best} differs from ours")
                continue
            best = change.best_ask
            if best is not None and (px.get(best) or self._micros(best)) != book.ask_px:
                self._desync(token, f"best ask {best} differs from ours")

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
        elif isinstance(msg, wire.TickSizeChangeEvent):
            book = self.books.get(msg.asset_id)
            if book is not None:
                tick = self._micros(msg.new_tick_size)
                if not 0 < tick < MICRO:
                    raise ValueError(f"tick {msg.new_tick_size!r} out of range")
                book.tick = tick
        elif isinstance(msg, wire.LastTradePriceEvent):
            self._last_trade(msg.asset_id, msg.price)
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
        self._unsynced_ladders([token])
        if self.on_desync is not None:
            self.on_desync(token, reason)

    def _evaluate(self, event: TemperatureEvent, market: BucketMarket, recv_ns: int | None) -> None:
        if self.on_evaluate is not None:
            self.on_evaluate(event.event_id)
        pricing = self.pricing.get(event.event_id)
        prob: float | None = None
        reason = "no forecast"
        if pricing is not None:
            if self.clock.monotonic() - pricing.issued_mono > self.max_forecast_age:
                reason = "forecast stale"
            elif pricing.blind_after is not None and self.clock.time() >= pricing.blind_after:
                reason = AWAITING_REPORTS
            else:
                prob = pricing.probs.get(market.market_id)
        is_open = self.tracker.is_open
        rate = market.fee_rate
        for side, token in ((_YES, market.yes_token), (_NO, market.no_token)):
            book = self.books.get(token)
            if prob is None:
                if is_open(token):
                    self._close(token, reason, recv_ns)
                continue
            if book is None or not book.synced:
                if is_open(token):
                    self._close(token, "book not synced", recv_ns)
                continue
            bid, ask = book.bid_px, book.ask_px
            if bid != NO_BID and ask != NO_ASK and bid >= ask:
                if is_open(token):
                    self._close(token, "book crossed", recv_ns)
                continue
            p = prob if side is _YES else 1.0 - prob
            if ask == NO_ASK:
                q = None
            else:
                a = ask / MICRO
                edge = p - a - rate * a * (1.0 - a)  # model.edge.buy_edge, inlined
                if edge < self.min_edge and not is_open(token):
                    continue  # nothing opens, nothing to update
                q = Quote(side, ask, book.asks[ask], p, edge)
            self._publish(self.tracker.observe(token, q), recv_ns, pricing)
        self._evaluate_ladder(event, recv_ns)

    # -- observations and ladders (issue 4) ---------------------------------------------------

    def reprice_observed(self, event_id: str, pricing: Pricing, recv_ns: int) -> int | None:
        """New probabilities after a report moved the day's running extreme.

        Like :meth:`set_pricing`, but edges opened here carry their latency from ``recv_ns`` (when
        the report was in hand). Returns that latency in µs, None for an unknown event.
        """
        event = self.events.get(event_id)
        if event is None:
            return None
        self.pricing[event_id] = pricing
        for market in event.markets:
            self._evaluate(event, market, recv_ns)
        return (self.clock.perf_ns() - recv_ns) // 1000

    def _evaluate_ladder(self, event: TemperatureEvent, recv_ns: int | None) -> None:
        """Once per book change of an event (not on a pricing change: the ladder has no model)."""
        if recv_ns is None or self._ladder_seen.get(event.event_id) == recv_ns:
            return
        if event.event_id not in self._ladder_dirty:
            return  # no YES top of book of this event moved: its ladder cannot have changed
        self._ladder_dirty.discard(event.event_id)
        self._ladder_seen[event.event_id] = recv_ns
        self.evaluate_ladder(event, recv_ns)

    def evaluate_ladder(self, event: TemperatureEvent, recv_ns: int | None = None) -> None:
        """Sum of best YES asks (+ fees) below 1, or of best YES bids (- fees) above 1."""
        books = self.books
        if not self._ladder_may_matter(event):
            return
        legs: list[LadderLeg] = []
        why = ""
        if len(event.markets) < 2 or not all(m.neg_risk for m in event.markets):
            why = "not a neg-risk ladder"
        for market in event.markets:
            if why:
                break
            book = books.get(market.yes_token)
            if book is None or not book.synced:
                why = "book not synced"
            elif book.crossed():
                why = "book crossed"
            else:
                legs.append(LadderLeg(book.best_bid(), book.best_ask(), market.fee_rate))
        quotes = {} if why else {q.side: q for q in ladder_quotes(legs)}
        for direction in LadderSide:
            key = f"ladder:{event.event_id}:{direction.value}"
            lq = quotes.get(direction)
            if lq is None:
                ev = self.ladder_tracker.close(key, why or "a leg has no quote")
            else:
                side = Side.YES if direction is LadderSide.BUY else Side.NO
                q = Quote(side, lq.total, lq.size, 1.0, lq.edge)
                ev = self.ladder_tracker.observe(key, q)
            self._publish_ladder(event, direction, ev, recv_ns)

    def _ladder_may_matter(self, event: TemperatureEvent) -> bool:
        """Hot-path bound (issue 3): with no ladder episode open, skip the full evaluation when
        neither direction could reach the threshold even before fees (fees only lower it)."""
        tracker = self.ladder_tracker
        prefix = f"ladder:{event.event_id}:"
        if tracker.is_open(prefix + LadderSide.BUY.value) or tracker.is_open(
            prefix + LadderSide.SELL.value
        ):
            return True
        books = self.books
        asks = bids = 0
        for market in event.markets:
            book = books.get(market.yes_token)
            if book is None or not book.synced:
                return False  # nothing open, nothing can open
            asks += book.ask_px  # NO_ASK is huge: an empty side rules the buy direction out
            bids += book.bid_px if book.bid_px != NO_BID else -(1 << 62)
        threshold = tracker.min_edge * MICRO
        return MICRO - asks >= threshold or bids - MICRO >= threshold

    def close_ladders(self, reason: str) -> None:
        for key in self.ladder_tracker.open_keys():
            _, event_id, direction = key.split(":", 2)
            event = self.events.get(event_id)
            ev = self.ladder_tracker.close(key, reason)
            if event is not None:
                self._publish_ladder(event, LadderSide(direction), ev, None)
            else:
                self._ladder_ids.pop(key, None)

    def _publish_ladder(
        self,
        event: TemperatureEvent,
        direction: LadderSide,
        ev: EpisodeEvent | None,
        recv_ns: int | None,
    ) -> None:
        if ev is None:
            return
        self.counters[f"ladder_{ev.change.value}"] += 1
        side = Side.YES if direction is LadderSide.BUY else Side.NO
        edge_id = _episode_id(self._ladder_ids, ev)
        self._signal(ev, edge_id, event, ladder_market(event), side, None, recv_ns, "ladder")

    def _close(self, token: str, reason: str, recv_ns: int | None) -> None:
        self._publish(self.tracker.close(token, reason), recv_ns, None)

    def _publish(
        self, ev: EpisodeEvent | None, recv_ns: int | None, pricing: Pricing | None
    ) -> None:
        if ev is None:
            return
        ref = self.tokens.get(ev.key)
        if ref is None:
            self._edge_ids.pop(ev.key, None)
            return
        self.counters[f"edges_{ev.change.value}"] += 1
        forecast_id = pricing.forecast_id if pricing else None
        edge_id = _episode_id(self._edge_ids, ev)
        self._signal(ev, edge_id, ref.event, ref.market, ref.side, forecast_id, recv_ns, "bucket")

    def _signal(
        self,
        ev: EpisodeEvent,
        edge_id: str,
        event: TemperatureEvent,
        market: BucketMarket,
        side: Side,
        forecast_id: int | None,
        recv_ns: int | None,
        kind: str,
    ) -> None:
        latency = None if recv_ns is None else (self.clock.perf_ns() - recv_ns) // 1000
        self._emit(
            EdgeSignal(
                change=ev.change,
                edge_id=edge_id,
                event=event,
                market=market,
                side=side,
                quote=ev.quote,
                forecast_id=forecast_id,
                latency_us=latency,
                at=self.clock.now(),
                reason=ev.reason,
                kind=kind,
            )
        )

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
        synced = sum(1 for b in self.books.values() if b.synced)
        counters = dict(self.counters)
        counters["frames"] = self.frames
        counters["events"] = self.messages
        return {
            "events": len(self.events),
            "tokens": len(self.tokens),
            "books_synced": synced,
            "priced_events": len(self.pricing),
            "open_edges": len(self.tracker.open_keys()),
            "counters": counters,
            "bad_frames": dict(self.bad_frames),
            "latency": self.latency.summary(),
        }


_decode = wire.decode_fast


def _episode_id(ids: dict[str, str], ev: EpisodeEvent) -> str:
    """The id of ``ev``'s episode: minted when it opens, forgotten when it closes."""
    if ev.change is Change.OPEN:
        ids[ev.key] = uuid.uuid4().hex
    return ids.pop(ev.key, "") if ev.change is Change.CLOSE else ids.get(ev.key, "")


def ladder_market(event: TemperatureEvent) -> BucketMarket:
    """A stand-in market naming a whole-ladder trade (buy every YES, or every NO)."""
    first = event.markets[0]
    return BucketMarket(
        market_id=f"{event.event_id}:ladder",
        condition_id=first.condition_id,
        label=f"ladder ({len(event.markets)} buckets)",
        bucket=first.bucket,
        yes_token=f"ladder:{event.event_id}:{LadderSide.BUY.value}",
        no_token=f"ladder:{event.event_id}:{LadderSide.SELL.value}",
        tick=first.tick,
        min_size=first.min_size,
        fee_rate=first.fee_rate,
        neg_risk=True,
        accepting_orders=all(m.accepting_orders for m in event.markets),
    )
