"""A receive-first WebSocket client: websockets' sans-I/O protocol driven by an asyncio.Protocol.

``websockets.asyncio.client`` parses frames in ``data_received`` and then hands each message to
the reader through an assembler, a future and a task switch; at market-channel rates that
hand-over costs as much as the framing itself. Here the same ``websockets.ClientProtocol`` does
all of the WebSocket work (handshake, framing, permessage-deflate, ``max_size``, UTF-8, answering
ping control frames, the closing handshake) while every complete message is delivered straight
from ``data_received`` to a synchronous callback, in arrival order, with no queue: the socket is
not read again until the callback returns, so TCP back-pressure bounds the backlog.

``on_message(data, recv_ns)`` gets ``str`` for text and ``bytes`` for binary messages;
``recv_ns`` is ``time.perf_counter_ns()`` taken when the bytes carrying the message were read
off the socket (one reading for all messages of one read).

Failures raise what ``websockets.asyncio.client.connect`` raises: ``InvalidStatus`` (e.g. a
429 handshake), other ``InvalidHandshake``s, ``OSError`` and ``TimeoutError``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl as ssl_module
import time
import urllib.parse
from collections.abc import Callable

from websockets.client import ClientProtocol
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedOK,
    InvalidHandshake,
    InvalidStatus,
    SecurityError,
)
from websockets.extensions.permessage_deflate import enable_client_permessage_deflate
from websockets.frames import OP_BINARY, OP_CONT, OP_TEXT, CloseCode
from websockets.http11 import USER_AGENT, Response
from websockets.protocol import CLOSED, OPEN
from websockets.uri import parse_uri

logger = logging.getLogger(__name__)

MessageCallback = Callable[[str | bytes, int], None]
MAX_REDIRECTS = 10
_REDIRECTS = frozenset({300, 301, 302, 303, 307, 308})


class FeedConnection(asyncio.Protocol):
    """One client WebSocket connection. Create it with :func:`connect_feed`."""

    def __init__(
        self,
        protocol: ClientProtocol,
        on_message: MessageCallback,
        *,
        close_timeout: float | None,
    ) -> None:
        self.protocol = protocol
        self._on_message = on_message
        self.close_timeout = close_timeout
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.response: Response | None = None
        self._handshake: asyncio.Future[None] = loop.create_future()
        self._lost: asyncio.Future[None] = loop.create_future()
        self._close_timer: asyncio.TimerHandle | None = None
        self._fragments: list[bytes | bytearray] | None = None
        self._fragment_text = False
        self._paused = False
        self._drain: list[asyncio.Future[None]] = []
        # Until start(): messages are held here and the socket is not read further, so the
        # caller can finish its own setup (subscribe, reset books) before the first one.
        self._started = False
        self._held: list[tuple[str | bytes, int]] = []
        self.messages = 0  # complete data messages delivered

    # ------------------------------------------------------------------ public API

    @property
    def open(self) -> bool:
        return self.protocol.state is OPEN

    @property
    def close_code(self) -> int | None:
        return self.protocol.close_code

    @property
    def close_reason(self) -> str | None:
        return self.protocol.close_reason

    @property
    def close_exc(self) -> ConnectionClosed:
        """Why the connection closed (``ConnectionClosedOK`` for a clean 1000/1001 close)."""
        return self.protocol.close_exc

    def start(self) -> None:
        """Deliver messages to ``on_message`` from now on (those held first)."""
        if self._started:
            return
        self._started = True
        held, self._held = self._held, []
        for message, recv_ns in held:
            self._on_message(message, recv_ns)
        if self.transport is not None and not self._lost.done():
            self.transport.resume_reading()

    async def send(self, text: str) -> None:
        """Send one text message; raises ``ConnectionClosed`` once the connection is closing."""
        if self.protocol.state is not OPEN:
            raise self.protocol.close_exc
        self.protocol.send_text(text.encode())
        self._flush()
        if self._paused:  # the write buffer is over its high-water mark
            waiter = self._loop.create_future()
            self._drain.append(waiter)
            await waiter

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Closing handshake, then wait (at most ``close_timeout``) for the TCP close. Idempotent.

        Cancelled while waiting, it aborts the socket at once.
        """
        if self.protocol.state is OPEN:
            self.protocol.send_close(code, reason)
            self._flush()
        self._arm_close_timer()
        try:
            await asyncio.shield(self._lost)
        except asyncio.CancelledError:
            self.abort()
            raise

    async def wait_closed(self) -> None:
        await asyncio.shield(self._lost)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        request = self.protocol.connect()
        request.headers.setdefault("User-Agent", USER_AGENT)
        self.protocol.send_request(request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        recv_ns = time.perf_counter_ns()
        protocol = self.protocol
        protocol.receive_data(data)
        events = protocol.events_received()
        self._flush()  # pong answers to ping frames, the close echo
        if protocol.close_expected():
            self._arm_close_timer()
        if not events:
            return
        if self.response is None:
            response = events[0]
            assert isinstance(response, Response)
            self.response = response
            if not self._handshake.done():
                self._handshake.set_result(None)
            events = events[1:]
        if self._started:
            on_message = self._on_message
        else:
            on_message = self._hold
            self.transport.pause_reading()  # type: ignore[union-attr]
        delivered = 0
        for frame in events:
            opcode = frame.opcode
            if opcode is OP_TEXT and frame.fin:  # the common case: one whole text frame
                try:
                    text = frame.data.decode()
                except UnicodeDecodeError as exc:
                    self._invalid_utf8(exc)
                    break
                delivered += 1
                on_message(text, recv_ns)
            elif opcode is OP_TEXT or opcode is OP_BINARY:
                if frame.fin:
                    delivered += 1
                    on_message(bytes(frame.data), recv_ns)
                else:
                    self._fragments = [frame.data]
                    self._fragment_text = opcode is OP_TEXT
            elif opcode is OP_CONT:
                fragments = self._fragments
                assert fragments is not None  # the protocol enforces continuation order
                fragments.append(frame.data)
                if frame.fin:
                    self._fragments = None
                    whole = b"".join(fragments)
                    if self._fragment_text:
                        try:
                            message: str | bytes = whole.decode()
                        except UnicodeDecodeError as exc:
                            self._invalid_utf8(exc)
                            break
                    else:
                        message = whole
                    delivered += 1
                    on_message(message, recv_ns)
            # Control frames: the protocol already answered pings and handled close frames.
        self.messages += delivered

    def eof_received(self) -> None:
        self.protocol.receive_eof()
        self.protocol.events_received()
        self._flush()
        # Never keep a half-closed socket open: the closing handshake is complete or failed.

    def connection_lost(self, exc: Exception | None) -> None:
        self.protocol.receive_eof()  # idempotent; the protocol state becomes CLOSED
        assert self.protocol.state is CLOSED
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        if not self._handshake.done():
            self._handshake.set_result(None)  # handshake() reads protocol.handshake_exc
        if not self._lost.done():
            self._lost.set_result(None)
        self._resume_writers()

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._resume_writers()

    # ------------------------------------------------------------------ internals

    async def handshake(self) -> None:
        await self._handshake
        if self.protocol.handshake_exc is not None:
            raise self.protocol.handshake_exc
        if self.response is None:  # lost before any response
            raise InvalidHandshake("connection closed during the opening handshake")

    def _hold(self, message: str | bytes, recv_ns: int) -> None:
        self._held.append((message, recv_ns))

    def _flush(self) -> None:
        transport = self.transport
        if transport is None:
            return
        for data in self.protocol.data_to_send():
            if data:
                transport.write(data)
            elif transport.can_write_eof():
                try:
                    transport.write_eof()
                except (OSError, RuntimeError):  # pragma: no cover - as websockets does
                    pass
            else:  # pragma: no cover - TLS cannot half-close
                transport.close()

    def _arm_close_timer(self) -> None:
        if self._close_timer is not None or self._lost.done() or self.transport is None:
            return
        if self.close_timeout is None:
            return
        self._close_timer = self._loop.call_later(self.close_timeout, self._close_timed_out)

    def _close_timed_out(self) -> None:
        self._close_timer = None
        if not self._lost.done():
            logger.debug("closing handshake timed out; aborting the socket")
            self.abort()

    def _invalid_utf8(self, exc: UnicodeDecodeError) -> None:
        # As websockets' own clients do: fail the connection with 1007.
        self._fragments = None
        self.protocol.fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
        self._flush()
        self._arm_close_timer()

    def _resume_writers(self) -> None:
        waiters, self._drain = self._drain, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


async def connect_feed(
    url: str,
    on_message: MessageCallback,
    *,
    open_timeout: float | None = 10.0,
    close_timeout: float | None = 10.0,
    max_size: int | None = 2**20,
    compression: str | None = "deflate",
    ssl: ssl_module.SSLContext | None = None,
) -> FeedConnection:
    """Open a client connection (following redirects, TLS for ``wss://``, no proxy)."""
    try:
        async with asyncio.timeout(open_timeout):
            for _ in range(MAX_REDIRECTS):
                conn = await _create(url, on_message, close_timeout, max_size, compression, ssl)
                try:
                    await conn.handshake()
                except BaseException as exc:
                    conn.abort()
                    target = _redirect(url, exc) if isinstance(exc, InvalidStatus) else None
                    if target is None:
                        raise
                    url = target
                    continue
                return conn
            raise SecurityError(f"more than {MAX_REDIRECTS} redirects")
    except TimeoutError as exc:
        raise TimeoutError("timed out during opening handshake") from exc


async def _create(
    url: str,
    on_message: MessageCallback,
    close_timeout: float | None,
    max_size: int | None,
    compression: str | None,
    ssl: ssl_module.SSLContext | None,
) -> FeedConnection:
    uri = parse_uri(url)
    if compression == "deflate":
        extensions = enable_client_permessage_deflate(None)
    elif compression is None:
        extensions = None
    else:
        raise ValueError(f"unsupported compression: {compression}")
    if uri.secure:
        context = ssl or ssl_module.create_default_context()
        tls = {"ssl": context, "server_hostname": uri.host}
    elif ssl is not None:
        raise ValueError("ssl argument is incompatible with a ws:// URI")
    else:
        tls = {}

    def factory() -> FeedConnection:
        protocol = ClientProtocol(uri, extensions=extensions, max_size=max_size)
        return FeedConnection(protocol, on_message, close_timeout=close_timeout)

    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(factory, uri.host, uri.port, **tls)
    return conn


def _redirect(url: str, exc: InvalidStatus) -> str | None:
    """The URL to follow for a redirect response, as ``websockets.asyncio.client`` does."""
    response = exc.response
    if response.status_code not in _REDIRECTS or "Location" not in response.headers:
        return None
    new = urllib.parse.urljoin(url, response.headers["Location"])
    if parse_uri(url).secure and not parse_uri(new).secure:
        raise SecurityError(f"cannot follow redirect to non-secure URI {new}") from exc
    return new


__all__ = ["ConnectionClosed", "ConnectionClosedOK", "FeedConnection", "connect_feed"]
