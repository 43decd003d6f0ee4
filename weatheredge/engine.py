"""The hot path: WebSocket frame -> local books -> edge decision.

Everything here is synchronous and in memory. Decisions leave through ``emit`` (a callback that
only enqueues: the store and the notifier drain their queues on their own tasks), so a frame is
never held up by the disk, the network or a notification.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from weatheredge.model.book import OrderBook
from weatheredge.model.edge import Change, EpisodeEvent, EpisodeTracker, Quote, Side, quote
from weatheredge.model.market import BucketMarket, TemperatureEvent
from weatheredge.model.prices import to_micros
from weatheredge.polymarket import wire

logger = logging.getLogger(__name__)

_LOG_EVERY_S = 30.0  # rate limit for repeated bad-input log lines, per kind


@dataclass(frozen=True, slots=True)
class TokenRef:
    event: TemperatureEvent
    market: BucketMarket
    side: Side


@dataclass(frozen=True, slots=True)
class Pricing:
    probs: dict[str, float]  # market_id -> probability that YES pays
    forecast_id: int | None
    issued_mono: float  # time.monotonic() when the forecast was fetched


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


class Engine:
    def __init__(
        self,
        *,
        min_edge: float,
        hysteresis: float,
        max_forecast_age: float,
        emit: Callable[[EdgeSignal], None],
    ) -> None:
        self._emit = emit
        self.max_forecast_age = max_forecast_age
        self.tracker = EpisodeTracker(min_edge, hysteresis)
        self.tokens: dict[str, TokenRef] = {}
        self.books: dict[str, OrderBook] = {}
        self.events: dict[str, TemperatureEvent] = {}
        self.pricing: dict[str, Pricing] = {}
        self._edge_ids: dict[str, str] = {}
        self.counters: Counter[str] = Counter()
        self.bad_frames: Counter[str] = Counter()
        self._last_log: dict[str, float] = {}
        self.last_frame_at: float | None = None

    # -- catalogue ------------------------------------------------------------------------

    def set_events(self, events: Iterable[TemperatureEvent]) -> tuple[list[str], list[str]]:
        """Replace the catalogue. Returns (tokens added, tokens removed) for the stream."""
        new_events = {e.event_id: e for e in events}
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

    # -- stream hooks ---------------------------------------------------------------------

    def on_connected(self) -> None:
        self.counters["connects"] += 1

    def on_disconnected(self, reason: str) -> None:
        """A lost socket means every book may have missed deltas: trust none until re-seeded."""
        for token, book in self.books.items():
            book.unsync()
            self._close(token, f"feed lost: {reason}", None)

    def stop(self, reason: str = "daemon stopped") -> None:
        """Close every open episode: nobody watches the book once the daemon is gone."""
        for token in self.tracker.open_keys():
            self._close(token, reason, None)

    def on_frame(self, data: str | bytes, recv_ns: int) -> None:
        self.last_frame_at = time.monotonic()
        self.counters["frames"] += 1
        decoded = wire.decode_market_frame(data)
        for error in decoded.errors:
            self._bad(error.kind, error.sample)
        touched: dict[str, tuple[TemperatureEvent, BucketMarket]] = {}
        for msg in decoded.events:
            self.counters["events"] += 1
            try:
                self._apply(msg, touched)
            except ValueError as err:
                self._bad("invalid_value", f"{type(msg).__name__}: {err}")
        for event, market in touched.values():
            self._evaluate(event, market, recv_ns)

    def on_rest_books(self, books: Iterable[wire.RestBook], recv_ns: int) -> None:
        """Apply REST snapshots (polling fallback): each replaces the local book."""
        touched: dict[str, tuple[TemperatureEvent, BucketMarket]] = {}
        for book in books:
            ref = self.tokens.get(book.asset_id)
            if ref is None:
                continue
            try:
                self.books[book.asset_id].replace(
                    wire.levels_to_micros(book.bids),
                    wire.levels_to_micros(book.asks),
                    int(book.timestamp),
                )
            except ValueError as err:
                self._bad("invalid_value", f"RestBook {book.asset_id}: {err}")
                continue
            touched[ref.market.market_id] = (ref.event, ref.market)
        for event, market in touched.values():
            self._evaluate(event, market, recv_ns)

    # -- internals ------------------------------------------------------------------------

    def _apply(self, msg: wire.MarketEvent, touched: dict) -> None:
        if isinstance(msg, wire.BookEvent):
            ref = self.tokens.get(msg.asset_id)
            if ref is None:
                return
            book = self.books[msg.asset_id]
            book.replace(
                wire.levels_to_micros(msg.bids), wire.levels_to_micros(msg.asks), int(msg.timestamp)
            )
            touched[ref.market.market_id] = (ref.event, ref.market)
        elif isinstance(msg, wire.PriceChangeEvent):
            ts = int(msg.timestamp)
            for change in msg.price_changes:
                ref = self.tokens.get(change.asset_id)
                if ref is None:
                    continue
                book = self.books[change.asset_id]
                if not book.synced:
                    continue  # a delta before the snapshot would corrupt the book
                book.set_level(
                    change.side == "BUY", to_micros(change.price), to_micros(change.size), ts
                )
                touched[ref.market.market_id] = (ref.event, ref.market)
        elif isinstance(msg, wire.TickSizeChangeEvent):
            book = self.books.get(msg.asset_id)
            if book is not None:
                book.tick = to_micros(msg.new_tick_size)
        elif isinstance(msg, wire.MarketResolvedEvent):
            for token in msg.assets_ids:
                self._close(token, "market resolved", None)

    def _evaluate(self, event: TemperatureEvent, market: BucketMarket, recv_ns: int | None) -> None:
        pricing = self.pricing.get(event.event_id)
        prob: float | None = None
        reason = "no forecast"
        if pricing is not None:
            if time.monotonic() - pricing.issued_mono > self.max_forecast_age:
                reason = "forecast stale"
            else:
                prob = pricing.probs.get(market.market_id)
        for side, token in ((Side.YES, market.yes_token), (Side.NO, market.no_token)):
            book = self.books.get(token)
            if prob is None:
                self._close(token, reason, recv_ns)
            elif book is None or not book.synced:
                self._close(token, "book not synced", recv_ns)
            elif book.crossed():
                self._close(token, "book crossed", recv_ns)
            else:
                p = prob if side is Side.YES else 1.0 - prob
                q = quote(side, p, book.best_ask(), market.fee_rate)
                self._publish(self.tracker.observe(token, q), recv_ns, pricing)

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
        if ev.change is Change.OPEN:
            self._edge_ids[ev.key] = uuid.uuid4().hex
        edge_id = self._edge_ids.get(ev.key, "")
        if ev.change is Change.CLOSE:
            self._edge_ids.pop(ev.key, None)
        latency = None if recv_ns is None else (time.perf_counter_ns() - recv_ns) // 1000
        self.counters[f"edges_{ev.change.value}"] += 1
        self._emit(
            EdgeSignal(
                change=ev.change,
                edge_id=edge_id,
                event=ref.event,
                market=ref.market,
                side=ref.side,
                quote=ev.quote,
                forecast_id=pricing.forecast_id if pricing else None,
                latency_us=latency,
                at=dt.datetime.now(dt.UTC),
                reason=ev.reason,
            )
        )

    def _bad(self, kind: str, sample: str) -> None:
        self.bad_frames[kind] += 1
        now = time.monotonic()
        if now - self._last_log.get(kind, -_LOG_EVERY_S) >= _LOG_EVERY_S:
            self._last_log[kind] = now
            logger.warning(
                "dropped bad market frame (%s, %d so far): %.200s",
                kind,
                self.bad_frames[kind],
                sample,
            )

    def status(self) -> dict[str, object]:
        synced = sum(1 for b in self.books.values() if b.synced)
        return {
            "events": len(self.events),
            "tokens": len(self.tokens),
            "books_synced": synced,
            "priced_events": len(self.pricing),
            "open_edges": len(self.tracker.open_keys()),
            "counters": dict(self.counters),
            "bad_frames": dict(self.bad_frames),
        }
