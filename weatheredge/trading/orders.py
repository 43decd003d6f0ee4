"""The order intents this run knows: every key ever committed, the working ones, and which venue
order belongs to which intent. :class:`WorkingOrders` owns that memory; the order desk
(:mod:`weatheredge.trading.submit`) is the only writer, everyone else reads."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from weatheredge.config import Mode
from weatheredge.engine import TokenRef
from weatheredge.trading.gateway import TradeView
from weatheredge.trading.ledger import Intent
from weatheredge.trading.portfolio import _txt
from weatheredge.trading.risk import ZERO, D


class WorkingOrders:
    def __init__(self) -> None:
        self._working: dict[str, Intent] = {}  # working intents by key
        self._keys: set[str] = set()  # every intent key ever committed
        self._by_order: dict[str, str] = {}  # venue order id -> intent key
        self.version = 0  # bumped whenever the working set changes (maker mode re-sizes)

    # -- reads -------------------------------------------------------------------------------

    def committed(self, key: str) -> bool:
        """Whether an intent with this key was ever committed (it is never sent twice)."""
        return key in self._keys

    def get(self, key: str) -> Intent | None:
        return self._working.get(key)

    def is_working(self, key: str) -> bool:
        return key in self._working

    def working(self) -> list[Intent]:
        return list(self._working.values())

    def has(self, token: str, side: str) -> bool:
        """Whether an order for ``token`` on ``side`` is still working (one at a time)."""
        return any(i.token_id == token and i.side == side for i in self._working.values())

    def key_for(self, order_id: str) -> str | None:
        return self._by_order.get(order_id)

    def claimed(self, order_id: str) -> bool:
        return order_id in self._by_order

    def view(self) -> Mapping[str, Intent]:
        return MappingProxyType(self._working)

    # -- writes (the order desk) -------------------------------------------------------------

    def commit(self, key: str) -> None:
        self._keys.add(key)

    def track(self, intent: Intent) -> None:
        self._keys.add(intent.intent_key)
        self._working[intent.intent_key] = intent
        self.version += 1

    def bind(self, order_id: str, key: str) -> None:
        self._by_order[order_id] = key

    def drop(self, key: str) -> None:
        if self._working.pop(key, None) is not None:
            self.version += 1


def new_intent(
    mode: Mode,
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
        mode=mode.value,
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


def match(
    intent: Intent, orders: WorkingOrders, open_orders: list[Any], trades: list[TradeView]
) -> str | None:
    """The venue order id of an intent whose answer we never got: same token, side, price
    and size, not claimed by any other intent. One working intent per token and side makes
    this unambiguous."""
    price, size = D(intent.price), D(intent.size)
    for o in open_orders:
        if (
            not orders.claimed(o.order_id)
            and o.token_id == intent.token_id
            and o.side == intent.side
            and o.price == price
            and o.original_size == size
        ):
            return o.order_id
    matched: dict[str, Decimal] = {}
    for t in trades:
        if orders.claimed(t.order_id) or t.token_id != intent.token_id:
            continue
        if t.side != intent.side or t.status == "FAILED":
            continue
        if (t.price <= price) if intent.side == "BUY" else (t.price >= price):
            matched[t.order_id] = matched.get(t.order_id, ZERO) + t.size
    for order_id, total in matched.items():
        if total <= size:
            return order_id
    return None
