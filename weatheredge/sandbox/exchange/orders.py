"""``POST /order`` and ``POST /orders``: validation and matching against the venue book.

Owner = the API key, maker/signer = its address, an EOA signature that recovers to the signer,
a known token, the tick grid and ``[tick, 1 - tick]``, the minimum size; then matched against
the venue book (levels walked best first, partial fills), consuming liquidity through
``Venue.set_level``. GTC/GTD remainders rest as open orders (not shown on the public book);
FAK kills the rest, FOK needs all of it; post-only must not cross.
"""

from __future__ import annotations

import asyncio
import hashlib
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from weatheredge.sandbox.exchange.auth import AuthApi
from weatheredge.sandbox.exchange.markets import MarketsApi
from weatheredge.sandbox.exchange.signing import order_signature_ok
from weatheredge.sandbox.exchange.state import (
    CROSSES,
    FAK_KILLED,
    FOK_KILLED,
    INVALID_ORDER,
    ZERO,
    ApiCreds,
    Order,
    decimal_text,
)
from weatheredge.sandbox.exchange.trades import TradesApi
from weatheredge.sandbox.replies import error_reply

_UNIT = Decimal(1_000_000)
_BATCH_MAX = 15


class OrdersApi(AuthApi, MarketsApi, TradesApi):
    """The order endpoints (validation, matching, resting) and the hold-the-answer fault."""

    async def handle_post_order(self, request: web.Request) -> web.StreamResponse:
        got = await self._authorized_json(
            request, "POST /order", dict, invalid=INVALID_ORDER, busy=True
        )
        if isinstance(got, web.Response):
            return got
        creds, payload = got
        self.orders_received.append(payload)
        if self.on_order is not None:
            self.on_order(payload)
        status, body = self._place(creds, payload)
        return await self._answer(status, body)

    async def handle_post_orders(self, request: web.Request) -> web.StreamResponse:
        got = await self._authorized_json(
            request, "POST /orders", list, invalid=INVALID_ORDER, busy=True
        )
        if isinstance(got, web.Response):
            return got
        creds, payloads = got
        if not 1 <= len(payloads) <= _BATCH_MAX:
            return error_reply(400, INVALID_ORDER)
        out = []
        for payload in payloads:
            if not isinstance(payload, dict):
                return error_reply(400, INVALID_ORDER)
            self.orders_received.append(payload)
            status, body = self._place(creds, payload)
            if status != 200:  # in a batch, a refused order is a failed entry
                body = {
                    "success": False,
                    "errorMsg": body["error"],
                    "orderID": "",
                    "status": "",
                    "makingAmount": "",
                    "takingAmount": "",
                }
            out.append(body)
        return await self._answer(200, out)

    async def _answer(self, status: int, body: object) -> web.StreamResponse:
        if status == 200 and self.faults.accept_then_timeout > 0:
            self.faults.accept_then_timeout -= 1
            task = asyncio.current_task()
            if task is not None:
                self._holds.add(task)  # type: ignore[arg-type]
            try:
                await asyncio.sleep(self.faults.hold_s)  # executed; the answer never comes
            finally:
                if task is not None:
                    self._holds.discard(task)  # type: ignore[arg-type]
        if status == 200:
            return web.json_response(body)
        assert isinstance(body, dict)
        return web.json_response(body, status=status)

    def _place(self, creds: ApiCreds, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Validate, match and maybe rest one order. (HTTP status, JSON body)."""
        order = payload.get("order")
        order_type = payload.get("orderType")
        if not isinstance(order, dict) or order_type not in ("GTC", "GTD", "FOK", "FAK"):
            return 400, {"error": INVALID_ORDER}
        if payload.get("owner") != creds.key:
            return 400, {"error": "the order owner has to be the owner of the API KEY"}
        try:
            token = str(order["tokenId"])
            side = order["side"]
            maker_amount = Decimal(str(order["makerAmount"]))
            taker_amount = Decimal(str(order["takerAmount"]))
            maker, signer = str(order["maker"]), str(order["signer"])
            signature = str(order["signature"])
        except (KeyError, InvalidOperation):
            return 400, {"error": INVALID_ORDER}
        if side not in ("BUY", "SELL") or maker_amount <= 0 or taker_amount <= 0:
            return 400, {"error": INVALID_ORDER}
        if signer.lower() != creds.address.lower():
            return 400, {"error": "the order signer address has to be the address of the API KEY"}
        meta = self._token_meta(token)
        if meta is None:
            return 400, {"error": "No orderbook exists for the requested token id"}
        if not order_signature_ok(order, meta["neg_risk"]):
            return 400, {"error": "invalid signature"}
        order_id = "0x" + hashlib.sha256(signature.encode()).hexdigest()
        if order_id in self.orders:
            return 400, {"error": f"order {order_id} is invalid. Duplicated."}
        if side == "BUY":
            size, notional = taker_amount / _UNIT, maker_amount / _UNIT
        else:
            size, notional = maker_amount / _UNIT, taker_amount / _UNIT
        price = notional / size
        tick = meta["tick"]
        if price % tick != 0 or not tick <= price <= 1 - tick:
            return 400, {
                "error": f"order {order_id} is invalid. Price ({decimal_text(price)}) breaks "
                f"minimum tick size rule: {decimal_text(tick)}"
            }
        if size < meta["min_size"]:
            return 400, {
                "error": f"order {order_id} is invalid. Size ({decimal_text(size)}) lower than "
                f"the minimum: {decimal_text(meta['min_size'])}"
            }
        fills = self._crossing(token, side, price, size)
        available = sum((s for _p, s in fills), ZERO)
        if payload.get("postOnly") and fills:
            return 400, {"error": CROSSES}
        if order_type == "FOK" and available < size:
            return 400, {"error": FOK_KILLED}
        if order_type == "FAK" and not fills:
            return 400, {"error": FAK_KILLED}
        record = Order(
            id=order_id,
            owner=creds.key,
            maker_address=maker,
            market=meta["market"],
            asset_id=token,
            side=side,
            price=price,
            original_size=size,
            order_type=order_type,
            outcome=meta["outcome"],
        )
        self.orders[order_id] = record
        trade_ids = [self._take(record, p, s) for p, s in fills]
        filled = record.size_matched
        spent = sum((p * s for p, s in fills), ZERO)
        if record.remaining > 0 and order_type in ("GTC", "GTD"):
            record.status = "LIVE"
            record.ahead = self._displayed(token, side, price)
            self._push_order(record, "PLACEMENT")
        else:
            record.status = "MATCHED" if record.remaining <= 0 else "CANCELED"
            if fills:
                self._push_order(record, "UPDATE")
        making, taking = (spent, filled) if side == "BUY" else (filled, spent)
        return 200, {
            "success": True,
            "errorMsg": "",
            "orderID": order_id,
            "status": "matched" if fills else "live",
            "makingAmount": decimal_text(making) if fills else "",
            "takingAmount": decimal_text(taking) if fills else "",
            "tradeIDs": trade_ids,
            "transactionsHashes": [],
        }

    def _crossing(
        self, token: str, side: str, price: Decimal, size: Decimal
    ) -> list[tuple[Decimal, Decimal]]:
        """(price, size) taken from the book, best level first, up to ``size``."""
        book = self.venue.book(token)
        # Wire order has the best level last.
        levels = reversed(book["asks"] if side == "BUY" else book["bids"])
        out: list[tuple[Decimal, Decimal]] = []
        left = size
        for level in levels:
            p, s = Decimal(level["price"]), Decimal(level["size"])
            if (p > price) if side == "BUY" else (p < price):
                break
            take = min(s, left)
            if take > 0:
                out.append((p, take))
                left -= take
            if left <= 0:
                break
        return out
