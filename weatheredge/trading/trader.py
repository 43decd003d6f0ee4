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
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from weatheredge.config import Mode, TradingSettings
from weatheredge.engine import EdgeSignal, TokenRef
from weatheredge.model.book import OrderBook
from weatheredge.model.edge import Change, Side
from weatheredge.model.prices import MICRO
from weatheredge.trading import ledger as L
from weatheredge.trading.gateway import (
    GatewayBusy,
    GatewayError,
    GatewayTimeout,
    OrderGateway,
    OrderRequest,
    PlaceResult,
    TradeView,
)
from weatheredge.trading.ledger import Intent, Ledger
from weatheredge.trading.portfolio import Position, _txt, resolution_payout
from weatheredge.trading.risk import (
    ZERO,
    Blocked,
    D,
    Exposure,
    Limits,
    Offer,
    plan_exit,
    size_entry,
    taker_fee,
)

logger = logging.getLogger(__name__)

_M = Decimal(MICRO)
MANUAL, AUTO = "manual", "auto"
SETTLE, SETTLED = "SETTLE", "SETTLED"  # trade_fills side and status of a resolution settlement
FRAME, VENUE_CHECK = "market_resolved", "venue check"  # where a venue winner was read


class MarketView(Protocol):
    def ref(self, token: str) -> TokenRef | None: ...
    def book(self, token: str) -> OrderBook | None: ...
    def prob(self, token: str) -> float | None: ...
    def feed_problem(self) -> str | None: ...
    def venue_winner(self, event_id: str) -> str | None: ...


class EngineView:
    """What the trader reads from the engine: catalogue, books, probabilities, feed health."""

    def __init__(self, engine: Any, stream: Callable[[], Any] = lambda: None) -> None:
        self._engine = engine
        self._stream = stream

    def ref(self, token: str) -> TokenRef | None:
        return self._engine.tokens.get(token)

    def book(self, token: str) -> OrderBook | None:
        return self._engine.books.get(token)

    def prob(self, token: str) -> float | None:
        ref = self.ref(token)
        if ref is None:
            return None
        pricing = self._engine.pricing.get(ref.event.event_id)
        if pricing is None:
            return None
        if time.monotonic() - pricing.issued_mono > self._engine.max_forecast_age:
            return None
        p = pricing.probs.get(ref.market.market_id)
        if p is None:
            return None
        return p if ref.side is Side.YES else 1.0 - p

    def venue_winner(self, event_id: str) -> str | None:
        """The market the venue resolved YES, from a market_resolved frame seen this run."""
        return self._engine.venue_winners.get(event_id)

    def feed_problem(self) -> str | None:
        stream = self._stream()
        if stream is None or not self._engine.tokens:
            return None
        if hasattr(stream, "health_problems"):  # the sharded feed: polling counts as healthy
            problems = stream.health_problems()
            return f"market feed: {problems[0]}" if problems else None
        if not getattr(stream, "connected", True):
            return "market feed disconnected"
        return None


Notify = Callable[[str, str, str, str | None], None]  # kind, title, body, reference


def _limits(s: TradingSettings) -> Limits:
    return Limits(
        bankroll=D(s.bankroll),
        kelly_fraction=D(s.kelly_fraction),
        max_order=D(s.max_order_usd),
        max_bucket=D(s.max_bucket_usd),
        max_event=D(s.max_event_usd),
        max_city_date=D(s.max_city_date_usd),
        max_total=D(s.max_total_usd),
        daily_loss_limit=D(s.daily_loss_limit_usd),
        max_open_orders=s.max_open_orders,
        min_edge=D(s.min_edge),
        min_depth=D(s.min_depth),
    )


@dataclass(slots=True)
class _Fill:
    trade_id: str
    intent_key: str | None
    token_id: str
    side: str
    price: Decimal
    size: Decimal
    fee: Decimal
    realized: Decimal
    status: str
    matched_at: str


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
    ) -> None:
        if mode is not Mode.DRY_RUN and gateway is None:
            raise ValueError(f"{mode.value} mode needs an order gateway")
        self.mode = mode
        self.settings = settings
        self.limits = _limits(settings)
        self.ledger = ledger
        self.gateway = gateway
        self.view = view
        self._notify = notify or (lambda *_: None)
        self._tick_s = tick_s
        self._queue: asyncio.Queue[EdgeSignal] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._day_tz = ZoneInfo(settings.day_timezone)
        self.halts: dict[str, str] = {}  # MANUAL / AUTO -> reason
        self.positions: dict[str, Position] = {}
        self.intents: dict[str, Intent] = {}  # working intents by key
        self._keys: set[str] = set()  # every intent key ever committed
        self._by_order: dict[str, str] = {}  # venue order id -> intent key
        self._fills: dict[str, _Fill] = {}
        self._exit_episodes: dict[str, str] = {}  # token -> open exit episode id
        self._entry_blocked: dict[str, str] = {}  # edge id -> last limit that blocked it
        self._exit_blocked: dict[str, str] = {}  # token -> last limit that blocked its exit
        self._ready = asyncio.Event()
        self.counters: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._trade_events: list[TradeView] = []
        self._reconcile_due = False
        # event_id -> (market the venue resolved YES, where that was read)
        self.venue_winners: dict[str, tuple[str, str]] = {}
        self._resolution_poll_s = resolution_poll_s
        self._resolution_read = -math.inf  # monotonic time settlements were last read

    # -- hot-path entry points (sync, enqueue only) ----------------------------------------

    def set_settings(self, settings: TradingSettings) -> None:
        """Sizing and limits from a config reload: the next decision uses them (positions,
        intents and halts are untouched; ``day_timezone`` needs a restart)."""
        self.settings = settings
        self.limits = _limits(settings)

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
        self.venue_winners.setdefault(event_id, (market_id, source))
        self._wake.set()

    def request_resolution_check(self) -> None:
        """Read the recorded venue resolutions (``settlements``) at the next step."""
        self._resolution_read = -math.inf
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

    async def ready(self) -> None:
        await self._ready.wait()

    async def run(self) -> None:
        await self.recover()
        self._ready.set()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._tick_s)
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
        while not self._queue.empty():
            await self._on_signal(self._queue.get_nowait())
        await self._settle_resolved()
        await self._check_feed()
        await self._reprice_positions()

    # -- recovery and reconciliation -------------------------------------------------------------

    async def recover(self) -> None:
        """Load the ledger and reconcile it with the venue before any new order."""
        halted = await self.ledger.state("halted")
        if halted:
            self.halts[MANUAL] = halted
        for row in await self.ledger.positions():
            pos = Position.from_row(row)
            self.positions[pos.token_id] = pos
        for row in await self.ledger.fills():
            self._fills[row["trade_id"]] = _Fill(
                row["trade_id"],
                row["intent_key"],
                row["token_id"],
                row["side"],
                Decimal(row["price"]),
                Decimal(row["size"]),
                Decimal(row["fee"]),
                Decimal(row["realized_pnl"]),
                row["status"],
                row["matched_at"] or "",
            )
        # Episodes a killed process left open: nobody watches them any more. Edges that still
        # hold open new episodes (new ids) as this run's books and prices arrive.
        closed = await self.ledger.close_open_episodes("daemon restarted")
        if closed:
            logger.warning("closed %d trade episode(s) left open by the last run", closed)
        for intent in await self.ledger.intents():
            self._keys.add(intent.intent_key)
            if intent.venue_order_id:
                self._by_order[intent.venue_order_id] = intent.intent_key
            if intent.status == L.PENDING:
                await self._finish(intent, L.ABANDONED, "never sent: stopped before sending")
            elif intent.status in (L.SENDING, L.UNKNOWN, L.OPEN):
                self.intents[intent.intent_key] = intent
        if self.gateway is not None:
            await self.reconcile(startup=True)
        await self._settle_resolved()  # resolved while we were down

    async def reconcile(self, *, startup: bool = False) -> None:
        """Venue truth: adopt orders of unresolved intents, apply missed trades, find orphans.

        Runs on startup and after every user-channel reconnect (a gap may have lost events).
        """
        assert self.gateway is not None
        open_orders = await self.gateway.open_orders()
        trades = await self.gateway.trades()
        for intent in list(self.intents.values()):
            if intent.status in (L.SENDING, L.UNKNOWN):
                found = self._match(intent, open_orders, trades)
                if found is not None:
                    await self._adopt(intent, found)
                elif startup or intent.status == L.SENDING:
                    await self._finish(intent, L.FAILED, "not at the venue: never received")
        for trade in trades:
            await self.on_trade(trade)
        open_ids = {o.order_id for o in open_orders}
        for intent in list(self.intents.values()):
            if intent.status == L.OPEN and intent.venue_order_id not in open_ids:
                filled = D(intent.filled_size)
                status = (
                    L.FILLED
                    if filled >= D(intent.size)
                    else (L.PARTIAL if filled > 0 else L.CANCELLED)
                )
                await self._finish(intent, status, "no longer open at the venue")
        for order in open_orders:
            if order.order_id not in self._by_order:
                await self._orphan(order)

    def _match(self, intent: Intent, open_orders: list, trades: list[TradeView]) -> str | None:
        """The venue order id of an intent whose answer we never got: same token, side, price
        and size, not claimed by any other intent. One working intent per token and side makes
        this unambiguous."""
        price, size = D(intent.price), D(intent.size)
        for o in open_orders:
            if (
                o.order_id not in self._by_order
                and o.token_id == intent.token_id
                and o.side == intent.side
                and o.price == price
                and o.original_size == size
            ):
                return o.order_id
        matched: dict[str, Decimal] = {}
        for t in trades:
            if t.order_id in self._by_order or t.token_id != intent.token_id:
                continue
            if t.side != intent.side or t.status == "FAILED":
                continue
            if (t.price <= price) if intent.side == "BUY" else (t.price >= price):
                matched[t.order_id] = matched.get(t.order_id, ZERO) + t.size
        for order_id, total in matched.items():
            if total <= size:
                return order_id
        return None

    async def _adopt(self, intent: Intent, order_id: str) -> None:
        logger.warning("intent %s adopted venue order %s", intent.intent_key, order_id)
        intent.venue_order_id, intent.status = order_id, L.OPEN
        self._by_order[order_id] = intent.intent_key
        await self.ledger.update_intent(
            intent.intent_key, venue_order_id=order_id, status=L.OPEN, error=None
        )
        self._count("adopted")

    async def _orphan(self, order: Any) -> None:
        key = f"orphan:{order.order_id}"
        ref = self.view.ref(order.token_id)
        intent = self._new_intent(
            key, f"orphan:{order.order_id}", "orphan", ref, order.token_id, order.side,
            order.price, order.original_size, status=L.OPEN,
        )  # fmt: skip
        intent.venue_order_id = order.order_id
        intent.reason = "open at the venue but unknown to the ledger"
        if await self.ledger.insert_intent(intent):
            logger.warning("orphan order %s at the venue; tracked", order.order_id)
        self._keys.add(key)
        self._by_order[order.order_id] = key
        self.intents[key] = intent

    # -- signals -> entries ----------------------------------------------------------------------

    async def _on_signal(self, signal: EdgeSignal) -> None:
        if getattr(signal, "kind", "bucket") != "bucket":
            return  # ladder arbitrage signals (multi-leg) are recorded, not traded, here
        token = signal.market.yes_token if signal.side is Side.YES else signal.market.no_token
        key = f"{signal.edge_id}:entry:BUY"
        if signal.change is Change.CLOSE:
            self._entry_blocked.pop(signal.edge_id, None)
            intent = self.intents.get(key)
            if intent is not None and intent.status == L.OPEN:
                await self._cancel(intent, f"edge closed: {signal.reason}")
            await self.ledger.close_episode(signal.edge_id, f"edge closed: {signal.reason}")
            return
        if key in self._keys:
            return  # one entry per edge episode, ever
        if signal.change is Change.UPDATE and signal.edge_id not in self._entry_blocked:
            return
        if signal.quote is None:
            return
        await self._enter(signal, token, key)

    async def _enter(self, signal: EdgeSignal, token: str, key: str) -> None:
        ref = TokenRef(signal.event, signal.market, signal.side)
        book = self.view.book(token)
        ask = book.best_ask() if book is not None and book.synced else None
        if self.halts:
            return await self._block_entry(signal, token, "halted", "; ".join(self.halts.values()))
        if ask is None:
            why = "no ask" if book is not None and book.synced else "book not synced"
            return await self._block_entry(signal, token, "min_depth", why)
        if any(i.token_id == token and i.side == "BUY" for i in self.intents.values()):
            return await self._block_entry(signal, token, "working_order", "one order per token")
        assert signal.quote is not None
        depth = self._offered(token, True, ask)
        if depth <= 0:
            detail = f"the {Decimal(ask[1]) / _M} offered at {Decimal(ask[0]) / _M} were taken"
            return await self._block_entry(signal, token, "offer_taken", detail)
        offer = Offer(
            prob=D(signal.quote.prob),
            price=Decimal(ask[0]) / _M,
            depth=Decimal(depth) / _M,
            tick=Decimal(book.tick) / _M if book is not None else Decimal("0.01"),
            fee_rate=D(signal.market.fee_rate),
            min_size=Decimal(signal.market.min_size) / _M,
        )
        sized = size_entry(offer, self.exposure(ref), self.limits)
        if isinstance(sized, Blocked):
            return await self._block_entry(signal, token, sized.limit, sized.detail)
        self._entry_blocked.pop(signal.edge_id, None)
        intent = self._new_intent(
            key, signal.edge_id, "entry", ref, token, "BUY", sized.price, sized.size,
            status=L.PENDING,
        )  # fmt: skip
        intent.prob, intent.edge = float(offer.prob), float(sized.edge)
        intent.reason = f"edge {sized.edge:.4f}/share after fee; size set by {sized.binding}"
        intent.limits = L.limits_json(sized.checks)
        await self.ledger.open_episode(
            {
                "episode_id": signal.edge_id,
                "kind": "entry",
                "edge_id": signal.edge_id,
                "token_id": token,
                "event_id": signal.event.event_id,
                "outcome": signal.side.value,
                "prob": float(offer.prob),
                "price": _txt(sized.price),
            }
        )
        await self._submit(intent)

    def _offered(self, token: str, buying: bool, level: tuple[int, int]) -> int:
        """What is left for us of a best level (micros): in paper mode the live book never shows
        what our paper orders already took from it, the paper venue remembers."""
        untaken = getattr(self.gateway, "untaken", None)
        return level[1] if untaken is None else int(untaken(token, buying, *level))

    async def _block_entry(self, signal: EdgeSignal, token: str, limit: str, detail: str) -> None:
        if self._entry_blocked.get(signal.edge_id) == limit:
            return  # recorded once per episode and limit, not on every tick
        self._entry_blocked[signal.edge_id] = limit
        self._count(f"blocked_{limit}")
        await self.ledger.rejection(signal.edge_id, token, "BUY", limit, detail)
        where = f"{signal.event.city} {signal.event.date} {signal.market.label} {signal.side}"
        self._notify("blocked", f"Order blocked ({limit}): {where}", detail, signal.edge_id)

    def _new_intent(
        self,
        key: str,
        episode: str,
        kind: str,
        ref: TokenRef | None,
        token: str,
        side: str,
        price: Decimal,
        size: Decimal,
        *,
        status: str,
    ) -> Intent:
        return Intent(
            intent_key=key,
            episode_id=episode,
            kind=kind,
            mode=self.mode.value,
            token_id=token,
            side=side,
            price=_txt(price),
            size=_txt(size),
            status=status,
            market_id=ref.market.market_id if ref else None,
            event_id=ref.event.event_id if ref else None,
            city=ref.event.city if ref else None,
            date=ref.event.date.isoformat() if ref else None,
            bucket=ref.market.label if ref else None,
            outcome=ref.side.value if ref else None,
        )

    # -- exposure ----------------------------------------------------------------------------

    def exposure(self, ref: TokenRef) -> Exposure:
        bucket = event = city_date = total = ZERO
        token = ref.market.yes_token if ref.side is Side.YES else ref.market.no_token
        pos = self.positions.get(token)
        held = pos.shares if pos is not None and pos.shares > 0 else ZERO

        def add(r: TokenRef | None, amount: Decimal) -> None:
            nonlocal bucket, event, city_date, total
            total += amount
            if r is None:
                return
            if r.market.market_id == ref.market.market_id:
                bucket += amount
            if r.event.event_id == ref.event.event_id:
                event += amount
            if (r.event.city, r.event.date) == (ref.event.city, ref.event.date):
                city_date += amount

        for pos in self.positions.values():
            if pos.shares > 0:
                add(self.view.ref(pos.token_id), pos.cost())
        open_orders = 0
        for intent in self.intents.values():
            open_orders += 1
            if intent.side == "BUY":
                left = D(intent.size) - D(intent.filled_size)
                add(self.view.ref(intent.token_id), left * D(intent.price))
                if intent.token_id == token:
                    held += left
        return Exposure(bucket, event, city_date, total, open_orders, self.day_pnl(), held)

    def day_start(self) -> str:
        """Start of the venue's current day, as the ledger's UTC text."""
        local = dt.datetime.now(self._day_tz).replace(hour=0, minute=0, second=0, microsecond=0)
        utc = local.astimezone(dt.UTC).isoformat(timespec="milliseconds")
        return utc.replace("+00:00", "Z")

    def day_pnl(self) -> Decimal:
        """Realised in the venue's day so far plus unrealised (marked at the bid) now."""
        start = self.day_start()
        fills = self._fills.values()
        realized = sum(
            (f.realized for f in fills if f.status != "FAILED" and f.matched_at >= start), ZERO
        )
        return realized + self.unrealized()

    def unrealized(self) -> Decimal:
        total = ZERO
        for pos in self.positions.values():
            if pos.shares > 0:
                total += pos.unrealized(self._bid(pos.token_id))
        return total

    def _bid(self, token: str) -> Decimal | None:
        book = self.view.book(token)
        bid = book.best_bid() if book is not None and book.synced else None
        return None if bid is None else Decimal(bid[0]) / _M

    # -- exits ---------------------------------------------------------------------------------

    async def _reprice_positions(self) -> None:
        for pos in list(self.positions.values()):
            if pos.shares <= 0:
                continue
            if any(i.token_id == pos.token_id and i.side == "SELL" for i in self.intents.values()):
                continue
            ref, prob, book = (
                self.view.ref(pos.token_id),
                self.view.prob(pos.token_id),
                self.view.book(pos.token_id),
            )
            if ref is None or prob is None or book is None or not book.synced:
                continue
            bid = book.best_bid()
            plan = plan_exit(
                prob=D(prob),
                bid=None if bid is None else Decimal(bid[0]) / _M,
                bid_size=ZERO
                if bid is None
                else Decimal(self._offered(pos.token_id, False, bid)) / _M,
                shares=pos.shares,
                fee_rate=D(ref.market.fee_rate),
                tick=Decimal(book.tick) / _M,
                exit_threshold=D(self.settings.exit_threshold),
                take_profit=self.settings.take_profit,
                take_profit_margin=D(self.settings.take_profit_margin),
                min_size=Decimal(ref.market.min_size) / _M,
            )
            episode = self._exit_episodes.get(pos.token_id)
            if plan is None:
                self._exit_blocked.pop(pos.token_id, None)
                if episode is not None:
                    del self._exit_episodes[pos.token_id]
                    await self.ledger.close_episode(episode, "condition cleared")
                continue
            if isinstance(plan, Blocked) or self.halts:
                limit = "halted" if self.halts else plan.limit  # type: ignore[union-attr]
                detail = "; ".join(self.halts.values()) if self.halts else plan.detail  # type: ignore[union-attr]
                if self._exit_blocked.get(pos.token_id) != limit:
                    self._exit_blocked[pos.token_id] = limit
                    self._count(f"blocked_{limit}")
                    await self.ledger.rejection(episode, pos.token_id, "SELL", limit, detail)
                continue
            if episode is None:
                episode = uuid.uuid4().hex
                self._exit_episodes[pos.token_id] = episode
                await self.ledger.open_episode(
                    {
                        "episode_id": episode,
                        "kind": plan.kind,
                        "token_id": pos.token_id,
                        "event_id": ref.event.event_id,
                        "outcome": ref.side.value,
                        "prob": prob,
                        "price": _txt(plan.price),
                        "reason": plan.reason,
                    }
                )
                where = f"{ref.event.city} {ref.event.date} {ref.market.label} {ref.side}"
                self._notify(
                    "exit",
                    f"{'Take profit' if plan.kind == 'take_profit' else 'Exit'}: {where}",
                    f"Selling {plan.size} of {_txt(pos.shares)} shares at {plan.price}: "
                    f"{plan.reason}",
                    episode,
                )
            key = f"{episode}:{plan.kind}:SELL"
            if key in self._keys:
                continue
            intent = self._new_intent(
                key, episode, plan.kind, ref, pos.token_id, "SELL", plan.price, plan.size,
                status=L.PENDING,
            )  # fmt: skip
            intent.prob, intent.reason = prob, plan.reason
            await self._submit(intent)
            if intent.status not in L.WORKING:
                self._exit_episodes.pop(pos.token_id, None)
                await self.ledger.close_episode(episode, f"order {intent.status}")

    # -- the write-ahead submit ------------------------------------------------------------------

    async def _submit(self, intent: Intent) -> None:
        if self.mode is Mode.DRY_RUN:
            intent.status = L.DRY_RUN
            if await self.ledger.insert_intent(intent):
                self._keys.add(intent.intent_key)
                self._count("dry_run")
            return
        if not await self.ledger.insert_intent(intent):
            self._keys.add(intent.intent_key)
            return  # committed before: never a second order for one intent
        self._keys.add(intent.intent_key)
        self.intents[intent.intent_key] = intent
        self._notify_intent(intent)
        assert self.gateway is not None
        request = OrderRequest(
            intent.intent_key, intent.token_id, intent.side, D(intent.price), D(intent.size)
        )
        for attempt in range(1, self.settings.max_send_attempts + 1):
            intent.attempts, intent.status = attempt, L.SENDING
            await self.ledger.update_intent(intent.intent_key, status=L.SENDING, attempts=attempt)
            try:
                result = await asyncio.wait_for(
                    self.gateway.place(request), self.settings.order_timeout
                )
            except GatewayBusy as err:
                self._count(f"busy_{err.status}")
                if await self._reconcile_one(intent):
                    return
                if attempt == self.settings.max_send_attempts:
                    await self._finish(intent, L.FAILED, str(err))
                    return
                await asyncio.sleep(min(err.retry_after or 0.2 * 2**attempt, 5.0))
                continue
            except (TimeoutError, GatewayTimeout, ConnectionError, OSError) as err:
                self._count("timeouts")
                logger.warning("submit %s: no answer (%s); reconciling", intent.intent_key, err)
                if not await self._reconcile_one(intent):
                    intent.status = L.UNKNOWN
                    await self.ledger.update_intent(
                        intent.intent_key, status=L.UNKNOWN, error="no answer; not found yet"
                    )
                return
            except GatewayError as err:
                await self._finish(intent, L.REJECTED, str(err))
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
        found = self._match(intent, orders, trades)
        if found is None:
            return False
        await self._adopt(intent, found)
        for trade in trades:
            if trade.order_id == found:
                await self.on_trade(trade)
        if intent.status == L.OPEN and found not in {o.order_id for o in orders}:
            filled = D(intent.filled_size)
            await self._finish(intent, L.FILLED if filled >= D(intent.size) else L.PARTIAL, "")
        return True

    async def _apply_result(self, intent: Intent, result: PlaceResult) -> None:
        if not result.accepted:
            await self._finish(intent, L.REJECTED, f"{result.status}: {result.reason}".strip())
            return
        intent.venue_order_id, intent.status = result.order_id, L.OPEN
        self._by_order[result.order_id] = intent.intent_key
        await self.ledger.update_intent(
            intent.intent_key, venue_order_id=result.order_id, status=L.OPEN
        )
        for trade in result.trades:
            await self.on_trade(trade, notify=False)
        if intent.intent_key not in self.intents:
            return  # the fills completed it
        filled = D(intent.filled_size)
        if filled >= D(intent.size):
            await self._finish(intent, L.FILLED, "")
        elif not result.resting:
            await self._finish(intent, L.PARTIAL if filled > 0 else L.CANCELLED, "rest cancelled")
        elif filled > 0:
            self._notify_fill(intent, "partial")

    async def _finish(self, intent: Intent, status: str, why: str) -> None:
        intent.status = status
        self.intents.pop(intent.intent_key, None)
        fields: dict[str, Any] = {"status": status}
        if why:
            fields["error"] = why
        await self.ledger.update_intent(intent.intent_key, **fields)
        self._count(status)
        if status in (L.FILLED, L.PARTIAL):
            self._notify_fill(intent, status)
        elif status in (L.REJECTED, L.FAILED):
            self._notify(
                "rejected",
                f"Order {status}: {self._where(intent)}",
                f"{intent.side} {intent.size} at {intent.price}: {why}",
                intent.intent_key,
            )
        elif status in (L.CANCELLED, L.ABANDONED):
            self._notify(
                "cancelled",
                f"Order {status}: {self._where(intent)}",
                f"{intent.side} {intent.size} at {intent.price}: {why}",
                intent.intent_key,
            )
        if intent.kind == "entry" and status not in L.WORKING and D(intent.filled_size) == 0:
            await self.ledger.close_episode(intent.episode_id, f"order {status}")

    async def _cancel(self, intent: Intent, why: str) -> None:
        assert self.gateway is not None
        if intent.venue_order_id:
            try:
                await self.gateway.cancel(intent.venue_order_id)
            except Exception as err:
                logger.warning("cancel %s failed: %s", intent.venue_order_id, type(err).__name__)
                return
        filled = D(intent.filled_size)
        await self._finish(intent, L.PARTIAL if filled > 0 else L.CANCELLED, why)

    # -- fills -----------------------------------------------------------------------------

    async def on_trade(self, trade: TradeView, *, notify: bool = True) -> None:
        """Apply one fill event; deduplicated on (trade id, status); counted once."""
        event = (trade.trade_id, trade.status)
        if await self.ledger.fill_event_known(*event):
            self._count("duplicate_fill_events")
            return
        prev = self._fills.get(trade.trade_id)
        key = self._by_order.get(trade.order_id)
        intent = self.intents.get(key) if key else None
        now = L.now_iso()
        if prev is not None:
            if trade.status == "FAILED" and prev.status != "FAILED":
                await self._reverse(prev, intent, event)
            elif prev.status != "FAILED" and _progress(trade.status) > _progress(prev.status):
                # forward only: a late MATCHED (user channel) after REST showed CONFIRMED
                # must not regress the fill
                prev.status = trade.status
                await self.ledger.save_fill(self._fill_row(prev, now), None, None, event)
            else:
                await self.ledger.fill_event_seen(*event)
            return
        if trade.status == "FAILED":
            await self.ledger.fill_event_seen(*event)
            return  # never counted, nothing to undo
        ref = self.view.ref(trade.token_id)
        fee = trade.fee
        if fee is None:
            rate = D(ref.market.fee_rate) if ref is not None else ZERO
            fee = taker_fee(trade.size, trade.price, rate) if trade.role == "TAKER" else ZERO
        pos = self.positions.get(trade.token_id)
        if pos is None:
            pos = self.positions[trade.token_id] = _position(trade.token_id, ref, intent)
        realized = pos.apply(trade.side, trade.price, trade.size, fee)
        fill = _Fill(
            trade.trade_id, key, trade.token_id, trade.side, trade.price, trade.size, fee,
            realized, trade.status, now,
        )  # fmt: skip
        self._fills[trade.trade_id] = fill
        update = None
        if key is not None:
            if intent is None:
                intent = await self.ledger.intent(key)
            if intent is not None:
                intent.filled_size = _txt(D(intent.filled_size) + trade.size)
                intent.fees = _txt(D(intent.fees) + fee)
                update = (key, {"filled_size": intent.filled_size, "fees": intent.fees})
        await self.ledger.save_fill(self._fill_row(fill, now), pos.row(now), update, event)
        self._count("fills")
        if intent is not None and intent.intent_key in self.intents:
            if D(intent.filled_size) >= D(intent.size):
                await self._finish(intent, L.FILLED, "")
            elif notify:
                self._notify_fill(intent, "partial")
        elif notify and intent is None:
            self._notify(
                "filled",
                f"Fill on an order not in the ledger: {trade.token_id[:12]}…",
                f"{trade.side} {trade.size} at {trade.price}",
                trade.trade_id,
            )

    async def _reverse(self, fill: _Fill, intent: Intent | None, event: tuple[str, str]) -> None:
        pos = self.positions.get(fill.token_id)
        if pos is not None:
            pos.reverse(fill.side, fill.price, fill.size, fill.fee, fill.realized)
        fill.status = "FAILED"
        now = L.now_iso()
        update = None
        if fill.intent_key is not None:
            intent = intent or await self.ledger.intent(fill.intent_key)
            if intent is not None:
                intent.filled_size = _txt(D(intent.filled_size) - fill.size)
                intent.fees = _txt(D(intent.fees) - fill.fee)
                fields = {"filled_size": intent.filled_size, "fees": intent.fees}
                update = (intent.intent_key, fields)
        await self.ledger.save_fill(
            self._fill_row(fill, now), pos.row(now) if pos is not None else None, update, event
        )
        self._count("failed_fills")
        self._notify(
            "rejected",
            f"Trade failed on chain: {fill.trade_id}",
            f"{fill.side} {_txt(fill.size)} at {_txt(fill.price)} was undone",
            fill.trade_id,
        )

    @staticmethod
    def _fill_row(fill: _Fill, now: str) -> dict[str, Any]:
        return {
            "trade_id": fill.trade_id,
            "intent_key": fill.intent_key,
            "venue_order_id": None,
            "token_id": fill.token_id,
            "side": fill.side,
            "price": _txt(fill.price),
            "size": _txt(fill.size),
            "fee": _txt(fill.fee),
            "realized_pnl": _txt(fill.realized),
            "status": fill.status,
            "matched_at": fill.matched_at,
            "updated_at": now,
        }

    # -- resolution --------------------------------------------------------------------------

    async def _settle_resolved(self) -> None:
        """Settle every held position whose event the venue has resolved.

        Exactly once per position: the settlement empties it in the same transaction that
        records the settlement fill, so a repeated signal or a restart finds nothing left to
        settle. Shares that arrive later (a fill reported after the resolution) are settled by
        a further settlement fill of their own.
        """
        held = [p for p in self.positions.values() if p.shares > 0 and p.event_id]
        if not held:
            return
        for event_id in {p.event_id for p in held} - set(self.venue_winners):
            assert event_id is not None
            market_id = self.view.venue_winner(event_id)
            if market_id is not None:
                self.venue_winners[event_id] = (market_id, FRAME)
        unknown = sorted({str(p.event_id) for p in held} - set(self.venue_winners))
        now = time.monotonic()
        if unknown and now - self._resolution_read >= self._resolution_poll_s:
            self._resolution_read = now
            for event_id, market_id in (await self.ledger.venue_winners(unknown)).items():
                self.venue_winners[event_id] = (market_id, VENUE_CHECK)
        for pos in held:
            winner = self.venue_winners.get(str(pos.event_id))
            if winner is not None:
                await self._settle(pos, *winner)

    async def _settle(self, pos: Position, winner: str, source: str) -> None:
        if pos.market_id is None or pos.outcome is None:
            self._count("unsettleable_positions")
            return
        payout = resolution_payout(pos.market_id, pos.outcome, winner)
        if payout is None:
            self._count("unsettleable_positions")
            return
        trade_id, n = f"settlement:{pos.token_id}", 1
        while trade_id in self._fills:
            n += 1
            trade_id = f"settlement:{pos.token_id}:{n}"
        settled = dataclasses.replace(pos)
        avg = settled.avg_price
        shares, realized = settled.settle(payout)
        now = L.now_iso()
        fill = _Fill(
            trade_id, None, pos.token_id, SETTLE, payout, shares, ZERO, realized, SETTLED, now
        )
        won = "won" if payout else "lost"
        reason = f"venue resolved market {winner} YES ({source}): {pos.outcome} {won}"
        episode = {
            "episode_id": trade_id,
            "kind": "settlement",
            "token_id": pos.token_id,
            "event_id": pos.event_id,
            "outcome": pos.outcome,
            "status": "closed",
            "opened_at": now,
            "closed_at": now,
            "reason": reason,
            "price": _txt(payout),
        }
        saved = await self.ledger.save_settlement(
            self._fill_row(fill, now), settled.row(now), episode
        )
        if not saved:
            # Recorded by an earlier run that this memory does not reflect: trust the ledger.
            for row in await self.ledger.positions():
                if row["token_id"] == pos.token_id:
                    self.positions[pos.token_id] = Position.from_row(row)
            self._fills.setdefault(trade_id, fill)
            return
        self.positions[pos.token_id] = settled
        self._fills[trade_id] = fill
        self._count("settlements")
        episode_open = self._exit_episodes.pop(pos.token_id, None)
        if episode_open is not None:
            await self.ledger.close_episode(episode_open, "market resolved")
        logger.info(
            "settled %s %s: %s shares at %s, realised %s (%s)",
            pos.token_id[:12], pos.outcome, _txt(shares), _txt(payout), _txt(realized), source,
        )  # fmt: skip
        where = f"{pos.city} {pos.date} {pos.bucket} {pos.outcome}"
        self._notify(
            "settled",
            f"Settled ({won}): {where}",
            f"{_txt(shares)} shares bought at {_txt(avg)} paid {_txt(payout)} each: "
            f"realised {_txt(realized)}; position total {_txt(settled.realized)} after fees "
            f"{_txt(settled.fees)} ({reason})",
            trade_id,
        )

    # -- kill switch -----------------------------------------------------------------------

    async def halt(self, reason: str, *, manual: bool = True, cancel: bool | None = None) -> int:
        """Stop new orders; optionally cancel working ones. Returns how many were cancelled."""
        kind = MANUAL if manual else AUTO
        first = not self.halts
        self.halts[kind] = reason
        if manual:
            await self.ledger.set_state("halted", reason)
        logger.warning("TRADING HALTED (%s): %s", kind, reason)
        if first:
            self._notify("halt", "Trading halted", f"{kind}: {reason}", None)
        cancelled = 0
        if (self.settings.cancel_on_halt if cancel is None else cancel) and self.gateway:
            try:
                await self.gateway.cancel_all()
            except Exception as err:
                logger.error("cancel-all on halt failed: %s", type(err).__name__)
            for intent in list(self.intents.values()):
                if intent.status == L.OPEN:
                    cancelled += 1
                    filled = D(intent.filled_size)
                    await self._finish(intent, L.PARTIAL if filled > 0 else L.CANCELLED, "halt")
        return cancelled

    async def resume(self, *, manual: bool = True) -> None:
        kind = MANUAL if manual else AUTO
        if self.halts.pop(kind, None) is None:
            return
        if manual:
            await self.ledger.set_state("halted", "")
        logger.warning("trading resumed (%s)%s", kind, "; still halted" if self.halts else "")
        if not self.halts:
            self._notify("halt", "Trading resumed", f"{kind} halt released", None)

    async def _check_feed(self) -> None:
        problem = self.view.feed_problem()
        if problem and AUTO not in self.halts:
            await self.halt(problem, manual=False)
        elif not problem and AUTO in self.halts:
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

    # -- reporting ----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {
            "mode": self.mode.value,
            "halted": bool(self.halts),
            "halts": dict(self.halts),
            "working_orders": len(self.intents),
            "positions": {
                t: {"shares": _txt(p.shares), "avg_price": _txt(p.avg_price)}
                for t, p in self.positions.items()
                if p.shares > 0
            },
            "realized_pnl": _txt(sum((p.realized for p in self.positions.values()), ZERO)),
            "unrealized_pnl": _txt(self.unrealized()),
            "counters": dict(self.counters),
        }

    def _count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    @staticmethod
    def _where(intent: Intent) -> str:
        return f"{intent.city} {intent.date} {intent.bucket} {intent.outcome}"

    def _notify_intent(self, intent: Intent) -> None:
        verb = "Buying" if intent.side == "BUY" else "Selling"
        body = [f"{verb} {intent.size} {intent.outcome} at {intent.price} ({self.mode.value})"]
        if intent.reason:
            body.append(f"Why: {intent.reason}")
        if intent.limits:
            body.append(f"Limits checked: {intent.limits}")
        self._notify("intent", f"Order intent: {self._where(intent)}", "\n".join(body),
                     intent.intent_key)  # fmt: skip

    def _notify_fill(self, intent: Intent, kind: str) -> None:
        self._notify(
            "filled" if kind == L.FILLED else "partial",
            f"Order {'filled' if kind == L.FILLED else 'partly filled'}: {self._where(intent)}",
            f"{intent.side} {intent.filled_size} of {intent.size} at {intent.price}; "
            f"fees {intent.fees}",
            intent.intent_key,
        )


_PROGRESS = {"MATCHED": 0, "MATCHED_NOT_BROADCASTED": 0, "RETRYING": 1, "MINED": 2, "CONFIRMED": 3}


def _progress(status: str) -> int:
    """How far along settlement a trade status is (RETRYING goes on to MINED)."""
    return _PROGRESS.get(status, 0)


def _position(token: str, ref: TokenRef | None, intent: Intent | None) -> Position:
    if ref is not None:
        return Position(
            token,
            event_id=ref.event.event_id,
            market_id=ref.market.market_id,
            city=ref.event.city,
            date=ref.event.date.isoformat(),
            bucket=ref.market.label,
            outcome=ref.side.value,
        )
    if intent is not None:
        return Position(
            token, intent.event_id, intent.market_id, intent.city, intent.date, intent.bucket,
            intent.outcome,
        )  # fmt: skip
    return Position(token)


__all__ = ["EngineView", "MarketView", "Trader"]
