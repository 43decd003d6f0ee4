"""Composition root: one asyncio loop hosts the web app, the scheduler and the market stream.

Resources are acquired in an aiohttp ``cleanup_ctx`` chain and released in reverse order, so a
stop (SIGINT/SIGTERM) closes the stream first, then lets the notifier and the SQLite writer drain
what is queued, within a bounded time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import fcntl
import logging
import os
import pkgutil
import signal
import socket
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from weatheredge import homeassistant
from weatheredge import web as web_routes
from weatheredge.alerts import EdgeAlerts
from weatheredge.clock import SYSTEM, Clock
from weatheredge.config import LoadedConfig, Settings
from weatheredge.context import JobContext
from weatheredge.engine import EdgeSignal, Engine
from weatheredge.errors import StartupError
from weatheredge.failures import describe
from weatheredge.feed.manager import FeedConfig, FeedManager
from weatheredge.health import Health
from weatheredge.model.edge import EpisodeTracker
from weatheredge.notify import Notifier
from weatheredge.reloader import Reloader
from weatheredge.reloader import add_routes as reloader_routes
from weatheredge.sinks import edge_record, notification_record
from weatheredge.store import Store
from weatheredge.tape import open_recorder
from weatheredge.tape.hooks import failure_trace, response_class, settings_sources

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S = 4.0  # the whole stop must fit in 5 s


@dataclass(frozen=True, slots=True)
class JobSpec:
    name: str
    func: str  # textual reference, resolved at startup so a typo fails fast
    interval_s: float
    misfire_grace_s: int
    run_at_start: bool


def job_specs(loaded: LoadedConfig) -> list[JobSpec]:
    jobs = loaded.settings.jobs
    specs = [
        JobSpec("discover_markets", "jobs.discover_markets:run", jobs.discovery_interval, 30, True),
        # First run is requested by discovery as soon as it has events to price.
        JobSpec(
            "refresh_forecasts", "jobs.refresh_forecasts:run", jobs.forecast_interval, 120, False
        ),
    ]
    model = loaded.settings.model  # issue 4: observations, settlement, scoring, calibration
    specs += [
        JobSpec(
            "poll_observations", "jobs.poll_observations:run", model.observation_tick, 10, True
        ),
        JobSpec("snapshot_market", "jobs.snapshot_market:run", model.snapshot_interval, 30, True),
        JobSpec("settle_events", "jobs.settle_events:run", model.settle_interval, 300, True),
        JobSpec("refit_calibration", "jobs.refit_calibration:run", model.refit_interval, 600, True),
    ]
    # REST polling (websocket disabled, or down too long) is the feed's own loop (issue 3).
    return specs


@dataclass(slots=True)
class Daemon:
    """Everything the running process holds; also what /status reports."""

    loaded: LoadedConfig
    health: Health = field(default_factory=Health)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    engine: Engine | None = None
    store: Store | None = None
    notifier: Notifier | None = None
    stream: FeedManager | None = None
    scheduler: AsyncIOScheduler | None = None
    ctx: JobContext | None = None
    reloader: Any = None  # weatheredge.reloader.Reloader (issue 15)
    _running: set[str] = field(default_factory=set)
    _pending: set[str] = field(default_factory=set)
    # Kill switch hook used by the status page and the Home Assistant switch (issue 6): a
    # minimal flag for trading (issue 5) to build on; forwards to a `trading` object if any.
    halted: bool = False
    halt_reason: str | None = None
    # Trading (issue 5): weatheredge.trading.setup.Trading, or None (live not armed/no keys).
    trading: Any = None
    # trading.status() taken just before the stop, while the books were still live: what a
    # report after the run (the paper demo's "unrealised at the bid") must read.
    final_trading: dict[str, Any] | None = None
    # The raw tape (weatheredge.tape.Recorder), or None when tape.enabled is false.
    tape: Any = None

    async def halt(self, reason: str = "manual") -> None:
        self.halted, self.halt_reason = True, reason
        logger.warning("HALTED: %s", reason)
        trading = getattr(self, "trading", None)
        if trading is not None and hasattr(trading, "halt"):
            await trading.halt(reason)

    async def resume(self) -> None:
        self.halted, self.halt_reason = False, None
        logger.warning("resumed")
        trading = getattr(self, "trading", None)
        if trading is not None and hasattr(trading, "resume"):
            await trading.resume()

    def sink(self, signal_: EdgeSignal) -> None:
        """Hot-path exit: only enqueues."""
        assert self.store is not None and self.notifier is not None
        record = edge_record(signal_)
        self.store.submit(record)
        if self.tape is not None:
            self.tape.record("edge", record)
        self.notifier.offer(signal_)  # the renotify policy runs on the outbox's side
        if self.trading is not None:
            self.trading.on_signal(signal_)  # enqueue only

    @property
    def clock(self) -> Clock:
        return self.engine.clock if self.engine is not None else SYSTEM

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    def request_run(self, name: str) -> None:
        if self.scheduler is None:
            return
        if name in self._running:
            self._pending.add(name)  # max_instances=1 would drop it; run again when done
            return
        self.scheduler.modify_job(name, next_run_time=dt.datetime.now(dt.UTC))

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


async def _resources(app: web.Application) -> AsyncIterator[None]:
    daemon = app[DAEMON]
    settings = daemon.settings
    timeout = aiohttp.ClientTimeout(total=30, connect=10)
    daemon.tape = await asyncio.to_thread(open_recorder, settings, daemon.loaded.path)
    responses, traces = aiohttp.ClientResponse, []
    if daemon.tape is not None:  # every body read through the session goes on the tape
        sources, secrets = settings_sources(settings), daemon.loaded.secrets
        responses = response_class(daemon.tape.record, sources, secrets)
        traces.append(failure_trace(daemon.tape.record, sources, secrets))
    async with aiohttp.ClientSession(
        timeout=timeout, response_class=responses, trace_configs=traces
    ) as session:
        daemon.store = Store.open(settings.database, close_open_edges="daemon restarted")
        store = daemon.store
        daemon.notifier = Notifier(  # the one outbox: edge and trading messages
            settings.notify.urls,
            levels=settings.trading.notify,
            screen=EdgeAlerts(lambda: daemon.settings.notify).message_for,
            record=lambda delivery: store.submit(notification_record(delivery)),
            retries=settings.notify.retries,
        )
        daemon.engine = Engine(
            min_edge=settings.min_edge,
            hysteresis=settings.edge_hysteresis,
            max_forecast_age=settings.weather.max_forecast_age,
            emit=daemon.sink,
        )
        ladder_edge = settings.model.ladder_min_edge
        daemon.engine.ladder_tracker = EpisodeTracker(ladder_edge, ladder_edge / 2)
        tasks = [asyncio.create_task(daemon.notifier.run(), name="notifier")]
        # The feed (issue 3): sharded sockets, watchdog, polling fallback (also when the
        # WebSocket is disabled, in place of the old poll_books job).
        daemon.stream = FeedManager(
            daemon.engine, FeedConfig.from_settings(settings), session=session, tape=daemon.tape
        )
        tasks.append(asyncio.create_task(daemon.stream.run(), name="market-feed"))
        daemon.ctx = JobContext(
            settings=settings,
            session=session,
            store=daemon.store,
            engine=daemon.engine,
            stream=daemon.stream,
            health=daemon.health,
            request_run=daemon.request_run,
        )
        await _start_trading(daemon)
        daemon.scheduler = _start_scheduler(daemon)
        try:
            yield
        finally:
            if daemon.trading is not None:  # no new orders before anything else stops
                await daemon.trading.close()
            await _shutdown(daemon, tasks)


async def _start_trading(daemon: Daemon) -> None:
    from weatheredge.trading.setup import TradingRefused, start_trading

    assert daemon.store is not None and daemon.notifier is not None
    try:
        daemon.trading = await start_trading(
            daemon.settings,
            engine=daemon.engine,
            stream=lambda: daemon.stream,
            notifier=daemon.notifier,
            tape=daemon.tape,
            live=daemon.ctx.live if daemon.ctx is not None else None,  # maker: report schedule
        )
    except TradingRefused as err:
        logger.error("%s", err)
        daemon.health.notes["trading"] = str(err)
    if daemon.trading is not None and daemon.trading.trader.halts.get("manual"):
        daemon.halted, daemon.halt_reason = True, daemon.trading.trader.halts["manual"]


class _SchedulerTracebacks(logging.Filter):
    """APScheduler logs every failed run with its (chained) traceback at ERROR; our job
    listener logs one worded line per transition instead, and the traceback at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.exc_info is None or record.levelno < logging.ERROR


def _start_scheduler(daemon: Daemon) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=dt.UTC)
    executors = logging.getLogger("apscheduler.executors.default")
    if not any(isinstance(f, _SchedulerTracebacks) for f in executors.filters):
        executors.addFilter(_SchedulerTracebacks())
    now = dt.datetime.now(dt.UTC)
    for spec in job_specs(daemon.loaded):
        pkgutil.resolve_name(spec.func)
        scheduler.add_job(
            spec.func,
            "interval",
            seconds=spec.interval_s,
            args=[daemon.ctx],
            id=spec.name,
            name=spec.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=spec.misfire_grace_s,
            next_run_time=now if spec.run_at_start else None,
        )
        daemon.health.job(spec.name)
    scheduler.add_listener(daemon.on_job_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    _track_submissions(daemon, scheduler)
    scheduler.start()
    for spec in job_specs(daemon.loaded):
        if not spec.run_at_start:
            scheduler.modify_job(
                spec.name, next_run_time=now + dt.timedelta(seconds=spec.interval_s)
            )
    return scheduler


def _track_submissions(daemon: Daemon, scheduler: AsyncIOScheduler) -> None:
    from apscheduler.events import EVENT_JOB_SUBMITTED

    scheduler.add_listener(lambda e: daemon._running.add(e.job_id), EVENT_JOB_SUBMITTED)


async def _shutdown(daemon: Daemon, tasks: list[asyncio.Task[None]]) -> None:
    if daemon.scheduler is not None and daemon.scheduler.running:
        daemon.scheduler.shutdown(wait=False)
    if daemon.engine is not None:
        daemon.engine.stop()
    for task in tasks[1:]:  # the stream first: no new decisions while draining
        task.cancel()
    for task in tasks[1:]:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 1.0)
    if daemon.notifier is not None:
        await daemon.notifier.close(grace_s=STOP_TIMEOUT_S / 2)
    tasks[0].cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await tasks[0]
    if daemon.store is not None:
        await daemon.store.close(grace_s=STOP_TIMEOUT_S / 2)
    if daemon.tape is not None:
        await asyncio.to_thread(daemon.tape.close, 1.0)


def make_app(loaded: LoadedConfig) -> web.Application:
    app = web.Application()
    app[DAEMON] = daemon = Daemon(loaded)
    app.cleanup_ctx.append(_resources)
    daemon.reloader = Reloader(daemon, job_specs)  # live reload: HTTP, SIGHUP, file watch
    app.cleanup_ctx.append(daemon.reloader.cleanup_ctx)
    reloader_routes(app, DAEMON)
    # After the resources (torn down before them): the optional Home Assistant MQTT bridge.
    app.cleanup_ctx.append(homeassistant.cleanup_ctx(DAEMON))
    web_routes.add_routes(app, DAEMON)
    return app


def preflight(settings: Settings) -> socket.socket:
    """Bind the web port and open the database file before any side effect (migration, fetch,
    trading), so a second daemon on a busy port fails at once in one line. Raises StartupError."""
    host, port = settings.web.host, settings.web.port
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(addr)
            sock.listen(128)
        except BaseException:
            sock.close()
            raise
    except OSError as err:
        why = err.strerror or str(err)
        hint = " (another weatheredge running?)" if err.errno == errno.EADDRINUSE else ""
        raise StartupError(
            f"cannot listen on {host}:{port}: {why.lower()}{hint}; "
            "stop it or change web.port in the config"
        ) from None
    try:
        sqlite3.connect(settings.database).close()
    except sqlite3.Error as err:
        sock.close()
        raise StartupError(
            f"cannot open the database {settings.database}: {err}; check `database:` in the config"
        ) from None
    try:
        _lock_database(settings.database, sock.getsockname()[:2])
    except StartupError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


# database path -> the descriptor holding its lock, for as long as a daemon serves it
_DB_LOCKS: dict[str, int] = {}


def _lock_database(path: str, address: tuple[str, int] | None = None) -> None:
    """One daemon per database: two (say, two configs on different ports) would each take the
    same offer, since what was taken is read from the ledger at start. The kernel drops the lock
    when the process dies, so a ``kill -9`` never leaves it behind. The lock file also says where
    the daemon listens: after an edit of ``web.port`` the file no longer does, and ``weatheredge
    reload`` must still reach the daemon to be told that change needs a restart."""
    if path == ":memory:" or path.startswith("file:"):
        return
    lock = f"{path}.lock"
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as err:
        raise StartupError(f"cannot create the lock file {lock}: {err.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StartupError(
            f"the database {path} is in use by another weatheredge; stop it or change `database:`"
        ) from None
    _DB_LOCKS[path] = fd
    if address:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {address[0]} {address[1]}\n".encode(), 0)


def _unlock_database(path: str) -> None:
    fd = _DB_LOCKS.pop(path, None)
    if fd is not None:
        os.close(fd)


async def serve(
    app: web.Application, stop: asyncio.Event, sock: socket.socket | None = None
) -> web.AppRunner:
    """Start the app on ``sock`` (default: ``preflight``); returns once serving."""
    sock = sock if sock is not None else preflight(app[DAEMON].settings)
    database = app[DAEMON].settings.database

    async def unlock(_app: web.Application) -> None:
        _unlock_database(database)

    app.on_cleanup.append(unlock)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
    try:
        await runner.setup()
        site = web.SockSite(runner, sock)
        await site.start()
    except BaseException:
        sock.close()
        _unlock_database(database)
        raise
    return runner


def bound_port(runner: web.AppRunner) -> int | None:
    for addr in runner.addresses:
        if isinstance(addr, tuple):
            return int(addr[1])
    return None


async def run_daemon(
    loaded: LoadedConfig, *, duration: float | None = None, sock: socket.socket | None = None
) -> Daemon:
    """Run until SIGINT/SIGTERM (or ``duration`` seconds); stop cleanly within 5 s."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    app = make_app(loaded)
    runner = await serve(app, stop, sock)
    daemon = app[DAEMON]
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGHUP, daemon.reloader.trigger, "SIGHUP")
    logger.info(
        "weatheredge running in %s mode; status page on http://%s:%s/",
        daemon.settings.mode.value.upper(),
        daemon.settings.web.host,
        bound_port(runner),
    )
    try:
        if duration is None:
            await stop.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), duration)
    finally:
        logger.info("stopping")
        if daemon.trading is not None:
            try:
                daemon.final_trading = daemon.trading.status()
            except Exception as err:  # a report figure must not block the stop
                logger.warning("trading status at stop: %s", describe(err))
        await asyncio.wait_for(runner.cleanup(), STOP_TIMEOUT_S + 1)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
    return daemon
