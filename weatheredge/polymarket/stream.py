"""Market-channel WebSocket client: owns the subscription set, keeps the socket alive.

Venue behaviour this client is built around (polymarket.md §1, §6.2, §6.3):

- The first frame must be ``{"type": "market", ...}`` sent right after connecting; a second such
  frame on the same socket is answered ``INVALID OPERATION``, so later changes use
  ``{"operation": "subscribe"|"unsubscribe", ...}``. Re-subscribing an id already subscribed is
  rejected as a duplicate, so only ids new to this socket are sent.
- ``initial_dump: true`` is sent explicitly: without it snapshots went missing at scale.
- Liveness is application level: text ``PING`` every 10 s, answered by text ``PONG``. The
  library's own ping frames are switched off. No PONG for 3 heartbeats → close and reconnect.
- Transport: ``websockets``' sans-I/O client protocol driven by a plain ``asyncio.Protocol``
  (``transport.py``): each frame goes from ``data_received`` straight to ``on_frame``, with no
  per-message queue or task switch; a frame over ``max_size`` fails the socket (1009), is
  counted in ``oversize_frames`` and the stream reconnects.
- Long-lived sockets drop; after a reconnect the whole set is replayed in one initial frame.
  Reconnects use exponential backoff with full jitter, reset once a socket stayed up 60 s.
- Observed: delivery silently stops above ~500 assets per socket; keep well below.
- A socket can stay open with PING/PONG working while book data stops ("silent freeze"):
  data staleness is the engine's call, which can force ``reconnect()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Literal

from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedOK,
    InvalidStatus,
    PayloadTooBig,
    WebSocketException,
)

from weatheredge.failures import describe, with_hint
from weatheredge.polymarket.transport import FeedConnection, connect_feed
from weatheredge.polymarket.wire import encode_subscription, encode_update
from weatheredge.ratelog import RateLimitedLog

logger = logging.getLogger(__name__)

FrameCallback = Callable[[str | bytes, int], None]
MAX_FRAME_BYTES = 8 * 1024 * 1024  # the initial dump of a few hundred books fits easily
MAX_RETRY_AFTER_S = 300.0  # a handshake 429's Retry-After is honoured up to this


class StreamGaveUp(ConnectionError):
    """Raised by ``run()`` after ``reconnect_attempts`` consecutive failed connects."""


def _age(now: float, then: float | None) -> float | None:
    return None if then is None else round(now - then, 3)


def backoff_delay(attempt: int, *, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**(attempt - 1))) for attempt >= 1."""
    ceiling = min(cap_s, base_s * 2 ** min(max(attempt - 1, 0), 32))
    return rng.random() * ceiling


class MarketStream:
    """One market-channel socket. Run ``run()`` as a task; cancel it to close cleanly."""

    def __init__(
        self,
        url: str,
        on_frame: FrameCallback,
        *,
        on_connected: Callable[[], None] | None = None,
        on_disconnected: Callable[[str], None] | None = None,
        heartbeat_s: float = 10.0,
        pong_timeout_beats: int = 3,
        reconnect_attempts: int = 0,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        stable_after_s: float = 60.0,
        open_timeout_s: float = 10.0,
        close_timeout_s: float = 2.0,
        max_size: int = MAX_FRAME_BYTES,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        before_connect: Callable[[], Awaitable[None]] | None = None,
        name: str = "market stream",
    ) -> None:
        self.url = url
        self.name = name
        self._before_connect = before_connect
        self.heartbeat_s = heartbeat_s
        self.pong_timeout_beats = pong_timeout_beats
        self.reconnect_attempts = reconnect_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.stable_after_s = stable_after_s
        self._on_frame = on_frame
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._connect_kwargs = {
            "open_timeout": open_timeout_s,
            "close_timeout": close_timeout_s,
            "max_size": max_size,
        }
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._desired: set[str] = set()
        self._wire: set[str] = set()  # what the current socket has been told
        self._wanted = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._updates: set[asyncio.Task[None]] = set()
        self._ws: FeedConnection | None = None
        self._close_reason: str | None = None
        self._opened_at: float | None = None
        self._closed_at: float | None = None
        self._last_pong = 0.0
        self.connected = False
        self.connects = 0
        self.reconnects = 0
        self.connect_failures = 0
        self.frames_received = 0
        self.pings_sent = 0
        self.pongs_received = 0
        self.callback_errors = 0
        self._log = RateLimitedLog(logger)
        self.oversize_frames = 0  # frames over max_size: each failed its socket (close 1009)
        self.last_message_at: float | None = None
        self.last_pong_at: float | None = None
        self.connected_since: float | None = None  # time.monotonic() of the current socket
        self.failures_in_row = 0
        self.rate_limited = 0  # handshakes refused with HTTP 429
        self.last_reason: str | None = None
        self._retry_after: float | None = None

    # ------------------------------------------------------------------ subscriptions

    @property
    def subscriptions(self) -> frozenset[str]:
        return frozenset(self._desired)

    def subscribe(self, token_ids: Iterable[str]) -> None:
        """Add ids; on an open socket only the new ones go out as an ``operation`` frame.

        Synchronous so jobs and the engine can call it anywhere on the loop; the frame is sent
        by a short task, in call order.
        """
        new = [t for t in dict.fromkeys(token_ids) if t not in self._desired]
        if not new:
            return
        self._desired.update(new)
        self._wanted.set()
        self._schedule_update("subscribe", new)

    def unsubscribe(self, token_ids: Iterable[str]) -> None:
        gone = [t for t in dict.fromkeys(token_ids) if t in self._desired]
        if not gone:
            return
        self._desired.difference_update(gone)
        if not self._desired:
            self._wanted.clear()
        self._schedule_update("unsubscribe", gone)

    def _schedule_update(
        self, operation: Literal["subscribe", "unsubscribe"], ids: list[str]
    ) -> None:
        if self._ws is None and not self._send_lock.locked():
            return  # no socket: the next initial frame carries the current set
        # asyncio.Lock wakes waiters first come, first served, so frames keep call order.
        task = asyncio.get_running_loop().create_task(self._send_update(operation, ids))
        self._updates.add(task)
        task.add_done_callback(self._updates.discard)

    async def _send_update(
        self, operation: Literal["subscribe", "unsubscribe"], ids: list[str]
    ) -> None:
        # The lock orders this after a concurrent initial frame, whose snapshot of the set
        # decides what is still missing on the wire.
        async with self._send_lock:
            ws = self._ws
            if ws is None:
                return  # the next initial frame carries the current set
            if operation == "subscribe":
                pending = [t for t in ids if t in self._desired and t not in self._wire]
            else:
                pending = [t for t in ids if t not in self._desired and t in self._wire]
            if not pending:
                return
            try:
                await ws.send(encode_update(operation, pending))
            except ConnectionClosed:
                return  # the reconnect replays the whole set
            if operation == "subscribe":
                self._wire.update(pending)
            else:
                self._wire.difference_update(pending)

    # ------------------------------------------------------------------ lifecycle

    async def reconnect(self, reason: str) -> None:
        """Drop the current socket (e.g. data went stale); ``run()`` reconnects with backoff."""
        ws = self._ws
        if ws is not None:
            self._close_reason = reason
            await ws.close(code=1000, reason=reason[:100])

    async def run(self) -> None:
        """Connect, serve and reconnect until cancelled (or StreamGaveUp)."""
        try:
            await self._run_forever()
        finally:
            for task in list(self._updates):
                task.cancel()

    async def _run_forever(self) -> None:
        attempt = 0  # reconnects since the last connection that stayed up long enough
        failures = 0  # consecutive connects that never reached a subscribed socket
        while True:
            await self._wanted.wait()
            self._opened_at = None
            reason = await self._connect_once()
            if self._opened_at is not None:
                failures = 0
                if time.monotonic() - self._opened_at >= self.stable_after_s:
                    attempt = 0
            else:
                failures += 1
                self.connect_failures += 1
                if self.reconnect_attempts and failures > self.reconnect_attempts:
                    raise StreamGaveUp(f"{failures} failed connects to {self.url}: {reason}")
            self.failures_in_row = failures
            self.last_reason = reason
            attempt += 1
            delay = backoff_delay(
                attempt, base_s=self.backoff_base_s, cap_s=self.backoff_cap_s, rng=self._rng
            )
            if self._retry_after is not None:
                delay = max(delay, min(self._retry_after, MAX_RETRY_AFTER_S))
                self._retry_after = None
            # One line when the trouble starts, not one per failed attempt.
            log = logger.warning if failures <= 1 else logger.debug
            log("%s down (%s); reconnecting in %.2fs", self.name, reason, delay)
            await self._sleep(delay)

    def status(self) -> dict[str, object]:
        """Counters for /status (JSON-ready); ages in seconds."""
        now = time.time()
        return {
            "connected": self.connected,
            "subscriptions": len(self._desired),
            "connects": self.connects,
            "reconnects": self.reconnects,
            "connect_failures": self.connect_failures,
            "frames_received": self.frames_received,
            "pings_sent": self.pings_sent,
            "pongs_received": self.pongs_received,
            "callback_errors": self.callback_errors,
            "oversize_frames": self.oversize_frames,
            "last_message_age_s": _age(now, self.last_message_at),
            "last_pong_age_s": _age(now, self.last_pong_at),
            "disconnected_for_s": self.disconnected_for(),
            "failures_in_row": self.failures_in_row,
            "rate_limited": self.rate_limited,
        }

    def disconnected_for(self) -> float | None:
        """Seconds since the last socket closed; None while connected or if never connected."""
        if self.connected or self._closed_at is None:
            return None
        return time.monotonic() - self._closed_at

    async def _connect_once(self) -> str:
        reason = "cancelled"
        self._close_reason = None
        if self._before_connect is not None:
            await self._before_connect()
        try:
            # No proxy, and no ping control frames of our own: the venue's liveness protocol is
            # the text PING/PONG below (the server's pings are still answered).
            ws = await connect_feed(self.url, self._receive, **self._connect_kwargs)
            try:
                await self._open(ws)
                reason = await self._serve(ws)
            finally:
                await ws.close()
        except InvalidStatus as err:
            status = err.response.status_code
            if status == 429:
                self.rate_limited += 1
                self._retry_after = _retry_after(err.response.headers.get("Retry-After"))
            reason = self._close_reason or f"handshake refused (HTTP {status})"
        except (OSError, TimeoutError, WebSocketException) as err:
            reason = self._close_reason or with_hint(describe(err), err)
        finally:
            self._mark_closed(reason)
        return reason

    async def _open(self, ws: FeedConnection) -> None:
        async with self._send_lock:
            ids = sorted(self._desired)
            await ws.send(encode_subscription(ids))
            self._wire = set(ids)
            self._ws = ws
        self._close_reason = None
        self._opened_at = self._last_pong = time.monotonic()
        self.connected_since = self._opened_at
        self.connected = True
        self.connects += 1
        if self.connects > 1:
            self.reconnects += 1
        logger.debug("%s connected to %s with %d assets", self.name, self.url, len(ids))
        if self._on_connected is not None:
            self._on_connected()
        ws.start()  # frames flow to on_frame only now, after on_connected

    def _mark_closed(self, reason: str) -> None:
        was_connected = self.connected
        if was_connected:
            self._closed_at = time.monotonic()
        self._ws = None
        self._wire = set()
        self.connected = False
        self.connected_since = None
        if was_connected:
            logger.debug("%s disconnected: %s", self.name, reason)
            if self._on_disconnected is not None:
                self._on_disconnected(reason)

    async def _serve(self, ws: FeedConnection) -> str:
        heartbeat = asyncio.create_task(self._heartbeat(ws), name="market-stream-heartbeat")
        try:
            await ws.wait_closed()  # frames are delivered by the transport meanwhile
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        if isinstance(ws.protocol.parser_exc, PayloadTooBig):
            self.oversize_frames += 1
            logger.warning("%s: %s; reconnecting", self.name, ws.protocol.parser_exc)
        if self._close_reason:
            return self._close_reason
        err = ws.close_exc
        if isinstance(err, ConnectionClosedOK):
            return f"closed by server (code {ws.close_code})"
        return f"{type(err).__name__}: {err}"

    def _receive(self, message: str | bytes, received_ns: int) -> None:
        if message == "PONG":
            self._last_pong = time.monotonic()
            self.last_pong_at = time.time()
            self.pongs_received += 1
            return
        self.frames_received += 1
        self.last_message_at = time.time()
        try:
            self._on_frame(message, received_ns)
        except Exception as err:
            # A consumer bug must not take the socket down; it is counted, and logged with its
            # traceback at most once per kind per interval (a bad peer repeats a frame forever).
            self.callback_errors += 1
            self._log(
                type(err).__name__,
                "on_frame failed for frame %.200r",
                message,
                level=logging.ERROR,
                exc_info=True,
            )

    async def _heartbeat(self, ws: FeedConnection) -> None:
        limit = self.pong_timeout_beats * self.heartbeat_s
        while True:
            await asyncio.sleep(self.heartbeat_s)
            silent_for = time.monotonic() - self._last_pong
            if silent_for >= limit:
                logger.warning("no PONG for %.1fs; closing %s", silent_for, self.name)
                self._close_reason = f"no PONG for {silent_for:.1f}s"
                await ws.close(code=1000, reason="pong timeout")
                return
            try:
                await ws.send("PING")
            except ConnectionClosed:
                return
            self.pings_sent += 1


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
