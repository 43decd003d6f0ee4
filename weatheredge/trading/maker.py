"""Maker mode (issue 14): the resting quotes, kept where the policy says, pulled before danger.

:class:`Maker` decides, per token it quotes, whether its resting post-only GTC bid stays,
moves or goes; :class:`~weatheredge.trading.maker_send.QuoteSender` sends that (write-ahead,
rate-limited) and remembers what rests. It runs on the trader's one decision task (the
engine's ``on_evaluate`` hook only records which events changed and wakes the task), so every
exposure it sizes against is the trader's and cannot change underneath it.

Each step looks at the events whose books or prices changed and every event it quotes (a pull
must not wait for a book change), and decides again only the tokens whose inputs changed
(:mod:`~weatheredge.trading.maker_marks`); docs/strategy.md gives the rules and the pulls.

At start, quotes a previous run left open are cancelled (``maker.on_start: cancel``) or
adopted; at shutdown all are cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from decimal import Decimal
from typing import Any

from weatheredge.clock import SYSTEM, Clock
from weatheredge.config_trading import Strategy, TradingSettings
from weatheredge.engine import TokenRef
from weatheredge.model.edge import Side
from weatheredge.model.market import TemperatureEvent
from weatheredge.model.quoting import (
    CANCEL,
    PLACE,
    REPLACE,
    WAIT,
    NoQuote,
    Quote,
    maker_rebate,
    should_replace,
)
from weatheredge.trading import ledger as L
from weatheredge.trading import quote_log as Q
from weatheredge.trading.decisions import Decider
from weatheredge.trading.flags import Counters, Halts
from weatheredge.trading.gateway import TradeView
from weatheredge.trading.holdings import Holdings
from weatheredge.trading.ledger import Ledger
from weatheredge.trading.maker_marks import SAME, STALE, Marks
from weatheredge.trading.maker_pricing import QuotePricer, tick_of, units
from weatheredge.trading.maker_send import QuoteSender, Slot
from weatheredge.trading.maker_status import QuoteDigests, maker_status
from weatheredge.trading.maker_view import MakerInputs
from weatheredge.trading.messages import QUOTE, TradeMessages
from weatheredge.trading.risk import D
from weatheredge.trading.submit import OrderDesk
from weatheredge.trading.view import MarketView

logger = logging.getLogger(__name__)

FULL_REFRESH_S = 1.0  # every token re-decided at least about this often, changed or not
REFRESH_CHUNK = 4  # expired tokens re-decided per event evaluation (the rest at the next)


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
        self._halts = halts
        self._counters = counters
        self._clock = clock
        self._wake = wake or (lambda: None)
        self._pulled: dict[str, str] = {}  # event_id -> why its quotes are pulled
        self._retry: set[str] = set()  # events with a move held back by min_replace_interval
        self._timer: asyncio.TimerHandle | None = None
        self._digests = QuoteDigests(messages)
        self._filled: set[str] = set()
        self._pricer = QuotePricer(view, decider, holdings, lambda: self.settings)
        self._send = QuoteSender(
            desk=desk, pricer=self._pricer, log=self.log, digests=self._digests,
            counters=counters, clock=clock, held_back=self._retry_later,
        )  # fmt: skip
        self._slots = self._send.slots
        self._marks = Marks(desk.orders, FULL_REFRESH_S)
        self._refs: dict[str, tuple[TemperatureEvent, list[Any]]] = {}  # event id -> its tokens
        self.decision_ns: deque[int] = deque(maxlen=5000)  # per event evaluated
        self.refresh_ns: deque[int] = deque(maxlen=5000)  # per periodic refresh (a few tokens)
        self.tokens_decided = 0  # token decisions made (a token whose inputs held is skipped)
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
        return self._send.resting()

    # -- the step ----------------------------------------------------------------------------

    async def step(self) -> None:
        if not self.active:
            if any(s.key for s in self._slots.values()):
                await self.cancel_all("strategy taker")
            return
        events = self._retry | {s.event_id for s in self._slots.values() if s.key}
        self._retry = set()
        events |= set(self._pulled) | self._marks.waiting()
        if self.inputs is not None:
            events |= self.inputs.changed()
        # Events share limits and rate buckets, so their order decides: sorted, never a set's
        # hash order, or a replay's decisions would change with PYTHONHASHSEED.
        for event_id in sorted(events):
            await self._event(event_id)
        self._marks.prune(self._clock.monotonic())
        self._send_digests()

    async def _event(self, event_id: str) -> None:
        now = self._clock.monotonic()
        t0 = time.perf_counter_ns()
        event = self.inputs.event(event_id) if self.inputs is not None else None
        danger = "event_gone" if event is None else self._danger(event_id)
        if not danger:
            self._pulled.pop(event_id, None)
        elif event_id in self._pulled or self._send.resting_in(event_id):
            self._pulled[event_id] = danger  # re-checked every step until over, then requoted
        tokens: list[tuple[TokenRef | None, str]]
        if event is None:
            self._refs.pop(event_id, None)
            tokens = [(None, t) for t, s in self._slots.items() if s.event_id == event_id]
        else:
            tokens = self._tokens(event)
        todo, stale = [], []
        for ref, token in tokens:
            slot = self._slots.get(token)
            mark: tuple[Any, ...] | None = None
            if ref is not None and not danger:
                # A token whose inputs are as when it was last kept needs no decision.
                mark = self._mark(ref, token, slot)
                seen = self._marks.check(token, mark, now)
                if seen == SAME:
                    continue
                if seen == STALE:
                    stale.append((ref, token))
                    continue
            todo.append((ref, token, slot, mark))
        plans = self._decide(event_id, todo, danger, now) if todo else []
        self.decision_ns.append(time.perf_counter_ns() - t0)
        for token, ref, desired, action in plans:
            await self._send.apply(event_id, token, ref, desired, action)
        if stale:
            await self._refresh(event_id, stale)

    def _tokens(self, event: TemperatureEvent) -> list[tuple[TokenRef | None, str]]:
        """The event's tokens and their refs, built again only when the catalogue changes."""
        cached = self._refs.get(event.event_id)
        if cached is None or cached[0] is not event:
            tokens: list[tuple[TokenRef | None, str]] = [
                (TokenRef(event, market, side), token)
                for market in event.markets
                for side, token in ((Side.YES, market.yes_token), (Side.NO, market.no_token))
            ]
            cached = self._refs[event.event_id] = (event, tokens)
        return cached[1]

    async def _refresh(self, event_id: str, stale: list[tuple[TokenRef, str]]) -> None:
        """The periodic refresh of tokens nothing marked changed, oldest first, a few per
        evaluation and after the changed tokens' requests are sent: it never delays them."""
        if self._danger(event_id):
            return  # it came while the requests were out: the next step pulls
        t0 = time.perf_counter_ns()
        stale.sort(key=lambda t: self._marks.age(t[1]))
        if len(stale) > REFRESH_CHUNK:
            self._retry.add(event_id)
            self._wake()
        todo = []
        for ref, token in stale[:REFRESH_CHUNK]:
            slot = self._slots.get(token)
            todo.append((ref, token, slot, self._mark(ref, token, slot)))
        plans = self._decide(event_id, todo, "", self._clock.monotonic())
        self.refresh_ns.append(time.perf_counter_ns() - t0)
        for token, ref, desired, action in plans:
            await self._send.apply(event_id, token, ref, desired, action)

    def _mark(self, ref: TokenRef, token: str, slot: Slot | None) -> tuple[Any, ...]:
        own = (self.settings, self._decider.limits, slot.key if slot else None)
        return self._marks.mark(ref, own, self.view.prob(token), self._pricer.book_mark(token))

    def _decide(
        self, event_id: str, todo: list[Any], danger: str, now: float
    ) -> list[tuple[str, TokenRef | None, Quote | NoQuote, Any]]:
        """Each token's desired quote and what to do about it; a kept token's mark is stored."""
        self.tokens_decided += len(todo)
        refs = [r for r, *_ in todo if r is not None]
        exposures = iter(self._decider.exposures(refs) if refs and not danger else ())
        held = self._pricer.held(event_id) if refs and not danger else []
        interval = self.settings.maker.min_replace_interval
        plans = []
        for ref, token, slot, mark in todo:
            current = None if slot is None else self._send.current(token, slot)
            book = self.view.book(token)
            desired = (
                NoQuote(danger or "event_gone")
                if danger or ref is None
                else self._pricer.desired_at(ref, token, book, current, held, next(exposures))
            )
            ask = book.best_ask() if book is not None else None
            action = should_replace(
                current,
                desired,
                tick=tick_of(ref, book),
                best_ask=None if ask is None else units(ask[0]),
                now=now,
                last_replace=slot.last if slot else float("-inf"),
                min_interval=interval,
            )
            if action.kind == WAIT:
                self._retry_later(event_id)
            elif action.kind in (PLACE, REPLACE, CANCEL):
                plans.append((token, ref, desired, action))
            elif mark is not None:
                self._marks.keep(token, event_id, mark, desired, now)
        return plans

    def _danger(self, event_id: str) -> str:
        if self._halts:
            return "halted"
        due = self.inputs.report_due(event_id) if self.inputs is not None else None
        if due is not None and self._clock.time() >= due - self.settings.maker.pull_before_report:
            return "report_due"
        return ""

    def _retry_later(self, event_id: str) -> None:
        self._retry.add(event_id)
        if self._timer is None:
            loop = asyncio.get_running_loop()
            delay = self.settings.maker.min_replace_interval

            def fire() -> None:
                self._timer = None
                self._wake()

            self._timer = loop.call_later(delay, fire)

    # -- fills, start, shutdown --------------------------------------------------------------

    async def on_fill(self, trade: TradeView) -> None:
        """A fill the order desk applied: logged once per trade if it was one of our quotes."""
        ref = self.view.ref(trade.token_id)
        event_id = ref.event.event_id if ref is not None else None
        self._marks.filled(event_id)  # positions changed: the event's skew and hedges
        key = self._desk.orders.key_for(trade.order_id)
        if key is None or not key.startswith(f"{QUOTE}:") or trade.status == "FAILED":
            return
        if trade.trade_id in self._filled:
            return
        self._filled.add(trade.trade_id)
        rebate = None
        if ref is not None and trade.role == "MAKER":  # the market's own fee schedule
            m = ref.market
            rebate = maker_rebate(trade.size, trade.price, D(m.fee_rate), D(m.rebate_rate))
        await self.log.write(
            Q.FILL, event_id=event_id, token_id=trade.token_id,
            outcome=ref.side.value if ref is not None else None, price=trade.price,
            size=trade.size, order_id=trade.order_id, reason=trade.role, rebate=rebate,
        )  # fmt: skip
        if event_id is not None:
            self._send.note(event_id, Q.FILL, trade.role)
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
                await self._send.cancel(
                    intent.token_id, slot, Q.CANCEL, "left open by the last run"
                )

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
            if self._send.current(token, slot) is not None and await self._send.cancel(
                token, slot, Q.CANCEL, reason
            ):
                n += 1
        return n

    # -- digest and status -------------------------------------------------------------------

    def _send_digests(self) -> None:
        self._digests.flush(
            self._clock.monotonic(), self.settings.maker.digest_interval, self.inputs,
            self._send.resting_in,
        )  # fmt: skip

    def status(self) -> dict[str, Any]:
        return maker_status(
            self.settings.strategy.value, self.resting(), self.view, self._pulled,
            self.log.counts, self.decision_ns,
        )  # fmt: skip
