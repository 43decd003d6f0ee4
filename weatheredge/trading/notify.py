"""Trading notifications: before execution (intent) and after (filled, partial, rejected,
cancelled), per-kind ``on`` / ``silent`` / ``off``, folded into digests when many fire at once.

``send`` only enqueues; one task delivers through apprise, so the trader never waits on a push.
``on`` kinds are pushed at once, up to ``burst`` per ``digest_window`` seconds; beyond that, and
for every ``silent`` kind, messages wait and go out together as one digest at the end of the
window. Every message is recorded in the ``notifications`` table (kind ``trade_<kind>``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import apprise

from weatheredge.config import NotifyLevel, TradingNotifySettings
from weatheredge.notify import install_redaction, redact_url, url_secrets
from weatheredge.store import NotificationResult

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TradeMessage:
    kind: str
    title: str
    body: str
    ref: str | None


class TradeNotifier:
    def __init__(
        self,
        urls: Sequence[str],
        levels: TradingNotifySettings,
        *,
        record: Callable[[NotificationResult], None] | None = None,
        deliver: Callable[[str, str], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._record = record
        self._clock = clock
        self._deliver_fn = deliver
        self.set_targets(urls, levels)
        self._queue: asyncio.Queue[TradeMessage] = asyncio.Queue(maxsize=1000)
        self._pending: list[TradeMessage] = []
        self._window_start = 0.0
        self._pushed_in_window = 0
        self.pushed: list[tuple[str, str]] = []  # (title, body) as delivered
        self.dropped = 0

    def set_targets(self, urls: Sequence[str], levels: TradingNotifySettings) -> None:
        """Where and what to push; also how a config reload hands over new URLs and levels."""
        install_redaction(s for url in urls for s in url_secrets(url))
        self.levels = levels
        self._apprise: apprise.Apprise | None = None
        if self._deliver_fn is None and urls:
            self._apprise = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))
            for url in urls:
                if not self._apprise.add(url):
                    logger.error("trading notify URL unusable: %s", redact_url(url))

    def level(self, kind: str) -> NotifyLevel:
        value = getattr(self.levels, kind, NotifyLevel.ON)
        if isinstance(value, bool):  # YAML's bare on/off
            return NotifyLevel.ON if value else NotifyLevel.OFF
        return NotifyLevel(value)

    def send(self, kind: str, title: str, body: str, ref: str | None = None) -> None:
        """Queue a message. Never blocks, never raises."""
        if self.level(kind) is NotifyLevel.OFF:
            return
        try:
            self._queue.put_nowait(TradeMessage(kind, title, body, ref))
        except asyncio.QueueFull:
            self.dropped += 1

    async def run(self) -> None:
        while True:
            timeout = None
            if self._pending:
                timeout = max(0.0, self._window_start + self.levels.digest_window - self._clock())
            try:
                message = await asyncio.wait_for(self._queue.get(), timeout)
            except TimeoutError:
                await self._flush()
                continue
            await self._handle(message)

    async def drain(self) -> None:
        """Deliver everything queued and any pending digest now (tests, shutdown)."""
        while not self._queue.empty():
            await self._handle(self._queue.get_nowait())
        await self._flush()

    async def _handle(self, message: TradeMessage) -> None:
        now = self._clock()
        if now - self._window_start >= self.levels.digest_window:
            if self._pending:
                await self._flush()
            self._window_start, self._pushed_in_window = now, 0
        level = self.level(message.kind)
        if level is NotifyLevel.ON and self._pushed_in_window < self.levels.burst:
            self._pushed_in_window += 1
            await self._push(message.title, message.body, message.kind, message.ref)
        else:
            self._pending.append(message)

    async def _flush(self) -> None:
        pending, self._pending = self._pending, []
        self._window_start, self._pushed_in_window = self._clock(), 0
        if not pending:
            return
        if len(pending) == 1:
            m = pending[0]
            await self._push(m.title, m.body, m.kind, m.ref)
            return
        title = f"weatheredge: {len(pending)} trading updates"
        body = "\n".join(f"- {m.title}" for m in pending)
        await self._push(title, body, "digest", None)

    async def _push(self, title: str, body: str, kind: str, ref: str | None) -> None:
        self.pushed.append((title, body))
        ok, error = True, None
        try:
            if self._deliver_fn is not None:
                result = self._deliver_fn(title, body)
                if asyncio.iscoroutine(result):
                    await result
            elif self._apprise is not None:
                ok = bool(await self._apprise.async_notify(body=body, title=title))
                error = None if ok else "delivery failed"
        except Exception as exc:  # a notification never stops trading
            ok, error = False, type(exc).__name__
        if self._record is not None:
            with contextlib.suppress(Exception):
                self._record(
                    NotificationResult(
                        edge_id=ref,
                        kind=f"trade_{kind}",
                        title=title,
                        body=body,
                        sent_at=dt.datetime.now(dt.UTC),
                        ok=ok,
                        attempts=1,
                        error=error,
                    )
                )
