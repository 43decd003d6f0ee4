"""One market-channel socket (a *shard*), the event groups placed on it, and its mode.

Mode per shard (also in ``/status``, ``/healthz``, ``/metrics``; logged once per change):
``connecting`` → ``syncing`` → ``live``; ``reconnecting`` while its socket is down; ``polling``
while REST feeds it; ``idle`` with no tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from typing import Any, Protocol

from weatheredge.engine import Engine
from weatheredge.failures import describe
from weatheredge.feed.config import FeedConfig
from weatheredge.feed.poller import BookPoller
from weatheredge.polymarket.stream import MarketStream, StreamGaveUp

logger = logging.getLogger("weatheredge.feed.manager")  # one logger name for the whole feed

IDLE = "idle"
CONNECTING = "connecting"
SYNCING = "syncing"
LIVE = "live"
RECONNECTING = "reconnecting"
POLLING = "polling"
MODES = (IDLE, CONNECTING, SYNCING, LIVE, RECONNECTING, POLLING)


class FrameTape(Protocol):
    """What the feed records on a tape (``weatheredge.tape.Recorder``, handed in by the
    composition root: the feed never imports the tape)."""

    def frame(self, shard: int, epoch: int, raw: str | bytes, mono_ns: int) -> None: ...

    def record(self, kind: str, fields: Any = None, mono_ns: int | None = None) -> None: ...


OnFrame = Callable[[str | bytes, int], None]


class FeedHost(Protocol):
    """What a shard and the feed's loops read of the feed that owns them (``FeedManager``)."""

    config: FeedConfig
    engine: Engine
    rng: random.Random
    tape: FrameTape | None
    worked: bool
    shards: list[Shard]
    poller: BookPoller

    async def gate(self) -> None: ...

    def shard_of(self, token: str) -> Shard | None: ...


class Shard:
    """One market-channel socket and the event groups assigned to it."""

    def __init__(self, manager: FeedHost, index: int) -> None:
        cfg = manager.config
        self.manager = manager
        self.index = index
        self.name = f"shard-{index}"
        self.groups: dict[str, set[str]] = {}
        self.tokens: set[str] = set()
        self.no_book: set[str] = set()  # tokens the venue has no book for (REST agrees)
        self.mode = IDLE
        self.reason = ""
        self.mode_since = time.monotonic()
        self.down_since: float | None = None
        self.gave_up = False
        self.task: asyncio.Task[None] | None = None
        self.desync_reason: str | None = None
        self.last_forced = 0.0
        self.stale_reconnects = 0
        self.desync_reconnects = 0
        self.proactive_reconnects = 0
        self.stream = MarketStream(
            cfg.ws_url,
            self._taped(manager.engine.on_frame),
            on_connected=self._connected,
            on_disconnected=self._disconnected,
            heartbeat_s=cfg.heartbeat_s,
            pong_timeout_beats=cfg.pong_timeout_beats,
            reconnect_attempts=cfg.reconnect_attempts,
            backoff_base_s=cfg.backoff_base_s,
            backoff_cap_s=cfg.backoff_cap_s,
            stable_after_s=cfg.stable_after_s,
            open_timeout_s=cfg.open_timeout_s,
            close_timeout_s=cfg.close_timeout_s,
            max_size=max(4 * cfg.max_frame_bytes, 8 * 1024 * 1024),
            rng=manager.rng,
            before_connect=manager.gate,
            name=f"market stream {self.name}",
        )

    def _taped(self, on_frame: OnFrame) -> OnFrame:
        """The frame entry point, recording each frame first (raw, shard, connection epoch,
        the transport's receive time) when a tape is on: one queue append, no I/O."""
        tape = self.manager.tape
        if tape is None:
            return on_frame
        index, record = self.index, tape.frame

        def taped(raw: str | bytes, recv_ns: int) -> None:
            record(index, self.stream.connects, raw, recv_ns)
            on_frame(raw, recv_ns)

        return taped

    def _tape(self, kind: str, **fields: Any) -> None:
        if self.manager.tape is not None:
            self.manager.tape.record(kind, {"shard": self.index, **fields})

    # ---------------------------------------------------------------- membership

    def add(self, group: str, tokens: list[str]) -> None:
        self.groups.setdefault(group, set()).update(tokens)
        self.tokens.update(tokens)
        self._tape("feed", event="subscribe", tokens=list(tokens))
        if self.manager.config.ws_enabled:
            self.stream.subscribe(tokens)

    def remove(self, group: str, tokens: list[str]) -> None:
        members = self.groups.get(group)
        if members is not None:
            members.difference_update(tokens)
            if not members:
                del self.groups[group]
        self.tokens.difference_update(tokens)
        self.no_book.difference_update(tokens)
        self._tape("feed", event="unsubscribe", tokens=list(tokens))
        if self.manager.config.ws_enabled:
            self.stream.unsubscribe(tokens)

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        if self.task is not None:
            return
        if not self.manager.config.ws_enabled:
            self.set_mode(POLLING, "websocket disabled by config")
            return
        self.down_since = time.monotonic()
        self.set_mode(CONNECTING, "opening")
        self.task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def _run(self) -> None:
        try:
            await self.stream.run()
        except StreamGaveUp as err:
            self.gave_up = True
            self.set_mode(POLLING, f"gave up streaming: {err}")
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a bug must not end the feed silently
            logger.exception("%s stream task crashed", self.name)
            self.gave_up = True
            self.set_mode(POLLING, f"stream crashed: {describe(err)}")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
            self.task = None

    def set_mode(self, mode: str, reason: str = "") -> None:
        if mode == self.mode:
            self.reason = reason or self.reason
            return
        old = self.mode
        if mode == LIVE:
            self.manager.worked = True
        self.mode, self.reason, self.mode_since = mode, reason, time.monotonic()
        self._tape("feed", event="mode", mode=mode, previous=old, reason=reason)
        # Blind: any time this shard's books are not streamed live (down, syncing, polling).
        blind = mode not in (LIVE, IDLE)
        if blind != (old not in (LIVE, IDLE)):
            state, why = ("start", f"{mode}: {reason}") if blind else ("end", reason)
            self._tape("blind", scope=self.name, state=state, reason=why)
        log = logger.warning if mode in (RECONNECTING, POLLING) else logger.info
        log(
            "feed %s: %s -> %s%s (%d tokens)",
            self.name,
            old,
            mode,
            f" ({reason})" if reason else "",
            len(self.tokens),
        )

    def _connected(self) -> None:
        self.down_since = None
        epoch = self.stream.connects
        self._tape("feed", event="connected", epoch=epoch, tokens=sorted(self.tokens))
        self.manager.engine.on_connected(self.tokens)
        self.set_mode(SYNCING, "awaiting snapshots")

    def _disconnected(self, reason: str) -> None:
        self.down_since = time.monotonic()
        self._tape("feed", event="disconnected", epoch=self.stream.connects, reason=reason)
        self.manager.engine.on_disconnected(reason, self.tokens)
        if reason == "cancelled":  # the daemon is stopping: nothing to reconnect, nothing wrong
            self.set_mode(IDLE, "stopped")
            return
        self.set_mode(RECONNECTING, reason)

    def synced_count(self) -> int:
        return self.manager.engine.market.synced_count(self.tokens)

    def all_streamed(self) -> bool:
        book_of = self.manager.engine.market.book
        for token in self.tokens:
            book = book_of(token)
            if book is not None and not book.ws and token not in self.no_book:
                return False
        return True

    def status(self) -> dict[str, object]:
        now = time.monotonic()
        stream = self.stream.status()
        return {
            "shard": self.index,
            "mode": self.mode if self.tokens else IDLE,
            "reason": self.reason,
            "mode_for_s": round(now - self.mode_since, 1),
            "tokens": len(self.tokens),
            "events": len(self.groups),
            "books_synced": self.synced_count(),
            "no_book": len(self.no_book),
            "connected": stream["connected"],
            "reconnects": stream["reconnects"],
            "connect_failures": stream["connect_failures"],
            "rate_limited": stream["rate_limited"],
            "oversize_frames": stream["oversize_frames"],
            "stale_reconnects": self.stale_reconnects,
            "desync_reconnects": self.desync_reconnects,
            "proactive_reconnects": self.proactive_reconnects,
            "last_message_age_s": stream["last_message_age_s"],
            "last_pong_age_s": stream["last_pong_age_s"],
            "down_for_s": None if self.down_since is None else round(now - self.down_since, 1),
        }
