"""Bucket edges on the hot path: a bucket's usable probability against its books -> episodes ->
:class:`EdgeSignal` through ``emit`` (enqueue only). The Engine calls :meth:`Edges.evaluate` for
every bucket a frame touched; ladder episodes (``ladders.py``) leave through the same
:meth:`Edges.signal`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from weatheredge.clock import Clock
from weatheredge.ladders import Ladders, episode_id
from weatheredge.live import NO_FORECAST, MarketState, Pricing
from weatheredge.model.book import NO_ASK, NO_BID
from weatheredge.model.edge import Change, EpisodeEvent, EpisodeTracker, Quote, Side
from weatheredge.model.market import BucketMarket, TemperatureEvent
from weatheredge.model.prices import MICRO

_YES, _NO = Side.YES, Side.NO


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


class Edges:
    """The bucket edge episodes of every token, keyed by the token bought."""

    def __init__(
        self,
        market: MarketState,
        tracker: EpisodeTracker,
        ladder_tracker: EpisodeTracker,
        emit: Callable[[EdgeSignal], None],
        counters: Counter[str],
        clock: Clock,
    ) -> None:
        self.market = market
        self.tracker = tracker
        self.emit = emit
        self.min_edge = tracker.min_edge
        self.clock = clock
        self._counters = counters
        self._books = market._books  # never rebound (see MarketState)
        self.ids: dict[str, str] = {}  # token -> id of its open episode
        # Ladder episodes leave through the same signal; an event's ladder is checked after
        # each of its buckets (it runs only when a YES top of book moved).
        self.ladders = Ladders(market, ladder_tracker, self.signal, counters)
        self._after = self.ladders.on_book_change
        self.on_evaluate: Callable[[str], None] | None = None  # see Engine.watch_evaluations

    def evaluate(self, event: TemperatureEvent, market: BucketMarket, recv_ns: int | None) -> None:
        if self.on_evaluate is not None:
            self.on_evaluate(event.event_id)
        pricing, reason = self.market.usable_pricing(event.event_id)
        prob = pricing.probs.get(market.market_id) if pricing is not None else None
        if prob is None and not reason:
            reason = NO_FORECAST
        is_open = self.tracker.is_open
        rate = market.fee_rate
        for side, token in ((_YES, market.yes_token), (_NO, market.no_token)):
            book = self._books.get(token)
            if prob is None:
                if is_open(token):
                    self.close(token, reason, recv_ns)
                continue
            if book is None or not book.synced:
                if is_open(token):
                    self.close(token, "book not synced", recv_ns)
                continue
            bid, ask = book.bid_px, book.ask_px
            if bid != NO_BID and ask != NO_ASK and bid >= ask:
                if is_open(token):
                    self.close(token, "book crossed", recv_ns)
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
            self.publish(self.tracker.observe(token, q), recv_ns, pricing)
        self._after(event, recv_ns)

    def close(self, token: str, reason: str, recv_ns: int | None) -> None:
        self.publish(self.tracker.close(token, reason), recv_ns, None)

    def close_all(self, reason: str) -> None:
        for token in self.tracker.open_keys():
            self.close(token, reason, None)

    def retune(self, min_edge: float, hysteresis: float, reason: str) -> None:
        """New thresholds: the open episodes they close or change leave now."""
        self.min_edge = min_edge
        for ev in self.tracker.retune(min_edge, hysteresis, reason):
            ref = self.market.ref(ev.key)
            self.publish(ev, None, self.market.pricing(ref.event.event_id) if ref else None)

    @contextlib.contextmanager
    def opened_because(self, reason: str) -> Iterator[None]:
        """Inside, an episode opened without a reason of its own says ``reason``."""
        emit = self.emit

        def tagged(signal: EdgeSignal) -> None:
            opened = signal.change is Change.OPEN and not signal.reason
            emit(dataclasses.replace(signal, reason=reason) if opened else signal)

        self.emit = tagged
        try:
            yield
        finally:
            self.emit = emit

    def publish(
        self, ev: EpisodeEvent | None, recv_ns: int | None, pricing: Pricing | None
    ) -> None:
        if ev is None:
            return
        ref = self.market.ref(ev.key)
        if ref is None:
            self.ids.pop(ev.key, None)
            return
        self._counters[f"edges_{ev.change.value}"] += 1
        forecast_id = pricing.forecast_id if pricing else None
        edge_id = episode_id(self.ids, ev)
        self.signal(ev, edge_id, ref.event, ref.market, ref.side, forecast_id, recv_ns, "bucket")

    def signal(
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
        self.emit(
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
