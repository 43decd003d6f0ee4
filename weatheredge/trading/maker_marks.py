"""Which of an event's tokens maker mode must decide again: each token's inputs when its quote
was last kept (its *mark*), and versions of the orders and positions that can change it.

A token's quote depends on its own book, fair value, resting quote, settings and limits; on
the working orders of its bucket market (its position target counts its own buy orders, the
bucket limit both outcomes); and on what its event holds (inventory skew and hedging couple
every bucket of an event, so a fill re-decides the event). Another bucket's *resting order*
moves this token's skew only by that order's share of the event limit, and cannot make it
break a limit (that order was sized against this one), so an order change on token A does not
force token B: B sees it at its next own change or at the periodic refresh. A token that a
shared limit (the event's, the city's day, the total, open orders, daily loss) blocked or
sized follows every order change and fill, as it is waiting for room.

Every mark expires after ``refresh_s`` (settlements, marks-to-market and other buckets' orders
move a token's limits or skew unseen by its versions); the maker decides expired tokens again
a few per evaluation, oldest first, after the changed tokens' requests are sent, so a refresh
of a whole ladder never lands on one book change's decision.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from weatheredge.engine import TokenRef
from weatheredge.model.quoting import NoQuote, Quote
from weatheredge.trading.orders import WorkingOrders

# Limits held by more than one token: a token they block or size waits on other tokens' orders.
SHARED_LIMITS = frozenset(
    {"daily_loss", "max_open_orders", "max_event", "max_city_date", "max_total", "event_limit"}
)
SAME, STALE, CHANGED = "same", "stale", "changed"


def shared(desired: Quote | NoQuote) -> bool:
    """Whether a decision was set by a limit other tokens' orders also use."""
    if isinstance(desired, NoQuote):
        return desired.reason in SHARED_LIMITS
    return desired.binding in SHARED_LIMITS


class Marks:
    def __init__(self, orders: WorkingOrders, refresh_s: float) -> None:
        self._orders = orders
        self._refresh_s = refresh_s
        self._orders_seen = -1
        self._by_market: dict[str, frozenset[str]] = {}  # market id -> its working intent keys
        self._held: dict[str, int] = {}  # event id -> fills applied to its tokens
        self._fills = 0  # every fill, for tokens a shared limit set
        self._seen: dict[str, tuple[tuple[Any, ...], bool, float]] = {}  # token -> mark, shared, at
        self._waiting: dict[str, str] = {}  # token a shared limit set -> its event id
        self._waited = (-1, -1)  # orders version and fills when waiting() last answered
        self._pruned = float("-inf")

    def filled(self, event_id: str | None) -> None:
        """A fill changed positions (and an order's filled size) in ``event_id``."""
        self._fills += 1
        if event_id is not None:
            self._held[event_id] = self._held.get(event_id, 0) + 1

    def _market_orders(self, market_id: str) -> frozenset[str]:
        if self._orders.version != self._orders_seen:  # rebuilt once per change of the set
            by_market: dict[str, set[str]] = {}
            for intent in self._orders.working():
                by_market.setdefault(intent.market_id or "", set()).add(intent.intent_key)
            self._by_market = {m: frozenset(keys) for m, keys in by_market.items()}
            self._orders_seen = self._orders.version
        return self._by_market.get(market_id, frozenset())

    def mark(
        self, ref: TokenRef, common: Hashable, prob: float | None, book: Hashable
    ) -> tuple[Any, ...]:
        """The token's inputs now (``common``: settings, limits and its resting quote)."""
        return (common, prob, book, self._market_orders(ref.market.market_id),
                self._held.get(ref.event.event_id, 0))  # fmt: skip

    def check(self, token: str, mark: tuple[Any, ...], now: float) -> str:
        """SAME: nothing it depends on changed; STALE: unchanged but due for the refresh."""
        seen = self._seen.get(token)
        if seen is None:
            return CHANGED
        old, is_shared, at = seen
        if old != ((*mark, self._orders.version, self._fills) if is_shared else mark):
            return CHANGED
        return STALE if now - at >= self._refresh_s else SAME

    def age(self, token: str) -> float:
        seen = self._seen.get(token)
        return float("-inf") if seen is None else seen[2]

    def keep(
        self, token: str, event_id: str, mark: tuple[Any, ...], desired: Quote | NoQuote, now: float
    ) -> None:
        """The token was decided and nothing was sent: until ``mark`` changes it needs no new
        decision."""
        if shared(desired):
            self._seen[token] = ((*mark, self._orders.version, self._fills), True, now)
            self._waiting[token] = event_id
        else:
            self._seen[token] = (mark, False, now)
            self._waiting.pop(token, None)

    def waiting(self) -> set[str]:
        """Events with a token a shared limit set, once per change of orders or fills: room may
        have freed for it without anything of its event changing."""
        now = (self._orders.version, self._fills)
        if now == self._waited:
            return set()
        self._waited = now
        return set(self._waiting.values())

    def prune(self, now: float, after: float = 60.0) -> None:
        """Forget marks not renewed for ``after`` s (their events are no longer looked at)."""
        if now - self._pruned < after:
            return
        self._pruned = now
        for token in [t for t, (_, _, at) in self._seen.items() if now - at >= after]:
            del self._seen[token]
            self._waiting.pop(token, None)
