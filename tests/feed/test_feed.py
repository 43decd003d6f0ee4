"""Sharding, polling fallback, proactive reconnects, metrics: the feed's behaviour over real
loopback sockets against the simulated venue."""

from __future__ import annotations

import asyncio
import itertools
import logging

import pytest

from tests.conftest import running_daemon
from tests.feed.conftest import Harness, eventually, harness
from weatheredge.config import parse_config
from weatheredge.feed.config import FeedConfig
from weatheredge.feed.shard import LIVE, POLLING
from weatheredge.model.edge import Change
from weatheredge.sandbox import Sandbox

pytestmark = pytest.mark.timeout(20)


async def test_shards_respect_the_limit_keep_events_whole_and_open_staggered() -> None:
    async with harness(5, connect_stagger_s=0.15) as h:
        await h.settle()
        shards = h.feed.active_shards
        assert [len(s.tokens) for s in shards] == [44, 44, 22]  # 22 tokens per event, max 50
        for event in h.events:
            owners = {h.feed._shard_of[t].index for t in event.token_ids()}
            assert len(owners) == 1
        opened = sorted(c.opened_at for c in h.venue.history)
        assert len(opened) == 3
        assert all(b - a >= 0.14 for a, b in itertools.pairwise(opened))
        # Each socket's initial frame carries its own tokens, with initial_dump.
        for client in h.venue.history:
            first = client.frames[0]
            assert first["type"] == "market" and first["initial_dump"] is True
        assert sorted(t for c in h.venue.history for t in c.subscribed_ids) == sorted(h.tokens)

        # A new event joins the socket with room, without reconnecting; the next one needs a new
        # socket.
        added = h.add_event(5)
        await eventually(lambda: all(h.engine.books[t].synced for t in added))
        assert len(h.venue.history) == 3
        joined = h.feed._shard_of[added[0]]
        assert joined.index == 2 and len(joined.tokens) == 44
        update = next(c for c in h.venue.history if added[0] in c.subscribed_ids).frames[-1]
        assert update["operation"] == "subscribe" and sorted(update["assets_ids"]) == sorted(added)
        more = h.add_event(6)
        await h.settle()
        assert len(h.venue.history) == 4 and h.feed._shard_of[more[0]].index == 3
        assert h.violations == []


async def test_resolved_market_is_unsubscribed(h: Harness) -> None:
    market = h.events[0].markets[2]
    h.venue.resolve_market(market.condition_id, "Yes")
    pair = {market.yes_token, market.no_token}
    await eventually(lambda: not pair & h.feed.subscriptions)
    client = next(c for c in h.venue._clients if market.yes_token in c.ever)
    await eventually(lambda: client.frames[-1].get("operation") == "unsubscribe")
    assert set(client.frames[-1]["assets_ids"]) == pair
    assert not pair & client.assets
    assert h.violations == []


async def test_polling_fallback_while_the_socket_is_down_and_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with harness(poll_after_s=0.3) as h:
        await h.settle()
        venue = h.venue
        venue.faults.refuse_handshakes = 10**6
        await venue.drop_connections()
        await eventually(lambda: all(s.mode == POLLING for s in h.feed.active_shards), within=5)
        assert h.feed.status()["mode"] == POLLING
        assert h.feed.health_problems() == []  # degraded latency, but edges flow

        # Edges keep flowing from REST: a new cheap ask opens an episode while polling.
        cheap = h.yes(0, 5)
        venue.set_book(cheap, bids=[("0.10", "5")], asks=[("0.20", "40")])
        await eventually(
            lambda: any(
                s.change is Change.OPEN and s.market.yes_token == cheap for s in h.bucket_signals
            )
        )
        await eventually(lambda: not h.books_equal())

        # A 429 on /books stops every poll until Retry-After has passed.
        venue.faults.rate_limit_books, venue.faults.retry_after_s = 1, 1
        requests = venue.requests["/books"]
        await eventually(lambda: h.feed.poller.rate_limited == 1)
        await asyncio.sleep(0.6)
        assert venue.requests["/books"] == requests + 1  # nothing while blocked
        await eventually(lambda: venue.requests["/books"] > requests + 1, within=3)

        # The venue takes sockets again: back to streaming, the episode is not duplicated.
        attempts = sum(s.stream.connect_failures for s in h.feed.shards)
        assert attempts >= 6
        venue.faults.refuse_handshakes = 0
        await h.settle()
        assert all(s.mode == LIVE for s in h.feed.active_shards)
        opens = [s for s in h.bucket_signals if s.market.yes_token == cheap]
        assert [s.change for s in opens] == [Change.OPEN]  # still the same open episode
        assert h.violations == []

    # One log line per change of state, not one per failed attempt.
    shard0 = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.INFO and "shard-0" in r.getMessage()
    ]
    transitions = [m for m in shard0 if m.startswith("feed shard-0:")]
    assert [m.split(": ", 1)[1].split(" (")[0] for m in transitions][:5] == [
        "idle -> connecting",
        "connecting -> syncing",
        "syncing -> live",
        "live -> reconnecting",
        "reconnecting -> polling",
    ]
    assert len(shard0) <= len(transitions) + 3  # the stream adds at most a line per outage
    polls = [r for r in caplog.records if r.getMessage().startswith("feed polling:")]
    assert len(polls) <= 6


async def test_websocket_disabled_polls_every_shard() -> None:
    async with harness(ws_enabled=False) as h:
        await eventually(lambda: not h.books_equal())
        assert set(h.feed.modes().values()) == {POLLING}
        assert h.venue.history == []
        assert sum(1 for s in h.bucket_signals if s.change is Change.OPEN) == len(h.events)
        assert h.feed.health_problems() == []
        assert h.violations == []


async def test_proactive_reconnects_are_staggered_one_socket_at_a_time() -> None:
    async with harness(proactive_reconnect_s=0.6) as h:
        await h.settle()
        most_down = 0
        for _ in range(150):
            await asyncio.sleep(0.01)
            down = sum(1 for s in h.feed.active_shards if not s.stream.connected)
            most_down = max(most_down, down)
        await h.settle()
        assert sum(s.proactive_reconnects for s in h.feed.shards) >= 3
        assert most_down <= 1
        assert h.violations == []


async def test_metrics_text(h: Harness) -> None:
    h.venue.send_raw("nope")
    await eventually(lambda: h.engine.bad_frames["not_json"] == 3)
    assert h.engine.latency.count == 0  # the snapshot burst is not decision latency
    h.venue.set_level(h.yes(0, 3), "BUY", "0.41", "25")
    await eventually(lambda: h.engine.latency.count >= 1)
    h.feed.tick()
    text = h.feed.metrics_text()
    lines = set(text.splitlines())
    assert "# TYPE weatheredge_feed_decision_latency_seconds histogram" in lines
    assert 'weatheredge_feed_bad_frames_total{kind="not_json"} 3.0' in lines
    assert 'weatheredge_feed_shard_mode{mode="live",shard="shard-0"} 1.0' in lines
    assert 'weatheredge_feed_shard_mode{mode="polling",shard="shard-0"} 0.0' in lines
    assert 'weatheredge_feed_reconnects_total{shard="shard-1"} 0.0' in lines
    count = next(
        x for x in lines if x.startswith("weatheredge_feed_decision_latency_seconds_count")
    )
    # Timed: price_change frames only; the snapshot burst and bad frames are not latency.
    assert 0 < float(count.split()[1]) < h.engine.frames
    status = h.feed.status()
    assert status["mode"] == LIVE and status["latency"]["count"] > 0
    assert [s["mode"] for s in status["shards"]] == [LIVE] * 3


def test_feed_config_from_settings() -> None:
    loaded = parse_config("feed: {max_tokens_per_connection: 120, poll_after: 9}\n", env={})
    cfg = FeedConfig.from_settings(loaded.settings)
    assert cfg.max_tokens_per_connection == 120 and cfg.poll_after_s == 9
    defaults = FeedConfig.from_settings(parse_config("", env={}).settings)
    assert defaults.max_tokens_per_connection == 200
    assert defaults.backoff_base_s <= 0.5 and defaults.backoff_cap_s <= 30


async def test_daemon_serves_metrics_and_feed_modes(sandbox: Sandbox, tmp_path) -> None:
    import aiohttp

    async with running_daemon(sandbox, tmp_path / "we.db") as (daemon, base):
        await eventually(lambda: daemon.engine.status()["books_synced"] == 88, within=10)
        await eventually(lambda: daemon.stream.status()["mode"] == LIVE, within=5)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/metrics") as resp:
                assert resp.status == 200
                assert resp.content_type == "text/plain"
                metrics = await resp.text()
            async with http.get(f"{base}/healthz") as resp:
                health = await resp.json()
            async with http.get(f"{base}/status") as resp:
                status = await resp.json()
    assert 'weatheredge_feed_shard_mode{mode="live",shard="shard-0"} 1.0' in metrics
    assert health["feed"] == {"shard-0": "live"}
    assert status["feed"]["shards"][0]["tokens"] == 88
    assert status["feed"]["connected"] is True


async def test_socket_level_oversize_frames_show_in_status_and_metrics(h: Harness) -> None:
    # A frame over the socket's max_size never reaches the engine: the transport fails the
    # socket (close 1009) and the stream counts it. The feed must still report it.
    h.feed.engine.bad_frames["oversize"] = 1  # one caught by the engine's own bound
    h.feed.shards[0].stream.oversize_frames = 2
    status = h.feed.status()
    assert status["bad_frames"]["oversize"] == 3
    assert status["shards"][0]["oversize_frames"] == 2
    assert 'weatheredge_feed_bad_frames_total{kind="oversize"} 3.0' in h.feed.metrics_text()
