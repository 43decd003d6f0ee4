"""Submit and reconcile: the write-ahead order path and the venue's truth about it.

:class:`OrderDesk` is the only writer of :class:`~weatheredge.trading.orders.WorkingOrders`. It
commits every intent before sending it, records each answer, reconciles an ambiguous submit (a
timeout, a lost connection) against the venue instead of re-sending, and turns the fills the
holdings applied into order outcomes (filled, partly filled).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from weatheredge.config import Mode, TradingSettings
from weatheredge.trading import ledger as L
from weatheredge.trading.flags import Counters
from weatheredge.trading.gateway import (
    GatewayBusy,
    GatewayError,
    GatewayTimeout,
    OpenOrderView,
    OrderGateway,
    OrderRequest,
    PlaceResult,
    TradeView,
)
from weatheredge.trading.holdings import Holdings
from weatheredge.trading.ledger import Intent, Ledger
from weatheredge.trading.messages import TradeMessages
from weatheredge.trading.orders import WorkingOrders, match, new_intent
from weatheredge.trading.risk import D
from weatheredge.trading.view import MarketView

logger = logging.getLogger(__name__)


class OrderDesk:
    def __init__(
        self,
        *,
        mode: Mode,
        settings: TradingSettings,
        ledger: Ledger,
        gateway: OrderGateway | None,
        view: MarketView,
        holdings: Holdings,
        messages: TradeMessages,
        counters: Counters,
    ) -> None:
        self.mode = mode
        self.settings = settings
        self.ledger = ledger
        self.gateway = gateway
        self.view = view
        self.orders = WorkingOrders()
        self._holdings = holdings
        self._messages = messages
        self._counters = counters
        # Told of every fill applied (maker mode logs the fills of its quotes).
        self.on_applied: Callable[[TradeView], Awaitable[None]] | None = None

    def set_settings(self, settings: TradingSettings) -> None:
        """Send attempts and the order timeout from a config reload."""
        self.settings = settings

    # -- recovery and reconciliation ---------------------------------------------------------

    async def load(self) -> None:
        """The ledger's intents: never-sent ones abandoned, the unresolved and open ones kept
        for reconciliation."""
        for intent in await self.ledger.intents():
            self.orders.commit(intent.intent_key)
            if intent.venue_order_id:
                self.orders.bind(intent.venue_order_id, intent.intent_key)
            if intent.status == L.PENDING:
                await self.finish(intent, L.ABANDONED, "never sent: stopped before sending")
            elif intent.status in (L.SENDING, L.UNKNOWN, L.OPEN):
                self.orders.track(intent)

    async def reconcile(self, *, startup: bool = False) -> None:
        """Venue truth: adopt orders of unresolved intents, apply missed trades, find orphans.

        Runs on startup and after every user-channel reconnect (a gap may have lost events).
        """
        assert self.gateway is not None
        open_orders = await self.gateway.open_orders()
        trades = await self.gateway.trades()
        for intent in self.orders.working():
            if intent.status in (L.SENDING, L.UNKNOWN):
                found = match(intent, self.orders, open_orders, trades)
                if found is not None:
                    await self._adopt(intent, found)
                elif startup or intent.status == L.SENDING:
                    await self.finish(intent, L.FAILED, "not at the venue: never received")
        for trade in trades:
            await self.on_trade(trade)
        open_ids = {o.order_id for o in open_orders}
        for intent in self.orders.working():
            if intent.status == L.OPEN and intent.venue_order_id not in open_ids:
                filled = D(intent.filled_size)
                status = (
                    L.FILLED
                    if filled >= D(intent.size)
                    else (L.PARTIAL if filled > 0 else L.CANCELLED)
                )
                await self.finish(intent, status, "no longer open at the venue")
        for order in open_orders:
            if not self.orders.claimed(order.order_id):
                await self._orphan(order)

    async def _adopt(self, intent: Intent, order_id: str) -> None:
        logger.warning("intent %s adopted venue order %s", intent.intent_key, order_id)
        intent.venue_order_id, intent.status = order_id, L.OPEN
        self.orders.bind(order_id, intent.intent_key)
        await self.ledger.update_intent(
            intent.intent_key, venue_order_id=order_id, status=L.OPEN, error=None
        )
        self._counters.add("adopted")

    async def _orphan(self, order: OpenOrderView) -> None:
        key = f"orphan:{order.order_id}"
        ref = self.view.ref(order.token_id)
        intent = new_intent(
            self.mode, key, f"orphan:{order.order_id}", "orphan", ref, order.token_id,
            order.side, order.price, order.original_size, status=L.OPEN,
        )  # fmt: skip
        intent.venue_order_id = order.order_id
        intent.reason = "open at the venue but unknown to the ledger"
        if await self.ledger.insert_intent(intent):
            logger.warning("orphan order %s at the venue; tracked", order.order_id)
        self.orders.bind(order.order_id, key)
        self.orders.track(intent)

    # -- fills -------------------------------------------------------------------------------

    async def on_trade(self, trade: TradeView, *, notify: bool = True) -> None:
        """Apply one fill event (deduplicated, counted once) and what it means for its order."""
        key = self.orders.key_for(trade.order_id)
        intent = self.orders.get(key) if key else None
        applied = await self._holdings.apply(trade, key, intent, self.view.ref(trade.token_id))
        if applied is None:
            return
        if self.on_applied is not None:
            await self.on_applied(trade)
        intent = applied.intent
        if intent is not None and self.orders.is_working(intent.intent_key):
            if D(intent.filled_size) >= D(intent.size):
                await self.finish(intent, L.FILLED, "")
            elif notify:
                self._messages.fill(intent, "partial")
        elif notify and intent is None:
            self._messages.unknown_fill(trade)

    # -- the write-ahead submit --------------------------------------------------------------

    async def submit(self, intent: Intent, *, post_only: bool = False) -> None:
        if self.mode is Mode.DRY_RUN:
            intent.status = L.DRY_RUN
            if await self.ledger.insert_intent(intent):
                self.orders.commit(intent.intent_key)
                self._counters.add("dry_run")
            return
        if not await self.ledger.insert_intent(intent):
            self.orders.commit(intent.intent_key)
            return  # committed before: never a second order for one intent
        self.orders.track(intent)
        self._messages.intent(intent)
        assert self.gateway is not None
        request = OrderRequest(
            intent.intent_key, intent.token_id, intent.side, D(intent.price), D(intent.size),
            order_type="GTC" if post_only else "FAK", post_only=post_only,
        )  # fmt: skip
        for attempt in range(1, self.settings.max_send_attempts + 1):
            intent.attempts, intent.status = attempt, L.SENDING
            await self.ledger.update_intent(intent.intent_key, status=L.SENDING, attempts=attempt)
            try:
                result = await asyncio.wait_for(
                    self.gateway.place(request), self.settings.order_timeout
                )
            except GatewayBusy as err:
                self._counters.add(f"busy_{err.status}")
                if await self._reconcile_one(intent):
                    return
                if attempt == self.settings.max_send_attempts:
                    await self.finish(intent, L.FAILED, str(err))
                    return
                await asyncio.sleep(min(err.retry_after or 0.2 * 2**attempt, 5.0))
                continue
            except (TimeoutError, GatewayTimeout, ConnectionError, OSError) as err:
                self._counters.add("timeouts")
                logger.warning("submit %s: no answer (%s); reconciling", intent.intent_key, err)
                if not await self._reconcile_one(intent):
                    intent.status = L.UNKNOWN
                    await self.ledger.update_intent(
                        intent.intent_key, status=L.UNKNOWN, error="no answer; not found yet"
                    )
                return
            except GatewayError as err:
                await self.finish(intent, L.REJECTED, str(err))
                return
            await self._apply_result(intent, result)
            return

    async def _reconcile_one(self, intent: Intent) -> bool:
        """After an ambiguous submit: does the venue have this order? Adopt it if so."""
        assert self.gateway is not None
        try:
            orders = await self.gateway.open_orders(intent.token_id)
            trades = await self.gateway.trades(intent.token_id)
        except Exception as err:
            logger.warning("reconcile %s failed: %s", intent.intent_key, type(err).__name__)
            return False
        found = match(intent, self.orders, orders, trades)
        if found is None:
            return False
        await self._adopt(intent, found)
        for trade in trades:
            if trade.order_id == found:
                await self.on_trade(trade)
        if intent.status == L.OPEN and found not in {o.order_id for o in orders}:
            filled = D(intent.filled_size)
            await self.finish(intent, L.FILLED if filled >= D(intent.size) else L.PARTIAL, "")
        return True

    async def _apply_result(self, intent: Intent, result: PlaceResult) -> None:
        if not result.accepted:
            await self.finish(intent, L.REJECTED, f"{result.status}: {result.reason}".strip())
            return
        intent.venue_order_id, intent.status = result.order_id, L.OPEN
        self.orders.bind(result.order_id, intent.intent_key)
        await self.ledger.update_intent(
            intent.intent_key, venue_order_id=result.order_id, status=L.OPEN
        )
        for trade in result.trades:
            await self.on_trade(trade, notify=False)
        if not self.orders.is_working(intent.intent_key):
            return  # the fills completed it
        filled = D(intent.filled_size)
        if filled >= D(intent.size):
            await self.finish(intent, L.FILLED, "")
        elif not result.resting:
            await self.finish(intent, L.PARTIAL if filled > 0 else L.CANCELLED, "rest cancelled")
        elif filled > 0:
            self._messages.fill(intent, "partial")

    # -- outcomes ----------------------------------------------------------------------------

    async def finish(self, intent: Intent, status: str, why: str) -> None:
        intent.status = status
        self.orders.drop(intent.intent_key)
        fields: dict[str, Any] = {"status": status}
        if why:
            fields["error"] = intent.error = why
        await self.ledger.update_intent(intent.intent_key, **fields)
        self._counters.add(status)
        self._messages.finished(intent, status, why)
        if intent.kind == "entry" and status not in L.WORKING and D(intent.filled_size) == 0:
            await self.ledger.close_episode(intent.episode_id, f"order {status}")

    async def cancel(self, intent: Intent, why: str) -> bool:
        """Cancel at the venue and end the intent; False when the request failed (it stays
        working, the next reconcile tells)."""
        assert self.gateway is not None
        if intent.venue_order_id:
            try:
                await self.gateway.cancel(intent.venue_order_id)
            except Exception as err:
                logger.warning("cancel %s failed: %s", intent.venue_order_id, type(err).__name__)
                return False
        filled = D(intent.filled_size)
        await self.finish(intent, L.PARTIAL if filled > 0 else L.CANCELLED, why)
        return True

    async def cancel_all(self, why: str) -> int:
        """Cancel every resting order at the venue; the open intents end ``why``. Returns how
        many there were."""
        assert self.gateway is not None
        try:
            await self.gateway.cancel_all()
        except Exception as err:
            logger.error("cancel-all on halt failed: %s", type(err).__name__)
        cancelled = 0
        for intent in self.orders.working():
            if intent.status == L.OPEN:
                cancelled += 1
                filled = D(intent.filled_size)
                await self.finish(intent, L.PARTIAL if filled > 0 else L.CANCELLED, why)
        return cancelled
