"""Decisions and sizing: edge signals become entries, held positions are re-priced for exits.

:class:`Decider` owns what it remembers between decisions: the last limit that blocked each
entry and exit (recorded once, not on every tick) and the open exit episode of each token. It
sizes against the exposure of positions (:class:`~weatheredge.trading.holdings.Holdings`) and
working orders, and hands every order to the order desk.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo

from weatheredge.clock import SYSTEM, Clock
from weatheredge.config import TradingSettings
from weatheredge.engine import EdgeSignal, TokenRef
from weatheredge.model.edge import Change, Side
from weatheredge.model.prices import MICRO
from weatheredge.timestamps import utc_iso
from weatheredge.trading import ledger as L
from weatheredge.trading.flags import Counters, Halts
from weatheredge.trading.gateway import RemembersTaken
from weatheredge.trading.holdings import Holdings
from weatheredge.trading.ledger import Ledger
from weatheredge.trading.messages import TradeMessages
from weatheredge.trading.orders import new_intent
from weatheredge.trading.portfolio import Position, _txt
from weatheredge.trading.risk import (
    ZERO,
    Blocked,
    D,
    Exposure,
    Limits,
    Offer,
    plan_exit,
    size_entry,
)
from weatheredge.trading.submit import OrderDesk
from weatheredge.trading.view import MarketView

_M = Decimal(MICRO)


@functools.lru_cache(maxsize=4096)
def _buying(size: str, filled: str, price: str) -> tuple[Decimal, Decimal]:
    """A working buy order's shares left and their cost, from its text (maker mode reads every
    working quote on every decision; the texts repeat until the order changes)."""
    left = D(size) - D(filled)
    return left, left * D(price)


def limits(s: TradingSettings) -> Limits:
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
        min_edge=D(s.min_trade_edge),
        min_depth=D(s.min_depth),
    )


class Decider:
    def __init__(
        self,
        *,
        settings: TradingSettings,
        ledger: Ledger,
        view: MarketView,
        desk: OrderDesk,
        holdings: Holdings,
        halts: Halts,
        messages: TradeMessages,
        counters: Counters,
        clock: Clock = SYSTEM,
    ) -> None:
        self._clock = clock
        self.settings = settings
        self.limits = limits(settings)
        self.ledger = ledger
        self.view = view
        self._desk = desk
        self._orders = desk.orders
        self._holdings = holdings
        self._halts = halts
        self._messages = messages
        self._counters = counters
        self._day_tz = ZoneInfo(settings.day_timezone)
        self._entry_blocked: dict[str, str] = {}  # edge id -> last limit that blocked it
        self._exit_blocked: dict[str, str] = {}  # token -> last limit that blocked its exit
        self._exit_episodes: dict[str, str] = {}  # token -> open exit episode id

    # -- signals -> entries ------------------------------------------------------------------

    async def on_signal(self, signal: EdgeSignal) -> None:
        if signal.kind != "bucket":
            return  # ladder arbitrage signals (multi-leg) are recorded, not traded, here
        token = signal.market.yes_token if signal.side is Side.YES else signal.market.no_token
        key = f"{signal.edge_id}:entry:BUY"
        if signal.change is Change.CLOSE:
            self._entry_blocked.pop(signal.edge_id, None)
            intent = self._orders.get(key)
            if intent is not None and intent.status == L.OPEN:
                await self._desk.cancel(intent, f"edge closed: {signal.reason}")
            await self.ledger.close_episode(signal.edge_id, f"edge closed: {signal.reason}")
            return
        if self._orders.committed(key):
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
        if self._halts:
            return await self._block_entry(signal, token, "halted", self._halts.reason())
        if ask is None:
            why = "no ask" if book is not None and book.synced else "book not synced"
            return await self._block_entry(signal, token, "min_depth", why)
        if self._orders.has(token, "BUY"):
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
        intent = new_intent(
            self._desk.mode, key, signal.edge_id, "entry", ref, token, "BUY", sized.price,
            sized.size, status=L.PENDING,
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
        await self._desk.submit(intent)

    def set_settings(self, settings: TradingSettings) -> None:
        """Sizing and limits from a config reload (``day_timezone`` needs a restart)."""
        self.settings = settings
        self.limits = limits(settings)

    def _offered(self, token: str, buying: bool, level: tuple[int, int]) -> int:
        """What is left for us of a best level (micros): in paper mode the live book never shows
        what our paper orders already took from it, the paper venue remembers."""
        gateway = self._desk.gateway
        if not isinstance(gateway, RemembersTaken):
            return level[1]
        return int(gateway.untaken(token, buying, *level))

    async def _block_entry(self, signal: EdgeSignal, token: str, limit: str, detail: str) -> None:
        if self._entry_blocked.get(signal.edge_id) == limit:
            return  # recorded once per episode and limit, not on every tick
        self._entry_blocked[signal.edge_id] = limit
        self._counters.add(f"blocked_{limit}")
        await self.ledger.rejection(signal.edge_id, token, "BUY", limit, detail)
        self._messages.blocked(signal, limit, detail)

    # -- exposure ----------------------------------------------------------------------------

    def exposure(self, ref: TokenRef) -> Exposure:
        return self.exposures([ref])[0]

    def exposures(self, refs: Sequence[TokenRef]) -> list[Exposure]:
        """:meth:`exposure` of several tokens from one pass over positions and working orders
        (maker mode sizes every token of an event at once)."""
        items: list[tuple[TokenRef | None, Decimal]] = []
        held: dict[str, Decimal] = {}
        ref_of = self.view.ref
        for pos in self._holdings.held():
            items.append((ref_of(pos.token_id), pos.cost()))
            if pos.shares > 0:
                held[pos.token_id] = pos.shares
        open_orders = 0
        for intent in self._orders.working():
            open_orders += 1
            if intent.side == "BUY":
                left, cost = _buying(intent.size, intent.filled_size, intent.price)
                items.append((ref_of(intent.token_id), cost))
                held[intent.token_id] = held.get(intent.token_id, ZERO) + left
        total = ZERO
        by_market: dict[str, Decimal] = {}
        by_event: dict[str, Decimal] = {}
        by_city_date: dict[tuple[str, object], Decimal] = {}
        for r, amount in items:
            total += amount
            if r is None:
                continue
            key = r.market.market_id
            by_market[key] = by_market.get(key, ZERO) + amount
            key = r.event.event_id
            by_event[key] = by_event.get(key, ZERO) + amount
            city_date = (r.event.city, r.event.date)
            by_city_date[city_date] = by_city_date.get(city_date, ZERO) + amount
        day_pnl = self.day_pnl()
        out = []
        for ref in refs:
            token = ref.market.yes_token if ref.side is Side.YES else ref.market.no_token
            out.append(
                Exposure(
                    by_market.get(ref.market.market_id, ZERO),
                    by_event.get(ref.event.event_id, ZERO),
                    by_city_date.get((ref.event.city, ref.event.date), ZERO),
                    total,
                    open_orders,
                    day_pnl,
                    held.get(token, ZERO),
                )
            )
        return out

    def day_start(self) -> str:
        """Start of the venue's current day, as the ledger's UTC text."""
        local = (
            self._clock.now()
            .astimezone(self._day_tz)
            .replace(hour=0, minute=0, second=0, microsecond=0)
        )
        return utc_iso(local)

    def day_pnl(self) -> Decimal:
        """Realised in the venue's day so far plus unrealised (marked at the bid) now."""
        return self._holdings.realized_since(self.day_start()) + self.unrealized()

    def unrealized(self) -> Decimal:
        total = ZERO
        for pos in self._holdings.held():
            total += pos.unrealized(self._bid(pos.token_id))
        return total

    def _bid(self, token: str) -> Decimal | None:
        book = self.view.book(token)
        bid = book.best_bid() if book is not None and book.synced else None
        return None if bid is None else Decimal(bid[0]) / _M

    # -- exits -------------------------------------------------------------------------------

    async def reprice_positions(self) -> None:
        for pos in self._holdings.held():
            # an earlier exit in this pass may have changed what is held
            if pos.shares > 0 and not self._orders.has(pos.token_id, "SELL"):
                await self._reprice(pos)

    async def _reprice(self, pos: Position) -> None:
        ref, prob, book = (
            self.view.ref(pos.token_id),
            self.view.prob(pos.token_id),
            self.view.book(pos.token_id),
        )
        if ref is None or prob is None or book is None or not book.synced:
            return
        bid = book.best_bid()
        plan = plan_exit(
            prob=D(prob),
            bid=None if bid is None else Decimal(bid[0]) / _M,
            bid_size=ZERO if bid is None else Decimal(self._offered(pos.token_id, False, bid)) / _M,
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
            return
        if isinstance(plan, Blocked) or self._halts:
            limit = "halted" if self._halts else plan.limit  # type: ignore[union-attr]
            detail = self._halts.reason() if self._halts else plan.detail  # type: ignore[union-attr]
            if self._exit_blocked.get(pos.token_id) != limit:
                self._exit_blocked[pos.token_id] = limit
                self._counters.add(f"blocked_{limit}")
                await self.ledger.rejection(episode, pos.token_id, "SELL", limit, detail)
            return
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
            self._messages.exit(ref, plan.kind, plan.size, pos.shares, plan.price, plan.reason,
                                episode)  # fmt: skip
        key = f"{episode}:{plan.kind}:SELL"
        if self._orders.committed(key):
            return
        intent = new_intent(
            self._desk.mode, key, episode, plan.kind, ref, pos.token_id, "SELL", plan.price,
            plan.size, status=L.PENDING,
        )  # fmt: skip
        intent.prob, intent.reason = prob, plan.reason
        await self._desk.submit(intent)
        if intent.status not in L.WORKING:
            self._exit_episodes.pop(pos.token_id, None)
            await self.ledger.close_episode(episode, f"order {intent.status}")

    async def close_exit(self, token: str, reason: str) -> None:
        """The token's position is gone (settled): its open exit episode ends with ``reason``."""
        episode = self._exit_episodes.pop(token, None)
        if episode is not None:
            await self.ledger.close_episode(episode, reason)
