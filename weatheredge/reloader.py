"""Live config reload for the running daemon: by HTTP (``weatheredge reload``), SIGHUP, the Home
Assistant button, or a watch on the file (``reload.watch: true``).

The file (and ``secrets.yaml``) is loaded with the same loader as ``check-config``. Invalid: the
daemon keeps its config and says "config rejected" with every reason. Valid: ``weatheredge.reload``
sorts each changed key into live or needs-a-restart, and ``apply`` hands the live values to their
owners through their own setters; books, sockets, episodes and positions stay where they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from weatheredge.config import ConfigError, LoadedConfig, Settings, load_config
from weatheredge.daemon import Daemon, Services
from weatheredge.feed.config import FeedConfig
from weatheredge.redact import install_redaction, secret_strings
from weatheredge.reload import ConfigDiff, diff, effective
from weatheredge.schedule import JobSpec
from weatheredge.webui import BROADCASTER
from weatheredge.webui.guard import json_body

logger = logging.getLogger(__name__)

CONFIG_CHANGED = "config changed"  # the reason on episodes a new threshold closes or opens
RESULTS = ("applied", "unchanged", "rejected")
JobSpecs = Callable[[LoadedConfig], list[JobSpec]]  # the composition root's jobs
WATCH_DEBOUNCE_MS = 50  # editors write in bursts (truncate, write, rename): one reload per burst
# Keys whose change makes the current prices worth recomputing now rather than at the next tick.
REPRICE_KEYS = (
    "weather.models",
    "weather.forecast_days",
    "weather.ensemble_url",
    "weather.stations",
    "weather.max_forecast_age",
    "model.min_members",
)


def apply(
    daemon: Daemon,
    loaded: LoadedConfig,
    d: ConfigDiff,
    app: web.Application | None,
    job_specs: JobSpecs = lambda _: [],
) -> None:
    """Make ``loaded`` (already stripped of restart-only changes) the daemon's config.
    ``job_specs`` is the composition root's list of scheduled jobs for a config."""
    s = loaded.settings
    daemon.loaded = loaded  # everything that reads daemon.settings per use follows from here
    install_redaction(secret_strings(loaded.secrets, s.notify.urls))
    if daemon.services is not None:
        _apply_to(daemon.services, s, d, job_specs(loaded))
    if d.touched(*REPRICE_KEYS):
        daemon.request_run("refresh_forecasts")
    if d.touched("polymarket"):
        daemon.request_run("discover_markets")
    if app is not None and d.touched("web.push_interval"):
        if BROADCASTER in app:
            app[BROADCASTER].interval = s.web.push_interval
    if d.touched("logging.level"):
        set_log_level(s.logging.level)


def _apply_to(services: Services, s: Settings, d: ConfigDiff, specs: list[JobSpec]) -> None:
    """Hand each live value to its owner, through the owner's setter."""
    services.ctx.settings = s  # the jobs read their settings at every run
    # Targets before thresholds: a URL added with a lower min_edge gets the edges it opens.
    # The outbox reads notify.on_close and notify.renotify_window per signal.
    if d.touched("notify.urls", "notify.retries"):
        services.notifier.set_urls(s.notify.urls, s.notify.retries)
    if d.touched("trading.notify"):
        services.notifier.levels = s.trading.notify
    if services.trading is not None and d.touched("trading"):
        services.trading.trader.set_settings(s.trading)
    if d.touched("feed", "jobs.poll_interval"):
        services.stream.set_config(FeedConfig.from_settings(s))
    engine = services.engine
    engine.max_forecast_age = s.weather.max_forecast_age
    if d.touched("min_edge", "edge_hysteresis", "model.ladder_min_edge"):
        engine.set_thresholds(
            s.min_edge, s.edge_hysteresis, s.model.ladder_min_edge, CONFIG_CHANGED
        )
    for spec in specs:
        job = services.scheduler.get_job(spec.name)
        # APScheduler's trigger: only the interval triggers the runtime adds carry one.
        interval = getattr(getattr(job, "trigger", None), "interval", None)
        if interval is not None and interval.total_seconds() != spec.interval_s:
            services.scheduler.reschedule_job(
                spec.name, trigger="interval", seconds=spec.interval_s
            )


def set_log_level(level: str) -> None:
    """The file handler's level (``logging.level``); with no log file, the whole process's."""
    from logging.handlers import RotatingFileHandler

    root = logging.getLogger()
    files = [h for h in root.handlers if isinstance(h, RotatingFileHandler)]
    for handler in files:
        handler.setLevel(level)
    others = [h.level for h in root.handlers if h not in files and h.level]
    root.setLevel(min([logging.getLevelName(level), *others]) if files else level)


class Reloader:
    """Serialises reloads and remembers the last outcome for /status, the page and /metrics."""

    def __init__(
        self, daemon: Daemon, job_specs: JobSpecs, env: Mapping[str, str] | None = None
    ) -> None:
        self.daemon = daemon
        self.job_specs = job_specs
        self.app: web.Application | None = None
        self.env = env
        self.version = 1
        self.loaded_at = dt.datetime.now(dt.UTC)
        self.results: Counter[str] = Counter()
        self.last: dict[str, Any] = {}
        self.rejected: list[str] = []  # reasons of the last reload, while it stays rejected
        self._lock = asyncio.Lock()
        self._watch: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def reload(self, source: str) -> dict[str, Any]:
        """Load, validate, diff and apply the daemon's config file; the outcome as a document."""
        async with self._lock:
            path = self.daemon.loaded.path
            if path is None:
                return self._reject(source, ["no config file: the daemon runs on its defaults"])
            try:
                new = await asyncio.to_thread(load_config, path, self.env)
            except ConfigError as err:
                return self._reject(source, list(err.problems))
            old = self.daemon.loaded
            d = diff(old.settings, new.settings)
            secrets = old.secrets | new.secrets
            if d.live:
                kept = LoadedConfig(effective(old.settings, new.settings, d), secrets, old.path)
                apply(self.daemon, kept, d, self.app, self.job_specs)
                self.version += 1
                self.loaded_at = dt.datetime.now(dt.UTC)
            result = "applied" if d.live else "unchanged"
            changed = [c.describe(secrets) for c in d.live]
            restart = [c.describe(secrets) for c in d.restart]
            self._sync_watch()
            self.rejected = []
            outcome = self._record(source, result, changed=changed, needs_restart=restart)
            logger.warning(
                "config reload (%s): %s, version %d; changed: %s; "
                "needs a restart (not applied): %s",
                source,
                result,
                self.version,
                ", ".join(changed) or "nothing",
                ", ".join(restart) or "nothing",
            )
            return outcome

    def _reject(self, source: str, problems: list[str]) -> dict[str, Any]:
        self.rejected = problems
        logger.error(
            "config rejected (%s), still running version %d: %s",
            source,
            self.version,
            "; ".join(problems),
        )
        return self._record(source, "rejected", problems=problems)

    def _record(self, source: str, result: str, **detail: list[str]) -> dict[str, Any]:
        self.results[result] += 1
        self.last = {
            "result": result,
            "source": source,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "changed": detail.get("changed", []),
            "needs_restart": detail.get("needs_restart", []),
            "problems": detail.get("problems", []),
        }
        return {**self.last, "version": self.version}

    def trigger(self, source: str) -> None:
        """Reload from a signal handler or a callback: on its own task, errors logged."""
        task = asyncio.get_running_loop().create_task(self._guarded(source), name="reload")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, source: str) -> None:
        try:
            await self.reload(source)
        except Exception:  # a bug in an owner's setter must not kill the signal handler's loop
            logger.exception("config reload (%s) failed", source)

    def status(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "loaded_at": self.loaded_at.isoformat(timespec="seconds"),
            "state": "rejected" if self.rejected else "ok",
            "rejected": list(self.rejected),
            "last_reload": dict(self.last),
            "watch": self._watch is not None and not self._watch.done(),
        }

    def metrics_text(self) -> str:
        """``weatheredge_reloads_total{result}`` in the Prometheus text format (rendered by
        prometheus_client like the feed's families), appended to them on /metrics."""
        from weatheredge.feed.metrics import counter, exposition

        values = {("result", r): float(self.results[r]) for r in RESULTS}
        help_text = "Config reloads by result."
        return exposition([counter("weatheredge_reloads", help_text, values)])

    # -- file watch -------------------------------------------------------------------------

    def _sync_watch(self) -> None:
        path = self.daemon.loaded.path
        want = bool(self.daemon.settings.reload.watch) and path is not None
        running = self._watch is not None and not self._watch.done()
        if want and not running:
            self._watch = asyncio.get_running_loop().create_task(
                self._watch_file(Path(path)), name="config-watch"
            )
        elif running and not want:
            self._stop_watch()

    def _stop_watch(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    async def _watch_file(self, path: Path) -> None:
        import watchfiles

        names = {path.name, "secrets.yaml"}
        # The directory, not the file: editors save by writing a new file and renaming it.
        async for _ in watchfiles.awatch(
            path.parent,
            watch_filter=lambda _change, p: Path(p).name in names,
            debounce=WATCH_DEBOUNCE_MS,
            step=10,
            recursive=False,
        ):
            await self._guarded("file watch")

    async def cleanup_ctx(self, app: web.Application) -> AsyncIterator[None]:
        self.app = app
        self._sync_watch()
        try:
            yield
        finally:
            self._stop_watch()
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*self._tasks, return_exceptions=True)


def add_routes(app: web.Application, key: web.AppKey[Daemon]) -> None:
    """``POST /api/v1/reload`` (a write: JSON and the X-Weatheredge header, see webui.guard)."""

    async def reload(request: web.Request) -> web.Response:
        await json_body(request)
        outcome = await request.app[key].reloader.reload("http")
        return web.json_response(outcome, status=422 if outcome["result"] == "rejected" else 200)

    app.router.add_post("/api/v1/reload", reload)
