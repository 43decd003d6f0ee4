"""The feed's settings as the feed reads them: ``FeedSettings``/``WebsocketSettings`` values in
seconds-suffixed fields, plus internal timings that are not configurable. Every configurable
default lives in :mod:`weatheredge.config`; the fields here take theirs from it."""

from __future__ import annotations

from dataclasses import dataclass

from weatheredge.config import FeedSettings, JobSettings, Settings, WebsocketSettings

_FEED = FeedSettings()
_WS = WebsocketSettings()


def confirm_delay(watchdog_interval: float) -> float:
    """How long a suspected book waits before its second REST look."""
    return min(1.0, watchdog_interval / 4)


def tick(watchdog_interval: float) -> float:
    """How often the feed re-decides each shard's mode."""
    return min(0.25, watchdog_interval / 4)


@dataclass(frozen=True, slots=True)
class FeedConfig:
    ws_url: str
    clob_url: str
    ws_enabled: bool = _WS.enabled
    max_tokens_per_connection: int = _FEED.max_tokens_per_connection
    connect_stagger_s: float = _FEED.connect_stagger
    heartbeat_s: float = _WS.heartbeat_interval
    pong_timeout_beats: int = 3
    reconnect_attempts: int = _WS.reconnect_attempts
    backoff_base_s: float = _FEED.backoff_base
    backoff_cap_s: float = _FEED.backoff_cap
    stable_after_s: float = _FEED.stable_after
    stale_after_s: float = _FEED.stale_after
    watchdog_interval_s: float = _FEED.watchdog_interval
    sync_timeout_s: float = _FEED.sync_timeout
    confirm_delay_s: float = confirm_delay(_FEED.watchdog_interval)
    proactive_reconnect_s: float = _FEED.proactive_reconnect
    poll_after_s: float = _FEED.poll_after
    poll_interval_s: float = JobSettings().poll_interval
    poll_max_requests_per_10s: int = _FEED.poll_max_requests_per_10s
    max_frame_bytes: int = _FEED.max_frame_bytes
    tick_s: float = tick(_FEED.watchdog_interval)
    desync_reconnect_gap_s: float = 2.0
    open_timeout_s: float = 10.0
    close_timeout_s: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedConfig:
        feed, ws = settings.feed, settings.websocket
        return cls(
            ws_url=settings.polymarket.ws_url,
            clob_url=settings.polymarket.clob_url,
            ws_enabled=ws.enabled,
            max_tokens_per_connection=feed.max_tokens_per_connection,
            connect_stagger_s=feed.connect_stagger,
            heartbeat_s=ws.heartbeat_interval,
            reconnect_attempts=ws.reconnect_attempts,
            backoff_base_s=feed.backoff_base,
            backoff_cap_s=feed.backoff_cap,
            stable_after_s=feed.stable_after,
            stale_after_s=feed.stale_after,
            watchdog_interval_s=feed.watchdog_interval,
            sync_timeout_s=feed.sync_timeout,
            confirm_delay_s=confirm_delay(feed.watchdog_interval),
            proactive_reconnect_s=feed.proactive_reconnect,
            poll_after_s=feed.poll_after,
            poll_interval_s=settings.jobs.poll_interval,
            poll_max_requests_per_10s=feed.poll_max_requests_per_10s,
            max_frame_bytes=feed.max_frame_bytes,
            tick_s=tick(feed.watchdog_interval),
        )
