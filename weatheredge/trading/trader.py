"""The trader: edge signals and book changes in, write-ahead orders out.

One task does all decisions, one at a time, so every limit is checked against exposure that
cannot change underneath it. The hot path only calls :meth:`Trader.on_signal` and
:meth:`Trader.poke`, which enqueue / set a flag and return.

Write-ahead rule, for every order:

1. the intent (deterministic key ``<episode>:<kind>:<side>``) is committed as ``pending``;
   a key that already exists is never sent again;
2. it is committed as ``sending`` right before the request goes out;
3. the answer is committed (``open``/``filled``/``partial``/``rejected``);
4. a timeout or a lost connection is *reconciled* against the venue (open orders, trades):
   found means adopted, not found means ``unknown`` (re-checked later, never re-sent);
   only an explicit 429/425/503 answer is retried, and only after reconciling.

On startup ``pending`` intents become ``abandoned`` (they were never sent) and ``sending``,
``unknown`` and ``open`` ones are reconciled before anything new is sent.

Resolution: once the venue's winner of an event is known (a ``market_resolved`` frame, via
``Engine.venue_winners``, or ``settlements.venue_market_id`` as the settlement job recorded it
from the frames or Gamma), every share still held in that event is settled at the payout in one
transaction (a ``SETTLE`` fill, a closed ``settlement`` episode, the emptied position). Our own
settlement from station reports never moves money.

This module is the coordinator: the task, the kill switch and the status. The work is done by
one object per responsibility, each the only owner of its state:

- :class:`~weatheredge.trading.decisions.Decider` (``decisions.py``): entries and exits, sizing
  against exposure;
- :class:`~weatheredge.trading.submit.OrderDesk` (``submit.py``): the write-ahead submit and
  reconciliation, over :class:`~weatheredge.trading.orders.WorkingOrders` (``orders.py``);
- :class:`~weatheredge.trading.holdings.Holdings` (``holdings.py``): fills and positions;
- :class:`~weatheredge.trading.settlement.Settler` (``settlement.py``): resolution payouts;
- :class:`~weatheredge.trading.messages.TradeMessages` (``messages.py``): every message sent;
- :class:`~weatheredge.trading.maker.Maker` (``maker.py``): resting quotes (``trading.strategy``
  ``maker`` or ``both``; in ``maker`` edge signals open no taker entries).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from weatheredge.clock import SYSTEM, Clock
from weatheredge.config import Mode
from weatheredge.config_trading import Strategy, TradingSettings
from weatheredge.engine import EdgeSignal, TokenRef
from weatheredge.trading.decisions import Decider
from weatheredge.trading.flags import AUTO, MANUAL, Counters, Halts
from weatheredge.trading.gateway import OrderGateway, TradeView
from weatheredge.trading.holdings import Holdings
from weatheredge.trading.ledger import Intent, Ledger
from weatheredge.trading.maker import Maker
from weatheredge.trading.maker_view import MakerInputs
from weatheredge.trading.messages import Notify, TradeMessages
from weatheredge.trading.portfolio import Position, _txt
from weatheredge.trading.risk import Exposure, Limits
from weatheredge.trading.settlement import VENUE_CHECK, Settler
from weatheredge.trading.submit import OrderDesk
from weatheredge.trading.view import EngineView, MarketView

logger = logging.getLogger(__name__)


class Trader:
    def __init__(
        self,
        *,
        mode: Mode,
        settings: TradingSettings,
        ledger: Ledger,
        gateway: OrderGateway | None,
        view: MarketView,
        notify: Notify | None = None,
        tick_s: float = 1.0,
        resolution_poll_s: float = 30.0,
        clock: Clock = SYSTEM,
        maker_inputs: MakerInputs | None = None,
    ) -> None:
        if mode is not Mode.DRY_RUN and gateway is None:
            raise ValueError(f"{mode.value} mode needs an order gateway")
        self.mode = mode
        self.settings = settings
        self.ledger = ledger
        self.gateway = gateway
        self.view = view
        self._tick_s = tick_s
        self._queue: asyncio.Queue[EdgeSignal] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._trade_events: list[TradeView] = []
        self._reconcile_due = False
        self._halts = Halts()
        self._counters = Counters()
        self._messages = TradeMessages(notify, mode.value)
        self._holdings = Holdings(ledger, self._messages, self._counters)
        self._desk = OrderDesk(
            mode=mode, settings=settings, ledger=ledger, gateway=gateway, view=view,
            holdings=self._holdings, messages=self._messages, counters=self._counters,
        )  # fmt: skip
        self._decider = Decider(
            settings=settings, ledger=ledger, view=view, desk=self._desk,
            holdings=self._holdings, halts=self._halts, messages=self._messages,
            counters=self._counters, clock=clock,
        )  # fmt: skip
        self._settler = Settler(
            ledger=ledger, view=view, holdings=self._holdings, messages=self._messages,
            counters=self._counters,
            on_settled=lambda token: self._decider.close_exit(token, "market resolved"),
            poll_s=resolution_poll_s, clock=clock,
        )  # fmt: skip
        self._maker = Maker(
            settings=settings, ledger=ledger, view=view, inputs=maker_inputs, desk=self._desk,
            decider=self._decider, holdings=self._holdings, halts=self._halts,
            messages=self._messages, counters=self._counters, clock=clock, wake=self.poke,
        )  # fmt: skip
        self._desk.on_applied = self._maker.on_fill

    # -- read-only views of the parts' state ------------------------------------------------

    @property
    def limits(self) -> Limits:
        return self._decider.limits

    @property
    def halts(self) -> Mapping[str, str]:
        """Halt reasons by kind (``manual``, ``auto``)."""
        return self._halts.view()

    @property
    def positions(self) -> Mapping[str, Position]:
        return self._holdings.positions()

    @property
    def intents(self) -> Mapping[str, Intent]:
        """Working intents by key."""
        return self._desk.orders.view()

    @property
    def counters(self) -> Mapping[str, int]:
        return self._counters.view()

    @property
    def maker(self) -> Maker:
        return self._maker

    # -- hot-path entry points (sync, enqueue only) ----------------------------------------

    def set_settings(self, settings: TradingSettings) -> None:
        """Sizing and limits from a config reload: the next decision uses them (positions,
        intents and halts are untouched; ``day_timezone`` needs a restart)."""
        self.settings = settings
        self._decider.set_settings(settings)
        self._desk.set_settings(settings)
        self._maker.set_settings(settings)
        self._wake.set()

    def on_signal(self, signal: EdgeSignal) -> None:
        self._queue.put_nowait(signal)
        self._wake.set()

    def on_trade_event(self, trade: TradeView) -> None:
        """A fill from the user channel: applied in order by the decision task, after any
        submit in flight has recorded its order id (a fill may beat the POST's answer)."""
        self._trade_events.append(trade)
        self._wake.set()

    def request_reconcile(self) -> None:
        """The user channel reconnected: events may have been missed. Reconcile over REST."""
        self._reconcile_due = True
        self._wake.set()

    def poke(self) -> None:
        """A book or probability changed: re-price held positions soon."""
        self._wake.set()

    def on_resolution(self, event_id: str, market_id: str, source: str = VENUE_CHECK) -> None:
        """The venue resolved ``market_id`` YES: settle the event's positions at the next step."""
        self._settler.on_resolution(event_id, market_id, source)
        self._wake.set()

    def request_resolution_check(self) -> None:
        """Read the recorded venue resolutions (``settlements``) at the next step."""
        self._settler.request_check()
        self._wake.set()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self.run(), name="trader")
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def shutdown(self) -> int:
        """Stop deciding, then cancel every resting quote. Returns how many were cancelled."""
        await self.stop()
        try:
            return await self._maker.cancel_all("shutdown")
        except Exception as err:  # the venue's dead-man switch (heartbeat) is the backstop
            logger.error("cancelling quotes at shutdown failed: %s", type(err).__name__)
            return 0

    async def ready(self) -> None:
        await self._ready.wait()

    async def run(self) -> None:
        await self.recover()
        self._ready.set()
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for drops a cancel that lands with the
            # wake, and the loop would outlive stop() (tests/trading/test_trader_stop.py).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._tick_s):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.step()
            except Exception:  # a bug in one decision must not stop trading decisions
                logger.exception("trader step failed")

    async def step(self) -> None:
        """Everything pending: fills, reconciliation, signals in order, feed health, then every
        held position."""
        while self._trade_events:
            await self.on_trade(self._trade_events.pop(0))
        if self._reconcile_due and self.gateway is not None:
            self._reconcile_due = False
            try:
                await self.reconcile()
            except Exception as err:
                self._reconcile_due = True
                logger.warning("reconcile failed: %s; will retry", type(err).__name__)
        taker = self.settings.strategy is not Strategy.MAKER
        while not self._queue.empty():
            signal = self._queue.get_nowait()
            if taker:
                await self._decider.on_signal(signal)
        await self._settler.settle_resolved()
        await self._check_feed()
        await self._maker.step()
        await self._decider.reprice_positions()

    async def recover(self) -> None:
        """Load the ledger and reconcile it with the venue before any new order."""
        halted = await self.ledger.state("halted")
        if halted:
            self._halts.set(MANUAL, halted)
        await self._holdings.load()
        # Episodes a killed process left open: nobody watches them any more. Edges that still
        # hold open new episodes (new ids) as this run's books and prices arrive.
        closed = await self.ledger.close_open_episodes("daemon restarted")
        if closed:
            logger.warning("closed %d trade episode(s) left open by the last run", closed)
        await self._desk.load()
        if self.gateway is not None:
            await self.reconcile(startup=True)
            await self._maker.recover()  # quotes the last run left open: cancel or adopt
        await self._settler.settle_resolved()  # resolved while we were down

    async def reconcile(self, *, startup: bool = False) -> None:
        """Venue truth: adopt orders of unresolved intents, apply missed trades, find orphans."""
        await self._desk.reconcile(startup=startup)

    async def on_trade(self, trade: TradeView, *, notify: bool = True) -> None:
        """Apply one fill event; deduplicated on (trade id, status); counted once."""
        await self._desk.on_trade(trade, notify=notify)

    # -- kill switch -----------------------------------------------------------------------

    async def halt(self, reason: str, *, manual: bool = True, cancel: bool | None = None) -> int:
        """Stop new orders; optionally cancel working ones. Returns how many were cancelled."""
        kind = MANUAL if manual else AUTO
        first = self._halts.set(kind, reason)
        if manual:
            await self.ledger.set_state("halted", reason)
        logger.warning("TRADING HALTED (%s): %s", kind, reason)
        if first:
            self._messages.halted(kind, reason)
        if (self.settings.cancel_on_halt if cancel is None else cancel) and self.gateway:
            quotes = await self._maker.cancel_all("halted")  # each logged before its cancel
            return quotes + await self._desk.cancel_all("halt")
        return 0

    async def resume(self, *, manual: bool = True) -> None:
        kind = MANUAL if manual else AUTO
        if not self._halts.release(kind):
            return
        if manual:
            await self.ledger.set_state("halted", "")
        logger.warning("trading resumed (%s)%s", kind, "; still halted" if self._halts else "")
        if not self._halts:
            self._messages.resumed(kind)

    async def _check_feed(self) -> None:
        problem = self.view.feed_problem()
        if problem and AUTO not in self._halts:
            await self.halt(problem, manual=False)
        elif not problem and AUTO in self._halts:
            await self.resume(manual=False)

    async def heartbeat_loop(self, every_s: float = 5.0) -> None:
        """Venue dead-man switch: if we stop, the venue cancels our resting orders."""
        assert self.gateway is not None
        while True:
            try:
                await self.gateway.heartbeat()
            except Exception as err:
                logger.warning("order heartbeat failed: %s", type(err).__name__)
            await asyncio.sleep(every_s)

    # -- exposure and reporting ------------------------------------------------------------

    def exposure(self, ref: TokenRef) -> Exposure:
        return self._decider.exposure(ref)

    def day_start(self) -> str:
        """Start of the venue's current day, as the ledger's UTC text."""
        return self._decider.day_start()

    def day_pnl(self) -> Decimal:
        """Realised in the venue's day so far plus unrealised (marked at the bid) now."""
        return self._decider.day_pnl()

    def unrealized(self) -> Decimal:
        return self._decider.unrealized()

    def status(self) -> dict[str, Any]:
        return {
            "mode": self.mode.value,
            "halted": bool(self._halts),
            "halts": dict(self._halts.view()),
            "working_orders": len(self._desk.orders.working()),
            "positions": {
                p.token_id: {"shares": _txt(p.shares), "avg_price": _txt(p.avg_price)}
                for p in self._holdings.held()
            },
            "realized_pnl": _txt(self._holdings.realized()),
            "unrealized_pnl": _txt(self.unrealized()),
            "counters": dict(self._counters.view()),
            "maker": self._maker.status(),
        }


__all__ = ["EngineView", "MarketView", "Trader"]
