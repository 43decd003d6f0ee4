"""The daemon's own small web app: ``/healthz`` for monitors, ``/status`` for people and tools."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from weatheredge.daemon import Daemon
from weatheredge.feed.metrics import exposition, gauge
from weatheredge.model.live import LiveState

# The documents themselves are built in weatheredge.status, which the status page (webui/)
# reads too: it never imports this module back.
from weatheredge.status import UNHEALTHY, health_verdict, status_document


def add_routes(app: web.Application, key: web.AppKey[Daemon]) -> None:
    async def healthz(request: web.Request) -> web.Response:
        verdict = health_verdict(request.app[key])
        # 503 only when unhealthy: a monitor should not page while the daemon is starting.
        body: dict[str, Any] = {"ok": verdict["state"] != UNHEALTHY, **verdict}
        services = request.app[key].services
        if services is not None:
            body["feed"] = services.stream.modes()  # mode per shard: live, syncing, polling, ...
        return web.json_response(body, status=503 if verdict["state"] == UNHEALTHY else 200)

    async def metrics(request: web.Request) -> web.Response:
        daemon = request.app[key]
        text = ""
        if daemon.services is not None:
            text += daemon.services.stream.metrics_text()
        if daemon.reloader is not None:
            text += daemon.reloader.metrics_text()
        if daemon.services is not None and daemon.services.tape is not None:
            text += daemon.services.tape.metrics_text()
        if daemon.services is not None:
            text += observation_metrics(daemon.services.ctx.live)
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


def add_trading_routes(app: web.Application, key: web.AppKey[Daemon]) -> None:
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


def observation_metrics(live: LiveState) -> str:
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
