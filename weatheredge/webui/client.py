"""`weatheredge status`: ask the running daemon's /status and print a readable summary."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from weatheredge.failures import describe


def fetch_status(base_url: str, *, token: str | None = None, timeout: float = 5.0) -> dict:
    """GET <base>/status. Raises OSError (connection refused, timeout, HTTP error)."""
    request = urllib.request.Request(f"{base_url}/status", headers={"Accept": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    # No proxy: the daemon is on this box (or the LAN), never behind an environment proxy.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as resp:
            return json.loads(resp.read().decode())
    except urllib.error.HTTPError as err:
        if err.code == 401:
            raise OSError("401 unauthorized: set web.token in the config (or pass -c)") from None
        raise OSError(f"HTTP {err.code}") from None
    except urllib.error.URLError as err:
        reason = err.reason
        raise OSError(describe(reason) if isinstance(reason, BaseException) else reason) from None
    except TimeoutError:
        raise OSError("timed out") from None


def _age(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return "–"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def format_status(doc: dict[str, Any], url: str, resume: str = "weatheredge resume") -> str:
    """``resume``: the command that lifts a halt, with the ``-c`` the user gave."""
    feed = doc.get("feed", {})
    engine = doc.get("engine", {})
    health = doc.get("health") or {}
    state = str(health.get("state") or ("healthy" if doc.get("healthy") else "unhealthy"))
    # A halted daemon is never reported HEALTHY: the halt is what a reader must see first.
    headline = "HALTED" + ("" if state == "healthy" else f" and {state.upper()}")
    lines = [
        f"weatheredge at {url}: {headline if doc.get('halted') else state.upper()}, "
        f"mode {str(doc.get('mode', '?')).upper()}, up {_age(doc.get('uptime_s'))}",
        f"  feed: {feed.get('mode', 'connected' if feed.get('connected') else 'disconnected')}"
        f", {engine.get('books_synced', 0)}/{engine.get('tokens', 0)} books synced"
        + (f", {feed['messages_per_s']} msg/s" if "messages_per_s" in feed else ""),
        f"  events: {engine.get('events', 0)} ({engine.get('priced_events', 0)} priced), "
        f"open edges: {engine.get('open_edges', 0)}",
    ]
    if doc.get("halted"):
        lines.append(f"  HALTED: {doc.get('halt_reason') or 'no reason given'} ({resume})")
    for problem in health.get("problems") or []:
        lines.append(f"  problem: {problem}")
    if state == "starting":
        lines.append(f"  starting: waiting for {', '.join(health.get('waiting_for') or [])}")
    for shard in feed.get("shards", []) if isinstance(feed.get("shards"), list) else []:
        lines.append(
            f"    shard {shard.get('shard', '?')}: {shard.get('mode', '?')}, "
            f"{shard.get('tokens', 0)} tokens, "
            f"last message {_age(shard.get('last_message_age_s'))} ago"
        )
    jobs = doc.get("jobs", {})
    if jobs:
        lines.append("  jobs:")
        for name, job in jobs.items():
            state = (
                f"FAILING x{job['failures_in_row']}: {job.get('last_error')}"
                if job.get("failures_in_row")
                else "ok"
            )
            lines.append(
                f"    {name:<20} runs {job.get('runs', 0):<4} last {job.get('last_run') or '–'}"
                f"  next {job.get('next_run') or '–'}  {state}"
            )
    for component, why in (doc.get("degraded") or {}).items():
        lines.append(f"  degraded: {component}: {why}")
    return "\n".join(lines)


def exit_code(doc: dict[str, Any]) -> int:
    """0 healthy, degraded or starting; 1 unhealthy or halted."""
    state = (doc.get("health") or {}).get("state")
    unhealthy = state == "unhealthy" if state else not doc.get("healthy", True)
    return 1 if unhealthy or doc.get("halted") else 0
