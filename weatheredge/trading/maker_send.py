"""Maker mode's hands: what rests (one slot per quoted token) and the place, replace and cancel
requests that change it, each written ahead (a placement is a ``quote`` intent committed by
the order desk before it is sent; a cancel is a ``quote_actions`` row committed before the
request) and each passed through a token bucket at the venue's standard-tier rates.

:class:`~weatheredge.trading.maker.Maker` decides; :class:`QuoteSender` carries it out and
remembers the outcome.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from weatheredge.clock import Clock
from weatheredge.engine import TokenRef
from weatheredge.model.quoting import CANCEL, PLACE, REPLACE, Action, NoQuote, Quote, TokenBucket
from weatheredge.trading import ledger as L
from weatheredge.trading import quote_log as Q
from weatheredge.trading.flags import Counters
from weatheredge.trading.maker_pricing import QuotePricer
from weatheredge.trading.maker_status import QuoteDigests
from weatheredge.trading.messages import QUOTE
from weatheredge.trading.orders import new_intent
from weatheredge.trading.submit import OrderDesk

# Polymarket's standard trading tier, per signer (docs: trading-rate-limits): orders 40/s with a
# burst of 60, cancels 80/s with a burst of 120.
ORDER_RATE, ORDER_BURST, CANCEL_RATE, CANCEL_BURST = 40.0, 60.0, 80.0, 120.0
NOT_RESTED_BACKOFF_S = 30.0  # a venue that does not rest post-only bids (paper before h/mfill)


@dataclass(slots=True)
class Slot:
    event_id: str
    key: str | None = None  # the working quote intent
    fair: Decimal = Decimal(0)
    last: float = float("-inf")  # monotonic s of the last place / replace / cancel


@functools.lru_cache(maxsize=4096)
def _resting(price: str, size: str, filled: str) -> tuple[Decimal, Decimal]:
    """A working quote's price and size left, from the intent's text (every token's quote is
    read on every decision; the same texts repeat until it is replaced or filled)."""
    return Decimal(price), Decimal(size) - Decimal(filled)


class QuoteSender:
    def __init__(
        self,
        *,
        desk: OrderDesk,
        pricer: QuotePricer,
        log: Q.QuoteLog,
        digests: QuoteDigests,
        counters: Counters,
        clock: Clock,
        held_back: Callable[[str], None],
    ) -> None:
        self.slots: dict[str, Slot] = {}  # token -> slot
        self._desk = desk
        self._pricer = pricer
        self._log = log
        self._digests = digests
        self._counters = counters
        self._clock = clock
        self._held_back = held_back  # an event whose placement the order bucket held back
        self._orders = TokenBucket(ORDER_RATE, ORDER_BURST)
        self._cancels = TokenBucket(CANCEL_RATE, CANCEL_BURST)

    def current(self, token: str, slot: Slot) -> Quote | None:
        """The quote resting for ``token`` now (a slot whose order ended is emptied)."""
        if slot.key is None:
            return None
        intent = self._desk.orders.get(slot.key)
        if intent is None or intent.status not in L.WORKING:
            slot.key = None
            return None
        return Quote(*_resting(intent.price, intent.size, intent.filled_size), slot.fair)

    def resting(self) -> dict[str, Quote]:
        """Token -> the quote resting now."""
        out = {}
        for token, slot in self.slots.items():
            q = self.current(token, slot)
            if q is not None:
                out[token] = q
        return out

    def resting_in(self, event_id: str) -> int:
        return sum(1 for s in self.slots.values() if s.event_id == event_id and s.key)

    def note(self, event_id: str, kind: str, reason: str) -> None:
        self._digests.note(event_id, kind, reason, self._clock.monotonic())

    async def apply(
        self, event_id: str, token: str, ref: TokenRef | None, desired: Quote | NoQuote,
        action: Action,
    ) -> None:  # fmt: skip
        slot = self.slots.setdefault(token, Slot(event_id))
        if action.kind in (CANCEL, REPLACE):
            kind = Q.CANCEL if action.kind == CANCEL else Q.REPLACE
            new = desired if isinstance(desired, Quote) else None
            if not await self.cancel(token, slot, kind, action.reason, new):
                return
        if action.kind in (PLACE, REPLACE) and ref is not None:
            # Sized again against exposure now: the event's other quotes placed in this step
            # count against the same limits (open orders, event, total).
            fresh = self._pricer.desired(ref, token, None, self._pricer.held(event_id))
            if isinstance(fresh, Quote):
                await self._place(token, ref, slot, fresh, action.reason)
            else:
                self._counters.add(f"quote_blocked_{fresh.reason}")

    async def cancel(
        self, token: str, slot: Slot, kind: str, reason: str, new: Quote | None = None
    ) -> bool:
        intent = self._desk.orders.get(slot.key) if slot.key else None
        if intent is None:
            slot.key = None
            return True
        if not intent.venue_order_id:
            return False  # its placement is unresolved: reconciliation adopts it first
        if not self._cancels.take(self._clock.monotonic()):
            self._counters.add("quote_cancel_over_rate")  # sent anyway: a pull is safety
        await self._log.write(
            kind, event_id=intent.event_id, token_id=token, outcome=intent.outcome,
            price=new.price if new else Decimal(intent.price),
            size=new.size if new else Decimal(intent.size) - Decimal(intent.filled_size),
            order_id=intent.venue_order_id, reason=reason,
        )  # fmt: skip
        self.note(slot.event_id, kind, reason)
        ok = await self._desk.cancel(intent, f"quote {kind}: {reason}")
        if ok:
            slot.key = None
            slot.last = self._clock.monotonic()
        return ok

    async def _place(self, token: str, ref: TokenRef, slot: Slot, q: Quote, reason: str) -> None:
        now = self._clock.monotonic()
        if not self._orders.take(now):
            self._counters.add("quote_rate_limited")
            self._held_back(slot.event_id)
            return
        key = f"quote:{uuid.uuid4().hex}"
        intent = new_intent(
            self._desk.mode, key, key, QUOTE, ref, token, "BUY", q.price, q.size, status=L.PENDING
        )
        intent.prob, intent.reason = float(q.fair), f"maker: {reason}"
        intent.edge = float(q.fair - q.price)
        slot.key, slot.fair, slot.last = key, q.fair, now
        await self._desk.submit(intent, post_only=True)
        where = dict(event_id=ref.event.event_id, token_id=token, outcome=ref.side.value)
        if intent.status in L.WORKING:
            self._counters.add("quotes_placed")
            self.note(slot.event_id, Q.PLACE, reason)
            await self._log.write(Q.PLACE, **where, price=q.price, size=q.size,
                                  order_id=intent.venue_order_id, reason=reason)  # fmt: skip
            return
        slot.key = None
        why = intent.error or intent.status
        if intent.status == L.CANCELLED:  # accepted, not rested: this venue cannot rest it
            why = f"not rested: {why}"
            slot.last = now + NOT_RESTED_BACKOFF_S
        self._counters.add("quotes_rejected")
        self.note(slot.event_id, Q.REJECT, why)
        await self._log.write(Q.REJECT, **where, price=q.price, size=q.size,
                              order_id=intent.venue_order_id, reason=why)  # fmt: skip
