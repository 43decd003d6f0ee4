"""What ``/status`` and ``/healthz`` say: the health verdict and the status document, built from
the daemon's state. No routes here (``web.py`` mounts them); the status page (``webui/``) reads
the same document, so both import this module and neither imports the other's routes."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from weatheredge.daemon import Daemon
from weatheredge.notify import Notifier

JOB_FAILURES_UNHEALTHY = 3

STARTING, HEALTHY, DEGRADED, UNHEALTHY = "starting", "healthy", "degraded", "unhealthy"
# What must have worked once before the daemon is more than "starting" (job name -> source).
REQUIRED_JOBS = {"discover_markets": "discovery", "refresh_forecasts": "forecasts"}


def health_verdict(daemon: Daemon) -> dict[str, Any]:
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
        and (daemon.services is None or not daemon.services.engine.market.token_count())
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


def _feed_first_success(daemon: Daemon, nothing_to_watch: bool) -> str | None:
    """None once the feed has worked (a shard live, a polling round applied) or has nothing to
    watch; "" while it has not yet; the reason when it has failed without ever working."""
    if nothing_to_watch or daemon.services is None:
        return None  # nothing to judge
    stream = daemon.services.stream
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


def health_problems(daemon: Daemon) -> list[str]:
    problems = []
    if daemon.services is not None:  # per shard; polling counts as healthy
        problems.extend(daemon.services.stream.health_problems())
    for name, job in daemon.health.jobs.items():
        if job.failures_in_row >= JOB_FAILURES_UNHEALTHY:
            problems.append(f"job {name} failed {job.failures_in_row} times: {job.last_error}")
    return problems


def status_document(daemon: Daemon) -> dict[str, Any]:
    services = daemon.services
    jobs = {}
    for name, job in daemon.health.jobs.items():
        entry = job.as_dict()
        sched = services.scheduler.get_job(name) if services is not None else None
        if sched is not None and sched.next_run_time is not None:
            entry["next_run"] = sched.next_run_time.isoformat(timespec="seconds")
        jobs[name] = entry
    verdict = health_verdict(daemon)
    trading = services.trading.status() if services and services.trading else {}
    ctx = services.ctx if services is not None else None
    tape = services.tape if services is not None else None
    return {
        "mode": daemon.settings.mode.value,
        # Config version, when it was loaded, and "rejected" with reasons after a bad reload.
        "config": daemon.reloader.status() if daemon.reloader is not None else {},
        "started_at": daemon.started_at.isoformat(timespec="seconds"),
        "now": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "uptime_s": round(time.time() - daemon.started_at.timestamp(), 1),
        "feed": services.stream.status() if services is not None else {"mode": "disabled"},
        "engine": services.engine.status() if services is not None else {},
        "discovery": ctx.discovery if ctx is not None else {},
        # Report feeds: first deliveries per source, duplicates, disagreements, fallbacks; events
        # awaiting today's reports and published -> decision per station (issue 10).
        "observations": {**ctx.live.sources.status(), **ctx.live.race_status()}
        if ctx is not None
        else {},
        # Station schedules learnt from their reports, settlement agreement (issue 16).
        "model": ctx.live.status() if ctx is not None else {},
        "jobs": jobs,
        "degraded": dict(daemon.health.notes),
        "store": services.store.stats() if services is not None else {},
        "notify": _notify_status(services.notifier) if services is not None else {},
        "trading": trading,
        "healthy": verdict["state"] in (HEALTHY, DEGRADED),
        "health": verdict,
        "halted": daemon.halted or bool(trading.get("halted")),
        "halt_reason": daemon.halt_reason or "; ".join((trading.get("halts") or {}).values()),
        "tape": tape.status() if tape is not None else {"enabled": False},
    }


def _notify_status(notifier: Notifier) -> dict[str, Any]:
    return {
        "enabled": notifier.enabled,
        "sent": notifier.sent,
        "failed": notifier.failed,
        "dropped": notifier.dropped,
    }
