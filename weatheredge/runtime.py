"""Composition root: one asyncio loop hosts the web app, the scheduler and the market stream.

``make_app`` builds the aiohttp app whose ``cleanup_ctx`` chain owns the lifecycle: the daemon's
services (:mod:`weatheredge.lifecycle`, on one exit stack), then the config reloader, then the
Home Assistant bridge; a stop (SIGINT/SIGTERM) releases them in reverse order, within a bounded
time. ``serve`` binds the port and database checked by :mod:`weatheredge.preflight`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import AsyncIterator

from aiohttp import web

from weatheredge import homeassistant
from weatheredge import web as web_routes
from weatheredge.config import LoadedConfig
from weatheredge.daemon import DAEMON, Daemon
from weatheredge.failures import describe
from weatheredge.lifecycle import STOP_TIMEOUT_S, build_services
from weatheredge.preflight import preflight, unlock_database
from weatheredge.reloader import Reloader
from weatheredge.reloader import add_routes as reloader_routes
from weatheredge.schedule import job_specs

logger = logging.getLogger(__name__)


async def _resources(app: web.Application) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:  # released in reverse, each on its own
        await build_services(app[DAEMON], stack)
        yield


def make_app(loaded: LoadedConfig) -> web.Application:
    app = web.Application()
    app[DAEMON] = daemon = Daemon(loaded)
    app.cleanup_ctx.append(_resources)
    # Live reload: HTTP, SIGHUP, file watch.
    reloader = daemon.reloader = Reloader(daemon, job_specs)
    app.cleanup_ctx.append(reloader.cleanup_ctx)
    reloader_routes(app, DAEMON)
    # After the resources (torn down before them): the optional Home Assistant MQTT bridge.
    app.cleanup_ctx.append(homeassistant.cleanup_ctx(DAEMON))
    web_routes.add_routes(app, DAEMON)
    return app


async def serve(
    app: web.Application, stop: asyncio.Event, sock: socket.socket | None = None
) -> web.AppRunner:
    """Start the app on ``sock`` (default: ``preflight``); returns once serving."""
    sock = sock if sock is not None else preflight(app[DAEMON].settings)
    database = app[DAEMON].settings.database

    async def unlock(_app: web.Application) -> None:
        unlock_database(database)

    app.on_cleanup.append(unlock)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
    try:
        await runner.setup()
        site = web.SockSite(runner, sock)
        await site.start()
    except BaseException:
        sock.close()
        unlock_database(database)
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
    if daemon.reloader is not None:
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
