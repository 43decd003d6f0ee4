"""What ``/status`` and ``/healthz`` say: the health verdict and the status document, built from
the daemon's state. No routes here (``web.py`` mounts them); the status page (``webui/``) reads
the same document, so both import this module and neither imports the other's routes."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

# The feed is unhealthy when subscribed but without a socket (or without data) this long.
FEED_GRACE_S = 60.0
JOB_FAILURES_UNHEALTHY = 3

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
    if stream.polling.state in ("failing", "rate_limited"):
        return f"market feed has not worked yet: polling {stream.polling.error}"
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


def _notify_status(notifier: Any) -> dict[str, Any]:
    if notifier is None:
        return {}
    return {
        "enabled": notifier.enabled,
        "sent": notifier.sent,
        "failed": notifier.failed,
        "dropped": notifier.dropped,
    }
