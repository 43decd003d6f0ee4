"""The venue's answers on the tape: every order placement, cancel and venue read, as answered.

A replay with the tape venue (``weatheredge replay --venue tape``) answers the replayed trader
with these records instead of paper fills. ``record`` is the tape's plain callable (trading never
imports the tape). Each answer is taped when it arrives, before the order desk acts on it, so it
sits on the tape between the inputs the live daemon had seen by then. Record (``order``):
``op`` (place, cancel, cancel_all, open_orders, trades), what was asked (``request``,
``order_id`` or ``token_id``), then ``result`` or ``error`` (``type``, ``message``, ``status``,
``retry_after``). Only the gateway's own error texts are kept (already stripped of credentials).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

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

Record = Callable[..., None]


def error_fields(err: BaseException) -> dict[str, Any]:
    """The failure as taped: its type, and the text only of the gateway's own errors (stripped
    of credentials by the gateway); another exception's text may quote a request."""
    gateway = isinstance(err, GatewayError | GatewayTimeout)
    out: dict[str, Any] = {"type": type(err).__name__, "message": str(err)[:300] if gateway else ""}
    if isinstance(err, GatewayBusy):
        out.update(status=err.status, retry_after=err.retry_after)
    return out


class TapedGateway:
    """Wraps a venue gateway; everything not taped (heartbeat, credentials) goes straight on."""

    def __init__(self, inner: OrderGateway, record: Record) -> None:
        self._inner = inner
        self._record = record
        self.name = inner.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def _taped(self, asked: dict[str, Any], call: Awaitable[Any]) -> Any:
        try:
            result = await call
        except (Exception, asyncio.CancelledError) as err:  # cancelled: the order_timeout
            self._record("order", {**asked, "error": error_fields(err)})
            raise
        self._record("order", {**asked, "result": result})
        return result

    async def place(self, request: OrderRequest) -> PlaceResult:
        asked = {"op": "place", "request": dataclasses.asdict(request)}
        result: PlaceResult = await self._taped(asked, self._inner.place(request))
        return result

    async def cancel(self, order_id: str) -> bool:
        return bool(
            await self._taped({"op": "cancel", "order_id": order_id}, self._inner.cancel(order_id))
        )

    async def cancel_all(self) -> list[str]:
        return list(await self._taped({"op": "cancel_all"}, self._inner.cancel_all()))

    async def open_orders(self, token_id: str | None = None) -> list[OpenOrderView]:
        asked = {"op": "open_orders", "token_id": token_id}
        return list(await self._taped(asked, self._inner.open_orders(token_id)))

    async def trades(self, token_id: str | None = None) -> list[TradeView]:
        asked = {"op": "trades", "token_id": token_id}
        return list(await self._taped(asked, self._inner.trades(token_id)))

    async def heartbeat(self) -> None:
        await self._inner.heartbeat()

    async def close(self) -> None:
        await self._inner.close()
