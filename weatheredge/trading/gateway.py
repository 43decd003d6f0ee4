"""The narrow interface between the order manager and a venue (paper, sandbox or live).

Everything is exact ``Decimal``. A gateway never retries on its own: the order manager decides,
after reconciling, because a retried order post is how duplicates happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

# Trade statuses on the user channel and REST, in lifecycle order (FAILED is terminal too).
TRADE_STATUSES = ("MATCHED", "MINED", "CONFIRMED", "RETRYING", "FAILED")


class GatewayError(Exception):
    """The venue refused or failed the request; nothing was accepted."""


class GatewayBusy(GatewayError):
    """429 / 425 / 503: the venue said no for now. Safe to retry after ``retry_after``."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.retry_after = retry_after


class GatewayTimeout(Exception):
    """No answer in time: the order may or may not have been accepted. Reconcile first."""


@dataclass(frozen=True, slots=True)
class OrderRequest:
    intent_key: str
    token_id: str
    side: str  # BUY | SELL
    price: Decimal
    size: Decimal  # shares
    # FAK: takes what it can, the rest cancelled (the paper venue; the live SDK sends a taker
    # order as GTC and cancels its rest after order_timeout). GTC | GTD: the rest rests.
    order_type: str = "FAK"
    post_only: bool = False  # a maker quote: refused rather than let it take (GTC/GTD only)


@dataclass(frozen=True, slots=True)
class TradeView:
    """One fill of one of our orders, from our side."""

    trade_id: str
    order_id: str
    token_id: str
    side: str  # our side
    price: Decimal
    size: Decimal
    status: str  # MATCHED | MINED | CONFIRMED | RETRYING | FAILED
    role: str = "TAKER"  # TAKER pays the fee; MAKER pays none
    fee: Decimal | None = None  # None: computed from the market's fee rate
    at_ms: int = 0


@dataclass(frozen=True, slots=True)
class PlaceResult:
    accepted: bool
    order_id: str = ""
    status: str = ""  # live | matched | delayed (accepted); the venue's code when rejected
    reason: str = ""  # the venue's rejection message
    trades: tuple[TradeView, ...] = ()  # fills known at placement (paper gives them all)
    resting: bool = False  # an unfilled remainder stays on the book


@dataclass(frozen=True, slots=True)
class OpenOrderView:
    order_id: str
    token_id: str
    side: str
    price: Decimal
    original_size: Decimal
    size_matched: Decimal
    created_ms: int = 0


class OrderGateway(Protocol):
    name: str

    async def place(self, request: OrderRequest) -> PlaceResult:
        """Raises GatewayBusy, GatewayTimeout or GatewayError."""
        ...

    async def cancel(self, order_id: str) -> bool: ...

    async def cancel_all(self) -> list[str]: ...

    async def open_orders(self, token_id: str | None = None) -> list[OpenOrderView]: ...

    async def trades(self, token_id: str | None = None) -> list[TradeView]: ...

    async def heartbeat(self) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class RemembersTaken(Protocol):
    """A gateway that knows what our own orders already took from a live book (the paper venue:
    the live book never shows its fills)."""

    def untaken(self, token_id: str, buying: bool, price: int, size: int) -> int: ...


@runtime_checkable
class UserChannelAuth(Protocol):
    """A gateway whose venue account can open the authenticated user channel (the SDK's)."""

    @property
    def api_credentials(self) -> tuple[str, str, str]: ...
