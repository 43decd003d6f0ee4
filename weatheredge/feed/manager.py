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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp

from weatheredge.engine import Engine
from weatheredge.failures import describe
from weatheredge.feed.metrics import RateMeter, exposition
from weatheredge.feed.metrics import counter as _counter
from weatheredge.feed.metrics import gauge as _gauge
from weatheredge.feed.poller import BookPoller
from weatheredge.model.book import OrderBook
from weatheredge.model.prices import to_micros
from weatheredge.polymarket.clob import ClobError, RateLimited
from weatheredge.polymarket.stream import MarketStream, StreamGaveUp
from weatheredge.polymarket.wire import RestBook

logger = logging.getLogger(__name__)

IDLE = "idle"
CONNECTING = "connecting"
SYNCING = "syncing"
LIVE = "live"
RECONNECTING = "reconnecting"
POLLING = "polling"
MODES = (IDLE, CONNECTING, SYNCING, LIVE, RECONNECTING, POLLING)

WATCHDOG_MAX_TOKENS = 500  # REST-checked per shard per watchdog round (5 calls)


@dataclass(frozen=True, slots=True)
class FeedConfig:
    ws_url: str
    clob_url: str
    ws_enabled: bool = True
    max_tokens_per_connection: int = 200
    connect_stagger_s: float = 0.5
    heartbeat_s: float = 10.0
    pong_timeout_beats: int = 3
    reconnect_attempts: int = 0
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    stable_after_s: float = 60.0
    stale_after_s: float = 120.0
    watchdog_interval_s: float = 30.0
    sync_timeout_s: float = 15.0
    confirm_delay_s: float = 1.0
    proactive_reconnect_s: float = 86400.0
    poll_after_s: float = 30.0
    poll_interval_s: float = 5.0
    poll_max_requests_per_10s: int = 250
    max_frame_bytes: int = 4 * 1024 * 1024
    tick_s: float = 0.25
    desync_reconnect_gap_s: float = 2.0
    open_timeout_s: float = 10.0
    close_timeout_s: float = 2.0

    @classmethod
    def from_settings(cls, settings: Any) -> FeedConfig:
        feed, ws = settings.feed, settings.websocket
        return cls(
            ws_url=settings.polymarket.ws_url,
            clob_url=settings.polymarket.clob_url,
            ws_enabled=ws.enabled,
            max_tokens_per_connection=feed.max_tokens_per_connection,
            connect_stagger_s=feed.connect_stagger,
            heartbeat_s=ws.heartbeat_interval,
            reconnect_attempts=ws.reconnect_attempts,
            backoff_base_s=feed.backoff_base,
            backoff_cap_s=feed.backoff_cap,
            stable_after_s=feed.stable_after,
            stale_after_s=feed.stale_after,
            watchdog_interval_s=feed.watchdog_interval,
            sync_timeout_s=feed.sync_timeout,
            confirm_delay_s=min(1.0, feed.watchdog_interval / 4),
            proactive_reconnect_s=feed.proactive_reconnect,
            poll_after_s=feed.poll_after,
            poll_interval_s=settings.jobs.poll_interval,
            poll_max_requests_per_10s=feed.poll_max_requests_per_10s,
            max_frame_bytes=feed.max_frame_bytes,
            tick_s=min(0.25, feed.watchdog_interval / 4),
        )


def _rest_levels(rest: RestBook) -> tuple[dict[int, int], dict[int, int]]:
    bids = {to_micros(lv.price): to_micros(lv.size) for lv in rest.bids}
    asks = {to_micros(lv.price): to_micros(lv.size) for lv in rest.asks}
    return {p: s for p, s in bids.items() if s}, {p: s for p, s in asks.items() if s}


def same_book(book: OrderBook, rest: RestBook) -> bool:
    """True when the local book holds exactly the REST snapshot's levels."""
    try:
        bids, asks = _rest_levels(rest)
    except ValueError:
        return True  # an unreadable REST body proves nothing about our book
    return book.bids == bids and book.asks == asks


class Shard:
    """One market-channel socket and the event groups assigned to it."""

    def __init__(self, manager: FeedManager, index: int) -> None:
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
            before_connect=manager._gate,
            name=f"market stream {self.name}",
        )

    def _taped(self, on_frame: Any) -> Any:
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
        books = self.manager.engine.books
        return sum(1 for t in self.tokens if (b := books.get(t)) is not None and b.synced)

    def all_streamed(self) -> bool:
        books = self.manager.engine.books
        for token in self.tokens:
            book = books.get(token)
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
        tape: Any = None,
    ) -> None:
        self.engine = engine
        self.config = config
        # Optional recorder (weatheredge.tape.Recorder, or anything with .frame and .record).
        self.tape = tape
        self.rng = rng or random.Random()
        self.poller = poller or BookPoller(
            session, config.clob_url, max_requests_per_10s=config.poll_max_requests_per_10s
        )
        engine.on_desync = self._on_desync
        engine.on_resolved = self.unsubscribe
        engine.max_frame_bytes = config.max_frame_bytes
        self.shards: list[Shard] = []
        self._shard_of: dict[str, Shard] = {}
        self._group_shard: dict[str, Shard] = {}
        self._running = False
        self._next_open = 0.0
        self._gate_lock = asyncio.Lock()
        self._side_tasks: set[asyncio.Task[None]] = set()
        self.rate = RateMeter()
        self.stale_events = 0
        self.stale_books = 0
        self.watchdog_checks = 0
        self.polls = 0
        self.worked = False  # a shard was live, or a polling round applied, at least once
        self.poll_state = "idle"
        self.poll_error = ""
        self._poll_ok_at: float | None = None
        self._poll_fail_since: float | None = None

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
                groups.setdefault(self.engine.group_of(token), []).append(token)
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

    async def _gate(self) -> None:
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
        loops = [self._ticker(), self._watchdog(), self._poll_loop()]
        if self.config.proactive_reconnect_s > 0 and self.config.ws_enabled:
            loops.append(self._proactive())
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

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    def _on_desync(self, token: str, reason: str) -> None:
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

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(self.config.watchdog_interval_s)
            for shard in list(self.shards):
                if shard.tokens and shard.stream.connected and shard.mode in (SYNCING, LIVE):
                    try:
                        await self.check_shard(shard)
                    except ClobError as err:
                        logger.debug("watchdog REST check failed for %s: %s", shard.name, err)

    async def check_shard(self, shard: Shard) -> bool:
        """REST-check quiet books and missing snapshots; reconnect on a confirmed difference.

        Returns True when it forced a reconnect.
        """
        cfg = self.config
        books = self.engine.books
        started = time.perf_counter_ns()
        stale_ns = int(cfg.stale_after_s * 1e9)
        connected_for = time.monotonic() - (shard.stream.connected_since or time.monotonic())
        quiet, missing = [], []
        for token in shard.tokens:
            book = books.get(token)
            if book is None:
                continue
            if book.ws:
                if started - book.seen_ns >= stale_ns:
                    quiet.append(token)
            elif connected_for >= cfg.sync_timeout_s and token not in shard.no_book:
                missing.append(token)
        quiet, missing = quiet[:WATCHDOG_MAX_TOKENS], missing[:WATCHDOG_MAX_TOKENS]
        if not quiet and not missing:
            return False
        self.watchdog_checks += 1
        differ, snapshot_missing = await self._compare(quiet, missing, started, shard)
        if differ:
            await asyncio.sleep(cfg.confirm_delay_s)  # let in-flight deltas land, then recheck
            again = time.perf_counter_ns()
            differ, _ = await self._compare(differ, [], again, shard)
        if not differ and not snapshot_missing:
            return False
        if not shard.stream.connected:
            return False
        self.stale_events += 1
        self.stale_books += len(differ) + len(snapshot_missing)
        self.engine.mark_stale(differ, "differs from REST /books while the feed was quiet")
        if self.tape is not None:
            self.tape.record(
                "stale", {"shard": shard.index, "differ": differ, "missing": snapshot_missing}
            )
        self.engine.mark_stale(snapshot_missing, "no snapshot on this connection")
        shard.stale_reconnects += 1
        logger.warning(
            "feed %s: %d quiet books differ from REST /books, %d snapshots missing; reconnecting",
            shard.name,
            len(differ),
            len(snapshot_missing),
        )
        await shard.stream.reconnect("stale books (REST /books differs)")
        return True

    async def _compare(
        self, quiet: list[str], missing: list[str], started: int, shard: Shard
    ) -> tuple[list[str], list[str]]:
        rest = {b.asset_id: b for b in await self.poller.fetch([*quiet, *missing])}
        books = self.engine.books
        differ = []
        for token in quiet:
            book, snap = books.get(token), rest.get(token)
            if book is None or snap is None or not book.ws or book.seen_ns > started:
                continue  # gone, unknown to REST, or it moved meanwhile: alive
            if same_book(book, snap):
                book.seen_ns = started  # verified fresh: next check after another stale_after
            else:
                differ.append(token)
        snapshot_missing = []
        for token in missing:
            book = books.get(token)
            if book is not None and book.ws:
                continue
            if token in rest:
                snapshot_missing.append(token)
            else:
                shard.no_book.add(token)  # resolved or unknown: no snapshot will ever come
        return differ, snapshot_missing

    async def _proactive(self) -> None:
        interval = self.config.proactive_reconnect_s
        while True:
            live = [s for s in self.active_shards if s.stream.connected]
            await asyncio.sleep(max(interval / max(1, len(live)), self.config.connect_stagger_s))
            now = time.monotonic()
            due = [
                s
                for s in self.active_shards
                if s.stream.connected_since is not None
                and now - s.stream.connected_since >= interval
            ]
            if due:
                shard = min(due, key=lambda s: s.stream.connected_since or now)
                shard.proactive_reconnects += 1
                logger.info("feed %s: scheduled reconnect", shard.name)
                await shard.stream.reconnect("scheduled reconnect")

    async def _poll_loop(self) -> None:
        while True:
            polling = [s for s in self.shards if s.mode == POLLING and s.tokens]
            if polling:
                await self.poll_once(polling)
            elif self.poll_state != "idle":
                self._set_poll_state("idle", "")
            await asyncio.sleep(self.config.poll_interval_s)

    async def poll_once(self, shards: list[Shard] | None = None) -> int:
        """One REST round for the shards in polling mode; returns books applied."""
        shards = shards if shards is not None else [s for s in self.shards if s.mode == POLLING]
        tokens = [t for s in shards for t in s.tokens]
        applied = 0
        batch = self.poller.batch
        for start in range(0, len(tokens), batch):
            try:
                books = await self.poller.fetch(tokens[start : start + batch])
            except RateLimited as err:
                self._poll_failed("rate_limited", f"HTTP 429, retry after {err.retry_after}s")
                return applied
            except ClobError as err:
                self._poll_failed("failing", str(err))
                return applied
            recv_ns = time.perf_counter_ns()
            # Only shards still polling: a socket that came back owns its books again.
            fresh = [
                b for b in books if (s := self._shard_of.get(b.asset_id)) and s.mode == POLLING
            ]
            self.engine.on_rest_books(fresh, recv_ns)
            if self.tape is not None:  # the bodies are on the tape as "http"; what was applied:
                self.tape.record("rest_books", {"tokens": [b.asset_id for b in fresh]}, recv_ns)
            applied += len(fresh)
        self.polls += 1
        self.worked = True
        self._poll_ok_at = time.monotonic()
        self._poll_fail_since = None
        self._set_poll_state("ok", f"{len(tokens)} tokens")
        return applied

    def _poll_failed(self, state: str, error: str) -> None:
        now = time.monotonic()
        if self._poll_fail_since is None:
            self._poll_fail_since = now
        self._set_poll_state(state, error)
        if now - self._poll_fail_since >= self.config.stale_after_s:
            tokens = [t for s in self.shards if s.mode == POLLING for t in s.tokens]
            stale = [t for t in tokens if (b := self.engine.books.get(t)) and b.synced]
            if stale:
                self.engine.mark_stale(stale, f"polling failing: {error}")

    def _set_poll_state(self, state: str, detail: str) -> None:
        if state != self.poll_state:
            log = logger.warning if state in ("failing", "rate_limited") else logger.info
            log("feed polling: %s -> %s (%s)", self.poll_state, state, detail)
        self.poll_state = state
        self.poll_error = detail if state != "ok" else ""

    # ---------------------------------------------------------------- reporting

    def modes(self) -> dict[str, str]:
        return {s.name: (s.mode if s.tokens else IDLE) for s in self.shards}

    def health_problems(self) -> list[str]:
        problems = []
        now = time.monotonic()
        grace = max(60.0, self.config.poll_after_s)
        for shard in self.active_shards:
            if shard.mode in (CONNECTING, RECONNECTING) and shard.down_since is not None:
                down = now - shard.down_since
                if down > grace:
                    problems.append(f"market feed {shard.name} disconnected for {down:.0f}s")
            elif shard.mode == POLLING and self._poll_fail_since is not None:
                failing = now - self._poll_fail_since
                if failing > grace:
                    problems.append(
                        f"market feed {shard.name} polling failing for {failing:.0f}s: "
                        f"{self.poll_error}"
                    )
        return problems

    def status(self) -> dict[str, object]:
        shards = [s.status() for s in self.shards]
        modes = [str(s["mode"]) for s in shards if s["tokens"]]
        if not modes:
            overall = IDLE
        elif all(m == LIVE for m in modes):
            overall = LIVE
        elif all(m == POLLING for m in modes):
            overall = POLLING
        else:
            overall = "degraded"
        return {
            "mode": overall,
            "websocket_enabled": self.config.ws_enabled,
            "connected": self.connected,
            "subscriptions": len(self._shard_of),
            "connections": sum(1 for s in self.shards if s.stream.connected),
            "shards": shards,
            "reconnects": sum(s.stream.reconnects for s in self.shards),
            "messages_per_s": round(self.rate.rate, 1),
            "frames_received": self.engine.frames,
            "stale_events": self.stale_events,
            "stale_books": self.stale_books,
            "desyncs": self.engine.counters.get("desyncs", 0),
            "watchdog_checks": self.watchdog_checks,
            "polling": {
                "state": self.poll_state,
                "error": self.poll_error,
                "rounds": self.polls,
                **self.poller.status(),
            },
            "disconnected_for_s": self.disconnected_for(),
            "latency": self.engine.latency.summary(),
            "bad_frames": self._bad_frames(),
        }

    def _bad_frames(self) -> dict[str, int]:
        """Dropped frames by kind; frames over ``max_size`` fail the socket inside the transport,
        so the streams count those and they are added here under ``oversize``."""
        counts = dict(self.engine.bad_frames)
        socket_oversize = sum(s.stream.oversize_frames for s in self.shards)
        if socket_oversize:
            counts["oversize"] = counts.get("oversize", 0) + socket_oversize
        return counts

    def metrics_text(self) -> str:
        """Prometheus text exposition (prometheus_client renders it; the families are built
        from the feed's own counters at scrape time, so the hot path keeps plain integers)."""
        engine = self.engine
        families = [
            engine.latency.family(
                "weatheredge_feed_decision_latency_seconds",
                "Receive-to-decision latency per price_change frame (snapshots excluded).",
            ),
            _counter("weatheredge_feed_frames_total", "Market frames received.", engine.frames),
            _counter(
                "weatheredge_feed_messages_total",
                "Market events decoded (a frame may carry several).",
                engine.messages,
            ),
            _gauge(
                "weatheredge_feed_messages_per_second",
                "Frames per second, smoothed.",
                self.rate.rate,
            ),
            _counter(
                "weatheredge_feed_reconnects_total",
                "Socket reconnects per shard.",
                {("shard", s.name): s.stream.reconnects for s in self.shards},
            ),
            _counter(
                "weatheredge_feed_stale_events_total",
                "Watchdog findings of stale books (each forced a reconnect).",
                self.stale_events,
            ),
            _counter(
                "weatheredge_feed_desyncs_total",
                "Books found out of sync on the hot path (top of book, order).",
                engine.counters.get("desyncs", 0),
            ),
            _counter(
                "weatheredge_feed_bad_frames_total",
                "Dropped market frames by kind.",
                {("kind", k): v for k, v in sorted(self._bad_frames().items())},
            ),
            _gauge(
                "weatheredge_feed_shard_mode",
                "1 for the current mode of each shard.",
                {
                    (("shard", s.name), ("mode", m)): int((s.mode if s.tokens else IDLE) == m)
                    for s in self.shards
                    for m in MODES
                },
            ),
            _gauge(
                "weatheredge_feed_shard_tokens",
                "Tokens subscribed per shard.",
                {("shard", s.name): len(s.tokens) for s in self.shards},
            ),
            _gauge(
                "weatheredge_feed_books_synced",
                "Books currently trusted.",
                sum(1 for b in engine.books.values() if b.synced),
            ),
            _counter(
                "weatheredge_feed_poll_requests_total", "POST /books calls.", self.poller.requests
            ),
            _counter(
                "weatheredge_feed_poll_rate_limited_total",
                "POST /books calls answered 429.",
                self.poller.rate_limited,
            ),
            _counter(
                "weatheredge_edges_total",
                "Edge episode changes.",
                {
                    ("change", c): engine.counters.get(f"edges_{c}", 0)
                    for c in ("open", "update", "close")
                },
            ),
        ]
        return exposition(families)
