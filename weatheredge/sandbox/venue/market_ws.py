"""The market WebSocket ``/ws/market`` and its fault injection.

The first JSON frame must be ``type: market`` (no subscription within ``subscribe_timeout_s``
→ closed); a second one, a duplicate subscribe or anything unparseable gets the text reply
``INVALID OPERATION``; text ``PING`` → text ``PONG``. The initial dump is ONE JSON array of
``book`` objects. Re-subscribing an asset on the same socket sends no new snapshot (nautilus
#4635).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import WSMsgType, web

from weatheredge.sandbox.replies import error_reply
from weatheredge.sandbox.venue.state import MarketClient, VenueState
from weatheredge.sandbox.wsclient import SocketServer, close_all

logger = logging.getLogger("weatheredge.sandbox.venue")

INVALID = "INVALID OPERATION"


class MarketChannel(VenueState, SocketServer[MarketClient]):
    """The market channel's sockets, the events pushed to them and the socket faults."""

    client_type = MarketClient
    writer_name = "venue-ws-writer"

    @property
    def client_count(self) -> int:
        return len(self._clients)

    async def drop_connections(self) -> None:
        """Server-side close of every market socket (a venue restart, as clients see it)."""
        await close_all(self._clients)

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
            "invalid_value": self._bad_price_change(market, asset, "0.4x"),
        }
        if token is not None:
            frames["off_tick"] = self._bad_price_change(market, token, "0.4051")
        if oversize_bytes:
            frames["oversize"] = json.dumps(
                {"event_type": "last_trade_price", "pad": "x" * oversize_bytes}
            )
        for client in self._clients:
            if client.live:
                for frame in frames.values():
                    client.send(frame)
        return {kind: 1 for kind in frames}

    def _bad_price_change(self, market: str, asset: str, price: str) -> str:
        change = {"asset_id": asset, "price": price, "size": "1", "side": "BUY"}
        return json.dumps(
            {
                "event_type": "price_change",
                "market": market,
                "timestamp": self._now_ms(),
                "price_changes": [change],
            }
        )

    def send_raw(self, text: str | bytes) -> None:
        """Fault injection: push an arbitrary frame (bytes: binary) to every subscribed client."""
        for client in self._clients:
            if client.live:
                client.send(text)

    # ------------------------------------------------------------------ pushing events

    def _push(
        self,
        assets: set[str],
        build: Callable[[set[str]], object | None],
        *,
        custom_only: bool = False,
    ) -> None:
        faults = self.faults
        for client in self._clients:
            if not client.live or (custom_only and not client.custom_features):
                continue
            if not assets & client.assets:
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

    # ------------------------------------------------------------------ the socket

    async def handle_market_ws(self, request: web.Request) -> web.StreamResponse:
        if self.faults.refuse_handshakes > 0:
            self.faults.refuse_handshakes -= 1
            status = self.faults.refuse_status
            if status == 429:
                headers = {"Retry-After": str(self.faults.retry_after_s)}
                return error_reply(429, "Too Many Requests", headers=headers)
            return error_reply(status, "Service Unavailable")
        return await self._serve_socket(request)

    def _accepted(self, client: MarketClient) -> None:
        self.history.append(client)
        self.connections += 1

    async def _read(self, client: MarketClient) -> None:
        deadline = asyncio.get_running_loop().time() + self.subscribe_timeout_s
        while True:
            msg = await client.receive(None if client.subscribed else deadline)
            if msg is None:
                return
            if msg.type is WSMsgType.TEXT:
                self._on_text(client, msg.data)
            elif msg.type is WSMsgType.BINARY:
                self._reject(client, repr(msg.data[:100]))
            else:
                return  # CLOSE / CLOSING / CLOSED / ERROR

    def _on_text(self, client: MarketClient, text: str) -> None:
        if client.answer_ping(text, pong=not (self.faults.ignore_pings or client.half_open)):
            self.pings_received += 1
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

    def _initial(self, client: MarketClient, frame: dict[str, Any], ids: list[str]) -> None:
        client.subscribed = True
        client.custom_features = frame.get("custom_feature_enabled") is True
        client.assets = set(ids)
        if frame.get("initial_dump", True) is not False:
            self._dump(client, ids)

    def _operation(
        self, client: MarketClient, frame: dict[str, Any], ids: list[str], text: str
    ) -> None:
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

    def _dump(self, client: MarketClient, ids: Iterable[str]) -> None:
        ids = list(ids)
        client.ever.update(ids)
        books = [self._book_event(self._books[i]) for i in ids if i in self._books]
        if books:
            client.send(books)

    def _reject(self, client: MarketClient, sample: str) -> None:
        logger.info("venue rejected client frame %.200s", sample)
        self.rejected_frames.append(sample)
        client.send(INVALID)
