"""Venue messages -> local books: the Engine's hot path (a mixin of ``engine.Engine``).

A frame is decoded once (:meth:`FrameApplier.on_frame`), its messages applied to the books and
the markets they touched re-decided. Bad input is counted by kind and dropped; a book that can
no longer be trusted is unsynced and its edges closed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable
from typing import Any, Protocol

import msgspec

from weatheredge.clock import Clock
from weatheredge.live import TokenRef
from weatheredge.metrics_core import LatencyHistogram
from weatheredge.model.book import OrderBook
from weatheredge.model.edge import EpisodeTracker, Side
from weatheredge.model.market import TemperatureEvent
from weatheredge.model.prices import MAX_SIZE_MICROS, MICRO, from_micros, to_micros
from weatheredge.polymarket import wire
from weatheredge.ratelog import RateLimitedLog

_PX_CACHE_MAX = 1 << 16  # decimal text -> micro-units memo (prices repeat; sizes mostly do)
DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024

_decode = wire.decode_fast
_PriceChangeEvent = wire.PriceChangeEvent
_BookEvent = wire.BookEvent
_YES = Side.YES


class MarketTap(Protocol):
    """Who watches trade prints and level changes of a few tokens (the paper venue's resting
    orders): told only about ``watched`` tokens, so it costs nothing when none is watched."""

    watched: Collection[str]

    def on_print(self, token: str, price: int, size: int, taker_buying: bool) -> None: ...

    def on_level(self, token: str) -> None: ...


class FrameApplier:
    """What a venue message does to the books; the Engine's state is set up by its ``__init__``."""

    tap: MarketTap | None
    clock: Clock
    max_frame_bytes: int
    on_desync: Callable[[str, str], None] | None
    on_resolved: Callable[[list[str]], None] | None
    tracker: EpisodeTracker
    tokens: dict[str, TokenRef]
    books: dict[str, OrderBook]
    last_trades: dict[str, str]
    venue_winners: dict[str, str]
    counters: Counter[str]
    bad_frames: Counter[str]
    frames: int
    messages: int
    latency: LatencyHistogram
    _log: RateLimitedLog
    _px: dict[str, int]
    _recheck: set[str]
    _ladder_dirty: set[str]
    _evaluate: Callable[..., None]
    _ladder_check: Callable[[TemperatureEvent, int | None], None]
    _close: Callable[[str, str, int | None], None]
    ladders: Any

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
        self.messages += len(events)
        for msg in events:
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
        tokens, books, px, dirty = self.tokens, self.books, self._px, self._ladder_dirty
        micros = self._micros
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
                price = micros(change.price)
            size = px.get(change.size)
            if size is None:
                size = micros(change.size)
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
                dirty.add(ref.event.event_id)
            book.seen_ns = recv_ns
            if tap is not None and token in tap.watched:
                tap.on_level(token)
            key = ref.market.yes_token
            if top or self._undecided(ref, key):
                touched[key] = ref
            elif key not in touched:
                touched[key] = ref.event
            best = change.best_bid
            if best is not None and (px.get(best) or micros(best)) != book.bid_px:
                self._desync(token, f"best bid {best} differs from ours")
                continue
            best = change.best_ask
            if best is not None and (px.get(best) or micros(best)) != book.ask_px:
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
