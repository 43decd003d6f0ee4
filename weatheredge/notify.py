"""The outbox: every notification leaves the daemon here, off the hot path.

One queue and one apprise sender serve edge messages (from the engine's signals) and trading
messages (intents, fills, halts). Callers only enqueue (``send``, ``post``, ``offer``); one task
(``run``/``start``) delivers in order, each message to every target, retrying a failing target
with exponential backoff. Edge messages go out at once; trading kinds follow their level
(``on`` / ``silent`` / ``off``): ``on`` kinds are pushed at once, up to ``burst`` per
``digest_window`` seconds; beyond that, and for every ``silent`` kind, messages wait and go out
together as one digest at the end of the window. Every message is handed to the ``record``
callback as one :class:`Delivery` (the daemon writes it to the ``notifications`` table).
Failures are logged and recorded, never raised: a notification must not stop the daemon.

``offer`` takes an engine signal whose fate ``screen`` decides (the renotify policy,
:mod:`weatheredge.alerts`) in a loop callback of the outbox scheduled after the hot path's
current one, never inside it: the hot path pays for one append. Signals never wait behind a slow
delivery, and only messages to send take places in the queue.
Secrets in notify URLs are masked in every log record (:mod:`weatheredge.redact`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from weatheredge.config_trading import NotifyLevel
from weatheredge.messages import (
    Delivery,
    EdgeMessage,
    TradeMessage,
    format_edge,
)
from weatheredge.notify_targets import Outcome, Target, make_target, send_to
from weatheredge.redact import install_redaction, url_secrets

logger = logging.getLogger(__name__)


class Levels(Protocol):
    """Per-kind levels and the digest rule (``TradingNotifySettings``)."""

    burst: int
    digest_window: float

    def level_of(self, kind: str) -> NotifyLevel | bool: ...


# --- the outbox ------------------------------------------------------------------------------


class _AllOn:
    burst = 1_000_000
    digest_window = 30.0

    def level_of(self, kind: str) -> NotifyLevel | bool:
        return NotifyLevel.ON


_Item = EdgeMessage | TradeMessage


class Notifier:
    """The one outbox. ``retries`` is the number of extra attempts per target after the first;
    the wait doubles from ``backoff_s``. ``record`` (or its older name ``store``) receives one
    :class:`Delivery` per message; ``deliver`` replaces apprise (the paper demo, tests)."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        levels: Levels | None = None,
        screen: Callable[[Any], EdgeMessage | None] | None = None,
        record: Callable[[Delivery], None] | None = None,
        store: Callable[[Delivery], None] | None = None,
        deliver: Callable[[str, str], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
        retries: int = 3,
        backoff_s: float = 1.0,
        timeout_s: float = 15.0,
        max_queue: int = 1000,
    ) -> None:
        self._record_fn = record or store
        self._deliver_fn = deliver
        self._screen = screen
        self._offered: deque[Any] = deque()
        self._screen_due = False
        self._clock = clock
        self._targets: list[Target] = []
        self._retries = max(0, retries)
        self.set_urls(urls, retries)
        self.levels: Levels = levels or _AllOn()
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._max_queue = max_queue
        # Unbounded underneath so close() can always enqueue its stop marker; the enqueuing
        # methods enforce max_queue themselves.
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._running = False
        self._closing = False
        self._in_flight = 0
        self._pending: list[TradeMessage] = []  # held for the next digest
        self._window_start = 0.0
        self._pushed_in_window = 0
        self.pushed: list[tuple[str, str]] = []  # (title, body) of trading pushes, in order
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    @property
    def enabled(self) -> bool:
        return bool(self._targets) or self._deliver_fn is not None

    def set_urls(self, urls: Sequence[str], retries: int) -> None:
        """New targets (a config reload): the next message goes to these; queued ones too."""
        # Before add(): apprise logs the URL when it cannot parse one.
        install_redaction(s for url in urls for s in url_secrets(url))
        self._targets = [t for i, url in enumerate(urls, 1) if (t := make_target(i, url))]
        self._retries = max(0, retries)

    def set_targets(self, urls: Sequence[str], levels: Levels) -> None:
        """New targets and trading levels (a config reload of ``trading.notify``)."""
        self.set_urls(urls, self._retries)
        self.levels = levels

    def level(self, kind: str) -> NotifyLevel:
        value = self.levels.level_of(kind)
        if isinstance(value, bool):  # YAML's bare on/off
            return NotifyLevel.ON if value else NotifyLevel.OFF
        return NotifyLevel(value)

    # --- enqueue: never blocks, never raises --------------------------------------------------

    def send(self, message: EdgeMessage) -> None:
        """Queue an edge message for every target."""
        if self.enabled:
            self._put(message, message.edge_id)

    def post(self, kind: str, title: str, body: str, ref: str | None = None) -> None:
        """Queue a trading message; its kind's level decides when it goes out."""
        if self.level(kind) is not NotifyLevel.OFF:
            self._put(TradeMessage(kind, title, body, ref), ref)

    def offer(self, signal: object) -> None:
        """Hand over an engine signal; ``screen`` decides, right after the caller's callback,
        whether it is sent. Taken even without targets: the policy sees every change, in order."""
        if self._screen is None:
            return
        self._offered.append(signal)
        if not self._screen_due:
            self._screen_due = True
            asyncio.get_running_loop().call_soon(self._screen_offered)

    def _screen_offered(self) -> None:
        self._screen_due = False
        assert self._screen is not None
        while self._offered:
            try:
                message = self._screen(self._offered.popleft())
            except Exception:  # a bug in the policy must not stop the others
                logger.exception("notifier: the renotify policy failed on a signal")
                continue
            if message is not None:
                self.send(message)

    def _put(self, item: _Item, ref: str | None) -> None:
        if self._closing:
            self._drop(ref, "notifier is closed")
        elif self._queue.qsize() >= self._max_queue:
            self._drop(ref, "queue full")
        else:
            self._queue.put_nowait(item)

    def _drop(self, ref: str | None, why: str) -> None:
        self.dropped += 1
        logger.warning("notification for %s dropped: %s", ref or "-", why)

    # --- the delivery task --------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        """Run the delivery loop on a task owned by the notifier (cancelled by close)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="notifier")
        return self._task

    async def run(self) -> None:
        """Deliver queued messages until close(). Use start(), or await this on your own task."""
        self._running = True
        try:
            while True:
                item = await self._next()
                if item is _TICK:
                    await self._flush()
                    continue
                if item is None:
                    self._queue.task_done()
                    return
                self._in_flight = 1
                try:
                    await self._handle(item)
                except Exception:  # a bug here must not end deliveries
                    logger.exception("notifier: unexpected error delivering a message")
                finally:
                    self._in_flight = 0
                    self._queue.task_done()
        finally:
            self._running = False

    async def _next(self) -> _Item | None:
        if not self._pending:  # the common case: no timer, no wait_for task
            return await self._queue.get()
        due = self._window_start + self.levels.digest_window - self._clock()
        try:  # asyncio.timeout: wait_for (3.11) drops a cancel that lands with an item
            async with asyncio.timeout(max(0.0, due)):
                return await self._queue.get()
        except TimeoutError:
            return _TICK

    async def drain(self) -> None:
        """Deliver everything queued and any pending digest now (tests, shutdown)."""
        while not self._queue.empty():
            item = self._queue.get_nowait()
            self._queue.task_done()
            if item is not None:
                await self._handle(item)
        await self._flush()

    async def close(self, grace_s: float = 5.0) -> None:
        """Deliver what is queued and any pending digest within ``grace_s`` seconds, then
        stop. Idempotent."""
        if self._closing:
            return
        if self._offered:
            self._screen_offered()  # what the hot path handed over last is still sent
        self._closing = True
        if not self._running and not self._queue.empty():
            self.start()
        if self._running or self._task is not None:
            try:
                await asyncio.wait_for(self._queue.join(), grace_s)
            except TimeoutError:
                self._abandon_queue()
        if self._pending:
            try:
                await asyncio.wait_for(self._flush(), grace_s / 2)
            except Exception:  # a timeout or a bug: the digest is lost, shutdown goes on
                logger.warning("notifier closed with a digest undelivered")
        self._queue.put_nowait(None)  # ends a run() awaited on someone else's task
        if self._task is not None:
            self._task.cancel()  # only our own task; a no-op if it already ended
            await asyncio.wait([self._task])

    def _abandon_queue(self) -> None:
        left = self._in_flight
        while not self._queue.empty():
            if self._queue.get_nowait() is not None:
                left += 1
            self._queue.task_done()
        self.dropped += left
        logger.warning("notifier closed with %d message(s) undelivered", left)

    async def _handle(self, item: _Item) -> None:
        if isinstance(item, TradeMessage):
            await self._handle_trade(item)
            return
        if self.enabled:
            title, body = format_edge(item)
            await self._push(title, body, item.kind, item.edge_id)

    async def _handle_trade(self, message: TradeMessage) -> None:
        now = self._clock()
        if now - self._window_start >= self.levels.digest_window:
            if self._pending:
                await self._flush()
            self._window_start, self._pushed_in_window = now, 0
        level = self.level(message.kind)
        if level is NotifyLevel.ON and self._pushed_in_window < self.levels.burst:
            self._pushed_in_window += 1
            await self._push_trade(message.title, message.body, message.kind, message.ref)
        else:
            self._pending.append(message)

    async def _flush(self) -> None:
        pending, self._pending = self._pending, []
        self._window_start, self._pushed_in_window = self._clock(), 0
        if len(pending) == 1:
            m = pending[0]
            await self._push_trade(m.title, m.body, m.kind, m.ref)
        elif pending:
            title = f"weatheredge: {len(pending)} trading updates"
            body = "\n".join(f"- {m.title}" for m in pending)
            await self._push_trade(title, body, "digest", None)

    async def _push_trade(self, title: str, body: str, kind: str, ref: str | None) -> None:
        self.pushed.append((title, body))
        await self._push(title, body, f"trade_{kind}", ref)

    # --- the one sender -----------------------------------------------------------------------

    async def _push(self, title: str, body: str, kind: str, ref: str | None) -> None:
        outcome = await self._send(title, body)
        if outcome.ok:
            self.sent += 1
        else:
            self.failed += 1
        when = dt.datetime.now(dt.UTC)
        o = outcome
        self._record(Delivery(ref, kind, title, body, when, o.ok, o.attempts, o.error))

    async def _send(self, title: str, body: str) -> Outcome:
        if self._deliver_fn is not None:
            try:
                result = self._deliver_fn(title, body)
                if asyncio.iscoroutine(result):
                    await result
            except Exception as exc:  # a notification never stops the daemon
                return Outcome(False, 1, type(exc).__name__)
            return Outcome(True, 1, None)
        targets = self._targets
        if not targets:  # trading messages are recorded even with nowhere to push them
            return Outcome(True, 1, None)
        outcomes = await asyncio.gather(
            *(
                send_to(t, title, body, self._retries, self._backoff_s, self._timeout_s)
                for t in targets
            )
        )
        errors = [
            f"{t.label}: {o.error}" for t, o in zip(targets, outcomes, strict=True) if o.error
        ]
        attempts = max(o.attempts for o in outcomes)
        return Outcome(all(o.ok for o in outcomes), attempts, "; ".join(errors) or None)

    def _record(self, delivery: Delivery) -> None:
        if self._record_fn is None:
            return
        try:
            self._record_fn(delivery)
        except Exception:
            logger.exception("notifier: recording the result failed")


_TICK = object()  # the digest window ended while the queue was idle
