"""The sans-I/O transport under MarketStream, against a real websockets server on loopback."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosedOK, InvalidStatus
from websockets.http11 import Response

from tests.polymarket.helpers import eventually
from weatheredge.polymarket.stream import MarketStream
from weatheredge.polymarket.transport import connect_feed

pytestmark = pytest.mark.timeout(10)

Handler = Callable[[ServerConnection], Awaitable[None]]


class Server:
    """A websockets server whose per-connection behaviour each test scripts."""

    def __init__(self) -> None:
        self.handler: Handler | None = None
        self.received: list[str | bytes] = []
        self.connections = 0
        self.reject_with: Response | None = None
        self.port = 0

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        assert self.handler is not None
        await self.handler(ws)

    def _process_request(self, conn: ServerConnection, _request: Any) -> Response | None:
        if self.reject_with is not None:
            response, self.reject_with = self.reject_with, None
            return response
        return None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/market"


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server()
    async with serve(
        srv._handle,
        "127.0.0.1",
        0,
        ping_interval=None,
        max_size=None,
        close_timeout=0.5,
        process_request=srv._process_request,
    ) as s:
        srv.port = s.sockets[0].getsockname()[1]
        yield srv


async def echo_until_closed(ws: ServerConnection, into: list[str | bytes]) -> None:
    async for message in ws:
        into.append(message)
        if message == "PING":
            await ws.send("PONG")


async def test_handshake_text_frames_and_send(server: Server) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("one")
        await ws.send("two")
        await ws.send(b"\x00bin")
        await echo_until_closed(ws, server.received)

    server.handler = handler
    got: list[tuple[str | bytes, int]] = []
    conn = await connect_feed(server.url, lambda m, ns: got.append((m, ns)), close_timeout=1)
    assert conn.open and conn.response is not None and conn.response.status_code == 101
    await asyncio.sleep(0.05)
    assert got == []  # held until start(): the caller finishes its setup first
    conn.start()
    await eventually(lambda: len(got) == 3)
    assert [m for m, _ in got] == ["one", "two", b"\x00bin"]
    assert all(ns > 0 for _, ns in got)
    await conn.send("hello")
    await eventually(lambda: server.received == ["hello"])
    await conn.close()
    assert not conn.open and conn.close_code == 1000
    assert isinstance(conn.close_exc, ConnectionClosedOK)


async def test_fragmented_messages_are_reassembled(server: Server) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send(["frag", "ment", "ed ✓"])  # one text message in three frames
        await ws.send([b"\x01", b"\x02"])  # one binary message in two frames
        await ws.send("after")
        await echo_until_closed(ws, server.received)

    server.handler = handler
    got: list[str | bytes] = []
    conn = await connect_feed(server.url, lambda m, _ns: got.append(m), close_timeout=1)
    conn.start()
    await eventually(lambda: len(got) == 3)
    assert got == ["fragmented ✓", b"\x01\x02", "after"]
    await conn.close()


async def test_server_close_handshake(server: Server) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("bye soon")
        await ws.close(code=1001, reason="going away")

    server.handler = handler
    got: list[str | bytes] = []
    conn = await connect_feed(server.url, lambda m, _ns: got.append(m), close_timeout=1)
    conn.start()
    await asyncio.wait_for(conn.wait_closed(), 2)
    assert got == ["bye soon"]
    assert conn.close_code == 1001 and conn.close_reason == "going away"
    assert isinstance(conn.close_exc, ConnectionClosedOK)


async def test_server_ping_control_frame_is_answered(server: Server) -> None:
    latencies: list[float] = []

    async def handler(ws: ServerConnection) -> None:
        pong = await ws.ping(b"are you there")
        latencies.append(await asyncio.wait_for(pong, 2))
        await ws.send("still here")
        await echo_until_closed(ws, server.received)

    server.handler = handler
    got: list[str | bytes] = []
    conn = await connect_feed(server.url, lambda m, _ns: got.append(m), close_timeout=1)
    conn.start()
    await eventually(lambda: got == ["still here"])
    assert len(latencies) == 1
    await conn.close()


async def test_oversize_frame_fails_the_socket(server: Server) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("x" * 5000)
        await ws.wait_closed()

    server.handler = handler
    got: list[str | bytes] = []
    conn = await connect_feed(
        server.url, lambda m, _ns: got.append(m), close_timeout=1, max_size=4096
    )
    conn.start()
    await asyncio.wait_for(conn.wait_closed(), 2)
    assert got == []
    assert conn.protocol.close_sent is not None and conn.protocol.close_sent.code == 1009


async def test_handshake_429_raises_invalid_status(server: Server) -> None:
    server.reject_with = Response(429, "Too Many Requests", _headers({"Retry-After": "7"}), b"")
    with pytest.raises(InvalidStatus) as info:
        await connect_feed(server.url, lambda *_: None, close_timeout=1)
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "7"


async def test_open_timeout(unused_tcp_port: int) -> None:
    async def silent(_r: asyncio.StreamReader, _w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    srv = await asyncio.start_server(silent, "127.0.0.1", unused_tcp_port)
    try:
        with pytest.raises(TimeoutError, match="opening handshake"):
            await connect_feed(
                f"ws://127.0.0.1:{unused_tcp_port}/", lambda *_: None, open_timeout=0.2
            )
    finally:
        srv.close()


async def test_close_times_out_on_a_silent_server(server: Server) -> None:
    """A half-open peer never answers the close frame: close() aborts after close_timeout."""
    started = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        ws.transport.pause_reading()  # the close frame is never read, never answered
        started.set()
        await asyncio.sleep(1)
        ws.transport.abort()

    server.handler = handler
    conn = await connect_feed(server.url, lambda *_: None, close_timeout=0.2)
    conn.start()
    await started.wait()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await conn.close()
    assert loop.time() - t0 < 1.0 and not conn.open


# ---------------------------------------------------------------------- through MarketStream


def _headers(values: dict[str, str]) -> Any:
    from websockets.datastructures import Headers

    return Headers(values)


async def test_stream_counts_oversize_frames_and_reconnects(server: Server) -> None:
    async def handler(ws: ServerConnection) -> None:
        sub = await ws.recv()
        server.received.append(sub)
        if server.connections == 1:
            await ws.send("y" * 3000)  # over max_size: the client fails the socket (1009)
        else:
            await ws.send('{"ok": true}')
        await echo_until_closed(ws, server.received)

    server.handler = handler
    frames: list[str | bytes] = []

    async def no_sleep(_s: float) -> None:
        await asyncio.sleep(0)

    stream = MarketStream(
        server.url,
        lambda m, _ns: frames.append(m),
        max_size=2048,
        close_timeout_s=0.2,
        sleep=no_sleep,
        rng=random.Random(1),
    )
    stream.subscribe(["1"])
    task = asyncio.create_task(stream.run())
    await eventually(lambda: frames == ['{"ok": true}'] and stream.connected)
    assert stream.oversize_frames == 1 and stream.reconnects == 1
    assert "1009" in (stream.last_reason or "")
    assert stream.status()["oversize_frames"] == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not stream.connected


async def test_stream_answers_server_pings_and_sees_server_close(server: Server) -> None:
    pongs: list[float] = []

    async def handler(ws: ServerConnection) -> None:
        await ws.recv()  # the initial subscription frame
        pongs.append(await asyncio.wait_for(await ws.ping(), 2))
        await ws.send("[]")
        if server.connections == 1:
            await ws.close(code=1001)
        else:
            await echo_until_closed(ws, server.received)

    server.handler = handler
    frames: list[str | bytes] = []
    reasons: list[str] = []

    async def no_sleep(_s: float) -> None:
        await asyncio.sleep(0)

    stream = MarketStream(
        server.url,
        lambda m, _ns: frames.append(m),
        on_disconnected=reasons.append,
        close_timeout_s=0.2,
        sleep=no_sleep,
    )
    stream.subscribe(["1"])
    task = asyncio.create_task(stream.run())
    await eventually(lambda: len(frames) == 2 and stream.connected)
    assert len(pongs) == 2 and reasons == ["closed by server (code 1001)"]
    assert stream.frames_received == 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
