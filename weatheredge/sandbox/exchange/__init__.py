"""Simulated CLOB order venue: authenticated order endpoints and the ``/ws/user`` channel.

Mounted on the venue's app (``exchange.add_routes(app)``), so the CLOB REST base URL is one
host, as the SDK expects. It speaks the shapes ``polymarket-client`` 0.14 sends and parses
(polymarket.md §2, §5) and is never more forgiving than the real venue:

- L1 (``POST /auth/api-key``, ``GET /auth/derive-api-key``): the EIP-712 ``ClobAuth``
  signature must recover to ``POLY_ADDRESS``, else 401 ``Invalid L1 Request headers``.
- L2 (everything under ``/data``, ``/order(s)``, ``/cancel-all``, ``/v1/heartbeats``,
  ``/auth/api-keys``): the five ``POLY_*`` headers, the passphrase and the HMAC over
  ``timestamp + method + path + body`` with the key's secret, else 401
  ``Unauthorized/Invalid api key``.
- ``POST /order``: owner = the API key, maker/signer = its address, an EOA signature that
  recovers to the signer, a known token, the tick grid and ``[tick, 1 - tick]``, the minimum
  size; then matched against the venue book (levels walked best first, partial fills),
  consuming liquidity through ``Venue.set_level``. GTC/GTD remainders rest as open orders
  (not shown on the public book); FAK kills the rest, FOK needs all of it; post-only must
  not cross. Every error is ``{"error": "..."}``.
- Trades go MATCHED → MINED → CONFIRMED on a short timer (or → FAILED on demand), pushed on
  ``/ws/user`` as ``order`` / ``trade`` events and listed by ``GET /data/trades``.

Fault switches (``exchange.faults``): the next N order posts answer 429 (with
``Retry-After``) / 425 / 503; the next N posts are *executed* but answered only after
``hold_s`` (longer than any client timeout); the next N user-socket handshakes are refused;
the next N trades fail on chain. ``await exchange.drop_user_sockets()`` closes every user
socket. Nothing here reaches beyond 127.0.0.1.

Modules: ``state`` (keys, orders, trades, faults), ``signing`` (EIP-712), ``auth`` (L1/L2 and
key endpoints), ``markets`` (token metadata), ``orders`` (validation and matching), ``trades``
(trade records and settlement), ``account`` (cancels, reads, heartbeats), ``user_ws``,
``crowd`` (other traders' taker orders, matched against ours in price-time priority).
"""

from __future__ import annotations

from aiohttp import web

from weatheredge.sandbox.exchange.account import AccountApi
from weatheredge.sandbox.exchange.crowd import CrowdApi
from weatheredge.sandbox.exchange.orders import OrdersApi
from weatheredge.sandbox.exchange.signing import CHAIN_ID, EXCHANGE, NEG_RISK_EXCHANGE
from weatheredge.sandbox.exchange.state import (
    BAD_L1,
    BUSY_TEXT,
    CROSSES,
    END_CURSOR,
    FAK_KILLED,
    FOK_KILLED,
    UNAUTHORIZED,
    ApiCreds,
    ExchangeFaults,
    Order,
)


class Exchange(OrdersApi, AccountApi, CrowdApi):
    """Order-venue state, driven by tests and inspected by them."""

    async def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for task in list(self._holds):
            task.cancel()
        await self.drop_user_sockets()

    def add_routes(self, app: web.Application) -> None:
        """Mount the order venue on an app (the venue's: one CLOB host)."""
        r = app.router
        r.add_get("/time", self.handle_time)
        r.add_get("/auth/api-keys", self.handle_api_keys)
        r.add_post("/auth/api-key", self.handle_create_api_key)
        r.add_get("/auth/derive-api-key", self.handle_derive_api_key)
        r.add_get("/markets-by-token/{token}", self.handle_market_by_token)
        r.add_get("/clob-markets/{condition_id}", self.handle_clob_market)
        r.add_post("/order", self.handle_post_order)
        r.add_post("/orders", self.handle_post_orders)
        r.add_delete("/order", self.handle_cancel_order)
        r.add_delete("/orders", self.handle_cancel_orders)
        r.add_delete("/cancel-all", self.handle_cancel_all)
        r.add_get("/data/orders", self.handle_open_orders)
        r.add_get("/data/order/{order_id}", self.handle_get_order)
        r.add_get("/data/trades", self.handle_trades)
        r.add_post("/v1/heartbeats", self.handle_heartbeat)
        r.add_get("/ws/user", self.handle_user_ws)

        async def shutdown(_app: web.Application) -> None:
            await self.close()

        app.on_shutdown.append(shutdown)


__all__ = [
    "BAD_L1",
    "BUSY_TEXT",
    "CHAIN_ID",
    "CROSSES",
    "END_CURSOR",
    "EXCHANGE",
    "FAK_KILLED",
    "FOK_KILLED",
    "NEG_RISK_EXCHANGE",
    "UNAUTHORIZED",
    "ApiCreds",
    "Exchange",
    "ExchangeFaults",
    "Order",
]
