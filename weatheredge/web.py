"""The daemon's own small web app: ``/healthz`` for monitors, ``/status`` for people and tools."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from aiohttp import web

from weatheredge.feed.metrics import exposition, gauge

# The feed is unhealthy when subscribed but without a socket (or without data) this long.
FEED_GRACE_S = 60.0
JOB_FAILURES_UNHEALTHY = 3


def add_routes(app: web.Application, key: web.AppKey[Any]) -> None:
    async def healthz(request: web.Request) -> web.Response:
        verdict = health_verdict(request.app[key])
        # 503 only when unhealthy: a monitor should not page while the daemon is starting.
        body: dict[str, Any] = {"ok": verdict["state"] != UNHEALTHY, **verdict}
        stream = request.app[key].stream
        if stream is not None and hasattr(stream, "modes"):
            body["feed"] = stream.modes()  # mode per shard: live, syncing, polling, ...
        return web.json_response(body, status=503 if verdict["state"] == UNHEALTHY else 200)

    async def metrics(request: web.Request) -> web.Response:
        stream = request.app[key].stream
        text = stream.metrics_text() if stream is not None else ""
        reloader = getattr(request.app[key], "reloader", None)
        text += reloader.metrics_text() if reloader is not None else ""
        tape = getattr(request.app[key], "tape", None)
        if tape is not None:
            text += tape.metrics_text()
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
    from weatheredge.webui.guard import json_body

    async def halt(request: web.Request) -> web.Response:
        daemon = request.app[key]
        body = await json_body(request)  # a write: JSON only (see webui.guard)
        reason, cancel = body.get("reason") or "halted over HTTP", body.get("cancel")
        if not isinstance(reason, str) or not isinstance(cancel, bool | None):
            # "cancel": "no" is truthy: a typed field only, never a guess.
            return web.json_response(
                {"error": "reason must be a string and cancel true, false or null"}, status=400
            )
        cancelled = 0
        daemon.halted, daemon.halt_reason = True, reason
        if daemon.trading is not None:
            cancelled = await daemon.trading.halt(reason, cancel=cancel)
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


STARTING, HEALTHY, DEGRADED, UNHEALTHY = "starting", "healthy", "degraded", "unhealthy"
# What must have worked once before the daemon is more than "starting" (job name -> source).
REQUIRED_JOBS = {"discover_markets": "discovery", "refresh_forecasts": "forecasts"}


def health_verdict(daemon: Any) -> dict[str, Any]:
    """``state``: starting until discovery, forecasts and the feed have each worked once;
    unhealthy at once when one of them has failed without ever working (or by the long-running
    rules of ``health_problems``); degraded while a job fails now and then; else healthy."""
    problems = health_problems(daemon)
    waiting = []
    never_worked = []
    jobs = daemon.health.jobs
    discovery = jobs.get("discover_markets")
    nothing_to_watch = (
        discovery is not None
        and discovery.last_success is not None
        and (daemon.engine is None or not daemon.engine.tokens)
    )
    for name, source in REQUIRED_JOBS.items():
        job = jobs.get(name)
        if job is None or job.last_success is not None:
            continue
        if job.failures_in_row:
            never_worked.append(f"{source} has not worked yet: {job.last_error}")
        elif not (name == "refresh_forecasts" and nothing_to_watch):
            waiting.append(source)
    feed = _feed_first_success(daemon, nothing_to_watch)
    if feed is not None:
        (never_worked if feed else waiting).append(feed or "market feed")
    problems = never_worked + [p for p in problems if p not in never_worked]
    if problems:
        state = UNHEALTHY
    elif waiting:
        state = STARTING
    elif any(j.failures_in_row for j in jobs.values()):
        state = DEGRADED
    else:
        state = HEALTHY
    return {"state": state, "problems": problems, "waiting_for": waiting}


def _feed_first_success(daemon: Any, nothing_to_watch: bool) -> str | None:
    """None once the feed has worked (a shard live, a polling round applied) or has nothing to
    watch; "" while it has not yet; the reason when it has failed without ever working."""
    stream = daemon.stream
    if nothing_to_watch or stream is None or not hasattr(stream, "shards"):
        return None  # nothing to judge (tests with a bare stream)
    if stream.worked:
        return None
    active = [s for s in stream.shards if s.tokens]
    if getattr(stream, "poll_state", "") in ("failing", "rate_limited"):
        return f"market feed has not worked yet: polling {stream.poll_error}"
    for shard in active:
        # A connect that fails never reaches "reconnecting": the stream counts it instead.
        if shard.mode == "reconnecting" or shard.gave_up or shard.stream.failures_in_row:
            return f"market feed has not worked yet: {shard.stream.last_reason or shard.reason}"
    return ""


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
    verdict = health_verdict(daemon)
    trading = daemon.trading.status() if getattr(daemon, "trading", None) else {}
    return {
        "mode": daemon.settings.mode.value,
        # Config version, when it was loaded, and "rejected" with reasons after a bad reload.
        "config": daemon.reloader.status() if getattr(daemon, "reloader", None) else {},
        "started_at": daemon.started_at.isoformat(timespec="seconds"),
        "now": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "uptime_s": round(time.time() - daemon.started_at.timestamp(), 1),
        "feed": stream.status() if stream is not None else {"mode": "disabled"},
        "engine": daemon.engine.status() if daemon.engine is not None else {},
        "discovery": daemon.ctx.discovery if daemon.ctx is not None else {},
        # Report feeds: first deliveries per source, duplicates, disagreements, fallbacks; events
        # awaiting today's reports and published -> decision per station (issue 10).
        "observations": {**daemon.ctx.live.sources.status(), **daemon.ctx.live.race_status()}
        if daemon.ctx is not None
        else {},
        # Station schedules learnt from their reports, settlement agreement (issue 16).
        "model": daemon.ctx.live.status() if daemon.ctx is not None else {},
        "jobs": jobs,
        "degraded": dict(daemon.health.notes),
        "store": daemon.store.stats() if daemon.store is not None else {},
        "notify": _notify_status(daemon.notifier),
        "trading": trading,
        "healthy": verdict["state"] in (HEALTHY, DEGRADED),
        "health": verdict,
        "halted": bool(getattr(daemon, "halted", False) or trading.get("halted")),
        "halt_reason": getattr(daemon, "halt_reason", None)
        or "; ".join((trading.get("halts") or {}).values()),
        "tape": tape.status() if (tape := getattr(daemon, "tape", None)) else {"enabled": False},
    }


def observation_metrics(live: Any) -> str:
    """The observation race on /metrics (rendered by prometheus_client like the feed's):
    published -> decision per station, events awaiting reports, request rate."""
    race = live.race_summary()
    families = [
        gauge(
            f"weatheredge_report_published_to_decision_{q}_seconds",
            f"Report published by the weather service -> edges re-evaluated, {q}, per station.",
            {("station", icao): v[f"{q}_s"] for icao, v in race.items()},
        )
        for q in ("p50", "p90")
    ]
    families.append(
        gauge(
            "weatheredge_events_awaiting_reports",
            "Running days priced with no edge until today's reports are in hand.",
            len(live.race_status()["awaiting_reports"]),
        )
    )
    families.append(
        gauge(
            "weatheredge_metar_requests_last_hour",
            "aviationweather requests sent in the last hour.",
            live.requests_per_hour(dt.datetime.now(dt.UTC)),
        )
    )
    return exposition(families)


def _notify_status(notifier: Any) -> dict[str, Any]:
    if notifier is None:
        return {}
    return {
        "enabled": notifier.enabled,
        "sent": notifier.sent,
        "failed": notifier.failed,
        "dropped": notifier.dropped,
    }
