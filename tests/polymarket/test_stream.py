from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect

from tests.polymarket.conftest import VenueServer
from tests.polymarket.factories import f_labels, make_event
from tests.polymarket.helpers import eventually
from weatheredge.model.book import OrderBook
from weatheredge.model.prices import to_micros
from weatheredge.polymarket.stream import MarketStream, StreamGaveUp, backoff_delay
from weatheredge.polymarket.wire import (
    BookEvent,
    PriceChangeEvent,
    decode_market_frame,
    levels_to_micros,
)

pytestmark = pytest.mark.timeout(10)


class BookKeeper:
    """What the engine will do with frames, kept minimal: books per token, unsynced on drop."""

    def __init__(self) -> None:
        self.books: dict[str, OrderBook] = {}
        self.frames: list[str | bytes] = []
        self.errors: list[str] = []
        self.disconnects: list[str] = []
        self.connects = 0

    def on_frame(self, data: str | bytes, received_ns: int) -> None:
        assert received_ns > 0
        self.frames.append(data)
        decoded = decode_market_frame(data)
        self.errors += [e.kind for e in decoded.errors]
        for event in decoded.events:
            if isinstance(event, BookEvent):
                book = self.books.setdefault(event.asset_id, OrderBook())
                ts = int(event.timestamp)
                book.replace(levels_to_micros(event.bids), levels_to_micros(event.asks), ts)
            elif isinstance(event, PriceChangeEvent):
                for change in event.price_changes:
                    book = self.books.get(change.asset_id)
                    if book is not None and book.synced:
                        price, size = to_micros(change.price), to_micros(change.size)
                        book.set_level(change.side == "BUY", price, size, int(event.timestamp))

    def on_connected(self) -> None:
        self.connects += 1

    def on_disconnected(self, reason: str) -> None:
        self.disconnects.append(reason)
        for book in self.books.values():
            book.unsync()

    def snapshot(self, token: str) -> dict[str, dict[int, int]]:
        book = self.books[token]
        return {"bids": dict(book.bids), "asks": dict(book.asks)}


def venue_snapshot(server: VenueServer, token: str) -> dict[str, dict[int, int]]:
    wire = server.venue.book(token)
    return {
        side: {to_micros(lvl["price"]): to_micros(lvl["size"]) for lvl in wire[side]}
        for side in ("bids", "asks")
    }


def seed(server: VenueServer, city: str = "NYC", event_id: str = "1") -> list[str]:
    raw = make_event(city, event_id=event_id, labels=f_labels(middles=1))
    server.venue.add_event(raw)
    tokens = [t for m in raw["markets"] for t in json.loads(m["clobTokenIds"])]
    for yes in tokens[::2]:
        server.venue.set_book(yes, bids=[("0.38", "120"), ("0.40", "55.5")], asks=[("0.44", "80")])
    return tokens


class Sleeps:
    """Backoff sleeps as requested by the stream, shortened so tests stay fast."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(min(delay, 0.01))


@pytest.fixture
def keeper() -> BookKeeper:
    return BookKeeper()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def stream(
    venue_server: VenueServer, keeper: BookKeeper, sleeps: Sleeps
) -> AsyncIterator[MarketStream]:
    stream = MarketStream(
        venue_server.ws_url,
        keeper.on_frame,
        on_connected=keeper.on_connected,
        on_disconnected=keeper.on_disconnected,
        heartbeat_s=0.1,
        rng=random.Random(7),
        sleep=sleeps,
        close_timeout_s=0.2,
    )
    task = asyncio.create_task(stream.run())
    yield stream
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await eventually(lambda: venue_server.venue.client_count == 0)
    assert not stream.connected


async def test_no_connection_until_something_is_subscribed(
    venue_server: VenueServer, stream: MarketStream
) -> None:
    await asyncio.sleep(0.1)
    assert venue_server.venue.connections == 0 and not stream.connected
    stream.subscribe(["1"])
    await eventually(lambda: stream.connected)
    assert venue_server.venue.connections == 1


async def test_initial_frame_and_initial_dump(
    venue_server: VenueServer, stream: MarketStream, keeper: BookKeeper
) -> None:
    tokens = seed(venue_server)
    stream.subscribe(reversed(tokens))
    await eventually(lambda: len(keeper.books) == len(tokens))
    assert venue_server.venue.subscriptions_received == [
        {
            "type": "market",
            "assets_ids": sorted(tokens),
            "initial_dump": True,
            "custom_feature_enabled": True,
        }
    ]
    dump = json.loads(keeper.frames[0])
    assert isinstance(dump, list) and {b["event_type"] for b in dump} == {"book"}
    assert [lvl["price"] for lvl in dump[0]["bids"]] == sorted(
        (lvl["price"] for lvl in dump[0]["bids"]), key=float
    )
    assert keeper.connects == 1 and stream.frames_received >= 1
    for token in tokens:
        assert keeper.snapshot(token) == venue_snapshot(venue_server, token)


async def test_dynamic_subscribe_and_unsubscribe_without_reconnect(
    venue_server: VenueServer, stream: MarketStream, keeper: BookKeeper
) -> None:
    venue = venue_server.venue
    first, second = seed(venue_server, "NYC", "1"), seed(venue_server, "Miami", "2")
    stream.subscribe(first)
    await eventually(lambda: len(keeper.books) == len(first))
    stream.subscribe([*first[:2], *second])  # overlap must not be re-sent
    await eventually(lambda: len(keeper.books) == len(first) + len(second))
    stream.unsubscribe(first[:2])
    await eventually(lambda: len(venue.subscriptions_received) == 3)
    assert venue.subscriptions_received[1] == {
        "operation": "subscribe",
        "assets_ids": sorted(second),
        "custom_feature_enabled": True,
    }
    assert venue.subscriptions_received[2] == {
        "operation": "unsubscribe",
        "assets_ids": sorted(first[:2]),
    }
    assert venue.connections == 1 and venue.rejected_frames == [] and keeper.errors == []
    assert stream.subscriptions == frozenset(first[2:] + second)


async def test_ping_pong_keeps_the_socket(venue_server: VenueServer, stream: MarketStream) -> None:
    stream.subscribe(["1"])
    await eventually(lambda: stream.pongs_received >= 3)
    assert venue_server.venue.pings_received >= 3 and stream.pings_sent >= 3
    assert venue_server.venue.connections == 1 and stream.reconnects == 0
    status = stream.status()
    assert status["last_pong_age_s"] is not None and status["disconnected_for_s"] is None


async def test_missing_pongs_force_a_reconnect(
    venue_server: VenueServer, stream: MarketStream, keeper: BookKeeper
) -> None:
    venue_server.venue.faults.ignore_pings = True
    stream.subscribe(["1"])
    await eventually(lambda: keeper.disconnects != [])
    assert "no PONG" in keeper.disconnects[0]
    venue_server.venue.faults.ignore_pings = False
    await eventually(lambda: stream.connected and stream.reconnects == 1)


async def test_reconnect_after_server_drop_resubscribes_everything_and_books_converge(
    venue_server: VenueServer, stream: MarketStream, keeper: BookKeeper, sleeps: Sleeps
) -> None:
    venue = venue_server.venue
    first, second = seed(venue_server, "NYC", "1"), seed(venue_server, "Miami", "2")
    stream.subscribe(first)
    await eventually(lambda: len(keeper.books) == len(first))
    stream.subscribe(second)
    await eventually(lambda: len(keeper.books) == len(first) + len(second))
    venue.set_level(first[0], "BUY", "0.41", "25")

    await venue.drop_connections()
    await eventually(lambda: keeper.disconnects != [])
    # While we are away the book moves; the fresh snapshot must carry the change.
    venue.set_level(first[0], "SELL", "0.44", "0")
    venue.set_level(second[1], "BUY", "0.50", "10")
    await eventually(
        lambda: stream.reconnects == 1 and all(b.synced for b in keeper.books.values())
    )

    resubscribe = venue.subscriptions_received[-1]
    assert resubscribe["type"] == "market" and resubscribe["assets_ids"] == sorted(first + second)
    assert sleeps.delays and sleeps.delays[0] <= 0.5
    venue.set_level(second[0], "SELL", "0.43", "7")  # mirrored onto second[1] as a bid
    await eventually(lambda: keeper.books[second[1]].bids.get(570_000) == 7_000_000)
    for token in first + second:
        assert keeper.snapshot(token) == venue_snapshot(venue_server, token), token
    assert keeper.errors == [] and venue.rejected_frames == []


async def test_forced_reconnect_for_stale_data(
    venue_server: VenueServer, stream: MarketStream, keeper: BookKeeper
) -> None:
    tokens = seed(venue_server)
    stream.subscribe(tokens)
    await eventually(lambda: len(keeper.books) == len(tokens))
    await stream.reconnect("data stale for 120s")
    await eventually(lambda: stream.reconnects == 1 and stream.connected)
    assert keeper.disconnects == ["data stale for 120s"]
    assert [f.get("type") for f in venue_server.venue.subscriptions_received] == ["market"] * 2
    await eventually(lambda: all(b.synced for b in keeper.books.values()))


async def test_price_change_is_mirrored_in_one_frame(
    venue_server: VenueServer, stream: MarketStream, keeper: BookKeeper
) -> None:
    yes, no = seed(venue_server)[:2]
    stream.subscribe([yes, no])
    await eventually(lambda: len(keeper.books) == 2)
    venue_server.venue.set_level(yes, "BUY", "0.41", "25")
    await eventually(lambda: len(keeper.frames) == 2)
    (change,) = decode_market_frame(keeper.frames[1]).events
    assert isinstance(change, PriceChangeEvent)
    entries = {(c.asset_id, c.side, c.price, c.size) for c in change.price_changes}
    assert entries == {(yes, "BUY", "0.41", "25"), (no, "SELL", "0.59", "25")}
    by_asset = {c.asset_id: c for c in change.price_changes}
    assert (by_asset[yes].best_bid, by_asset[yes].best_ask) == ("0.41", "0.44")
    assert (by_asset[no].best_bid, by_asset[no].best_ask) == ("0.56", "0.59")


async def test_callback_errors_do_not_kill_the_stream(venue_server: VenueServer) -> None:
    tokens = seed(venue_server)
    calls: list[int] = []

    def explode(_data: str | bytes, ts: int) -> None:
        calls.append(ts)
        raise RuntimeError("consumer bug")

    stream = MarketStream(venue_server.ws_url, explode, heartbeat_s=0.05)
    stream.subscribe(tokens[:2])
    task = asyncio.create_task(stream.run())
    await eventually(lambda: stream.callback_errors == 1)
    venue_server.venue.set_level(tokens[0], "BUY", "0.30", "1")
    await eventually(lambda: stream.callback_errors == 2)
    assert stream.connected and stream.reconnects == 0
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_repeating_callback_error_logs_one_traceback_not_one_per_frame(
    venue_server: VenueServer, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = seed(venue_server)

    def explode(_data: str | bytes, _ts: int) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    stream = MarketStream(venue_server.ws_url, explode, heartbeat_s=0.05)
    stream.subscribe(tokens[:2])
    task = asyncio.create_task(stream.run())
    with caplog.at_level(logging.ERROR, logger="weatheredge.polymarket.stream"):
        await eventually(lambda: stream.callback_errors == 1)
        for i in range(30):
            venue_server.venue.set_level(tokens[0], "BUY", f"0.{10 + i}", "1")
        await eventually(lambda: stream.callback_errors == 31)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    lines = [r for r in caplog.records if "on_frame failed" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is not None  # the first one, with traceback
    assert stream.connected is False or stream.reconnects == 0


async def test_gives_up_after_reconnect_attempts(venue_server: VenueServer) -> None:
    venue_server.venue.faults.refuse_handshakes = 10
    sleeps = Sleeps()
    stream = MarketStream(venue_server.ws_url, lambda *_: None, reconnect_attempts=2, sleep=sleeps)
    stream.subscribe(["1"])
    with pytest.raises(StreamGaveUp):
        await stream.run()
    assert stream.connect_failures == 3 and len(sleeps.delays) == 2


def test_backoff_is_full_jitter_capped_and_starts_small() -> None:
    class Top(random.Random):
        def random(self) -> float:
            return 0.999999

    delays = [backoff_delay(n, base_s=0.5, cap_s=30.0, rng=Top()) for n in range(1, 12)]
    assert delays[0] < 0.5 and delays == sorted(delays) and max(delays) < 30.0
    assert backoff_delay(10_000, base_s=0.5, cap_s=30.0, rng=Top()) < 30.0
    assert backoff_delay(3, base_s=0.5, cap_s=30.0, rng=random.Random(1)) < 2.0


async def test_venue_market_channel_rules(venue_server: VenueServer) -> None:
    tokens = seed(venue_server)
    async with connect(venue_server.ws_url, ping_interval=None, proxy=None) as ws:
        await ws.send("PING")
        assert await ws.recv() == "PONG"
        await ws.send(json.dumps({"type": "market", "assets_ids": tokens[:2]}))
        dump = json.loads(await ws.recv())
        assert [b["asset_id"] for b in dump] == tokens[:2]
        await ws.send(json.dumps({"type": "market", "assets_ids": tokens[2:4]}))
        assert await ws.recv() == "INVALID OPERATION"
        await ws.send(json.dumps({"operation": "subscribe", "assets_ids": tokens[:1]}))
        assert await ws.recv() == "INVALID OPERATION"  # duplicate
        await ws.send(json.dumps({"operation": "unsubscribe", "assets_ids": tokens[:1]}))
        await ws.send(json.dumps({"operation": "subscribe", "assets_ids": tokens[:1]}))
        await ws.send("PING")
        assert await ws.recv() == "PONG"  # no second snapshot after re-subscribing
        await ws.send("hello")
        assert await ws.recv() == "INVALID OPERATION"


async def test_venue_closes_silent_clients(venue_server: VenueServer) -> None:
    async with connect(venue_server.ws_url, ping_interval=None, proxy=None) as ws:
        await asyncio.wait_for(ws.wait_closed(), timeout=2)
        assert ws.close_code == 1008


async def test_resolution_reaches_custom_feature_subscribers(
    venue_server: VenueServer, stream: MarketStream, keeper: BookKeeper
) -> None:
    raw = make_event(labels=f_labels(middles=1))
    venue_server.venue.add_event(raw)
    yes, no = json.loads(raw["markets"][1]["clobTokenIds"])
    stream.subscribe([yes, no])
    await eventually(lambda: stream.connected)
    venue_server.venue.tick_size_change(yes, "0.001")
    venue_server.venue.resolve_market(raw["markets"][1]["conditionId"], "Yes")
    await eventually(lambda: len(keeper.frames) >= 4)
    kinds = [type(e).__name__ for f in keeper.frames for e in decode_market_frame(f).events]
    assert kinds[-3:] == ["TickSizeChangeEvent", "TickSizeChangeEvent", "MarketResolvedEvent"]
    (resolved,) = decode_market_frame(keeper.frames[-1]).events
    assert resolved.winning_asset_id == yes  # type: ignore[union-attr]
