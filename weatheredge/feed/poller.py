"""REST ``POST /books`` polling within the venue's rate limits (polling fallback, watchdog checks).

The venue allows 500 ``/books`` calls per 10 s per IP (polymarket.md §4); we stay under our own,
lower cap with a token bucket, batch 100 ids per call, and on HTTP 429 stop *every* call until
``Retry-After`` (or the body's ``retry_after_seconds``; else an exponential pause) has passed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

import aiohttp

from weatheredge.polymarket.clob import MAX_BATCH, RateLimited, fetch_books
from weatheredge.polymarket.wire import RestBook

logger = logging.getLogger(__name__)

FetchBooks = Callable[[list[str]], Awaitable[list[RestBook]]]


class BookPoller:
    """Rate-limited batched ``POST /books``. ``fetch`` raises ClobError (incl. RateLimited)."""

    def __init__(
        self,
        session: aiohttp.ClientSession | None,
        clob_url: str,
        *,
        max_requests_per_10s: int = 250,
        batch: int = MAX_BATCH,
        fetch_batch: FetchBooks | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._session = session
        self._clob_url = clob_url
        self.batch = batch
        self.rate = max_requests_per_10s / 10.0  # tokens per second
        self.burst = max(1.0, min(float(max_requests_per_10s) / 10.0, 50.0))
        self._tokens = self.burst
        self._refilled = clock()
        self._blocked_until = 0.0
        self._clock = clock
        self._sleep = sleep
        self._fetch_batch = fetch_batch or self._post_books
        self._lock = asyncio.Lock()
        self._pause_s = 1.0
        self.requests = 0
        self.rate_limited = 0
        self.failures = 0
        self.books_received = 0

    async def _post_books(self, ids: list[str]) -> list[RestBook]:
        assert self._session is not None
        return await fetch_books(self._session, self._clob_url, ids, batch=self.batch)

    def blocked_for(self) -> float:
        return max(0.0, self._blocked_until - self._clock())

    async def _acquire(self) -> None:
        async with self._lock:  # first come, first served
            while True:
                now = self._clock()
                if now < self._blocked_until:
                    await self._sleep(self._blocked_until - now)
                    continue
                self._tokens = min(self.burst, self._tokens + (now - self._refilled) * self.rate)
                self._refilled = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await self._sleep((1.0 - self._tokens) / self.rate)

    async def fetch(self, token_ids: Iterable[str]) -> list[RestBook]:
        """Books for the tokens that have one, batch by batch, each call rate-limited."""
        ids = list(dict.fromkeys(token_ids))
        books: list[RestBook] = []
        for start in range(0, len(ids), self.batch):
            chunk = ids[start : start + self.batch]
            await self._acquire()
            self.requests += 1
            try:
                got = await self._fetch_batch(chunk)
            except RateLimited as err:
                self.rate_limited += 1
                wait = err.retry_after if err.retry_after is not None else self._pause_s
                self._pause_s = min(self._pause_s * 2, 60.0) if err.retry_after is None else 1.0
                self._blocked_until = self._clock() + wait
                logger.debug("POST /books rate limited; pausing %.1fs", wait)
                raise
            except Exception:
                self.failures += 1
                raise
            self._pause_s = 1.0
            self.books_received += len(got)
            books.extend(got)
        return books

    def status(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "rate_limited": self.rate_limited,
            "failures": self.failures,
            "books_received": self.books_received,
            "blocked_for_s": round(self.blocked_for(), 3),
        }
