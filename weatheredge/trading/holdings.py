"""Fills and positions: every fill applied once, in order, and the positions they make.

:class:`Holdings` is the only owner of the positions and of the fills seen (by trade id). A fill
event is deduplicated on (trade id, status); a status only moves forward along settlement, and a
``FAILED`` after a counted fill undoes it. What an applied fill means for its order (filled,
partly filled) is the order desk's business: :meth:`Holdings.apply` returns the fill's intent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from weatheredge.engine import TokenRef
from weatheredge.trading import ledger as L
from weatheredge.trading.flags import Counters
from weatheredge.trading.gateway import TradeView
from weatheredge.trading.ledger import Intent, Ledger
from weatheredge.trading.messages import TradeMessages
from weatheredge.trading.portfolio import Position, _txt
from weatheredge.trading.risk import ZERO, D, taker_fee


@dataclass(slots=True)
class Fill:
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

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Fill:
        return cls(
            row["trade_id"], row["intent_key"], row["token_id"], row["side"],
            Decimal(row["price"]), Decimal(row["size"]), Decimal(row["fee"]),
            Decimal(row["realized_pnl"]), row["status"], row["matched_at"] or "",
        )  # fmt: skip

    def row(self, now: str) -> dict[str, Any]:
        return {
            "trade_id": self.trade_id,
            "intent_key": self.intent_key,
            "venue_order_id": None,
            "token_id": self.token_id,
            "side": self.side,
            "price": _txt(self.price),
            "size": _txt(self.size),
            "fee": _txt(self.fee),
            "realized_pnl": _txt(self.realized),
            "status": self.status,
            "matched_at": self.matched_at,
            "updated_at": now,
        }


@dataclass(frozen=True, slots=True)
class Applied:
    """A new fill was counted; ``intent`` is its order's intent when the ledger knows it."""

    intent: Intent | None


class Holdings:
    def __init__(self, ledger: Ledger, messages: TradeMessages, counters: Counters) -> None:
        self.ledger = ledger
        self._messages = messages
        self._counters = counters
        self._positions: dict[str, Position] = {}
        self._fills: dict[str, Fill] = {}
        # realized_since is read by every decision round and would scan every fill ever held:
        # memoised per day start, invalidated by any change to the fills (_fills_changed)
        self._fills_changed = 0
        self._since: tuple[str, int, Decimal] | None = None

    async def load(self) -> None:
        for row in await self.ledger.positions():
            pos = Position.from_row(row)
            self._positions[pos.token_id] = pos
        for row in await self.ledger.fills():
            self._fills[row["trade_id"]] = Fill.from_row(row)
        self._fills_changed += 1

    # -- reads -------------------------------------------------------------------------------

    def positions(self) -> Mapping[str, Position]:
        return MappingProxyType(self._positions)

    def position(self, token: str) -> Position | None:
        return self._positions.get(token)

    def held(self) -> list[Position]:
        """Positions with shares, in the order they were first filled."""
        return [p for p in self._positions.values() if p.shares > 0]

    def realized_since(self, start: str) -> Decimal:
        """Realised by fills matched at or after ``start`` (the ledger's UTC text)."""
        memo = self._since
        if memo is not None and memo[0] == start and memo[1] == self._fills_changed:
            return memo[2]
        fills = self._fills.values()
        total = sum(
            (f.realized for f in fills if f.status != "FAILED" and f.matched_at >= start), ZERO
        )
        self._since = (start, self._fills_changed, total)
        return total

    def realized(self) -> Decimal:
        return sum((p.realized for p in self._positions.values()), ZERO)

    # -- fills -------------------------------------------------------------------------------

    async def apply(
        self, trade: TradeView, key: str | None, intent: Intent | None, ref: TokenRef | None
    ) -> Applied | None:
        """Apply one fill event of the order ``key`` (None: not ours). None when it counted
        nothing new (a duplicate, a status step, a failure)."""
        event = (trade.trade_id, trade.status)
        if await self.ledger.fill_event_known(*event):
            self._counters.add("duplicate_fill_events")
            return None
        prev = self._fills.get(trade.trade_id)
        now = L.now_iso()
        if prev is not None:
            if trade.status == "FAILED" and prev.status != "FAILED":
                await self._reverse(prev, intent, event)
            elif prev.status != "FAILED" and _progress(trade.status) > _progress(prev.status):
                # forward only: a late MATCHED (user channel) after REST showed CONFIRMED
                # must not regress the fill
                prev.status = trade.status
                self._fills_changed += 1
                await self.ledger.save_fill(prev.row(now), None, None, event)
            else:
                await self.ledger.fill_event_seen(*event)
            return None
        if trade.status == "FAILED":
            await self.ledger.fill_event_seen(*event)
            return None  # never counted, nothing to undo
        fee = trade.fee
        if fee is None:
            rate = D(ref.market.fee_rate) if ref is not None else ZERO
            fee = taker_fee(trade.size, trade.price, rate) if trade.role == "TAKER" else ZERO
        pos = self._positions.get(trade.token_id)
        if pos is None:
            pos = self._positions[trade.token_id] = _position(trade.token_id, ref, intent)
        realized = pos.apply(trade.side, trade.price, trade.size, fee)
        fill = Fill(
            trade.trade_id, key, trade.token_id, trade.side, trade.price, trade.size, fee,
            realized, trade.status, now,
        )  # fmt: skip
        self._fills[trade.trade_id] = fill
        self._fills_changed += 1
        update = None
        if key is not None:
            if intent is None:
                intent = await self.ledger.intent(key)
            if intent is not None:
                intent.filled_size = _txt(D(intent.filled_size) + trade.size)
                intent.fees = _txt(D(intent.fees) + fee)
                update = (key, {"filled_size": intent.filled_size, "fees": intent.fees})
        await self.ledger.save_fill(fill.row(now), pos.row(now), update, event)
        self._counters.add("fills")
        return Applied(intent)

    async def _reverse(self, fill: Fill, intent: Intent | None, event: tuple[str, str]) -> None:
        pos = self._positions.get(fill.token_id)
        if pos is not None:
            pos.reverse(fill.side, fill.price, fill.size, fill.fee, fill.realized)
        fill.status = "FAILED"
        self._fills_changed += 1
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
            fill.row(now), pos.row(now) if pos is not None else None, update, event
        )
        self._counters.add("failed_fills")
        self._messages.fill_undone(fill.trade_id, fill.side, fill.size, fill.price)

    # -- settlement --------------------------------------------------------------------------

    async def settle(
        self, pos: Position, payout: Decimal, episode: dict[str, Any]
    ) -> tuple[Position, Fill] | None:
        """Settle every share of ``pos`` at ``payout`` in one ledger transaction (a settlement
        fill, the emptied position, the closed ``episode``, whose id is filled in here). Returns
        the settled position and its fill; None when an earlier run had recorded it already
        (the memory then follows the ledger)."""
        trade_id, n = f"settlement:{pos.token_id}", 1
        while trade_id in self._fills:
            n += 1
            trade_id = f"settlement:{pos.token_id}:{n}"
        settled = dataclasses.replace(pos)
        shares, realized = settled.settle(payout)
        now = L.now_iso()
        fill = Fill(trade_id, None, pos.token_id, SETTLE, payout, shares, ZERO, realized, SETTLED,
                    now)  # fmt: skip
        episode = {"episode_id": trade_id, **episode, "opened_at": now, "closed_at": now}
        if not await self.ledger.save_settlement(fill.row(now), settled.row(now), episode):
            # Recorded by an earlier run that this memory does not reflect: trust the ledger.
            for row in await self.ledger.positions():
                if row["token_id"] == pos.token_id:
                    self._positions[pos.token_id] = Position.from_row(row)
            self._fills.setdefault(trade_id, fill)
            self._fills_changed += 1
            return None
        self._positions[pos.token_id] = settled
        self._fills[trade_id] = fill
        self._fills_changed += 1
        return settled, fill


SETTLE, SETTLED = "SETTLE", "SETTLED"  # trade_fills side and status of a resolution settlement
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
