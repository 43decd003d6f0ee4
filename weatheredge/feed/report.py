"""What the feed reports: per-shard modes, ``/status``, ``/healthz`` problems and the Prometheus
exposition, read from the feed's own counters at request time (the hot path keeps plain ints)."""

from __future__ import annotations

import time
from typing import Protocol

from weatheredge.engine import Engine
from weatheredge.feed.config import FeedConfig
from weatheredge.feed.metrics import RateMeter, exposition
from weatheredge.feed.metrics import counter as _counter
from weatheredge.feed.metrics import gauge as _gauge
from weatheredge.feed.poller import BookPoller
from weatheredge.feed.polling import PollingFallback
from weatheredge.feed.shard import CONNECTING, IDLE, LIVE, MODES, POLLING, RECONNECTING, Shard
from weatheredge.feed.watchdog import Watchdog


class FeedView(Protocol):
    """The parts of ``FeedManager`` that reporting reads."""

    config: FeedConfig
    engine: Engine
    shards: list[Shard]
    poller: BookPoller
    rate: RateMeter
    watchdog: Watchdog
    polling: PollingFallback

    @property
    def subscriptions(self) -> frozenset[str]: ...
    @property
    def active_shards(self) -> list[Shard]: ...
    @property
    def connected(self) -> bool: ...
    def disconnected_for(self) -> float | None: ...


def modes(feed: FeedView) -> dict[str, str]:
    return {s.name: (s.mode if s.tokens else IDLE) for s in feed.shards}


def health_problems(feed: FeedView) -> list[str]:
    problems = []
    now = time.monotonic()
    grace = max(60.0, feed.config.poll_after_s)
    for shard in feed.active_shards:
        if shard.mode in (CONNECTING, RECONNECTING) and shard.down_since is not None:
            down = now - shard.down_since
            if down > grace:
                problems.append(f"market feed {shard.name} disconnected for {down:.0f}s")
        elif shard.mode == POLLING and feed.polling.fail_since is not None:
            failing = now - feed.polling.fail_since
            if failing > grace:
                problems.append(
                    f"market feed {shard.name} polling failing for {failing:.0f}s: "
                    f"{feed.polling.error}"
                )
    return problems


def status(feed: FeedView) -> dict[str, object]:
    shards = [s.status() for s in feed.shards]
    modes = [str(s["mode"]) for s in shards if s["tokens"]]
    if not modes:
        overall = IDLE
    elif all(m == LIVE for m in modes):
        overall = LIVE
    elif all(m == POLLING for m in modes):
        overall = POLLING
    else:
        overall = "degraded"
    return {
        "mode": overall,
        "websocket_enabled": feed.config.ws_enabled,
        "connected": feed.connected,
        "subscriptions": len(feed.subscriptions),
        "connections": sum(1 for s in feed.shards if s.stream.connected),
        "shards": shards,
        "reconnects": sum(s.stream.reconnects for s in feed.shards),
        "messages_per_s": round(feed.rate.rate, 1),
        "frames_received": feed.engine.frames,
        "stale_events": feed.watchdog.stale_events,
        "stale_books": feed.watchdog.stale_books,
        "desyncs": feed.engine.counters.get("desyncs", 0),
        "watchdog_checks": feed.watchdog.checks,
        "polling": {
            "state": feed.polling.state,
            "error": feed.polling.error,
            "rounds": feed.polling.rounds,
            **feed.poller.status(),
        },
        "disconnected_for_s": feed.disconnected_for(),
        "latency": feed.engine.latency.summary(),
        "bad_frames": bad_frames(feed),
    }


def bad_frames(feed: FeedView) -> dict[str, int]:
    """Dropped frames by kind; frames over ``max_size`` fail the socket inside the transport,
    so the streams count those and they are added here under ``oversize``."""
    counts = dict(feed.engine.bad_frames)
    socket_oversize = sum(s.stream.oversize_frames for s in feed.shards)
    if socket_oversize:
        counts["oversize"] = counts.get("oversize", 0) + socket_oversize
    return counts


def metrics_text(feed: FeedView) -> str:
    """Prometheus text exposition (prometheus_client renders it; the families are built
    from the feed's own counters at scrape time, so the hot path keeps plain integers)."""
    engine = feed.engine
    families = [
        engine.latency.family(
            "weatheredge_feed_decision_latency_seconds",
            "Receive-to-decision latency per price_change frame (snapshots excluded).",
        ),
        _counter("weatheredge_feed_frames_total", "Market frames received.", engine.frames),
        _counter(
            "weatheredge_feed_messages_total",
            "Market events decoded (a frame may carry several).",
            engine.messages,
        ),
        _gauge(
            "weatheredge_feed_messages_per_second",
            "Frames per second, smoothed.",
            feed.rate.rate,
        ),
        _counter(
            "weatheredge_feed_reconnects_total",
            "Socket reconnects per shard.",
            {("shard", s.name): s.stream.reconnects for s in feed.shards},
        ),
        _counter(
            "weatheredge_feed_stale_events_total",
            "Watchdog findings of stale books (each forced a reconnect).",
            feed.watchdog.stale_events,
        ),
        _counter(
            "weatheredge_feed_desyncs_total",
            "Books found out of sync on the hot path (top of book, order).",
            engine.counters.get("desyncs", 0),
        ),
        _counter(
            "weatheredge_feed_bad_frames_total",
            "Dropped market frames by kind.",
            {("kind", k): v for k, v in sorted(bad_frames(feed).items())},
        ),
        _gauge(
            "weatheredge_feed_shard_mode",
            "1 for the current mode of each shard.",
            {
                (("shard", s.name), ("mode", m)): int((s.mode if s.tokens else IDLE) == m)
                for s in feed.shards
                for m in MODES
            },
        ),
        _gauge(
            "weatheredge_feed_shard_tokens",
            "Tokens subscribed per shard.",
            {("shard", s.name): len(s.tokens) for s in feed.shards},
        ),
        _gauge(
            "weatheredge_feed_books_synced",
            "Books currently trusted.",
            engine.market.synced_count(),
        ),
        _counter(
            "weatheredge_feed_poll_requests_total", "POST /books calls.", feed.poller.requests
        ),
        _counter(
            "weatheredge_feed_poll_rate_limited_total",
            "POST /books calls answered 429.",
            feed.poller.rate_limited,
        ),
        _counter(
            "weatheredge_edges_total",
            "Edge episode changes.",
            {
                ("change", c): engine.counters.get(f"edges_{c}", 0)
                for c in ("open", "update", "close")
            },
        ),
    ]
    return exposition(families)
