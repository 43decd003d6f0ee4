"""The polling fallback: shards in ``polling`` mode (socket down ``poll_after``, or the WebSocket
disabled) are fed from REST ``POST /books`` every ``poll_interval``, within the rate limits; books
go stale when polling keeps failing for ``stale_after``."""

from __future__ import annotations

import asyncio
import logging
import time

from weatheredge.feed.shard import POLLING, FeedHost, Shard
from weatheredge.polymarket.clob import ClobError, RateLimited

logger = logging.getLogger(__name__)


class PollingFallback:
    def __init__(self, feed: FeedHost) -> None:
        self.feed = feed
        self.rounds = 0
        self.state = "idle"
        self.error = ""
        self.ok_at: float | None = None
        self.fail_since: float | None = None

    async def run(self) -> None:
        while True:
            polling = [s for s in self.feed.shards if s.mode == POLLING and s.tokens]
            if polling:
                await self.poll_once(polling)
            elif self.state != "idle":
                self._set_poll_state("idle", "")
            await asyncio.sleep(self.feed.config.poll_interval_s)

    async def poll_once(self, shards: list[Shard] | None = None) -> int:
        """One REST round for the shards in polling mode; returns books applied."""
        shards = (
            shards if shards is not None else [s for s in self.feed.shards if s.mode == POLLING]
        )
        tokens = [t for s in shards for t in s.tokens]
        applied = 0
        batch = self.feed.poller.batch
        for start in range(0, len(tokens), batch):
            try:
                books = await self.feed.poller.fetch(tokens[start : start + batch])
            except RateLimited as err:
                self._poll_failed("rate_limited", f"HTTP 429, retry after {err.retry_after}s")
                return applied
            except ClobError as err:
                self._poll_failed("failing", str(err))
                return applied
            recv_ns = time.perf_counter_ns()
            # Only shards still polling: a socket that came back owns its books again.
            fresh = [
                b for b in books if (s := self.feed.shard_of(b.asset_id)) and s.mode == POLLING
            ]
            self.feed.engine.on_rest_books(fresh, recv_ns)
            if (
                self.feed.tape is not None
            ):  # the bodies are on the tape as "http"; what was applied:
                self.feed.tape.record(
                    "rest_books", {"tokens": [b.asset_id for b in fresh]}, recv_ns
                )
            applied += len(fresh)
        self.rounds += 1
        self.feed.worked = True
        self.ok_at = time.monotonic()
        self.fail_since = None
        self._set_poll_state("ok", f"{len(tokens)} tokens")
        return applied

    def _poll_failed(self, state: str, error: str) -> None:
        now = time.monotonic()
        if self.fail_since is None:
            self.fail_since = now
        self._set_poll_state(state, error)
        if now - self.fail_since >= self.feed.config.stale_after_s:
            tokens = [t for s in self.feed.shards if s.mode == POLLING for t in s.tokens]
            stale = [t for t in tokens if self.feed.engine.market.synced(t)]
            if stale:
                self.feed.engine.mark_stale(stale, f"polling failing: {error}")

    def _set_poll_state(self, state: str, detail: str) -> None:
        if state != self.state:
            log = logger.warning if state in ("failing", "rate_limited") else logger.info
            log("feed polling: %s -> %s (%s)", self.state, state, detail)
        self.state = state
        self.error = detail if state != "ok" else ""

    # ---------------------------------------------------------------- reporting
