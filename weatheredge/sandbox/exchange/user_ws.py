"""The user channel ``/ws/user``: authenticated ``order`` and ``trade`` events per API key.

The first frame must be ``type: user`` with the key's ``auth`` (else closed as ``invalid
auth``; nothing within ``subscribe_timeout_s`` → closed); ``markets`` narrows the events,
``subscribe``/``unsubscribe`` operations change that set; text ``PING`` → ``PONG``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from weatheredge.sandbox.exchange.state import ExchangeState, Order, UserClient, decimal_text
from weatheredge.sandbox.replies import error_reply
from weatheredge.sandbox.venue import INVALID
from weatheredge.sandbox.wsclient import SocketServer, close_all


class UserChannel(ExchangeState, SocketServer[UserClient]):
    """The user sockets and the order/trade events pushed to them."""

    client_type = UserClient
    writer_name = "exchange-user-writer"

    async def drop_user_sockets(self) -> int:
        """Server-side close of every user socket; returns how many."""
        return await close_all(self._clients)

    @property
    def user_client_count(self) -> int:
        return sum(1 for c in self._clients if c.key is not None)

    # ------------------------------------------------------------------ pushing events

    def _push_order(self, order: Order, kind: str) -> None:
        event = {
            "event_type": "order",
            "type": kind,
            "id": order.id,
            "owner": order.owner,
            "order_owner": order.owner,
            "market": order.market,
            "asset_id": order.asset_id,
            "side": order.side,
            "original_size": decimal_text(order.original_size),
            "size_matched": decimal_text(order.size_matched),
            "price": decimal_text(order.price),
            "associate_trades": list(order.associate_trades) or None,
            "outcome": order.outcome,
            "created_at": str(order.created_at),
            "expiration": "0",
            "order_type": order.order_type,
            "status": order.status,
            "maker_address": order.maker_address,
            "timestamp": str(int(time.time() * 1000)),
        }
        self._push(order.owner, order.market, event)

    def _push_trade(self, trade: dict[str, Any]) -> None:
        owners = {trade["owner"], *(m["owner"] for m in trade["maker_orders"])}
        for owner in owners:
            if owner not in self._keys:
                continue
            event = {
                "event_type": "trade",
                "type": "TRADE",
                **trade,
                "owner": owner,
                "trade_owner": owner,
                "timestamp": str(int(time.time() * 1000)),
            }
            event["transaction_hash"] = trade["transaction_hash"] or None
            self._push(owner, trade["market"], event)

    def _push(self, owner: str, market: str, event: dict[str, Any]) -> None:
        self.user_events.append(event)
        text = json.dumps(event)
        for client in self._clients:
            if client.key != owner:
                continue
            if client.markets is not None and market not in client.markets:
                continue
            client.send(text)

    # ------------------------------------------------------------------ the socket

    async def handle_user_ws(self, request: web.Request) -> web.StreamResponse:
        if self.faults.refuse_user_ws > 0:
            self.faults.refuse_user_ws -= 1
            return error_reply(503, "Service Unavailable")
        return await self._serve_socket(request)

    def _accepted(self, _client: UserClient) -> None:
        self.user_connections += 1

    async def _read(self, client: UserClient) -> None:
        deadline = asyncio.get_running_loop().time() + self.subscribe_timeout_s
        while True:
            msg = await client.receive(None if client.key else deadline)
            if msg is None or msg.type is not WSMsgType.TEXT:
                return
            if client.answer_ping(msg.data):
                self.user_pings += 1
                continue
            try:
                frame = json.loads(msg.data)
            except ValueError:
                frame = None
            if not isinstance(frame, dict):
                client.send(INVALID)
                continue
            if client.key is None:
                if not self._subscribe(client, frame):
                    self.auth_failures += 1
                    await client.ws.close(
                        code=WSCloseCode.POLICY_VIOLATION, message=b"invalid auth"
                    )
                    return
            elif frame.get("operation") in ("subscribe", "unsubscribe"):
                markets = frame.get("markets") or []
                if client.markets is not None:
                    if frame["operation"] == "subscribe":
                        client.markets.update(markets)
                    else:
                        client.markets.difference_update(markets)
            else:
                client.send(INVALID)

    def _subscribe(self, client: UserClient, frame: dict[str, Any]) -> bool:
        auth = frame.get("auth")
        if frame.get("type") != "user" or not isinstance(auth, dict):
            return False
        creds = self._keys.get(str(auth.get("apiKey")))
        if creds is None:
            return False
        if not (
            hmac.compare_digest(creds.secret, str(auth.get("secret", "")))
            and hmac.compare_digest(creds.passphrase, str(auth.get("passphrase", "")))
        ):
            return False
        client.key = creds.key
        markets = frame.get("markets")
        client.markets = set(markets) if isinstance(markets, list) and markets else None
        return True
