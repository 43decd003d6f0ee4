"""The daemon's own small web app: ``/healthz`` for monitors, ``/status`` for people and tools."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from aiohttp import web

from weatheredge.feed.metrics import Exposition

# The feed is unhealthy when subscribed but without a socket (or without data) this long.
FEED_GRACE_S = 60.0
JOB_FAILURES_UNHEALTHY = 3


def add_routes(app: web.Application, key: web.AppKey[Any]) -> None:
    async def healthz(request: web.Request) -> web.Response:
        problems = health_problems(request.app[key])
        body = {"ok": not problems, "problems": problems}
        stream = request.app[key].stream
        if stream is not None and hasattr(stream, "modes"):
            body["feed"] = stream.modes()  # mode per shard: live, syncing, polling, ...
        return web.json_response(body, status=200 if not problems else 503)

    async def metrics(request: web.Request) -> web.Response:
        stream = request.app[key].stream
        text = stream.metrics_text() if stream is not None else ""
        ctx = request.app[key].ctx
        if ctx is not None:
            text += observation_metrics(ctx.live)
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    async def status(request: web.Request) -> web.Response:
        return web.json_response(status_document(request.app[key]))

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/status", status)
    app.router.add_get("/metrics", metrics)  # Prometheus text format (issue 3)
    # The status page (/), its JSON API (/api/v1/...) and the access check (web.token).
    from weatheredge import webui

    webui.add_routes(app, key)
    add_trading_routes(app, key)


def add_trading_routes(app: web.Application, key: web.AppKey[Any]) -> None:
    """Kill switch (issue 5): POST /api/v1/trading/halt {reason, cancel}, /resume; GET state.
    Behind the same access check as every other route (web.token, or loopback only)."""

    async def halt(request: web.Request) -> web.Response:
        daemon = request.app[key]
        body = await request.json() if request.can_read_body else {}
        reason = str(body.get("reason") or "halted over HTTP")
        cancelled = 0
        daemon.halted, daemon.halt_reason = True, reason
        if daemon.trading is not None:
            cancelled = await daemon.trading.halt(reason, cancel=body.get("cancel"))
        return web.json_response({"halted": True, "reason": reason, "cancelled": cancelled})

    async def resume(request: web.Request) -> web.Response:
        daemon = request.app[key]
        daemon.halted, daemon.halt_reason = False, None
        if daemon.trading is not None:
            await daemon.trading.resume()
        return web.json_response({"halted": False})

    async def state(request: web.Request) -> web.Response:
        trading = request.app[key].trading
        return web.json_response(trading.status() if trading is not None else {"enabled": False})

    app.router.add_post("/api/v1/trading/halt", halt)
    app.router.add_post("/api/v1/trading/resume", resume)
    app.router.add_get("/api/v1/trading", state)


def health_problems(daemon: Any) -> list[str]:
    problems = []
    stream = daemon.stream
    engine = daemon.engine
    if stream is not None and hasattr(stream, "health_problems"):
        problems.extend(stream.health_problems())  # per shard; polling counts as healthy
    elif stream is not None and engine is not None and engine.tokens:
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
        # Station reports (issue 10): events awaiting today's reports, published -> decision.
        "observations": daemon.ctx.live.status() if daemon.ctx is not None else {},
        "jobs": jobs,
        "degraded": dict(daemon.health.notes),
        "store": daemon.store.stats() if daemon.store is not None else {},
        "notify": _notify_status(daemon.notifier),
        "trading": daemon.trading.status() if getattr(daemon, "trading", None) else {},
        "healthy": not health_problems(daemon),
    }


def observation_metrics(live: Any) -> str:
    """Prometheus lines for the observation race: published -> decision per station."""
    out = Exposition()
    race = live.race_summary()
    for q in ("p50", "p90"):
        out.family(
            f"weatheredge_report_published_to_decision_{q}_seconds",
            "gauge",
            f"Report published by the weather service -> edges re-evaluated, {q}, per station.",
            [({"station": icao}, v[f"{q}_s"]) for icao, v in race.items()],
        )
    out.scalar(
        "weatheredge_events_awaiting_reports",
        "gauge",
        "Running days priced with no edge until today's reports are in hand.",
        len(live.status()["awaiting_reports"]),
    )
    out.scalar(
        "weatheredge_metar_requests_last_hour",
        "gauge",
        "aviationweather requests sent in the last hour.",
        live.requests_per_hour(dt.datetime.now(dt.UTC)),
    )
    return out.text()


def _notify_status(notifier: Any) -> dict[str, Any]:
    if notifier is None:
        return {}
    return {
        "enabled": notifier.enabled,
        "sent": notifier.sent,
        "failed": notifier.failed,
        "dropped": notifier.dropped,
    }
