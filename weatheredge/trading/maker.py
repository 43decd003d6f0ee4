"""Maker mode (issue 14): the resting quotes, kept where the policy says, pulled before danger.

:class:`Maker` owns one slot per token it quotes: the working intent of its resting post-only
GTC bid and the fair value it was priced from. It runs on the trader's one decision task (the
engine's ``on_evaluate`` hook only records which events changed and wakes the task), so every
exposure it sizes against is the trader's and cannot change underneath it.

Each step re-decides the events whose books or prices changed and every event it quotes (a
pull must not wait for a book change); docs/strategy.md gives the rules and the pulls.

Write-ahead: a placement is a ``quote`` intent committed before it is sent (the order desk);
a cancel is a ``quote_actions`` row committed before the request. At start, quotes a previous
run left open are cancelled (``maker.on_start: cancel``) or adopted; at shutdown all are
cancelled. Orders and cancels each pass a token bucket at the venue's standard-tier rates.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from weatheredge.clock import SYSTEM, Clock
from weatheredge.config_trading import Strategy, TradingSettings
from weatheredge.engine import TokenRef
from weatheredge.model.edge import Side
from weatheredge.model.quoting import (
    CANCEL,
    PLACE,
    REPLACE,
    WAIT,
    Action,
    NoQuote,
    Quote,
    TokenBucket,
    should_replace,
)
from weatheredge.trading import ledger as L
from weatheredge.trading import quote_log as Q
from weatheredge.trading.decisions import Decider
from weatheredge.trading.flags import Counters, Halts
from weatheredge.trading.gateway import TradeView
from weatheredge.trading.holdings import Holdings
from weatheredge.trading.ledger import Ledger
from weatheredge.trading.maker_pricing import QuotePricer, tick_of
from weatheredge.trading.maker_status import QuoteDigests, maker_status
from weatheredge.trading.maker_view import MakerInputs
from weatheredge.trading.messages import QUOTE, TradeMessages
from weatheredge.trading.orders import new_intent
from weatheredge.trading.submit import OrderDesk
from weatheredge.trading.view import MarketView

logger = logging.getLogger(__name__)

_M = Decimal(1_000_000)
# Polymarket's standard trading tier, per signer (docs: trading-rate-limits): orders 40/s with a
# burst of 60, cancels 80/s with a burst of 120.
ORDER_RATE, ORDER_BURST, CANCEL_RATE, CANCEL_BURST = 40.0, 60.0, 80.0, 120.0
NOT_RESTED_BACKOFF_S = 30.0  # a venue that does not rest post-only bids (paper before h/mfill)
FULL_REFRESH_S = 1.0  # every token re-decided at least this often, changed or not


@dataclass(slots=True)
class Slot:
    event_id: str
    key: str | None = None  # the working quote intent
    fair: Decimal = Decimal(0)
    last: float = float("-inf")  # monotonic s of the last place / replace / cancel


class Maker:
    def __init__(
        self,
        *,
        settings: TradingSettings,
        ledger: Ledger,
        view: MarketView,
        inputs: MakerInputs | None,
        desk: OrderDesk,
        decider: Decider,
        holdings: Holdings,
        halts: Halts,
        messages: TradeMessages,
        counters: Counters,
        clock: Clock = SYSTEM,
        wake: Any = None,
    ) -> None:
        self.settings = settings
        self.view = view
        self.inputs = inputs
        self.log = Q.QuoteLog(ledger)
        self._desk = desk
        self._decider = decider
        self._holdings = holdings
        self._halts = halts
        self._messages = messages
        self._counters = counters
        self._clock = clock
        self._wake = wake or (lambda: None)
        self._slots: dict[str, Slot] = {}  # token -> slot
        self._pulled: dict[str, str] = {}  # event_id -> why its quotes are pulled
        self._retry: set[str] = set()  # events with a move held back by min_replace_interval
        self._timer: asyncio.TimerHandle | None = None
        self._digests = QuoteDigests(messages)
        self._filled: set[str] = set()
        self._orders = TokenBucket(ORDER_RATE, ORDER_BURST)
        self._cancels = TokenBucket(CANCEL_RATE, CANCEL_BURST)
        self.decision_ns: deque[int] = deque(maxlen=5000)  # per event evaluated
        self._pricer = QuotePricer(view, decider, holdings, lambda: self.settings)
        self._seen: dict[str, tuple[Any, ...]] = {}  # token -> inputs when last kept
        self._seen_at = float("-inf")
        self._version = 0  # bumped by every fill (positions changed)
        if inputs is not None:
            inputs.listen(self.active)

    @property
    def active(self) -> bool:
        return self.settings.strategy is not Strategy.TAKER and self._desk.gateway is not None

    def poke(self) -> None:
        """An event changed (engine hook): wake the trader, only when quoting."""
        if self.active:
            self._wake()

    def set_settings(self, settings: TradingSettings) -> None:
        self.settings = settings
        self._retry.update(s.event_id for s in self._slots.values())
        if self.inputs is not None:
            self.inputs.listen(self.active)

    def resting(self) -> dict[str, Quote]:
        """Token -> the quote resting now."""
        out = {}
        for token, slot in self._slots.items():
            q = self._current(token, slot)
            if q is not None:
                out[token] = q
        return out

    # -- the step ----------------------------------------------------------------------------

    async def step(self) -> None:
        if not self.active:
            if any(s.key for s in self._slots.values()):
                await self.cancel_all("strategy taker")
            return
        events = self._retry | {s.event_id for s in self._slots.values() if s.key}
        self._retry = set()
        events |= set(self._pulled)
        if self.inputs is not None:
            events |= self.inputs.changed()
        for event_id in events:
            await self._event(event_id)
        self._send_digests()

    async def _event(self, event_id: str) -> None:
        now = self._clock.monotonic()
        t0 = time.perf_counter_ns()
        event = self.inputs.event(event_id) if self.inputs is not None else None
        danger = "event_gone" if event is None else self._danger(event_id)
        if not danger:
            self._pulled.pop(event_id, None)
        elif event_id in self._pulled or any(
            s.key for s in self._slots.values() if s.event_id == event_id
        ):  # re-checked every step until the danger is over, then requoted
            self._pulled[event_id] = danger
        plans: list[tuple[str, TokenRef | None, Quote | NoQuote, Action]] = []
        tokens: list[tuple[TokenRef | None, str]]
        if event is None:
            tokens = [(None, t) for t, s in self._slots.items() if s.event_id == event_id]
        else:
            tokens = [
                (TokenRef(event, market, side), token)
                for market in event.markets
                for side, token in ((Side.YES, market.yes_token), (Side.NO, market.no_token))
            ]
        if now - self._seen_at >= FULL_REFRESH_S:  # what no mark sees: marks, settlements
            self._seen.clear()
            self._seen_at = now
        todo = []
        state = (self._desk.orders.version, self._version, self.settings, self._decider.limits)
        for ref, token in tokens:
            slot = self._slots.get(token)
            mark: tuple[Any, ...] | None = None
            if ref is not None and not danger:
                # A token whose inputs are as when it was last kept needs no decision.
                mark = (state, slot.key if slot else None, self.view.prob(token),
                        self._pricer.book_mark(token))  # fmt: skip
                if self._seen.get(token) == mark:
                    continue
            todo.append((ref, token, slot, mark))
        refs = [r for r, *_ in todo if r is not None]
        exposures = iter(self._decider.exposures(refs) if refs and not danger else ())
        held = self._pricer.held(event_id) if refs and not danger else []
        interval = self.settings.maker.min_replace_interval
        for ref, token, slot, mark in todo:
            current = None if slot is None else self._current(token, slot)
            desired = (
                NoQuote(danger or "event_gone")
                if danger or ref is None
                else self._pricer.desired(ref, token, current, held, next(exposures))
            )
            book = self.view.book(token)
            ask = book.best_ask() if book is not None else None
            action = should_replace(
                current,
                desired,
                tick=tick_of(ref, book),
                best_ask=None if ask is None else Decimal(ask[0]) / _M,
                now=now,
                last_replace=slot.last if slot else float("-inf"),
                min_interval=interval,
            )
            if action.kind == WAIT:
                self._retry_later(event_id)
            elif action.kind in (PLACE, REPLACE, CANCEL):
                plans.append((token, ref, desired, action))
            elif mark is not None:
                self._seen[token] = mark
        self.decision_ns.append(time.perf_counter_ns() - t0)
        for token, ref, desired, action in plans:
            await self._apply(event_id, token, ref, desired, action)

    def _danger(self, event_id: str) -> str:
        if self._halts:
            return "halted"
        due = self.inputs.report_due(event_id) if self.inputs is not None else None
        if due is not None and self._clock.time() >= due - self.settings.maker.pull_before_report:
            return "report_due"
        return ""

    def _current(self, token: str, slot: Slot) -> Quote | None:
        if slot.key is None:
            return None
        intent = self._desk.orders.get(slot.key)
        if intent is None or intent.status not in L.WORKING:
            slot.key = None
            return None
        left = Decimal(intent.size) - Decimal(intent.filled_size)
        return Quote(Decimal(intent.price), left, slot.fair)

    def _retry_later(self, event_id: str) -> None:
        self._retry.add(event_id)
        if self._timer is None:
            loop = asyncio.get_running_loop()
            delay = self.settings.maker.min_replace_interval

            def fire() -> None:
                self._timer = None
                self._wake()

            self._timer = loop.call_later(delay, fire)

    # -- actions -----------------------------------------------------------------------------

    async def _apply(
        self, event_id: str, token: str, ref: TokenRef | None, desired: Quote | NoQuote,
        action: Action,
    ) -> None:  # fmt: skip
        slot = self._slots.setdefault(token, Slot(event_id))
        if action.kind in (CANCEL, REPLACE):
            kind = Q.CANCEL if action.kind == CANCEL else Q.REPLACE
            new = desired if isinstance(desired, Quote) else None
            if not await self._cancel(token, slot, kind, action.reason, new):
                return
        if action.kind in (PLACE, REPLACE) and ref is not None:
            # Sized again against exposure now: the event's other quotes placed in this step
            # count against the same limits (open orders, event, total).
            fresh = self._pricer.desired(ref, token, None, self._pricer.held(event_id))
            if isinstance(fresh, Quote):
                await self._place(token, ref, slot, fresh, action.reason)
            else:
                self._counters.add(f"quote_blocked_{fresh.reason}")

    async def _cancel(
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
        await self.log.write(
            kind, event_id=intent.event_id, token_id=token, outcome=intent.outcome,
            price=new.price if new else Decimal(intent.price),
            size=new.size if new else Decimal(intent.size) - Decimal(intent.filled_size),
            order_id=intent.venue_order_id, reason=reason,
        )  # fmt: skip
        self._note(slot.event_id, kind, reason)
        ok = await self._desk.cancel(intent, f"quote {kind}: {reason}")
        if ok:
            slot.key = None
            slot.last = self._clock.monotonic()
        return ok

    async def _place(self, token: str, ref: TokenRef, slot: Slot, q: Quote, reason: str) -> None:
        now = self._clock.monotonic()
        if not self._orders.take(now):
            self._counters.add("quote_rate_limited")
            self._retry_later(slot.event_id)
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
            self._note(slot.event_id, Q.PLACE, reason)
            await self.log.write(Q.PLACE, **where, price=q.price, size=q.size,
                                 order_id=intent.venue_order_id, reason=reason)  # fmt: skip
            return
        slot.key = None
        why = intent.error or intent.status
        if intent.status == L.CANCELLED:  # accepted, not rested: this venue cannot rest it
            why = f"not rested: {why}"
            slot.last = now + NOT_RESTED_BACKOFF_S
        self._counters.add("quotes_rejected")
        self._note(slot.event_id, Q.REJECT, why)
        await self.log.write(Q.REJECT, **where, price=q.price, size=q.size,
                             order_id=intent.venue_order_id, reason=why)  # fmt: skip

    # -- fills, start, shutdown --------------------------------------------------------------

    async def on_fill(self, trade: TradeView) -> None:
        """A fill the order desk applied: logged once per trade if it was one of our quotes."""
        self._version += 1
        key = self._desk.orders.key_for(trade.order_id)
        if key is None or not key.startswith(f"{QUOTE}:") or trade.status == "FAILED":
            return
        if trade.trade_id in self._filled:
            return
        self._filled.add(trade.trade_id)
        ref = self.view.ref(trade.token_id)
        event_id = ref.event.event_id if ref is not None else None
        await self.log.write(
            Q.FILL, event_id=event_id, token_id=trade.token_id,
            outcome=ref.side.value if ref is not None else None, price=trade.price,
            size=trade.size, order_id=trade.order_id, reason=trade.role,
        )  # fmt: skip
        if event_id is not None:
            self._note(event_id, Q.FILL, trade.role)
            self._retry.add(event_id)  # the position changed: re-size the event's quotes

    async def recover(self) -> None:
        """After the desk's startup reconciliation: quotes a previous run left open."""
        adopt = self.settings.maker.on_start == "adopt" and self.active
        for intent in self._desk.orders.working():
            if intent.kind != QUOTE or intent.status != L.OPEN:
                continue
            slot = self._slots.setdefault(intent.token_id, Slot(intent.event_id or ""))
            slot.key = intent.intent_key
            slot.fair = Decimal(str(intent.prob)) if intent.prob is not None else Decimal(0)
            if adopt:
                self._counters.add("quotes_adopted")
                self._retry.add(slot.event_id)
            else:
                await self._cancel(intent.token_id, slot, Q.CANCEL, "left open by the last run")

    async def cancel_all(self, reason: str) -> int:
        """Cancel every resting quote (shutdown, strategy switched off). Returns how many."""
        unresolved = [
            i for s in self._slots.values() if s.key and (i := self._desk.orders.get(s.key))
            and i.status in (L.SENDING, L.UNKNOWN)
        ]  # fmt: skip
        if unresolved:  # a placement cut short (a stop mid-send) may still have landed
            try:
                await self._desk.reconcile()
            except Exception as err:
                logger.warning("reconcile before cancelling quotes failed: %s", err)
        n = 0
        for token, slot in list(self._slots.items()):
            if self._current(token, slot) is not None and await self._cancel(
                token, slot, Q.CANCEL, reason
            ):
                n += 1
        return n

    # -- digest and status -------------------------------------------------------------------

    def _note(self, event_id: str, kind: str, reason: str) -> None:
        self._digests.note(event_id, kind, reason, self._clock.monotonic())

    def _send_digests(self) -> None:
        def resting(event_id: str) -> int:
            return sum(1 for s in self._slots.values() if s.event_id == event_id and s.key)

        self._digests.flush(
            self._clock.monotonic(), self.settings.maker.digest_interval, self.inputs, resting
        )

    def status(self) -> dict[str, Any]:
        return maker_status(
            self.settings.strategy.value, self.resting(), self.view, self._pulled,
            self.log.counts, self.decision_ns,
        )  # fmt: skip
