"""Chaos tests: every fault the venue can inject, against real loopback sockets.

For each fault: the feed survives, reconnects within the backoff bound, every token is
resubscribed exactly once, every book ends equal to the venue's own, no edge is ever decided on a
stale, unsynced or crossed book (checked by the sink as each decision is made), and episodes are
never duplicated (one open episode per token at a time, ids never reused).
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tests.feed.conftest import EDGE_BUCKET, RECONNECT_BOUND_S, Harness, eventually, harness
from weatheredge.model.edge import Change

pytestmark = pytest.mark.timeout(20)


def assert_healthy(h: Harness) -> None:
    assert h.task is not None and not h.task.done(), "the feed task ended"
    assert h.violations == []
    assert h.books_equal() == []


async def move_books(h: Harness) -> None:
    """Some venue activity on every event (mirrored YES/NO deltas)."""
    for i in range(len(h.events)):
        h.venue.set_level(h.yes(i, 3), "BUY", "0.41", "25")
        h.venue.set_level(h.yes(i, 4), "SELL", "0.47", "9")


async def test_drop_connection(h: Harness) -> None:
    since = len(h.venue.history)
    shards = len(h.feed.active_shards)
    assert shards == 3  # 6 events x 22 tokens, at most 50 per socket, events kept whole
    opens_before = sum(1 for s in h.bucket_signals if s.change is Change.OPEN)
    assert opens_before == len(h.events)  # one edge per event, opened once

    dropped_at = time.monotonic()
    await h.venue.drop_connections()
    h.venue.set_level(h.yes(0, 2), "SELL", "0.30", "5")  # moves while we are away
    await eventually(lambda: len([c for c in h.venue.history[since:] if not c.closed]) == shards)
    assert time.monotonic() - dropped_at < RECONNECT_BOUND_S * shards
    await h.settle()
    await move_books(h)
    await eventually(lambda: not h.books_equal())
    assert h.resubscribed_once(since) == []
    assert h.feed.status()["reconnects"] == shards
    closes = [s for s in h.bucket_signals if s.change is Change.CLOSE]
    assert {s.reason.split(":")[0] for s in closes} == {"feed lost"}
    assert_healthy(h)


async def test_stalled_data_with_pongs_is_caught_by_the_rest_watchdog() -> None:
    async with harness() as h:
        await h.settle()
        since = len(h.venue.history)
        pongs = sum(s.stream.pongs_received for s in h.feed.shards)
        h.venue.stall_data()  # silent freeze: PING/PONG fine, no more book data
        # The venue moves: on every event a new, better edge appears that we cannot see.
        cheap = {h.yes(i, 5) for i in range(len(h.events))}
        for token in cheap:
            h.venue.set_book(token, bids=[("0.10", "5")], asks=[("0.20", "40")])
        await eventually(lambda: h.feed.watchdog.stale_events >= 3, within=5)
        await h.settle()
        assert sum(s.stream.pongs_received for s in h.feed.shards) > pongs  # socket looked fine
        assert h.resubscribed_once(since) == []
        assert h.feed.status()["reconnects"] == 3  # every frozen socket was replaced
        opened = [
            s for s in h.bucket_signals if s.change is Change.OPEN and s.market.yes_token in cheap
        ]
        assert len(opened) == len(cheap)
        # decided on the fresh snapshot, after the reconnect, never on the stale book
        assert all(s.quote is not None and s.quote.price == 200_000 for s in opened)
        assert_healthy(h)


async def test_quiet_books_that_match_rest_are_left_alone() -> None:
    async with harness() as h:
        await h.settle()
        h.venue.stall_data()  # nothing moves, so the quiet books are still right
        await eventually(lambda: h.feed.watchdog.checks >= 6, within=5)
        assert h.feed.watchdog.stale_events == 0 and h.feed.status()["reconnects"] == 0
        assert_healthy(h)


async def test_half_open_socket_without_pongs_reconnects() -> None:
    async with harness(pong_timeout_beats=2) as h:
        await h.settle()
        since = len(h.venue.history)
        t0 = time.monotonic()
        h.venue.half_open()
        await eventually(lambda: h.feed.status()["reconnects"] == 3, within=5)
        # no PONG for 2 beats of 0.1 s, detected on the next beat, then backoff
        assert time.monotonic() - t0 < 0.3 + RECONNECT_BOUND_S * 3
        await h.settle()
        await move_books(h)
        await eventually(lambda: not h.books_equal())
        assert h.resubscribed_once(since) == []
        assert_healthy(h)


async def test_garbage_is_counted_dropped_and_logged_rate_limited(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    token = h.yes(0, 3)
    caplog.set_level(logging.WARNING, logger="weatheredge.engine")
    h.feed.engine.max_frame_bytes = 4096
    for _ in range(2):
        kinds = h.venue.send_garbage(token, oversize_bytes=5000)
    shards_seeing = sum(1 for c in h.venue._clients if token in c.assets)
    assert shards_seeing == 1
    # every socket (3) gets every bad frame, twice
    await eventually(lambda: sum(h.engine.bad_frames.values()) == 2 * 3 * len(kinds))
    assert h.engine.bad_frames == {kind: 6 for kind in kinds}
    # One log line per kind, not one per frame.
    lines = [r for r in caplog.records if "dropped bad market frame" in r.getMessage()]
    assert sorted(r.getMessage().split("(")[1].split(",")[0] for r in lines) == sorted(kinds)
    await move_books(h)
    await eventually(lambda: not h.books_equal())
    assert h.feed.status()["reconnects"] == 0
    assert_healthy(h)


async def test_handshakes_refused_with_429_honour_retry_after(h: Harness) -> None:
    since = len(h.venue.history)
    h.venue.faults.refuse_status = 429
    h.venue.faults.retry_after_s = 1
    h.venue.faults.refuse_handshakes = 3
    t0 = time.monotonic()
    await h.venue.drop_connections()
    await eventually(lambda: h.feed.status()["reconnects"] == 3, within=8)
    await h.settle()
    rate_limited = sum(s.stream.rate_limited for s in h.feed.shards)
    assert rate_limited == 3
    # Each refused shard waited the venue's Retry-After before trying again.
    assert time.monotonic() - t0 >= 1.0
    assert h.resubscribed_once(since) == []
    assert_healthy(h)


async def test_server_restart() -> None:
    async with harness() as h:
        await h.settle()
        since = len(h.venue.history)
        restarting = asyncio.create_task(h.restart_venue(down_s=0.5))
        await eventually(lambda: not h.feed.connected)
        h.venue.set_level(h.yes(1, 2), "SELL", "0.31", "5")  # moves while the venue is down
        await restarting
        up = time.monotonic()
        await eventually(lambda: h.feed.connected, within=5)
        assert time.monotonic() - up < RECONNECT_BOUND_S * 3
        await h.settle()
        assert h.resubscribed_once(since) == []
        assert_healthy(h)


async def test_duplicated_price_changes_are_harmless(h: Harness) -> None:
    h.venue.faults.duplicate_price_changes = True
    for size in ("10", "20", "0", "7"):
        h.venue.set_level(h.yes(0, 3), "BUY", "0.41", size)
        h.venue.set_level(h.yes(1, EDGE_BUCKET), "SELL", "0.43", size)
    await eventually(lambda: not h.books_equal())
    await asyncio.sleep(0.2)
    assert h.feed.status()["reconnects"] == 0 and h.engine.counters["desyncs"] == 0
    assert_healthy(h)


async def test_reordered_price_changes_are_detected_and_resynced(h: Harness) -> None:
    since = len(h.venue.history)
    h.venue.faults.reorder_price_changes = True
    token = h.yes(0, 3)
    h.venue.set_level(token, "BUY", "0.41", "10")
    h.venue.set_level(token, "BUY", "0.41", "20")  # arrives before the "10" frame
    await eventually(lambda: h.engine.counters["desyncs"] >= 1)
    h.venue.faults.reorder_price_changes = False
    await eventually(lambda: h.feed.status()["reconnects"] >= 1)
    await h.settle()
    assert h.engine.books[token].bids[410_000] == 20_000_000
    assert h.feed.status()["reconnects"] == 1  # only the socket that carried it
    assert h.resubscribed_once(since, h.feed._shard_of[token].tokens) == []
    assert_healthy(h)
