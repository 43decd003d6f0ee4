"""Simulated Polymarket venue: Gamma listing, CLOB REST books and the market WebSocket.

It speaks the documented wire shapes exactly and is never more forgiving than the real venue
(polymarket.md §1, §3, §4, §6), so the daemon cannot pass here and fail there:

- Gamma ``GET /events/keyset``: at most 100 events per page whatever ``limit`` says (``limit``
  outside 1..500 → 422), opaque ``next_cursor`` absent on the last page, ``offset`` → 422,
  unknown parameters ignored. ``clobTokenIds``/``outcomes``/``outcomePrices`` are JSON strings.
- CLOB ``POST /books``: more than 100 ids → 400 ``Payload exceeds the limit``; ``GET /book`` of
  an unknown or resolved token → 404 ``No orderbook exists for the requested token id``. Levels
  are strings, bids ascending and asks descending (best level last).
- WS ``/ws/market``: the first JSON frame must be ``type: market`` (no subscription within
  ``subscribe_timeout_s`` → closed); a second one, a duplicate subscribe or anything unparseable
  gets the text reply ``INVALID OPERATION``; text ``PING`` → text ``PONG``. The initial dump is
  ONE JSON array of ``book`` objects. Re-subscribing an asset on the same socket sends no new
  snapshot (nautilus #4635). YES/NO books are mirrored: a YES bid at p is a NO ask at 1 - p,
  and one ``price_change`` frame carries both entries.

Everything that mutates state is synchronous; frames are queued per client and written by one
writer task per socket, so frame order is the order of calls.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import copy
import hashlib
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from weatheredge.model.prices import MICRO, from_micros, to_micros

logger = logging.getLogger(__name__)

PAGE_CAP = 100  # Gamma keyset: observed maximum events per page
LIMIT_MAX = 500  # Gamma keyset: the OpenAPI bound on ``limit``
BOOKS_MAX = 100  # CLOB POST /books: ids per call
INVALID = "INVALID OPERATION"
JSON_STRING_FIELDS = ("clobTokenIds", "outcomes", "outcomePrices")
Levels = list[tuple[str, str]]


@dataclass
class Faults:
    """Fault-injection switches, scriptable per test (see also the ``Venue`` fault methods:
    ``drop_connections``, ``stall_data``, ``half_open``, ``send_garbage``)."""

    ignore_pings: bool = False  # swallow PINGs: the client must notice the missing PONGs
    refuse_handshakes: int = 0  # the next N WS handshakes are refused with refuse_status
    refuse_status: int = 503  # 429 adds a Retry-After header (retry_after_s)
    rate_limit_books: int = 0  # the next N POST /books get HTTP 429
    retry_after_s: int = 1
    duplicate_price_changes: bool = False  # every price_change frame is sent twice
    reorder_price_changes: bool = False  # price_change frames are swapped pairwise


@dataclass
class _Book:
    token: str
    market: str  # condition id
    pair: str | None
    tick: str
    min_order_size: str
    neg_risk: bool
    bids: dict[int, tuple[str, str]] = field(default_factory=dict)  # micros -> (price, size)
    asks: dict[int, tuple[str, str]] = field(default_factory=dict)
    last_trade_price: str | None = None


@dataclass(eq=False)
class _Client:
    ws: web.WebSocketResponse
    outbox: asyncio.Queue[str | bytes] = field(default_factory=asyncio.Queue)
    assets: set[str] = field(default_factory=set)
    ever: set[str] = field(default_factory=set)  # assets ever snapshotted on this socket
    subscribed: bool = False
    custom_features: bool = False
    frames: list[dict[str, Any]] = field(default_factory=list)  # JSON frames it sent us
    stalled: bool = False  # fault: no data any more, PONGs still answered (silent freeze)
    half_open: bool = False  # fault: nothing at all any more, not even PONG
    held: str | None = None  # fault: a price_change held back to be sent after the next one
    closed: bool = False
    opened_at: float = field(default_factory=time.monotonic)

    def send(self, payload: object) -> None:
        if isinstance(payload, str | bytes):
            self.outbox.put_nowait(payload)
        else:
            self.outbox.put_nowait(json.dumps(payload, ensure_ascii=False))

    @property
    def subscribed_ids(self) -> list[str]:
        """Every id this connection asked for (initial frame and ``subscribe`` operations)."""
        ids: list[str] = []
        for frame in self.frames:
            if frame.get("type") == "market" or frame.get("operation") == "subscribe":
                ids.extend(frame.get("assets_ids") or [])
        return ids


def _complement(price: str) -> str:
    """1 - price, written with the same number of decimals (exact, no floats)."""
    decimals = len(price.partition(".")[2])
    whole, frac = divmod(MICRO - to_micros(price), MICRO)
    return str(whole) if decimals == 0 else f"{whole}.{frac:06d}"[: len(str(whole)) + 1 + decimals]


def _num_text(value: object) -> str:
    if isinstance(value, float):
        return from_micros(to_micros(f"{value:.6f}"))
    return str(value)


def _levels(levels: Levels) -> dict[int, tuple[str, str]]:
    return {to_micros(p): (p, s) for p, s in levels if to_micros(s) > 0}


def _token_ids(market: dict[str, Any]) -> list[str]:
    if market.get("version") == "v2":
        return list(market.get("positionIds") or [])
    raw = market.get("clobTokenIds")
    return json.loads(raw) if raw else []


class Venue:
    """State of the simulated venue, driven by the scenario author and inspected by tests."""

    def __init__(
        self, *, subscribe_timeout_s: float = 10.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.subscribe_timeout_s = subscribe_timeout_s
        self.faults = Faults()
        self.subscriptions_received: list[dict[str, Any]] = []  # every JSON client frame
        self.rejected_frames: list[str] = []
        self.pings_received = 0
        self.connections = 0
        self._clock = clock
        self._events: dict[str, tuple[int, dict[str, Any]]] = {}  # slug -> (seq, event)
        self._seq = 0
        self._order_seq = itertools.count()
        self.requests: collections.Counter[str] = collections.Counter()  # HTTP path -> count
        self._books: dict[str, _Book] = {}
        self._clients: list[_Client] = []
        self.history: list[_Client] = []  # every market socket ever accepted, in order
        self._last_ms = 0

    # ------------------------------------------------------------------ scenario API: catalogue

    def add_event(self, event_json: dict[str, Any]) -> None:
        """Serve a Gamma event as given (replacing one with the same slug) and open its books."""
        event = copy.deepcopy(event_json)
        if not isinstance(event.get("slug"), str):
            raise ValueError("a served Gamma event needs a slug")
        for market in event.get("markets") or []:
            for name in JSON_STRING_FIELDS:
                if name in market and not isinstance(market[name], str | None):
                    raise ValueError(f"{name} must be a JSON-encoded string, as Gamma sends it")
            self._open_books(event, market)
        seq = self._events[event["slug"]][0] if event["slug"] in self._events else self._seq
        self._seq += 1
        self._events[event["slug"]] = (seq, event)

    def _open_books(self, event: dict[str, Any], market: dict[str, Any]) -> None:
        ids = _token_ids(market)
        if len(ids) != 2 or market.get("closed") or not market.get("enableOrderBook"):
            return
        for token, pair in ((ids[0], ids[1]), (ids[1], ids[0])):
            self._books.setdefault(
                token,
                _Book(
                    token=token,
                    market=market.get("conditionId") or "",
                    pair=pair,
                    tick=_num_text(market.get("orderPriceMinTickSize", 0.01)),
                    min_order_size=_num_text(market.get("orderMinSize", 5)),
                    neg_risk=bool(market.get("negRisk", event.get("negRisk", False))),
                ),
            )

    # ------------------------------------------------------------------ scenario API: books

    def set_book(self, token: str, bids: Levels, asks: Levels, *, mirror: bool = True) -> None:
        """Replace a token's book (and, mirrored, its pair's); pushes ``book`` events."""
        book = self._book(token)
        book.bids, book.asks = _levels(bids), _levels(asks)
        changed = [book]
        if mirror and book.pair in self._books:
            pair = self._books[book.pair]
            pair.bids = _levels([(_complement(p), s) for p, s in asks])
            pair.asks = _levels([(_complement(p), s) for p, s in bids])
            changed.append(pair)
        for b in changed:
            event = self._book_event(b)
            self._push({b.token}, lambda _assets, e=event: e)

    def set_level(self, token: str, side: str, price: str, size: str) -> None:
        """Set one level's total size ("0" removes it), mirrored; pushes one ``price_change``."""
        if side not in ("BUY", "SELL"):
            raise ValueError(f"side must be BUY or SELL, got {side!r}")
        book = self._book(token)
        entries = [self._apply(book, side, price, size)]
        if book.pair in self._books:
            flipped = "SELL" if side == "BUY" else "BUY"
            entries.append(self._apply(self._books[book.pair], flipped, _complement(price), size))
        timestamp = self._now_ms()

        def build(assets: set[str]) -> object | None:
            mine = [e for e in entries if e["asset_id"] in assets]
            if not mine:
                return None
            return {
                "event_type": "price_change",
                "market": book.market,
                "price_changes": mine,
                "timestamp": timestamp,
            }

        self._push({e["asset_id"] for e in entries}, build)

    def _apply(self, book: _Book, side: str, price: str, size: str) -> dict[str, str]:
        levels = book.bids if side == "BUY" else book.asks
        micros = to_micros(price)
        if to_micros(size) > 0:
            levels[micros] = (price, size)
        else:
            levels.pop(micros, None)
        entry = {"asset_id": book.token, "price": price, "size": size, "side": side}
        order_id = f"{book.token}:{price}:{size}:{next(self._order_seq)}"
        entry["hash"] = hashlib.sha1(order_id.encode()).hexdigest()
        # best_bid/best_ask are optional on the wire; omitted when that side is empty.
        if book.bids:
            entry["best_bid"] = book.bids[max(book.bids)][0]
        if book.asks:
            entry["best_ask"] = book.asks[min(book.asks)][0]
        return entry

    def tick_size_change(self, token: str, new_tick: str) -> None:
        """Change the tick of a market (both tokens); pushes ``tick_size_change`` per token."""
        book = self._book(token)
        for b in (book, self._books.get(book.pair or "")):
            if b is None:
                continue
            event = {
                "event_type": "tick_size_change",
                "market": b.market,
                "asset_id": b.token,
                "old_tick_size": b.tick,
                "new_tick_size": new_tick,
                "timestamp": self._now_ms(),
            }
            b.tick = new_tick
            self._push({b.token}, lambda _assets, e=event: e)

    def last_trade(self, token: str, price: str, size: str, side: str) -> None:
        """A match: pushes ``last_trade_price`` (side is the taker's)."""
        book = self._book(token)
        book.last_trade_price = price
        event = {
            "event_type": "last_trade_price",
            "market": book.market,
            "asset_id": token,
            "price": price,
            "size": size,
            "fee_rate_bps": "0",
            "side": side,
            "timestamp": self._now_ms(),
        }
        self._push({token}, lambda _assets: event)

    def resolve_market(self, condition_id: str, winning_outcome: str) -> None:
        """Close a bucket market: Gamma shows it resolved, its books vanish (REST 404) and
        custom-feature subscribers get ``market_resolved``."""
        event, market = self._find_market(condition_id)
        yes, no = _token_ids(market)
        winner = yes if winning_outcome == "Yes" else no
        market.update(
            closed=True,
            acceptingOrders=False,
            outcomePrices=json.dumps(["1", "0"] if winner == yes else ["0", "1"]),
            umaResolutionStatus="resolved",
        )
        event["closed"] = all(m.get("closed") for m in event.get("markets") or [])
        self._books.pop(yes, None)
        self._books.pop(no, None)
        payload = {
            "event_type": "market_resolved",
            "id": market.get("id"),
            "market": condition_id,
            "assets_ids": [yes, no],
            "winning_asset_id": winner,
            "winning_outcome": winning_outcome,
            "event_message": {"id": event.get("id"), "slug": event.get("slug")},
            "timestamp": self._now_ms(),
        }
        self._push({yes, no}, lambda _assets: payload, custom_only=True)

    # ------------------------------------------------------------------ introspection

    def book(self, token: str) -> dict[str, list[dict[str, str]]]:
        """Current book in wire order (bids ascending, asks descending)."""
        b = self._book(token)
        return {"bids": self._wire_levels(b.bids, False), "asks": self._wire_levels(b.asks, True)}

    @property
    def client_count(self) -> int:
        return len(self._clients)

    async def drop_connections(self) -> None:
        """Server-side close of every market socket (a venue restart, as clients see it)."""
        for client in list(self._clients):
            await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server restart")

    # ------------------------------------------------------------------ fault injection

    def stall_data(self) -> int:
        """Silent freeze: the sockets open now get no more data but still answer PING.

        New connections are healthy. Returns how many sockets were stalled.
        """
        for client in self._clients:
            client.stalled = True
        return len(self._clients)

    def half_open(self) -> int:
        """Half-open: the sockets open now get nothing more, not even PONG; never closed."""
        for client in self._clients:
            client.half_open = True
        return len(self._clients)

    def send_garbage(self, token: str | None = None, *, oversize_bytes: int = 0) -> dict[str, int]:
        """Push one frame of every bad kind to every subscribed socket; returns kind -> count
        per socket, as the client should count them."""
        market = self._books[token].market if token in self._books else "0x0"
        asset = token or "0"
        frames: dict[str, str | bytes] = {
            "not_json": "{this is not json",
            "binary": b'\x00\x01{"event_type": "book"}',
            "unknown_event": json.dumps({"event_type": "book_v9", "asset_id": asset}),
            "invalid": json.dumps({"event_type": "price_change", "market": market}),
            "invalid_value": json.dumps(
                {
                    "event_type": "price_change",
                    "market": market,
                    "timestamp": self._now_ms(),
                    "price_changes": [
                        {"asset_id": asset, "price": "0.4x", "size": "1", "side": "BUY"}
                    ],
                }
            ),
        }
        if token is not None:
            frames["off_tick"] = json.dumps(
                {
                    "event_type": "price_change",
                    "market": market,
                    "timestamp": self._now_ms(),
                    "price_changes": [
                        {"asset_id": token, "price": "0.4051", "size": "1", "side": "BUY"}
                    ],
                }
            )
        if oversize_bytes:
            frames["oversize"] = json.dumps(
                {"event_type": "last_trade_price", "pad": "x" * oversize_bytes}
            )
        for client in self._clients:
            if client.subscribed and not (client.stalled or client.half_open):
                for frame in frames.values():
                    client.send(frame)
        return {kind: 1 for kind in frames}

    # ------------------------------------------------------------------ internals

    def _book(self, token: str) -> _Book:
        try:
            return self._books[token]
        except KeyError:
            raise ValueError(f"no order book for token {token!r}") from None

    def _find_market(self, condition_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        for _seq, event in self._events.values():
            for market in event.get("markets") or []:
                if market.get("conditionId") == condition_id:
                    return event, market
        raise ValueError(f"no market with conditionId {condition_id!r}")

    def _now_ms(self) -> str:
        # Strictly increasing, like a sequencer: lets clients spot out-of-order deltas.
        self._last_ms = max(int(self._clock() * 1000), self._last_ms + 1)
        return str(self._last_ms)

    @staticmethod
    def _wire_levels(levels: dict[int, tuple[str, str]], descending: bool) -> list[dict[str, str]]:
        return [
            {"price": levels[p][0], "size": levels[p][1]}
            for p in sorted(levels, reverse=descending)
        ]

    def _rest_book(self, b: _Book) -> dict[str, Any]:
        body: dict[str, Any] = {
            "market": b.market,
            "asset_id": b.token,
            "timestamp": self._now_ms(),
            **self.book(b.token),
            "min_order_size": b.min_order_size,
            "tick_size": b.tick,
            "neg_risk": b.neg_risk,
        }
        body["hash"] = hashlib.sha1(json.dumps([body["bids"], body["asks"]]).encode()).hexdigest()
        if b.last_trade_price is not None:
            body["last_trade_price"] = b.last_trade_price
        return body

    def _book_event(self, b: _Book) -> dict[str, Any]:
        return {"event_type": "book", **self._rest_book(b)}

    def send_raw(self, text: str | bytes) -> None:
        """Fault injection: push an arbitrary frame (bytes: binary) to every subscribed client."""
        for client in self._clients:
            if client.subscribed and not (client.stalled or client.half_open):
                client.send(text)

    def _push(
        self,
        assets: set[str],
        build: Callable[[set[str]], object | None],
        *,
        custom_only: bool = False,
    ) -> None:
        faults = self.faults
        for client in self._clients:
            if not client.subscribed or (custom_only and not client.custom_features):
                continue
            if client.stalled or client.half_open or not assets & client.assets:
                continue
            payload = build(client.assets)
            if payload is None:
                continue
            is_delta = isinstance(payload, dict) and payload.get("event_type") == "price_change"
            if not is_delta:
                client.send(payload)
                continue
            text = json.dumps(payload, ensure_ascii=False)
            if faults.reorder_price_changes:
                if client.held is None:
                    client.held = text  # sent right after the next one
                    continue
                client.send(text)
                text, client.held = client.held, None
            elif client.held is not None:
                client.send(client.held)
                client.held = None
            client.send(text)
            if faults.duplicate_price_changes:
                client.send(text)

    # ------------------------------------------------------------------ HTTP: Gamma

    async def handle_events_keyset(self, request: web.Request) -> web.Response:
        self.requests[request.path] += 1
        query = request.query
        if "offset" in query:
            return _error(422, "offset is not supported by keyset pagination; use after_cursor")
        try:
            limit = int(query.get("limit", "20"))
            after = (
                int(base64.urlsafe_b64decode(query["after_cursor"]).decode())
                if ("after_cursor" in query)
                else -1
            )
        except (ValueError, UnicodeDecodeError):
            return _error(422, "invalid limit or after_cursor")
        if not 1 <= limit <= LIMIT_MAX:
            return _error(422, f"limit must be between 1 and {LIMIT_MAX}")
        matching = [
            (seq, event)
            for seq, event in sorted(self._events.values(), key=lambda item: item[0])
            if seq > after and _matches(event, query)
        ]
        page = matching[: min(limit, PAGE_CAP)]
        body: dict[str, Any] = {"events": [event for _seq, event in page]}
        if len(matching) > len(page):
            body["next_cursor"] = base64.urlsafe_b64encode(str(page[-1][0]).encode()).decode()
        return _json(body)

    async def handle_event_by_slug(self, request: web.Request) -> web.Response:
        self.requests[request.path] += 1
        found = self._events.get(request.match_info["slug"])
        if found is None:
            return _error(404, "not found")
        return _json(found[1])

    # ------------------------------------------------------------------ HTTP: CLOB

    async def handle_books(self, request: web.Request) -> web.Response:
        self.requests[request.path] += 1
        if self.faults.rate_limit_books > 0:
            self.faults.rate_limit_books -= 1
            headers = {"Retry-After": str(self.faults.retry_after_s)}
            return _error(429, "Too Many Requests", headers=headers)
        try:
            items = json.loads(await request.read())
        except ValueError:
            return _error(400, "Invalid payload")
        if not isinstance(items, list):
            return _error(400, "Invalid payload")
        if len(items) > BOOKS_MAX:
            return _error(400, "Payload exceeds the limit")
        if not all(isinstance(i, dict) and isinstance(i.get("token_id"), str) for i in items):
            return _error(400, "Invalid payload")
        tokens = [i["token_id"] for i in items]
        return _json([self._rest_book(self._books[t]) for t in tokens if t in self._books])

    async def handle_book(self, request: web.Request) -> web.Response:
        self.requests[request.path] += 1
        token = request.query.get("token_id")
        if not token:
            return _error(400, "Invalid payload")
        if token not in self._books:
            return _error(404, "No orderbook exists for the requested token id")
        return _json(self._rest_book(self._books[token]))

    # ------------------------------------------------------------------ WS: market channel

    async def handle_market_ws(self, request: web.Request) -> web.StreamResponse:
        if self.faults.refuse_handshakes > 0:
            self.faults.refuse_handshakes -= 1
            status = self.faults.refuse_status
            if status == 429:
                headers = {"Retry-After": str(self.faults.retry_after_s)}
                return _error(429, "Too Many Requests", headers=headers)
            return _error(status, "Service Unavailable")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        client = _Client(ws)
        self._clients.append(client)
        self.history.append(client)
        self.connections += 1
        writer = asyncio.create_task(self._write(client), name="venue-ws-writer")
        try:
            await self._read(client)
        finally:
            client.closed = True
            self._clients.remove(client)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            await ws.close()
        return ws

    async def _write(self, client: _Client) -> None:
        while True:
            text = await client.outbox.get()
            try:
                if isinstance(text, bytes):
                    await client.ws.send_bytes(text)
                else:
                    await client.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return  # the socket is going away; the reader notices too

    async def _read(self, client: _Client) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.subscribe_timeout_s
        while True:
            timeout = None if client.subscribed else max(0.0, deadline - loop.time())
            try:
                msg = await client.ws.receive(timeout=timeout)
            except TimeoutError:
                await client.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"no subscription")
                return
            if msg.type is WSMsgType.TEXT:
                self._on_text(client, msg.data)
            elif msg.type is WSMsgType.BINARY:
                self._reject(client, repr(msg.data[:100]))
            else:
                return  # CLOSE / CLOSING / CLOSED / ERROR

    def _on_text(self, client: _Client, text: str) -> None:
        if text == "PING":
            self.pings_received += 1
            if not (self.faults.ignore_pings or client.half_open):
                client.send("PONG")
            return
        try:
            frame = json.loads(text)
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            self._reject(client, text)
            return
        self.subscriptions_received.append(frame)
        client.frames.append(frame)
        ids = frame.get("assets_ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            self._reject(client, text)
        elif "type" in frame and not client.subscribed and frame["type"] == "market":
            self._initial(client, frame, ids)
        elif frame.get("operation") in ("subscribe", "unsubscribe") and client.subscribed:
            self._operation(client, frame, ids, text)
        else:
            self._reject(client, text)

    def _initial(self, client: _Client, frame: dict[str, Any], ids: list[str]) -> None:
        client.subscribed = True
        client.custom_features = frame.get("custom_feature_enabled") is True
        client.assets = set(ids)
        if frame.get("initial_dump", True) is not False:
            self._dump(client, ids)

    def _operation(self, client: _Client, frame: dict[str, Any], ids: list[str], text: str) -> None:
        if "custom_feature_enabled" in frame:  # applied before any duplicate rejection
            client.custom_features = frame["custom_feature_enabled"] is True
        if frame["operation"] == "unsubscribe":
            client.assets.difference_update(ids)
            return
        if client.assets.intersection(ids):
            self._reject(client, text)  # duplicates are refused, not merged
            return
        client.assets.update(ids)
        self._dump(client, [i for i in ids if i not in client.ever])

    def _dump(self, client: _Client, ids: Iterable[str]) -> None:
        ids = list(ids)
        client.ever.update(ids)
        books = [self._book_event(self._books[i]) for i in ids if i in self._books]
        if books:
            client.send(books)

    def _reject(self, client: _Client, sample: str) -> None:
        logger.info("venue rejected client frame %.200s", sample)
        self.rejected_frames.append(sample)
        client.send(INVALID)


def _matches(event: dict[str, Any], query: Any) -> bool:
    if "tag_slug" in query:
        slugs = {t.get("slug") for t in event.get("tags") or []}
        if query["tag_slug"] not in slugs:
            return False
    if "closed" in query:
        want = query["closed"].lower() == "true"
        if bool(event.get("closed")) != want:
            return False
    return True


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def create_venue_app(venue: Venue) -> web.Application:
    """The venue as an aiohttp app: Gamma, CLOB REST and ``/ws/market`` on one port."""
    app = web.Application()
    app.router.add_get("/events/keyset", venue.handle_events_keyset)
    app.router.add_get("/events/slug/{slug}", venue.handle_event_by_slug)
    app.router.add_post("/books", venue.handle_books)
    app.router.add_get("/book", venue.handle_book)
    app.router.add_get("/ws/market", venue.handle_market_ws)

    async def close_sockets(_app: web.Application) -> None:
        await venue.drop_connections()

    app.on_shutdown.append(close_sockets)
    return app
