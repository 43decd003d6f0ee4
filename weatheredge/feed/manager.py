"""The market feed: sharded market-channel sockets that never silently die.

``FeedManager`` owns every ``MarketStream`` (one per *shard*) and decides, at every moment, which
books can be trusted:

- **Sharding**: at most ``max_tokens_per_connection`` tokens per socket; an event's tokens stay
  on one socket; new events join the first socket with room (``operation: subscribe``, no
  reconnect) and a new socket is opened when none has room. Opens (and reconnects) pass one gate
  that spaces them ``connect_stagger`` apart, so shards never hit the venue at once.
- **Reconnects**: each stream reconnects forever (or ``reconnect_attempts``) with full-jitter
  backoff and replays its whole set with ``initial_dump``; its books are unsynced on the drop and
  trusted again only on their fresh snapshot.
- **Watchdog**: books quiet for ``stale_after`` are compared with REST ``POST /books``; if they
  still differ after a short confirmation, they are marked stale (edges closed) and their socket
  is reconnected. Tokens still without a snapshot ``sync_timeout`` after connecting are checked
  the same way (a missed snapshot). A desync found on the hot path (top of book differs from the
  venue's ``best_bid``/``best_ask``, out-of-order delta) reconnects the socket too, debounced.
- **Proactive reconnects**: every ``proactive_reconnect`` seconds per socket, one socket at a
  time, spread over the interval.
- **Polling fallback**: a shard whose socket has been down ``poll_after`` seconds (or every shard
  when the WebSocket is disabled) is fed from ``POST /books`` every ``poll_interval``, within the
  rate limits; when its socket is back it streams again.

Modules: ``config`` (``FeedConfig``), ``shard`` (one socket and its mode), ``watchdog`` (REST
checks, proactive reconnects), ``polling`` (the REST fallback), ``report`` (``/status``,
``/healthz``, ``/metrics``); this one places subscriptions on shards, runs the loops and switches
modes (``tick``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Coroutine, Iterable
from typing import Any

import aiohttp

from weatheredge.engine import Engine
from weatheredge.feed import report
from weatheredge.feed.config import FeedConfig
from weatheredge.feed.metrics import RateMeter
from weatheredge.feed.poller import BookPoller
from weatheredge.feed.polling import PollingFallback
from weatheredge.feed.shard import (
    CONNECTING,
    LIVE,
    POLLING,
    RECONNECTING,
    SYNCING,
    FrameTape,
    Shard,
)
from weatheredge.feed.watchdog import Watchdog

logger = logging.getLogger(__name__)


class FeedManager:
    """Duck-compatible with ``MarketStream`` for callers: ``subscribe``, ``unsubscribe``,
    ``connected``, ``disconnected_for()``, ``reconnect()``, ``status()``, ``run()``."""

    def __init__(
        self,
        engine: Engine,
        config: FeedConfig,
        *,
        session: aiohttp.ClientSession | None = None,
        poller: BookPoller | None = None,
        rng: random.Random | None = None,
        tape: FrameTape | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.tape = tape
        self.rng = rng or random.Random()
        self.poller = poller or BookPoller(
            session, config.clob_url, max_requests_per_10s=config.poll_max_requests_per_10s
        )
        engine.max_frame_bytes = config.max_frame_bytes
        self.shards: list[Shard] = []
        self._shard_of: dict[str, Shard] = {}
        self._group_shard: dict[str, Shard] = {}
        self._running = False
        self._next_open = 0.0
        self._gate_lock = asyncio.Lock()
        self._side_tasks: set[asyncio.Task[None]] = set()
        self.rate = RateMeter()
        self.worked = False  # a shard was live, or a polling round applied, at least once
        self.watchdog = Watchdog(self)
        self.polling = PollingFallback(self)

    def set_config(self, config: FeedConfig) -> None:
        """Timings from a config reload, read at each watchdog/poll round. Open sockets keep their
        own settings (URL, heartbeat, backoff): those need a restart."""
        self.config = config
        self.engine.max_frame_bytes = config.max_frame_bytes

    # ---------------------------------------------------------------- subscriptions

    @property
    def subscriptions(self) -> frozenset[str]:
        return frozenset(self._shard_of)

    def subscribe(self, token_ids: Iterable[str]) -> None:
        groups: dict[str, list[str]] = {}
        for token in dict.fromkeys(token_ids):
            if token not in self._shard_of:
                groups.setdefault(self.engine.market.group_of(token), []).append(token)
        for group, tokens in groups.items():
            shard = self._group_shard.get(group) or self._place(group, len(tokens))
            self._group_shard[group] = shard
            for token in tokens:
                self._shard_of[token] = shard
            shard.add(group, tokens)
            if self._running:
                shard.start()

    def unsubscribe(self, token_ids: Iterable[str]) -> None:
        per_shard: dict[Shard, dict[str, list[str]]] = {}
        for token in dict.fromkeys(token_ids):
            shard = self._shard_of.pop(token, None)
            if shard is None:
                continue
            group = next((g for g, ts in shard.groups.items() if token in ts), token)
            per_shard.setdefault(shard, {}).setdefault(group, []).append(token)
        for shard, groups in per_shard.items():
            for group, tokens in groups.items():
                shard.remove(group, tokens)
                if group not in shard.groups:
                    self._group_shard.pop(group, None)

    def _place(self, group: str, n: int) -> Shard:
        limit = self.config.max_tokens_per_connection
        if n > limit:
            logger.warning(
                "event %s has %d tokens, more than %d per connection: kept on one connection",
                group,
                n,
                limit,
            )
        for shard in self.shards:
            if len(shard.tokens) + n <= limit or not shard.tokens:
                return shard
        shard = Shard(self, len(self.shards))
        self.shards.append(shard)
        return shard

    # ---------------------------------------------------------------- lifecycle

    async def gate(self) -> None:
        """Space every connection open ``connect_stagger`` apart, across all shards."""
        async with self._gate_lock:
            wait = self._next_open - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next_open = time.monotonic() + self.config.connect_stagger_s

    async def run(self) -> None:
        """Run every shard and the feed's loops until cancelled."""
        self._running = True
        for shard in self.shards:
            if shard.tokens:
                shard.start()
        loops = [self._ticker(), self.watchdog.run(), self.polling.run()]
        if self.config.proactive_reconnect_s > 0 and self.config.ws_enabled:
            loops.append(self.watchdog.proactive())
        tasks = [asyncio.create_task(c, name="feed-loop") for c in loops]
        try:
            await asyncio.gather(*tasks)
        finally:
            self._running = False
            for task in [*tasks, *self._side_tasks]:
                task.cancel()
            for task in [*tasks, *self._side_tasks]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            for shard in self.shards:
                await shard.stop()

    @property
    def active_shards(self) -> list[Shard]:
        return [s for s in self.shards if s.tokens]

    @property
    def connected(self) -> bool:
        active = self.active_shards
        return bool(active) and all(s.stream.connected for s in active)

    def disconnected_for(self) -> float | None:
        worst = None
        for shard in self.active_shards:
            if shard.down_since is not None:
                down = time.monotonic() - shard.down_since
                worst = down if worst is None else max(worst, down)
        return worst

    async def reconnect(self, reason: str) -> None:
        """Reconnect every socket, one after the other (the open gate staggers them)."""
        for shard in self.active_shards:
            await shard.stream.reconnect(reason)

    def shard_of(self, token: str) -> Shard | None:
        return self._shard_of.get(token)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    def on_desync(self, token: str, reason: str) -> None:
        """The engine's ``on_desync`` hook: reconnect the token's socket at the next tick."""
        shard = self._shard_of.get(token)
        if shard is not None and shard.desync_reason is None:
            shard.desync_reason = reason

    # ---------------------------------------------------------------- loops

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_s)
            self.tick()

    def tick(self) -> None:
        now = time.monotonic()
        self.rate.sample(self.engine.frames, now)
        for shard in self.shards:
            if not self.config.ws_enabled or shard.gave_up:
                if shard.tokens:
                    shard.set_mode(POLLING, shard.reason)
                continue
            connected = shard.stream.connected
            if shard.mode == SYNCING and connected and shard.all_streamed():
                shard.set_mode(LIVE, "all books streamed")
            elif (
                shard.mode in (CONNECTING, RECONNECTING)
                and shard.down_since is not None
                and now - shard.down_since >= self.config.poll_after_s
            ):
                shard.set_mode(POLLING, f"socket down for {now - shard.down_since:.0f}s")
            reason = shard.desync_reason
            if reason is not None and connected:
                if now - shard.last_forced >= self.config.desync_reconnect_gap_s:
                    shard.desync_reason = None
                    shard.last_forced = now
                    shard.desync_reconnects += 1
                    logger.warning("feed %s: book desynced (%s); reconnecting", shard.name, reason)
                    self._spawn(shard.stream.reconnect(f"book desynced: {reason}"))
            elif reason is not None and not connected:
                shard.desync_reason = None  # the reconnect in progress re-seeds every book

    # ---------------------------------------------------------------- reports

    def modes(self) -> dict[str, str]:
        return report.modes(self)

    def health_problems(self) -> list[str]:
        return report.health_problems(self)

    def status(self) -> dict[str, object]:
        return report.status(self)

    def metrics_text(self) -> str:
        return report.metrics_text(self)
