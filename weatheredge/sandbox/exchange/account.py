"""Account endpoints: cancels, open orders, one order, trades (paginated) and heartbeats
(the dead-man switch that cancels a key's resting orders when its heartbeat lapses)."""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from typing import Any

from aiohttp import web

from weatheredge.sandbox.exchange.auth import AuthApi
from weatheredge.sandbox.exchange.state import END_CURSOR, ApiCreds
from weatheredge.sandbox.exchange.user_ws import UserChannel
from weatheredge.sandbox.replies import error_reply

_HEARTBEAT_S = 10.0


class AccountApi(AuthApi, UserChannel):
    """What a key can read and cancel of its own orders and trades."""

    # ------------------------------------------------------------------ cancel

    async def handle_cancel_order(self, request: web.Request) -> web.Response:
        got = await self._authorized_json(request, "DELETE /order", dict)
        if isinstance(got, web.Response):
            return got
        creds, body = got
        if "orderID" not in body:
            return error_reply(400, "Invalid payload")
        return web.json_response(self._cancel(creds, [str(body["orderID"])]))

    async def handle_cancel_orders(self, request: web.Request) -> web.Response:
        got = await self._authorized_json(request, "DELETE /orders", list)
        if isinstance(got, web.Response):
            return got
        creds, ids = got
        if not all(isinstance(i, str) for i in ids):
            return error_reply(400, "Invalid payload")
        return web.json_response(self._cancel(creds, ids))

    async def handle_cancel_all(self, request: web.Request) -> web.Response:
        creds = await self._authorize(request, "DELETE /cancel-all")
        if not isinstance(creds, ApiCreds):
            return creds
        return web.json_response(self._cancel(creds, [o.id for o in self.open_orders(creds.key)]))

    def _cancel(self, creds: ApiCreds, ids: list[str]) -> dict[str, Any]:
        canceled, not_canceled = [], {}
        for order_id in ids:
            order = self.orders.get(order_id)
            if order is None or order.owner != creds.key:
                not_canceled[order_id] = "order not found"
            elif order.status != "LIVE":
                not_canceled[order_id] = "order can't be found - already canceled or matched"
            else:
                order.status = "CANCELED"
                canceled.append(order_id)
                self._push_order(order, "CANCELLATION")
        return {"canceled": canceled, "not_canceled": not_canceled}

    # ------------------------------------------------------------------ reads

    async def handle_open_orders(self, request: web.Request) -> web.Response:
        creds = await self._authorize(request, "GET /data/orders")
        if not isinstance(creds, ApiCreds):
            return creds
        q = request.query
        items = [
            o.rest_json()
            for o in self.open_orders(creds.key)
            if q.get("asset_id") in (None, o.asset_id)
            and q.get("market") in (None, o.market)
            and q.get("id") in (None, o.id)
        ]
        return self._page(items, q.get("next_cursor"))

    async def handle_get_order(self, request: web.Request) -> web.Response:
        creds = await self._authorize(request, "GET /data/order")
        if not isinstance(creds, ApiCreds):
            return creds
        order = self.orders.get(request.match_info["order_id"])
        if order is None or order.owner != creds.key:
            return error_reply(404, "order not found")
        return web.json_response(order.rest_json())

    async def handle_trades(self, request: web.Request) -> web.Response:
        creds = await self._authorize(request, "GET /data/trades")
        if not isinstance(creds, ApiCreds):
            return creds
        q = request.query
        items = []
        for trade in self.trades.values():
            ours = trade["owner"] == creds.key or any(
                m["owner"] == creds.key for m in trade["maker_orders"]
            )
            if not ours:
                continue
            if q.get("asset_id") not in (None, trade["asset_id"]):
                continue
            if q.get("market") not in (None, trade["market"]) or q.get("id") not in (
                None,
                trade["id"],
            ):
                continue
            items.append({**trade, "status": f"TRADE_STATUS_{trade['status']}"})
        return self._page(items, q.get("next_cursor"))

    def _page(self, items: list[dict[str, Any]], cursor: str | None) -> web.Response:
        try:
            start = int(base64.b64decode(cursor).decode()) if cursor else 0
        except (ValueError, binascii.Error):
            return error_reply(400, "invalid next_cursor")
        page = items[start : start + self.page_size]
        end = start + len(page)
        next_cursor = base64.b64encode(str(end).encode()).decode() if end < len(items) else None
        return web.json_response(
            {
                "data": page,
                "next_cursor": next_cursor or END_CURSOR,
                "limit": self.page_size,
                "count": len(page),
            }
        )

    # ------------------------------------------------------------------ heartbeat

    async def handle_heartbeat(self, request: web.Request) -> web.Response:
        got = await self._authorized_json(request, "POST /v1/heartbeats", dict)
        if isinstance(got, web.Response):
            return got
        creds, body = got
        sent = str(body.get("heartbeat_id", ""))
        current = self._heartbeats.get(creds.key)
        if current is not None and sent != current[0]:
            return web.json_response(
                {"error_msg": "Invalid Heartbeat ID", "heartbeat_id": current[0]}, status=400
            )
        beat = str(uuid.uuid4())
        self._heartbeats[creds.key] = (beat, time.monotonic() + _HEARTBEAT_S)
        return web.json_response({"heartbeat_id": beat})

    def _expire_heartbeats(self) -> None:
        """The dead-man switch: a key whose heartbeat lapsed loses its resting orders."""
        now = time.monotonic()
        for key, (_beat, deadline) in list(self._heartbeats.items()):
            if now > deadline:
                del self._heartbeats[key]
                creds = self._keys[key]
                self._cancel(creds, [o.id for o in self.open_orders(key)])
