"""Ladder arbitrage on the hot path (issue 4): the whole event's YES asks summing below 1, or its
YES bids above 1, after fees. No model is involved, so a ladder is re-evaluated on a book change
only; its episodes are keyed ``ladder:<event>:<direction>`` and leave through the Engine's
``signal`` like a bucket edge's (kind ``ladder``).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable

from weatheredge.live import MarketState
from weatheredge.model.book import NO_BID
from weatheredge.model.edge import Change, EpisodeEvent, EpisodeTracker, Quote, Side
from weatheredge.model.ladder import LadderLeg, LadderSide, ladder_quotes
from weatheredge.model.market import BucketMarket, TemperatureEvent
from weatheredge.model.prices import MICRO

_BUY, _SELL = str(LadderSide.BUY.value), str(LadderSide.SELL.value)  # not per call: enum lookups
# (episode change, episode id, event, market, side, forecast id, recv_ns, kind)
Signal = Callable[
    [EpisodeEvent, str, TemperatureEvent, BucketMarket, Side, "int | None", "int | None", str],
    None,
]


class Ladders:
    """The ladder episodes of every event; written to by the Engine's book changes."""

    def __init__(
        self, market: MarketState, tracker: EpisodeTracker, signal: Signal, counters: Counter[str]
    ) -> None:
        self.market = market
        self.tracker = tracker
        self._signal = signal
        self._counters = counters
        self._ids: dict[str, str] = {}
        self._seen: dict[str, int] = {}  # event_id -> recv_ns of the last evaluation
        # Events whose YES top of book (price or size) moved since their ladder was evaluated:
        # a ladder depends on nothing else, so the others are skipped on the hot path. The
        # Engine adds to this set directly (one set.add per top-of-book change).
        self.dirty: set[str] = set()

    def on_book_change(self, event: TemperatureEvent, recv_ns: int | None) -> None:
        """Once per book change of an event (not on a pricing change: the ladder has no model)."""
        event_id = event.event_id
        if event_id not in self.dirty:
            return  # no YES top of book of this event moved: its ladder cannot have changed
        if recv_ns is None or self._seen.get(event_id) == recv_ns:
            return
        self.dirty.discard(event_id)
        self._seen[event_id] = recv_ns
        self.evaluate(event, recv_ns)

    def evaluate(self, event: TemperatureEvent, recv_ns: int | None = None) -> None:
        """Sum of best YES asks (+ fees) below 1, or of best YES bids (- fees) above 1."""
        books = self.market._books
        if not self._may_matter(event):
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
                ev = self.tracker.close(key, why or "a leg has no quote")
            else:
                side = Side.YES if direction is LadderSide.BUY else Side.NO
                q = Quote(side, lq.total, lq.size, 1.0, lq.edge)
                ev = self.tracker.observe(key, q)
            self.publish(event, direction, ev, recv_ns)

    def _may_matter(self, event: TemperatureEvent) -> bool:
        """Hot-path bound (issue 3): with no ladder episode open, skip the full evaluation when
        neither direction could reach the threshold even before fees (fees only lower it)."""
        tracker = self.tracker
        prefix = f"ladder:{event.event_id}:"
        if tracker.is_open(prefix + _BUY) or tracker.is_open(prefix + _SELL):
            return True
        books = self.market._books
        asks = bids = 0
        for market in event.markets:
            book = books.get(market.yes_token)
            if book is None or not book.synced:
                return False  # nothing open, nothing can open
            asks += book.ask_px  # NO_ASK is huge: an empty side rules the buy direction out
            bids += book.bid_px if book.bid_px != NO_BID else -(1 << 62)
        threshold = tracker.min_edge * MICRO
        return MICRO - asks >= threshold or bids - MICRO >= threshold

    def unsynced(self, tokens: Iterable[str]) -> None:
        """Ladders with an open episode and a leg that lost its book: close them now."""
        if not self.tracker.open_keys():
            return
        tokens_ = self.market._tokens
        events = {ref.event.event_id for t in tokens if (ref := tokens_.get(t)) is not None}
        for event_id in events:
            event = self.market.event(event_id)
            if event is not None:
                self.dirty.discard(event_id)
                self.evaluate(event, None)

    def close_all(self, reason: str) -> None:
        for key in self.tracker.open_keys():
            _, event_id, direction = key.split(":", 2)
            event = self.market.event(event_id)
            ev = self.tracker.close(key, reason)
            if event is not None:
                self.publish(event, LadderSide(direction), ev, None)
            else:
                self._ids.pop(key, None)

    def retune(self, min_edge: float, reason: str) -> None:
        """A new threshold (config reload); hysteresis is half of it, as the daemon builds it."""
        for ev in self.tracker.retune(min_edge, min_edge / 2, reason):
            _, event_id, direction = ev.key.split(":", 2)
            if (event := self.market.event(event_id)) is not None:
                self.publish(event, LadderSide(direction), ev, None)

    def publish(
        self,
        event: TemperatureEvent,
        direction: LadderSide,
        ev: EpisodeEvent | None,
        recv_ns: int | None,
    ) -> None:
        if ev is None:
            return
        self._counters[f"ladder_{ev.change.value}"] += 1
        side = Side.YES if direction is LadderSide.BUY else Side.NO
        edge_id = episode_id(self._ids, ev)
        self._signal(ev, edge_id, event, ladder_market(event), side, None, recv_ns, "ladder")


def episode_id(ids: dict[str, str], ev: EpisodeEvent) -> str:
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
