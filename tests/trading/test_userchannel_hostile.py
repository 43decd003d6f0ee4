"""The user channel survives hostile frames (issue 13, break 7): a 200,000-deep array and a
burst of malformed trades are counted, logged once per kind, and the socket stays up."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable

import pytest
from websockets.asyncio.server import ServerConnection, serve

from tests.conftest import eventually
from weatheredge.trading.gateway import TradeView
from weatheredge.trading.userchannel import UserChannel

TRADE = {
    "event_type": "trade",
    "id": "t-1",
    "status": "MATCHED",
    "timestamp": "1764547200",
    "trader_side": "TAKER",
    "taker_order_id": "o-1",
    "asset_id": "42",
    "side": "BUY",
    "price": "0.40",
    "size": "10",
}


async def _until_one_trade(
    venue: Callable[[ServerConnection], Awaitable[None]], caplog: pytest.LogCaptureFixture
) -> tuple[UserChannel, list[TradeView]]:
    """A channel on ``venue`` (a loopback WebSocket server), run until it hands over a trade."""
    trades: list[TradeView] = []
    async with serve(venue, "127.0.0.1", 0, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        channel = UserChannel(
            f"ws://127.0.0.1:{port}",
            ("k", "s", "p"),
            on_trade=trades.append,
            on_reconnect=lambda: None,
        )
        with caplog.at_level(logging.WARNING, logger="weatheredge.trading.userchannel"):
            task = asyncio.create_task(channel.run())
            try:
                await eventually(lambda: len(trades) == 1)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    return channel, trades


async def test_deep_and_malformed_frames_do_not_drop_the_user_channel(
    caplog: pytest.LogCaptureFixture,
) -> None:
    connections = 0

    async def venue(ws: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        await ws.recv()  # the subscription
        await ws.send("[" * 200_000 + "]" * 200_000)
        for _ in range(25):
            await ws.send(json.dumps({**TRADE, "maker_orders": ["not an object"], "owner": "k"}))
        await ws.send(json.dumps(TRADE))
        await ws.wait_closed()

    channel, trades = await _until_one_trade(venue, caplog)
    assert connections == 1 and channel.connects == 1  # never dropped
    assert channel.bad_frames["RecursionError"] == 1
    assert trades[0].trade_id == "t-1"
    malformed = [r for r in caplog.records if "malformed trade" in r.getMessage()]
    assert len(malformed) == 1
    assert not [r for r in caplog.records if "user channel lost" in r.getMessage()]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", "NaN"),
        ("price", float("nan")),  # json.dumps writes the NaN literal, json.loads takes it
        ("price", "1.5"),
        ("price", "-0"),
        ("size", "Infinity"),
        ("size", 1e400),  # inf on our side, "Infinity" on the wire
        ("size", "-10"),
        ("size", "9" * 400),
        ("size", "sNaN"),
    ],
)
async def test_a_fill_with_an_impossible_price_or_size_is_dropped(
    caplog: pytest.LogCaptureFixture, field: str, value: object
) -> None:
    async def venue(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.send(json.dumps({**TRADE, "id": "bad", field: value}))
        await ws.send(json.dumps(TRADE))
        await ws.wait_closed()

    _, trades = await _until_one_trade(venue, caplog)
    assert [t.trade_id for t in trades] == ["t-1"]
    assert any("malformed trade" in r.getMessage() for r in caplog.records)
