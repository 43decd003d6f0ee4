"""What the running process holds: the daemon's state and its typed services.

The runtime (:mod:`weatheredge.runtime`) builds one :class:`Services` — every part at once,
none optional but the ones the config leaves out (the tape, trading) — and attaches it to the
:class:`Daemon`, which the web routes, the status page, the reloader and the Home Assistant
bridge read. Nothing here starts or stops anything: :mod:`weatheredge.lifecycle` does.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
from aiohttp import web
from apscheduler.events import JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from weatheredge.config import LoadedConfig, Settings
from weatheredge.context import JobContext
from weatheredge.engine import EdgeSignal, Engine
from weatheredge.failures import describe
from weatheredge.feed.manager import FeedManager
from weatheredge.health import Health
from weatheredge.notify import Notifier
from weatheredge.sinks import edge_record
from weatheredge.store import Store
from weatheredge.tape.writer import Recorder
from weatheredge.trading.setup import Trading

logger = logging.getLogger(__name__)


class NotStarted(RuntimeError):
    """A part of the daemon was read before the runtime built it."""


class ConfigReloader(Protocol):
    """What the daemon's readers use of :class:`weatheredge.reloader.Reloader` (which imports
    this module, so it is named here by what it does)."""

    def trigger(self, source: str) -> None: ...

    def status(self) -> dict[str, Any]: ...

    def metrics_text(self) -> str: ...


@dataclass(slots=True)
class EdgeSink:
    """The hot path's exit: the store record, the tape, the outbox and the trader's queue. Only
    enqueues. Trading joins once it has started (it needs the running engine)."""

    store: Store
    notifier: Notifier
    tape: Recorder | None
    trading: Trading | None = None

    def __call__(self, signal_: EdgeSignal) -> None:
        record = edge_record(signal_)
        self.store.submit(record)
        if self.tape is not None:
            self.tape.record("edge", record)
        self.notifier.offer(signal_)  # the renotify policy runs on the outbox's side
        if self.trading is not None:
            self.trading.on_signal(signal_)  # enqueue only


@dataclass(frozen=True, slots=True)
class Services:
    """Every part of a running daemon, built together by the runtime."""

    session: aiohttp.ClientSession
    store: Store
    notifier: Notifier
    engine: Engine
    stream: FeedManager
    ctx: JobContext
    scheduler: AsyncIOScheduler
    sink: EdgeSink
    tape: Recorder | None  # None when tape.enabled is false
    trading: Trading | None  # None when live trading is not armed or has no keys


@dataclass(slots=True)
class Daemon:
    """Everything the running process holds; also what /status reports."""

    loaded: LoadedConfig
    health: Health = field(default_factory=Health)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    services: Services | None = None  # attached by the runtime at startup, kept after the stop
    reloader: ConfigReloader | None = None
    _running: set[str] = field(default_factory=set)
    _pending: set[str] = field(default_factory=set)
    # The kill switch of the status page and the Home Assistant switch; forwarded to trading.
    halted: bool = False
    halt_reason: str | None = None
    # trading.status() taken just before the stop, while the books were still live: what a
    # report after the run (the paper demo's "unrealised at the bid") must read.
    final_trading: dict[str, Any] | None = None

    @property
    def running(self) -> Services:
        if self.services is None:
            raise NotStarted("the daemon's services are built at startup")
        return self.services

    # The parts, each read from the one services object.
    @property
    def engine(self) -> Engine:
        return self.running.engine

    @property
    def store(self) -> Store:
        return self.running.store

    @property
    def notifier(self) -> Notifier:
        return self.running.notifier

    @property
    def stream(self) -> FeedManager:
        return self.running.stream

    @property
    def scheduler(self) -> AsyncIOScheduler:
        return self.running.scheduler

    @property
    def ctx(self) -> JobContext:
        return self.running.ctx

    @property
    def tape(self) -> Recorder | None:
        return None if self.services is None else self.services.tape

    @property
    def trading(self) -> Trading | None:
        return None if self.services is None else self.services.trading

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    async def halt(self, reason: str = "manual") -> None:
        self.halted, self.halt_reason = True, reason
        logger.warning("HALTED: %s", reason)
        if self.trading is not None:
            await self.trading.halt(reason)

    async def resume(self) -> None:
        self.halted, self.halt_reason = False, None
        logger.warning("resumed")
        if self.trading is not None:
            await self.trading.resume()

    def request_run(self, name: str) -> None:
        if self.services is None:
            return
        if name in self._running:
            self._pending.add(name)  # max_instances=1 would drop it; run again when done
            return
        self.services.scheduler.modify_job(name, next_run_time=dt.datetime.now(dt.UTC))

    def on_job_submitted(self, event: JobExecutionEvent) -> None:
        self._running.add(event.job_id)

    def on_job_event(self, event: JobExecutionEvent) -> None:
        self._running.discard(event.job_id)
        if event.exception is not None:
            # One worded line per transition (Health); the traceback only at DEBUG.
            logger.debug("job %s raised", event.job_id, exc_info=event.exception)
            self.health.job_failed(event.job_id, describe(event.exception))
        else:
            self.health.job_succeeded(event.job_id)
        if event.job_id in self._pending:
            self._pending.discard(event.job_id)
            self.request_run(event.job_id)


DAEMON = web.AppKey("daemon", Daemon)
