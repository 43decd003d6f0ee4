"""``userchannel.UserChannel`` against the sandbox exchange's real ``/ws/user``: authenticated
subscription, PING/PONG, order and trade events through MATCHED → MINED → CONFIRMED, refused
bad auth, and a dropped socket followed by a reconnect that asks for a REST reconcile, which
finds the fill the gap swallowed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import eventually
from tests.trading.livekit import box, connect, loopback_only, yes_token
from weatheredge.sandbox import Sandbox
from weatheredge.trading.gateway import OrderRequest, TradeView
from weatheredge.trading.sdk import SdkGateway
from weatheredge.trading.userchannel import UserChannel

__all__ = ["box", "loopback_only"]  # fixtures


class Recorder:
    def __init__(self) -> None:
        self.trades: list[TradeView] = []
        self.orders: list[dict[str, Any]] = []
        self.reconnects = 0

    def statuses(self, trade_id: str) -> list[str]:
        return [t.status for t in self.trades if t.trade_id == trade_id]


@contextlib.asynccontextmanager
async def channel(
    box: Sandbox, auth: tuple[str, str, str]
) -> AsyncIterator[tuple[UserChannel, Recorder]]:
    assert box.urls is not None
    rec = Recorder()

    def reconnected() -> None:
        rec.reconnects += 1

    ch = UserChannel(
        box.urls.clob_url.replace("http://", "ws://") + "/ws/user",
        auth,
        on_trade=rec.trades.append,
        on_reconnect=reconnected,
        on_order=rec.orders.append,
        heartbeat_s=0.05,
    )
    task = asyncio.create_task(ch.run())
    try:
        yield ch, rec
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def gateway(box: Sandbox) -> AsyncIterator[SdkGateway]:
    gw, _creds = await connect(box)
    try:
        yield gw
    finally:
        await gw.close()


async def test_order_and_trade_events_through_settlement(box: Sandbox, gateway: SdkGateway) -> None:
    yes = yes_token(box)
    box.venue.set_book(yes, [("0.10", "50")], [("0.20", "6")], mirror=False)
    async with channel(box, gateway.api_credentials) as (_ch, rec):
        await eventually(lambda: box.exchange.user_client_count == 1)
        placed = await gateway.place(OrderRequest("k", yes, "BUY", Decimal("0.20"), Decimal("10")))
        (taker,) = placed.trades
        await eventually(lambda: rec.statuses(taker.trade_id)[-1:] == ["CONFIRMED"])
        assert rec.statuses(taker.trade_id) == ["MATCHED", "MINED", "CONFIRMED"]
        first = rec.trades[0]
        assert (first.order_id, first.side, first.price, first.size, first.role) == (
            placed.order_id, "BUY", Decimal("0.20"), Decimal("6"), "TAKER",
        )  # fmt: skip
        assert [(o["type"], o["status"]) for o in rec.orders] == [("PLACEMENT", "LIVE")]
        # someone sells into the resting 4: a MAKER fill of ours, no fee
        maker_trade = box.exchange.fill_resting(placed.order_id)
        await eventually(
            lambda: rec.statuses(f"{maker_trade}:{placed.order_id}")[-1:] == ["CONFIRMED"]
        )
        maker = next(t for t in rec.trades if t.trade_id == f"{maker_trade}:{placed.order_id}")
        assert (maker.role, maker.size, maker.fee, maker.side) == ("MAKER", Decimal("4"), 0, "BUY")
        assert rec.orders[-1]["type"] == "UPDATE" and rec.orders[-1]["size_matched"] == "10"
        await eventually(lambda: box.exchange.user_pings >= 2)  # PING / PONG keepalive
        assert rec.reconnects == 0
    # REST sees the same fills under the same ids (the trader dedups across both)
    rest = {(t.trade_id, t.status) for t in await gateway.trades(yes)}
    assert rest == {
        (taker.trade_id, "CONFIRMED"),
        (f"{maker_trade}:{placed.order_id}", "CONFIRMED"),
    }


async def test_bad_auth_is_refused(box: Sandbox, gateway: SdkGateway) -> None:
    key, _secret, passphrase = gateway.api_credentials
    async with channel(box, (key, "d3Jvbmc=", passphrase)) as (_ch, rec):
        await eventually(lambda: box.exchange.auth_failures >= 1)
        yes = yes_token(box)
        box.venue.set_book(yes, [("0.10", "50")], [("0.20", "6")], mirror=False)
        await gateway.place(OrderRequest("k", yes, "BUY", Decimal("0.20"), Decimal("6")))
        await asyncio.sleep(0.2)
        assert box.exchange.user_client_count == 0 and rec.trades == []


async def test_drop_then_reconnect_asks_for_a_reconcile_that_finds_the_missed_fill(
    box: Sandbox, gateway: SdkGateway
) -> None:
    yes = yes_token(box)
    box.venue.set_book(yes, [("0.10", "50")], [("0.60", "50")], mirror=False)
    async with channel(box, gateway.api_credentials) as (ch, rec):
        await eventually(lambda: box.exchange.user_client_count == 1)
        placed = await gateway.place(OrderRequest("k", yes, "BUY", Decimal("0.30"), Decimal("10")))
        assert placed.resting and placed.trades == ()
        box.exchange.faults.refuse_user_ws = 1000
        assert await box.exchange.drop_user_sockets() == 1
        await eventually(lambda: not ch.connected)
        missed = box.exchange.fill_resting(placed.order_id, "7")  # nobody is listening
        box.exchange.faults.refuse_user_ws = 0
        await eventually(lambda: rec.reconnects == 1, within=8)
        assert box.exchange.user_connections >= 2
        assert not any(t.trade_id.startswith(missed) for t in rec.trades)
        # what the trader's reconcile reads on that signal
        (fill,) = [t for t in await gateway.trades(yes) if t.trade_id.startswith(missed)]
        assert (fill.order_id, fill.size, fill.role) == (placed.order_id, Decimal("7"), "MAKER")
        (still_open,) = await gateway.open_orders(yes)
        assert still_open.size_matched == Decimal("7")
        # and events flow again after the reconnect
        box.exchange.fill_resting(placed.order_id)
        await eventually(lambda: any(t.size == Decimal("3") for t in rec.trades))
