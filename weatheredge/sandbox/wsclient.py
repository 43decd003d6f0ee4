"""WebSocket plumbing shared by the sandbox's market and user channels.

Each accepted socket gets a ``WsClient``: frames are queued on its outbox and written by one
writer task per socket, so frame order is the order of ``send`` calls. ``SocketServer`` runs a
channel's sockets from handshake to close; ``WsClient.receive`` enforces the subscribe deadline
and ``WsClient.answer_ping`` answers the text ``PING`` heartbeat with ``PONG``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from aiohttp import WSCloseCode, WSMessage, web

PING = "PING"
PONG = "PONG"


@dataclass(eq=False)
class WsClient:
    ws: web.WebSocketResponse
    outbox: asyncio.Queue[str | bytes] = field(default_factory=asyncio.Queue)
    closed: bool = False

    def send(self, payload: object) -> None:
        """Queue a frame: text or bytes as given, anything else as JSON text."""
        if isinstance(payload, str | bytes):
            self.outbox.put_nowait(payload)
        else:
            self.outbox.put_nowait(json.dumps(payload, ensure_ascii=False))

    async def receive(self, deadline: float | None) -> WSMessage | None:
        """The next message. With a ``deadline`` (loop time) and nothing by then, the socket is
        closed as ``no subscription`` and None returned."""
        timeout = None
        if deadline is not None:
            timeout = max(0.0, deadline - asyncio.get_running_loop().time())
        try:
            return await self.ws.receive(timeout=timeout)
        except TimeoutError:
            await self.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"no subscription")
            return None

    def answer_ping(self, text: str, *, pong: bool = True) -> bool:
        """Whether ``text`` is the ``PING`` heartbeat; answered ``PONG`` unless ``pong`` is off."""
        if text != PING:
            return False
        if pong:
            self.send(PONG)
        return True


C = TypeVar("C", bound=WsClient)


class SocketServer(Generic[C]):
    """Mixin for a channel: ``_serve_socket`` accepts a socket, registers a ``client_type``
    client in ``_clients``, starts its writer and runs ``_read`` until the socket ends."""

    client_type: type[C]
    writer_name: str
    _clients: list[C]

    async def _read(self, client: C) -> None:
        raise NotImplementedError

    def _accepted(self, client: C) -> None:
        """Called once a client is registered, before anything is read."""

    async def _serve_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        client = self.client_type(ws)
        self._clients.append(client)
        self._accepted(client)
        writer = asyncio.create_task(_write(client), name=self.writer_name)
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


async def close_all(clients: Iterable[WsClient]) -> int:
    """Server-side close of every given socket (a restart, as clients see it); how many."""
    clients = list(clients)
    for client in clients:
        await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server restart")
    return len(clients)


async def _write(client: WsClient) -> None:
    while True:
        text = await client.outbox.get()
        try:
            if isinstance(text, bytes):
                await client.ws.send_bytes(text)
            else:
                await client.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            return  # the socket is going away; the reader notices too
