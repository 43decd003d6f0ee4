"""Maker quotes (issue 14): where to rest a post-only bid, and when to move it. Pure, exact.

A quote buys one outcome token below our probability ``p`` of it paying 1: at most
``p - margin`` (the NO token's ``p`` is ``1 - p(YES)``), on the tick grid, one tick under the
best ask so that it can never take (the venue rejects a crossing post-only order), and no
higher than one tick above the best bid of *others* (our own resting size is taken out of the
book first, or the quote would chase itself up). Makers pay no fee, so the edge per share is
``p - price`` and Kelly sizes a position target exactly as for taker entries
(:func:`weatheredge.trading.risk.size_entry`, fee rate 0).

Inventory: one event's buckets are mutually exclusive, so holding YES on one bucket is short
YES on every other one. A quote that adds risk in an event widens its margin in proportion to
how much of the event limit is already used (positions at cost plus resting bids) and stops at
the limit; a quote that offsets what is held (YES on another bucket, or the other outcome of
the same bucket) keeps the plain margin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from weatheredge.trading.risk import (
    FEE_QUANTUM,
    ONE,
    ZERO,
    Blocked,
    Exposure,
    Limits,
    Offer,
    round_to_tick,
    size_entry,
)

_M = Decimal(1_000_000)
_UNLIMITED_DEPTH = Decimal(10**9)  # a resting bid takes no offered depth

KEEP, PLACE, REPLACE, CANCEL, WAIT = "keep", "place", "replace", "cancel", "wait"


@dataclass(frozen=True, slots=True)
class Quote:
    """A bid to rest (or resting): price and size in pUSD / shares, and the fair value it was
    priced from."""

    price: Decimal
    size: Decimal
    fair: Decimal
    binding: str = field(default="", compare=False)  # the limit that set the size, if known


@dataclass(frozen=True, slots=True)
class NoQuote:
    reason: str  # why nothing should rest: stale, halted, event_limit, min_size, ...


@dataclass(frozen=True, slots=True)
class Action:
    kind: str  # keep | place | replace | cancel | wait
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Held:
    """One held position of the event: which bucket and outcome."""

    market_id: str
    outcome: str  # YES | NO


def others_best_bid(bids: Mapping[int, int], own: Quote | None) -> Decimal | None:
    """Best bid (pUSD) once our own resting size is taken out of its level (book in micros)."""
    own_px = None if own is None else int(own.price * _M)
    own_sz = 0 if own is None else int(own.size * _M)
    best: int | None = None
    for price, size in bids.items():
        if price == own_px:
            size -= own_sz
        if size > 0 and (best is None or price > best):
            best = price
    return None if best is None else Decimal(best) / _M


def quote_price(
    fair: Decimal, margin: Decimal, tick: Decimal, best_bid: Decimal | None,
    best_ask: Decimal | None,
) -> Decimal | None:  # fmt: skip
    """The bid: ``fair - margin`` on the grid, under the ask, at most one tick over others."""
    price = round_to_tick(fair - margin, tick, down=True)
    if best_ask is not None:
        price = min(price, best_ask - tick)
    if best_bid is not None:
        price = min(price, best_bid + tick)
    return price if tick <= price <= 1 - tick else None


def hedges(market_id: str, outcome: str, held: Iterable[Held]) -> bool:
    """Whether buying ``outcome`` of ``market_id`` offsets something already held in the event:
    YES on one bucket offsets YES on any other (only one bucket wins) and NO on the same one;
    NO on a bucket offsets YES on it."""
    for h in held:
        if outcome == "YES" and (h.market_id != market_id and h.outcome == "YES"):
            return True
        if h.market_id == market_id and h.outcome != outcome:
            return True
    return False


def skewed_margin(
    margin: Decimal, event_used: Decimal, event_limit: Decimal, hedging: bool
) -> Decimal | None:
    """The margin for one quote given the event's inventory; None: the event is full."""
    if hedging:
        return margin
    if event_used >= event_limit:
        return None
    return margin * (1 + max(ZERO, event_used) / event_limit)


def without(exposure: Exposure, own: Quote | None) -> Exposure:
    """Exposure as if our own resting quote were not there (a replace re-sizes it whole)."""
    if own is None:
        return exposure
    cost = own.size * own.price
    return Exposure(
        exposure.bucket - cost,
        exposure.event - cost,
        exposure.city_date - cost,
        exposure.total - cost,
        max(0, exposure.open_orders - 1),
        exposure.day_pnl,
        max(ZERO, exposure.held - own.size),
    )


def desired_quote(
    *,
    fair: Decimal,
    margin: Decimal,
    tick: Decimal,
    bids: Mapping[int, int],
    best_ask: Decimal | None,
    own: Quote | None,
    exposure: Exposure,
    limits: Limits,
    event_limit: Decimal,
    hedging: bool,
    min_size: Decimal,
) -> Quote | NoQuote:
    """Where our bid for one token should rest now, sized as a position target; ``exposure``
    includes ``own`` (it is taken out here)."""
    base = without(exposure, own)
    eff = skewed_margin(margin, base.event, event_limit, hedging)
    if eff is None:
        return NoQuote("event_limit")
    price = quote_price(fair, eff, tick, others_best_bid(bids, own), best_ask)
    if price is None:
        return NoQuote("no_price")
    offer = Offer(fair, price, _UNLIMITED_DEPTH, tick, ZERO, min_size)
    if limits.min_edge or limits.min_depth:  # the margin is the edge; a bid takes no depth
        limits = replace(limits, min_edge=ZERO, min_depth=ZERO)
    sized = size_entry(offer, base, limits, explain=False)
    if isinstance(sized, Blocked):
        return NoQuote(sized.limit)
    return Quote(sized.price, sized.size, fair, sized.binding)


def should_replace(
    current: Quote | None,
    desired: Quote | NoQuote,
    *,
    tick: Decimal,
    best_ask: Decimal | None,
    now: float,
    last_replace: float,
    min_interval: float,
) -> Action:
    """What to do with one token's resting quote.

    A pull (nothing should rest) is never delayed. Otherwise a quote is moved when the fair
    value moved by a tick or more and the quote it gives differs, when it would now cross the
    ask, when it is no longer the best bid it could be (or overbids others by more than a
    tick), or when the limits shrink it (or grow it by a fifth or more); but at most once per
    ``min_interval`` per token (``wait``: ask again later).
    """
    if current is None:
        if isinstance(desired, NoQuote):
            return Action(KEEP, desired.reason)
        if now - last_replace < min_interval:
            return Action(WAIT, "new")
        return Action(PLACE, "new")
    if isinstance(desired, NoQuote):
        return Action(CANCEL, desired.reason)
    reason = ""
    if best_ask is not None and best_ask <= current.price:
        reason = "crosses"
    elif abs(desired.fair - current.fair) >= tick and (
        desired.price != current.price or desired.size != current.size
    ):
        reason = "fair_moved"
    elif desired.price > current.price:
        reason = "not_best"
    elif desired.price < current.price:
        reason = "overbid"
    elif desired.size < current.size or desired.size - current.size >= current.size / 5:
        reason = "limits"
    if not reason:
        return Action(KEEP)
    if now - last_replace < min_interval:
        return Action(WAIT, reason)
    return Action(REPLACE, reason)


def maker_rebate(
    shares: Decimal, price: Decimal, fee_rate: Decimal, rebate_rate: Decimal
) -> Decimal:
    """Expected rebate of one maker fill: ``rebate_rate × fee_rate × p × (1 − p) × shares``,
    rounded to 5 decimals like a fee; 0 for a market without fees or a rebate rate.

    The venue pays makers ``rebate_rate`` of the day's taker fees, pro rata to each maker's
    fee-equivalent volume. Every trade has exactly one maker side, so the pool is
    ``rebate_rate ×`` all makers' fee-equivalent volume and a maker's share of it is its own
    fee-equivalent volume: in expectation this fill's own fee-equivalent times the rate. It is
    an estimate (the pool is paid daily, per market, from fees actually collected).
    """
    if shares <= 0 or fee_rate <= 0 or rebate_rate <= 0:
        return ZERO
    fee_equivalent = fee_rate * price * (ONE - price) * shares
    return (rebate_rate * fee_equivalent).quantize(FEE_QUANTUM, ROUND_HALF_UP)


@dataclass(slots=True)
class TokenBucket:
    """The venue's per-signer order and cancel buckets (refill ``rate``/s up to ``burst``)."""

    rate: float
    burst: float
    tokens: float = -1.0
    at: float = 0.0

    def take(self, now: float, n: float = 1.0) -> bool:
        if self.tokens < 0:
            self.tokens, self.at = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < n:
            return False
        self.tokens -= n
        return True
