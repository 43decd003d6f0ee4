"""The real ``polymarket-client`` SDK through ``SdkGateway`` against the sandbox exchange.

Signing is local (a throwaway EOA key generated here; wallet = signer, so no RPC or relayer);
only HTTP is faked, on 127.0.0.1, and any other destination fails the test (``loopback_only``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal

import pytest
from eth_account import Account

from tests.conftest import eventually
from tests.trading.livekit import box, connect, loopback_only, yes_token
from weatheredge.sandbox import Sandbox
from weatheredge.trading.gateway import GatewayBusy, GatewayError, OrderRequest
from weatheredge.trading.sdk import Credentials, SdkGateway, environment_for

__all__ = ["box", "loopback_only"]  # fixtures


def test_environment_override_leaves_no_real_host() -> None:
    from polymarket._internal.environment import get_environment_config

    config = get_environment_config(environment_for("http://127.0.0.1:9"))
    urls = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    urls = {k: v for k, v in urls.items() if k.endswith("_url")}
    assert urls and all(
        v.startswith(("http://127.0.0.1:9", "ws://127.0.0.1:9")) for v in urls.values()
    )
    assert config.clob_user_ws_url == "ws://127.0.0.1:9/ws/user"


async def test_client_creation_failure_hides_the_key() -> None:
    account = Account.create()  # a throwaway key, generated here
    key = account.key.hex()
    creds = Credentials(key, account.address, "k", "c2VjcmV0", "p")  # EOA: wallet == signer
    with pytest.raises(GatewayError) as err:
        await SdkGateway.connect(creds, environment=environment_for("http://127.0.0.1:9"))
    assert key.removeprefix("0x") not in str(err.value)
    assert "c2VjcmV0" not in str(err.value)


# --- the real SDK against the sandbox exchange over HTTP on 127.0.0.1 ---------------------------


async def test_sdk_order_fills_partly_against_a_thin_book_then_rests(box: Sandbox) -> None:
    gateway, creds = await connect(box)
    try:
        yes = yes_token(box)
        box.venue.set_book(yes, [("0.10", "50")], [("0.17", "4"), ("0.16", "8")], mirror=False)
        result = await gateway.place(OrderRequest("k1", yes, "BUY", Decimal("0.17"), Decimal("20")))
        assert result.accepted and result.status == "matched" and result.resting
        assert [(t.price, t.size, t.role) for t in result.trades] == [
            (Decimal("0.16"), Decimal("8"), "TAKER"),
            (Decimal("0.17"), Decimal("4"), "TAKER"),
        ]
        # the signed order as the exchange received it
        (body,) = box.exchange.orders_received
        order = body["order"]
        assert body["orderType"] == "GTC" and body["owner"] == creds.api_key
        assert order["tokenId"] == yes and order["side"] == "BUY"
        assert order["makerAmount"] == "3400000"  # 20 shares x 0.17 pUSD, 6 decimals
        assert order["takerAmount"] == "20000000"
        assert order["maker"] == order["signer"] == creds.wallet and order["signatureType"] == 0
        assert len(bytes.fromhex(order["signature"].removeprefix("0x"))) == 65
        # liquidity consumed on the venue book (both levels gone), remainder resting
        assert box.venue.book(yes)["asks"] == []
        (open_order,) = await gateway.open_orders()
        assert open_order.order_id == result.order_id
        assert (open_order.price, open_order.original_size, open_order.size_matched) == (
            Decimal("0.17"),
            Decimal("20"),
            Decimal("12"),
        )
        assert await gateway.open_orders(yes_token(box, 1)) == []
        # trades settle MATCHED -> MINED -> CONFIRMED
        await eventually(
            lambda: all(t["status"] == "CONFIRMED" for t in box.exchange.trades.values())
        )
        trades = await gateway.trades(yes)
        assert {t.trade_id for t in trades} == {t.trade_id for t in result.trades}
        assert {t.status for t in trades} == {"CONFIRMED"}
        # cancel: once
        assert await gateway.cancel(result.order_id) is True
        assert await gateway.cancel(result.order_id) is False
        assert await gateway.open_orders() == []
        assert await gateway.cancel_all() == []
        await gateway.heartbeat()
        await gateway.heartbeat()  # the returned id was kept and accepted
    finally:
        await gateway.close()
    # every URL the SDK used was the sandbox's
    assert box.exchange.requests["GET /auth/api-keys"] == 1


async def test_sdk_sell_fills_fully_and_cancel_all(box: Sandbox) -> None:
    gateway, _creds = await connect(box)
    try:
        yes, other = yes_token(box), yes_token(box, 1)
        box.venue.set_book(yes, [("0.40", "30"), ("0.42", "10")], [("0.60", "10")], mirror=False)
        sell = await gateway.place(OrderRequest("s", yes, "SELL", Decimal("0.40"), Decimal("25")))
        assert sell.accepted and not sell.resting  # 10 @ 0.42 + 15 @ 0.40
        assert sum(t.size for t in sell.trades) == 25
        assert box.venue.book(yes)["bids"] == [{"price": "0.40", "size": "15"}]
        box.venue.set_book(other, [("0.10", "30")], [("0.60", "10")], mirror=False)
        resting = await gateway.place(
            OrderRequest("r", other, "BUY", Decimal("0.20"), Decimal("5"))
        )
        assert resting.accepted and resting.status == "live" and resting.resting
        assert resting.trades == ()
        assert await gateway.cancel_all() == [resting.order_id]
    finally:
        await gateway.close()


async def test_sdk_rejections_carry_the_venue_reason(box: Sandbox) -> None:
    gateway, _creds = await connect(box)
    try:
        yes = yes_token(box)
        box.venue.set_book(yes, [("0.10", "50")], [("0.30", "50")], mirror=False)
        with pytest.raises(GatewayError, match="lower than the minimum: 5"):
            await gateway.place(OrderRequest("small", yes, "BUY", Decimal("0.30"), Decimal("3")))
        # off-grid: the SDK itself refuses to sign (after re-reading the tick); nothing posted
        with pytest.raises(GatewayError):
            await gateway.place(OrderRequest("tick", yes, "BUY", Decimal("0.305"), Decimal("10")))
        assert len(box.exchange.orders_received) == 1
        # the venue's busy answers
        for status in (429, 425, 503):
            box.exchange.faults.busy, box.exchange.faults.busy_status = 1, status
            with pytest.raises(GatewayBusy) as err:
                await gateway.place(OrderRequest("b", yes, "BUY", Decimal("0.30"), Decimal("5")))
            assert err.value.status == status
            if status == 429:
                assert err.value.retry_after == 1
        assert box.exchange.open_orders() == [] and box.exchange.trades == {}
    finally:
        await gateway.close()


async def test_sdk_without_stored_api_key_derives_one_with_l1_auth(box: Sandbox) -> None:
    gateway, _creds = await connect(box, with_api_key=False)
    try:
        key, _secret, _passphrase = gateway.api_credentials
        assert box.exchange.requests["POST /auth/api-key"] == 1
        assert key in {c.key for c in box.exchange._keys.values()}
        assert await gateway.open_orders() == []  # and L2 works with them
    finally:
        await gateway.close()


async def test_sdk_accepted_then_timed_out_order_was_executed(box: Sandbox) -> None:
    gateway, _creds = await connect(box)
    try:
        yes = yes_token(box)
        box.venue.set_book(yes, [("0.10", "50")], [("0.30", "50")], mirror=False)
        box.exchange.faults.accept_then_timeout, box.exchange.faults.hold_s = 1, 5.0
        request = OrderRequest("t", yes, "BUY", Decimal("0.30"), Decimal("10"))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(gateway.place(request), 0.5)
        trades = await gateway.trades(yes)  # the venue has it: reconcile finds it
        assert sum(t.size for t in trades) == 10 and len(box.exchange.orders) == 1
    finally:
        await gateway.close()


def test_the_loopback_guard_refuses_other_hosts(loopback_only: list[str]) -> None:
    import socket

    from tests.trading.livekit import NotLoopback

    # refused before any packet leaves: the guard raises instead of connecting
    with pytest.raises(NotLoopback):
        socket.create_connection(("203.0.113.7", 443), timeout=0.1)
    with pytest.raises(NotLoopback):
        socket.getaddrinfo("clob.polymarket.com", 443)
    assert loopback_only == ["203.0.113.7", "clob.polymarket.com"]
    loopback_only.clear()  # expected here; any other test that tries fails at teardown
