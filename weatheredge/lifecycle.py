"""Acquiring the daemon's resources and releasing them, in reverse order, on one exit stack.

Each resource registers its own release right after it is acquired (``release``), so the stop
runs them newest first: trading (no new orders), the scheduler, the engine's open edges, the
feed, the outbox (drained), the SQLite writer (drained), the HTTP session, the tape. A release
that fails is logged and the others still run: a stuck notifier never keeps the store undrained.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import aiohttp

from weatheredge.alerts import EdgeAlerts
from weatheredge.context import JobContext
from weatheredge.daemon import Daemon, EdgeSink, Services
from weatheredge.engine import Engine
from weatheredge.failures import describe
from weatheredge.feed.config import FeedConfig
from weatheredge.feed.manager import FeedManager
from weatheredge.model.live import LiveState
from weatheredge.notify import Notifier
from weatheredge.schedule import build_scheduler, start_scheduler
from weatheredge.sinks import notification_record
from weatheredge.store import Store
from weatheredge.tape import open_recorder
from weatheredge.tape.hooks import applied_marker, failure_trace, response_class, settings_sources
from weatheredge.tape.writer import Recorder
from weatheredge.trading.setup import Trading, TradingRefused, start_trading

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S = 4.0  # the whole stop must fit in 5 s


def release(
    stack: contextlib.AsyncExitStack, name: str, step: Callable[[], Awaitable[object]]
) -> None:
    """Register ``step`` as the release of ``name``: run when the stack closes, newest first;
    its failure is logged, never propagated, so the releases registered before it still run."""

    async def run() -> None:
        try:
            await step()
        except Exception as err:
            logger.error("stopping %s failed: %s", name, describe(err))
        else:
            logger.debug("stopped %s", name)

    stack.push_async_callback(run)


async def _cancel(task: asyncio.Task[None], wait_s: float | None) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await asyncio.wait_for(task, wait_s)


async def build_services(daemon: Daemon, stack: contextlib.AsyncExitStack) -> Services:
    """Acquire every resource of a running daemon, each registering its release on ``stack``."""
    settings = daemon.settings
    tape = await asyncio.to_thread(open_recorder, settings, daemon.loaded.path)
    if tape is not None:
        release(stack, "tape", lambda: asyncio.to_thread(tape.close, 1.0))
    responses, traces = aiohttp.ClientResponse, []
    if tape is not None:  # every body read through the session goes on the tape
        sources, secrets = settings_sources(settings), daemon.loaded.secrets
        responses = response_class(tape.record, sources, secrets)
        traces.append(failure_trace(tape.record, sources, secrets))
    session = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=30, connect=10),
        response_class=responses,
        trace_configs=traces,
    )
    release(stack, "http session", session.close)

    store = Store.open(settings.database, close_open_edges="daemon restarted")
    release(stack, "store", lambda: store.close(grace_s=STOP_TIMEOUT_S / 2))

    notifier = Notifier(  # the one outbox: edge and trading messages
        settings.notify.urls,
        levels=settings.trading.notify,
        screen=EdgeAlerts(lambda: daemon.settings.notify).message_for,
        record=lambda delivery: store.submit(notification_record(delivery)),
        retries=settings.notify.retries,
    )
    outbox = asyncio.create_task(notifier.run(), name="notifier")

    async def close_outbox() -> None:
        try:
            await notifier.close(grace_s=STOP_TIMEOUT_S / 2)
        finally:
            await _cancel(outbox, None)

    release(stack, "notifier", close_outbox)

    sink = EdgeSink(store, notifier, tape)
    engine = Engine(
        min_edge=settings.min_edge,
        hysteresis=settings.edge_hysteresis,
        max_forecast_age=settings.weather.max_forecast_age,
        emit=sink,
        ladder_min_edge=settings.model.ladder_min_edge,
        # The feed, built next, is the hooks' target.
        on_desync=lambda token, reason: stream.on_desync(token, reason),
        on_resolved=lambda tokens: stream.unsubscribe(tokens),
    )

    # The feed (issue 3): sharded sockets, watchdog, polling fallback (also when the WebSocket
    # is disabled, in place of the old poll_books job).
    stream = FeedManager(engine, FeedConfig.from_settings(settings), session=session, tape=tape)
    feed = asyncio.create_task(stream.run(), name="market-feed")
    release(stack, "market feed", lambda: _cancel(feed, 1.0))

    async def close_edges() -> None:
        engine.stop()

    # Registered after the feed's, so it runs first: open edges close as "daemon stopped", not
    # as "feed lost" when the sockets drop.
    release(stack, "engine", close_edges)

    ctx = JobContext(
        settings=settings,
        session=session,
        store=store,
        engine=engine,
        stream=stream,
        health=daemon.health,
        request_run=daemon.request_run,
    )
    if tape is not None:
        ctx.applying = applied_marker(tape.record)
    scheduler = build_scheduler(daemon.loaded, ctx, daemon.health, daemon)

    async def stop_scheduler() -> None:
        if scheduler.running:
            scheduler.shutdown(wait=False)

    release(stack, "scheduler", stop_scheduler)

    trading = await _start_trading(daemon, engine, stream, notifier, tape, ctx.live)
    if trading is not None:
        sink.trading = trading
        release(stack, "trading", trading.close)  # no new orders before anything else stops
    services = Services(
        session=session,
        store=store,
        notifier=notifier,
        engine=engine,
        stream=stream,
        ctx=ctx,
        scheduler=scheduler,
        sink=sink,
        tape=tape,
        trading=trading,
    )
    daemon.services = services
    start_scheduler(scheduler, daemon.loaded)
    return services


async def _start_trading(
    daemon: Daemon,
    engine: Engine,
    stream: FeedManager,
    notifier: Notifier,
    tape: Recorder | None,
    live: LiveState,
) -> Trading | None:
    try:
        trading = await start_trading(
            daemon.settings,
            engine=engine,
            stream=lambda: stream,
            notifier=notifier,
            tape=tape,
            live=live,  # maker mode: the stations' report schedules
        )
    except TradingRefused as err:
        logger.error("%s", err)
        daemon.health.notes["trading"] = str(err)
        return None
    if trading.trader.halts.get("manual"):
        daemon.halted, daemon.halt_reason = True, trading.trader.halts["manual"]
    return trading
