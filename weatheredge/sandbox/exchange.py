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
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from weatheredge.sandbox.venue import Venue

logger = logging.getLogger(__name__)

CHAIN_ID = 137
EXCHANGE = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE = "0xe2222d279d744050d28e00520010520000310F59"
END_CURSOR = "LTE="
UNAUTHORIZED = "Unauthorized/Invalid api key"
BAD_L1 = "Invalid L1 Request headers"
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
_UNIT = Decimal(1_000_000)
_ZERO = Decimal(0)
_OTHER_MAKER = "0x000000000000000000000000000000000000dEaD"


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
    size_matched: Decimal = _ZERO
    status: str = "LIVE"  # LIVE | MATCHED | CANCELED
    created_at: int = field(default_factory=lambda: int(time.time()))
    associate_trades: list[str] = field(default_factory=list)

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
            "original_size": _txt(self.original_size),
            "size_matched": _txt(self.size_matched),
            "price": _txt(self.price),
            "outcome": self.outcome,
            "order_type": self.order_type,
            "associate_trades": list(self.associate_trades),
            "created_at": self.created_at,
            "expiration": "0",
        }


@dataclass(eq=False)
class _UserClient:
    ws: web.WebSocketResponse
    outbox: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    key: str | None = None
    markets: set[str] | None = None  # None: every market of the key


def _txt(value: Decimal) -> str:
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


class Exchange:
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
        self._clients: list[_UserClient] = []
        self._timers: set[asyncio.TimerHandle] = set()
        self._holds: set[asyncio.Task[None]] = set()
        self._heartbeats: dict[str, tuple[str, float]] = {}  # key -> (id, deadline)

    # ------------------------------------------------------------------ test API

    def register_api_key(self, address: str, nonce: int = 0) -> ApiCreds:
        """Issue CLOB API credentials for an address (as ``create`` would)."""
        creds = ApiCreds(
            key=str(uuid.uuid4()),
            secret=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            passphrase=secrets.token_hex(16),
            address=address,
        )
        self._keys[creds.key] = creds
        self._derived[(address.lower(), nonce)] = creds.key
        return creds

    def open_orders(self, key: str | None = None) -> list[Order]:
        return [o for o in self.orders.values() if o.status == "LIVE" and key in (None, o.owner)]

    def fill_resting(self, order_id: str, size: str | Decimal | None = None) -> str:
        """Someone takes (part of) one of our resting orders: a MAKER trade. Returns its id."""
        order = self.orders[order_id]
        if order.status != "LIVE":
            raise ValueError(f"order {order_id} is not resting")
        take = order.remaining if size is None else min(Decimal(size), order.remaining)
        taker_side = "SELL" if order.side == "BUY" else "BUY"
        trade_id = str(uuid.uuid4())
        order.size_matched += take
        order.associate_trades.append(trade_id)
        if order.remaining <= 0:
            order.status = "MATCHED"
        now = int(time.time())
        maker = {
            "order_id": order.id,
            "owner": order.owner,
            "maker_address": order.maker_address,
            "matched_amount": _txt(take),
            "price": _txt(order.price),
            "fee_rate_bps": "0",
            "asset_id": order.asset_id,
            "outcome": order.outcome,
            "outcome_index": 0 if order.outcome == "Yes" else 1,
            "side": order.side,
        }
        trade = {
            "id": trade_id,
            "taker_order_id": "0x" + secrets.token_hex(32),
            "market": order.market,
            "asset_id": order.asset_id,
            "side": taker_side,
            "size": _txt(take),
            "price": _txt(order.price),
            "fee_rate_bps": "0",
            "status": "MATCHED",
            "match_time": str(now),
            "last_update": str(now),
            "outcome": order.outcome,
            "owner": order.owner,
            "maker_address": order.maker_address,
            "transaction_hash": "",
            "bucket_index": 0,
            "trader_side": "MAKER",
            "maker_orders": [maker],
        }
        self._record_trade(trade)
        self._push_order(order, "UPDATE")
        return trade_id

    async def drop_user_sockets(self) -> int:
        """Server-side close of every user socket; returns how many."""
        clients = list(self._clients)
        for client in clients:
            await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server restart")
        return len(clients)

    @property
    def user_client_count(self) -> int:
        return sum(1 for c in self._clients if c.key is not None)

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

    # ------------------------------------------------------------------ catalogue

    def _token_meta(self, token: str) -> dict[str, Any] | None:
        """tick, min size, neg-risk, condition id and outcome of a token, from the venue.

        Reads the venue's catalogue (``Venue`` has no public accessor for it): the tick is the
        current one, so a ``tick_size_change`` applies to orders at once, as on the venue.
        """
        book = self.venue._books.get(token)  # same package; read only
        if book is None:
            return None
        try:
            _event, market = self.venue._find_market(book.market)
        except ValueError:
            market = {}
        ids = market.get("positionIds") or json.loads(market.get("clobTokenIds") or "[]")
        outcomes = json.loads(market.get("outcomes") or '["Yes", "No"]')
        index = ids.index(token) if token in ids else 0
        return {
            "market": book.market,
            "tick": Decimal(book.tick),
            "min_size": Decimal(book.min_order_size),
            "neg_risk": book.neg_risk,
            "tokens": ids,
            "outcomes": outcomes,
            "outcome": outcomes[index] if index < len(outcomes) else "Yes",
            "fee": market.get("feeSchedule") or {},
        }

    async def handle_time(self, request: web.Request) -> web.Response:
        self.requests["GET /time"] += 1
        return web.json_response(int(time.time()))

    async def handle_market_by_token(self, request: web.Request) -> web.Response:
        self.requests["GET /markets-by-token"] += 1
        token = request.match_info["token"]
        meta = self._token_meta(token)
        if meta is None:
            return _error(404, "market not found")
        ids = meta["tokens"] or [token]
        return web.json_response(
            {
                "condition_id": meta["market"],
                "primary_token_id": ids[0],
                "secondary_token_id": ids[1] if len(ids) > 1 else "",
            }
        )

    async def handle_clob_market(self, request: web.Request) -> web.Response:
        self.requests["GET /clob-markets"] += 1
        cid = request.match_info["condition_id"]
        tokens = [t for t, b in self.venue._books.items() if b.market == cid]
        meta = self._token_meta(tokens[0]) if tokens else None
        if meta is None:
            return _error(404, "market not found")
        fee = meta["fee"]
        body: dict[str, Any] = {
            "t": [{"t": t, "o": o} for t, o in zip(meta["tokens"], meta["outcomes"], strict=False)],
            "mts": float(meta["tick"]),
            "mos": float(meta["min_size"]),
            "nr": meta["neg_risk"],
        }
        if fee:
            body["fd"] = {
                "r": float(fee.get("rate", 0)),
                "e": fee.get("exponent", 1),
                "to": bool(fee.get("takerOnly", True)),
            }
        return web.json_response(body)

    # ------------------------------------------------------------------ auth

    async def handle_create_api_key(self, request: web.Request) -> web.Response:
        self.requests["POST /auth/api-key"] += 1
        signer = self._l1(request)
        if signer is None:
            return _error(401, BAD_L1)
        address, nonce = signer
        if (address.lower(), nonce) in self._derived:
            return _error(400, "Could not create api key")
        return self._creds_json(self.register_api_key(address, nonce))

    async def handle_derive_api_key(self, request: web.Request) -> web.Response:
        self.requests["GET /auth/derive-api-key"] += 1
        signer = self._l1(request)
        if signer is None:
            return _error(401, BAD_L1)
        address, nonce = signer
        key = self._derived.get((address.lower(), nonce))
        creds = self._keys[key] if key else self.register_api_key(address, nonce)
        return self._creds_json(creds)

    @staticmethod
    def _creds_json(creds: ApiCreds) -> web.Response:
        return web.json_response(
            {"apiKey": creds.key, "secret": creds.secret, "passphrase": creds.passphrase}
        )

    async def handle_api_keys(self, request: web.Request) -> web.Response:
        self.requests["GET /auth/api-keys"] += 1
        creds = await self._l2(request)
        if creds is None:
            return _error(401, UNAUTHORIZED)
        keys = [k for k, c in self._keys.items() if c.address.lower() == creds.address.lower()]
        return web.json_response({"apiKeys": keys})

    def _l1(self, request: web.Request) -> tuple[str, int] | None:
        """(address, nonce) when the ClobAuth signature recovers to POLY_ADDRESS."""
        from eth_account import Account
        from eth_account.messages import encode_typed_data

        h = request.headers
        try:
            address, signature = h["POLY_ADDRESS"], h["POLY_SIGNATURE"]
            timestamp, nonce = int(h["POLY_TIMESTAMP"]), int(h.get("POLY_NONCE", "0"))
            typed = {
                "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": CHAIN_ID},
                "types": {
                    "EIP712Domain": [
                        {"name": "name", "type": "string"},
                        {"name": "version", "type": "string"},
                        {"name": "chainId", "type": "uint256"},
                    ],
                    "ClobAuth": [
                        {"name": "address", "type": "address"},
                        {"name": "timestamp", "type": "string"},
                        {"name": "nonce", "type": "uint256"},
                        {"name": "message", "type": "string"},
                    ],
                },
                "primaryType": "ClobAuth",
                "message": {
                    "address": address,
                    "timestamp": str(timestamp),
                    "nonce": nonce,
                    "message": "This message attests that I control the given wallet",
                },
            }
            recovered = Account.recover_message(
                encode_typed_data(full_message=typed), signature=signature
            )
        except Exception:  # missing header, bad number, bad signature: all the same 401
            self.auth_failures += 1
            return None
        if recovered.lower() != address.lower():
            self.auth_failures += 1
            return None
        return address, nonce

    async def _l2(self, request: web.Request) -> ApiCreds | None:
        """The API credentials of a correctly signed L2 request, else None."""
        h = request.headers
        body = (await request.read()).decode("utf-8", "replace")
        try:
            key, passphrase = h["POLY_API_KEY"], h["POLY_PASSPHRASE"]
            address, signature, timestamp = (
                h["POLY_ADDRESS"],
                h["POLY_SIGNATURE"],
                h["POLY_TIMESTAMP"],
            )
            int(timestamp)
        except (KeyError, ValueError):
            self.auth_failures += 1
            return None
        creds = self._keys.get(key)
        if creds is None or not hmac.compare_digest(creds.passphrase, passphrase):
            self.auth_failures += 1
            return None
        if creds.address.lower() != address.lower():
            self.auth_failures += 1
            return None
        path = request.raw_path.split("?", 1)[0]
        message = f"{timestamp}{request.method}{path}{body}"
        try:
            raw = base64.urlsafe_b64decode(creds.secret + "=" * (-len(creds.secret) % 4))
        except (binascii.Error, ValueError):
            return None
        expected = base64.urlsafe_b64encode(
            hmac.new(raw, message.encode(), hashlib.sha256).digest()
        ).decode()
        if not hmac.compare_digest(expected, signature):
            self.auth_failures += 1
            return None
        self._expire_heartbeats()
        return creds

    # ------------------------------------------------------------------ orders

    async def handle_post_order(self, request: web.Request) -> web.StreamResponse:
        self.requests["POST /order"] += 1
        creds = await self._l2(request)
        if creds is None:
            return _error(401, UNAUTHORIZED)
        busy = self._busy()
        if busy is not None:
            return busy
        try:
            payload = json.loads(await request.read())
        except ValueError:
            return _error(400, "Invalid order payload")
        if not isinstance(payload, dict):
            return _error(400, "Invalid order payload")
        self.orders_received.append(payload)
        if self.on_order is not None:
            self.on_order(payload)
        status, body = self._place(creds, payload)
        return await self._answer(status, body)

    async def handle_post_orders(self, request: web.Request) -> web.StreamResponse:
        self.requests["POST /orders"] += 1
        creds = await self._l2(request)
        if creds is None:
            return _error(401, UNAUTHORIZED)
        busy = self._busy()
        if busy is not None:
            return busy
        try:
            payloads = json.loads(await request.read())
        except ValueError:
            return _error(400, "Invalid order payload")
        if not isinstance(payloads, list) or not 1 <= len(payloads) <= 15:
            return _error(400, "Invalid order payload")
        out = []
        for payload in payloads:
            if not isinstance(payload, dict):
                return _error(400, "Invalid order payload")
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

    def _busy(self) -> web.Response | None:
        f = self.faults
        if f.busy <= 0:
            return None
        f.busy -= 1
        headers = {"Retry-After": str(f.retry_after_s)} if f.busy_status == 429 else None
        return _error(f.busy_status, BUSY_TEXT.get(f.busy_status, "busy"), headers=headers)

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
            return 400, {"error": "Invalid order payload"}
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
            return 400, {"error": "Invalid order payload"}
        if side not in ("BUY", "SELL") or maker_amount <= 0 or taker_amount <= 0:
            return 400, {"error": "Invalid order payload"}
        if signer.lower() != creds.address.lower():
            return 400, {"error": "the order signer address has to be the address of the API KEY"}
        meta = self._token_meta(token)
        if meta is None:
            return 400, {"error": "No orderbook exists for the requested token id"}
        if not self._signature_ok(order, meta["neg_risk"]):
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
                "error": f"order {order_id} is invalid. Price ({_txt(price)}) breaks minimum "
                f"tick size rule: {_txt(tick)}"
            }
        if size < meta["min_size"]:
            return 400, {
                "error": f"order {order_id} is invalid. Size ({_txt(size)}) lower than the "
                f"minimum: {_txt(meta['min_size'])}"
            }
        fills = self._crossing(token, side, price, size)
        available = sum((s for _p, s in fills), _ZERO)
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
        spent = sum((p * s for p, s in fills), _ZERO)
        if record.remaining > 0 and order_type in ("GTC", "GTD"):
            record.status = "LIVE"
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
            "makingAmount": _txt(making) if fills else "",
            "takingAmount": _txt(taking) if fills else "",
            "tradeIDs": trade_ids,
            "transactionsHashes": [],
        }

    def _signature_ok(self, order: dict[str, Any], neg_risk: bool) -> bool:
        """EOA orders (signatureType 0): the EIP-712 signature recovers to the signer."""
        from eth_account import Account
        from eth_account.messages import encode_typed_data

        sig = str(order.get("signature", ""))
        if not sig.startswith("0x") or len(sig) < 132:
            return False
        if order.get("signatureType") != 0:
            return len(sig) >= 132  # contract wallets: checked on chain, not here
        try:
            typed = {
                "types": {
                    "EIP712Domain": [
                        {"name": "name", "type": "string"},
                        {"name": "version", "type": "string"},
                        {"name": "chainId", "type": "uint256"},
                        {"name": "verifyingContract", "type": "address"},
                    ],
                    "Order": [
                        {"name": "salt", "type": "uint256"},
                        {"name": "maker", "type": "address"},
                        {"name": "signer", "type": "address"},
                        {"name": "tokenId", "type": "uint256"},
                        {"name": "makerAmount", "type": "uint256"},
                        {"name": "takerAmount", "type": "uint256"},
                        {"name": "side", "type": "uint8"},
                        {"name": "signatureType", "type": "uint8"},
                        {"name": "timestamp", "type": "uint256"},
                        {"name": "metadata", "type": "bytes32"},
                        {"name": "builder", "type": "bytes32"},
                    ],
                },
                "primaryType": "Order",
                "domain": {
                    "name": "Polymarket CTF Exchange",
                    "version": "2",
                    "chainId": CHAIN_ID,
                    "verifyingContract": NEG_RISK_EXCHANGE if neg_risk else EXCHANGE,
                },
                "message": {
                    "salt": int(order["salt"]),
                    "maker": order["maker"],
                    "signer": order["signer"],
                    "tokenId": int(order["tokenId"]),
                    "makerAmount": int(order["makerAmount"]),
                    "takerAmount": int(order["takerAmount"]),
                    "side": 0 if order["side"] == "BUY" else 1,
                    "signatureType": 0,
                    "timestamp": int(order["timestamp"]),
                    "metadata": order["metadata"],
                    "builder": order["builder"],
                },
            }
            recovered = Account.recover_message(
                encode_typed_data(full_message=typed), signature=sig
            )
        except Exception:
            return False
        return str(recovered).lower() == str(order["signer"]).lower()

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

    def _take(self, order: Order, price: Decimal, size: Decimal) -> str:
        """Our order takes ``size`` at ``price`` from the venue book: one TAKER trade."""
        book_side = "SELL" if order.side == "BUY" else "BUY"
        book = self.venue.book(order.asset_id)
        levels = book["asks"] if order.side == "BUY" else book["bids"]
        current = next(
            (Decimal(lv["size"]) for lv in levels if Decimal(lv["price"]) == price), _ZERO
        )
        level_text = next(
            (lv["price"] for lv in levels if Decimal(lv["price"]) == price), _txt(price)
        )
        self.venue.set_level(order.asset_id, book_side, level_text, _txt(current - size))
        self.venue.last_trade(order.asset_id, level_text, _txt(size), order.side)
        order.size_matched += size
        trade_id = str(uuid.uuid4())
        order.associate_trades.append(trade_id)
        now = int(time.time())
        maker = {
            "order_id": "0x" + secrets.token_hex(32),
            "owner": "sandbox-liquidity",
            "maker_address": _OTHER_MAKER,
            "matched_amount": _txt(size),
            "price": _txt(price),
            "fee_rate_bps": "0",
            "asset_id": order.asset_id,
            "outcome": order.outcome,
            "outcome_index": 0 if order.outcome == "Yes" else 1,
            "side": book_side,
        }
        self._record_trade(
            {
                "id": trade_id,
                "taker_order_id": order.id,
                "market": order.market,
                "asset_id": order.asset_id,
                "side": order.side,
                "size": _txt(size),
                "price": _txt(price),
                "fee_rate_bps": "0",
                "status": "MATCHED",
                "match_time": str(now),
                "last_update": str(now),
                "outcome": order.outcome,
                "owner": order.owner,
                "maker_address": order.maker_address,
                "transaction_hash": "",
                "bucket_index": 0,
                "trader_side": "TAKER",
                "maker_orders": [maker],
            }
        )
        return trade_id

    def _record_trade(self, trade: dict[str, Any]) -> None:
        self.trades[trade["id"]] = trade
        self._push_trade(trade)
        fail = self.faults.fail_trades > 0
        if fail:
            self.faults.fail_trades -= 1
        steps = ["FAILED"] if fail else ["MINED", "CONFIRMED"]
        self._schedule(trade["id"], steps)

    def _schedule(self, trade_id: str, steps: list[str]) -> None:
        if not steps:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # driven synchronously (unit use): trades stay MATCHED

        def advance() -> None:
            self._timers.discard(handle)
            trade = self.trades[trade_id]
            trade["status"] = steps[0]
            trade["last_update"] = str(int(time.time()))
            if steps[0] in ("MINED", "CONFIRMED"):
                trade["transaction_hash"] = "0x" + hashlib.sha256(trade_id.encode()).hexdigest()
            self._push_trade(trade)
            self._schedule(trade_id, steps[1:])

        handle = loop.call_later(self.settle_s, advance)
        self._timers.add(handle)

    # ------------------------------------------------------------------ cancel

    async def handle_cancel_order(self, request: web.Request) -> web.Response:
        self.requests["DELETE /order"] += 1
        creds = await self._l2(request)
        if creds is None:
            return _error(401, UNAUTHORIZED)
        try:
            body = json.loads(await request.read())
            ids = [str(body["orderID"])]
        except (ValueError, KeyError, TypeError):
            return _error(400, "Invalid payload")
        return web.json_response(self._cancel(creds, ids))

    async def handle_cancel_orders(self, request: web.Request) -> web.Response:
        self.requests["DELETE /orders"] += 1
        creds = await self._l2(request)
        if creds is None:
            return _error(401, UNAUTHORIZED)
        try:
            ids = json.loads(await request.read())
        except ValueError:
            return _error(400, "Invalid payload")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return _error(400, "Invalid payload")
        return web.json_response(self._cancel(creds, ids))

    async def handle_cancel_all(self, request: web.Request) -> web.Response:
        self.requests["DELETE /cancel-all"] += 1
        creds = await self._l2(request)
        if creds is None:
            return _error(401, UNAUTHORIZED)
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
        self.requests["GET /data/orders"] += 1
        creds = await self._l2(request)
        if creds is None:
            return _error(401, UNAUTHORIZED)
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
        self.requests["GET /data/order"] += 1
        creds = await self._l2(request)
        if creds is None:
            return _error(401, UNAUTHORIZED)
        order = self.orders.get(request.match_info["order_id"])
        if order is None or order.owner != creds.key:
            return _error(404, "order not found")
        return web.json_response(order.rest_json())

    async def handle_trades(self, request: web.Request) -> web.Response:
        self.requests["GET /data/trades"] += 1
        creds = await self._l2(request)
        if creds is None:
            return _error(401, UNAUTHORIZED)
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
            return _error(400, "invalid next_cursor")
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
        self.requests["POST /v1/heartbeats"] += 1
        creds = await self._l2(request)
        if creds is None:
            return _error(401, UNAUTHORIZED)
        try:
            sent = str(json.loads(await request.read()).get("heartbeat_id", ""))
        except (ValueError, AttributeError):
            return _error(400, "Invalid payload")
        current = self._heartbeats.get(creds.key)
        if current is not None and sent != current[0]:
            return web.json_response(
                {"error_msg": "Invalid Heartbeat ID", "heartbeat_id": current[0]}, status=400
            )
        beat = str(uuid.uuid4())
        self._heartbeats[creds.key] = (beat, time.monotonic() + 10.0)
        return web.json_response({"heartbeat_id": beat})

    def _expire_heartbeats(self) -> None:
        """The dead-man switch: a key whose heartbeat lapsed loses its resting orders."""
        now = time.monotonic()
        for key, (_beat, deadline) in list(self._heartbeats.items()):
            if now > deadline:
                del self._heartbeats[key]
                creds = self._keys[key]
                self._cancel(creds, [o.id for o in self.open_orders(key)])

    # ------------------------------------------------------------------ user channel

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
            "original_size": _txt(order.original_size),
            "size_matched": _txt(order.size_matched),
            "price": _txt(order.price),
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
            client.outbox.put_nowait(text)

    async def handle_user_ws(self, request: web.Request) -> web.StreamResponse:
        if self.faults.refuse_user_ws > 0:
            self.faults.refuse_user_ws -= 1
            return _error(503, "Service Unavailable")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        client = _UserClient(ws)
        self._clients.append(client)
        self.user_connections += 1
        writer = asyncio.create_task(self._write(client), name="exchange-user-writer")
        try:
            await self._read(client)
        finally:
            self._clients.remove(client)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            await ws.close()
        return ws

    async def _write(self, client: _UserClient) -> None:
        while True:
            text = await client.outbox.get()
            try:
                await client.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return

    async def _read(self, client: _UserClient) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.subscribe_timeout_s
        while True:
            timeout = None if client.key else max(0.0, deadline - loop.time())
            try:
                msg = await client.ws.receive(timeout=timeout)
            except TimeoutError:
                await client.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"no subscription")
                return
            if msg.type is not WSMsgType.TEXT:
                return
            if msg.data == "PING":
                self.user_pings += 1
                client.outbox.put_nowait("PONG")
                continue
            try:
                frame = json.loads(msg.data)
            except ValueError:
                frame = None
            if not isinstance(frame, dict):
                client.outbox.put_nowait("INVALID OPERATION")
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
                client.outbox.put_nowait("INVALID OPERATION")

    def _subscribe(self, client: _UserClient, frame: dict[str, Any]) -> bool:
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


__all__ = ["ApiCreds", "Exchange", "ExchangeFaults", "Order"]
