"""The order venue's state: API keys, orders, trades, user sockets and fault switches.

``Exchange`` combines the mixins of this package over one ``ExchangeState``; each mixin
(``auth``, ``markets``, ``orders``, ``trades``, ``account``, ``user_ws``) calls the others'
methods on ``self``.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from weatheredge.sandbox.venue import Venue
from weatheredge.sandbox.wsclient import WsClient

END_CURSOR = "LTE="
UNAUTHORIZED = "Unauthorized/Invalid api key"
BAD_L1 = "Invalid L1 Request headers"
INVALID_ORDER = "Invalid order payload"
FOK_KILLED = "order couldn't be fully filled. FOK orders are fully filled or killed."
FAK_KILLED = (
    "no orders found to match with FAK order. "
    "FAK orders are partially filled or killed if no match is found."
)
CROSSES = "invalid post-only order: order crosses book"
BUSY_TEXT = {
    429: "Too Many Requests",
    425: "service not ready",
    503: "Trading is currently disabled. Check polymarket.com for updates",
}
ZERO = Decimal(0)


@dataclass(eq=False)
class UserClient(WsClient):
    """One user-channel socket and the key and markets it subscribed to."""

    key: str | None = None
    markets: set[str] | None = None  # None: every market of the key


@dataclass
class ExchangeFaults:
    busy: int = 0  # the next N order posts get busy_status
    busy_status: int = 429  # 429 (with Retry-After) | 425 | 503
    retry_after_s: int = 1
    accept_then_timeout: int = 0  # the next N order posts execute, the answer waits hold_s
    hold_s: float = 30.0
    refuse_user_ws: int = 0  # the next N /ws/user handshakes get HTTP 503
    fail_trades: int = 0  # the next N trades go MATCHED -> FAILED instead of settling


@dataclass(frozen=True, slots=True)
class ApiCreds:
    key: str
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)
    address: str


def decimal_text(value: Decimal) -> str:
    """A decimal as the venue writes it: no exponent, no trailing zeros, ``0`` for zero."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


@dataclass
class Order:
    id: str
    owner: str  # API key
    maker_address: str
    market: str
    asset_id: str
    side: str
    price: Decimal
    original_size: Decimal
    order_type: str
    outcome: str
    size_matched: Decimal = ZERO
    status: str = "LIVE"  # LIVE | MATCHED | CANCELED
    created_at: int = field(default_factory=lambda: int(time.time()))
    associate_trades: list[str] = field(default_factory=list)
    # Displayed size resting at our price before us (price-time priority): others' orders that
    # join later are behind us; others' cancels can only shrink it (see ``crowd``).
    ahead: Decimal = ZERO

    @property
    def remaining(self) -> Decimal:
        return self.original_size - self.size_matched

    def rest_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": f"ORDER_STATUS_{self.status}",
            "owner": self.owner,
            "maker_address": self.maker_address,
            "market": self.market,
            "asset_id": self.asset_id,
            "side": self.side,
            "original_size": decimal_text(self.original_size),
            "size_matched": decimal_text(self.size_matched),
            "price": decimal_text(self.price),
            "outcome": self.outcome,
            "order_type": self.order_type,
            "associate_trades": list(self.associate_trades),
            "created_at": self.created_at,
            "expiration": "0",
        }


class ExchangeState:
    """Order-venue state, driven by tests and inspected by them."""

    def __init__(
        self, venue: Venue, *, settle_s: float = 0.05, subscribe_timeout_s: float = 10.0
    ) -> None:
        self.venue = venue
        self.settle_s = settle_s  # each MATCHED -> MINED -> CONFIRMED step
        self.subscribe_timeout_s = subscribe_timeout_s
        self.page_size = 100  # /data/orders and /data/trades items per page
        self.faults = ExchangeFaults()
        self.requests: collections.Counter[str] = collections.Counter()  # "METHOD /path"
        self.orders_received: list[dict[str, Any]] = []  # every authenticated POST /order body
        # called with each received order body before it is processed (tests look at the
        # client's state at that instant, e.g. that its write-ahead intent is committed)
        self.on_order: Callable[[dict[str, Any]], None] | None = None
        self.orders: dict[str, Order] = {}  # every accepted order, by id
        self.trades: dict[str, dict[str, Any]] = {}  # trade id -> REST shape
        self.user_events: list[dict[str, Any]] = []  # every order/trade event pushed
        self.user_connections = 0
        self.user_pings = 0
        self.auth_failures = 0
        self._keys: dict[str, ApiCreds] = {}
        self._derived: dict[tuple[str, int], str] = {}  # (address, nonce) -> key
        self._clients: list[UserClient] = []
        self._timers: set[asyncio.TimerHandle] = set()
        self._holds: set[asyncio.Task[None]] = set()
        self._heartbeats: dict[str, tuple[str, float]] = {}  # key -> (id, deadline)

    def open_orders(self, key: str | None = None) -> list[Order]:
        return [o for o in self.orders.values() if o.status == "LIVE" and key in (None, o.owner)]
