"""The daemon's own small web app: ``/healthz`` for monitors, ``/status`` for people and tools."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from aiohttp import web

# The feed is unhealthy when subscribed but without a socket (or without data) this long.
FEED_GRACE_S = 60.0
JOB_FAILURES_UNHEALTHY = 3


def add_routes(app: web.Application, key: web.AppKey[Any]) -> None:
    async def healthz(request: web.Request) -> web.Response:
        problems = health_problems(request.app[key])
        body = {"ok": not problems, "problems": problems}
        return web.json_response(body, status=200 if not problems else 503)

    async def status(request: web.Request) -> web.Response:
        return web.json_response(status_document(request.app[key]))

    async def index(request: web.Request) -> web.Response:
        return web.Response(text="weatheredge: see /status (JSON) and /healthz\n")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/status", status)
    app.router.add_get("/", index)


def health_problems(daemon: Any) -> list[str]:
    problems = []
    stream = daemon.stream
    engine = daemon.engine
    if stream is not None and engine is not None and engine.tokens:
        if not stream.connected:
            since = stream.disconnected_for()
            if since is None or since > FEED_GRACE_S:
                problems.append("market feed disconnected")
    for name, job in daemon.health.jobs.items():
        if job.failures_in_row >= JOB_FAILURES_UNHEALTHY:
            problems.append(f"job {name} failed {job.failures_in_row} times: {job.last_error}")
    return problems


def status_document(daemon: Any) -> dict[str, Any]:
    scheduler = daemon.scheduler
    jobs = {}
    for name, job in daemon.health.jobs.items():
        entry = job.as_dict()
        sched = scheduler.get_job(name) if scheduler is not None else None
        if sched is not None and sched.next_run_time is not None:
            entry["next_run"] = sched.next_run_time.isoformat(timespec="seconds")
        jobs[name] = entry
    stream = daemon.stream
    return {
        "mode": daemon.settings.mode.value,
        "started_at": daemon.started_at.isoformat(timespec="seconds"),
        "now": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "uptime_s": round(time.time() - daemon.started_at.timestamp(), 1),
        "feed": stream.status() if stream is not None else {"mode": "disabled"},
        "engine": daemon.engine.status() if daemon.engine is not None else {},
        "discovery": daemon.ctx.discovery if daemon.ctx is not None else {},
        "jobs": jobs,
        "degraded": dict(daemon.health.notes),
        "store": daemon.store.stats() if daemon.store is not None else {},
        "notify": _notify_status(daemon.notifier),
        "healthy": not health_problems(daemon),
    }


def _notify_status(notifier: Any) -> dict[str, Any]:
    if notifier is None:
        return {}
    return {
        "enabled": notifier.enabled,
        "sent": notifier.sent,
        "failed": notifier.failed,
        "dropped": notifier.dropped,
    }
