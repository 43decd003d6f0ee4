"""The sandbox exchange over raw HTTP: L2 auth, venue validation, order types, pagination.

Orders are signed by the real SDK (a throwaway EOA), then posted by hand with an independent
HMAC implementation, so the exchange is checked against the wire rules rather than the SDK.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from tests.trading.livekit import box, connect, loopback_only, yes_token
from weatheredge.sandbox import Sandbox
from weatheredge.sandbox.exchange import CROSSES, FAK_KILLED, FOK_KILLED, UNAUTHORIZED
from weatheredge.trading.gateway import OrderRequest
from weatheredge.trading.sdk import Credentials, SdkGateway

__all__ = ["box", "loopback_only"]  # fixtures


def l2(creds: Credentials, method: str, path: str, body: str = "") -> dict[str, str]:
    assert creds.api_key and creds.api_secret and creds.api_passphrase
    ts = str(int(time.time()))
    secret = base64.urlsafe_b64decode(creds.api_secret + "=" * (-len(creds.api_secret) % 4))
    sig = hmac.new(secret, f"{ts}{method}{path}{body}".encode(), hashlib.sha256).digest()
    return {
        "POLY_ADDRESS": creds.wallet,
        "POLY_API_KEY": creds.api_key,
        "POLY_PASSPHRASE": creds.api_passphrase,
        "POLY_SIGNATURE": base64.urlsafe_b64encode(sig).decode(),
        "POLY_TIMESTAMP": ts,
    }


async def signed_body(
    gateway: SdkGateway, creds: Credentials, token: str, price: str, size: str, side: str = "BUY"
) -> dict[str, Any]:
    from polymarket._internal.actions.orders.post import build_post_order_request

    signed = await gateway._client.create_limit_order(
        token_id=token, price=price, size=size, side=side
    )
    _path, body = build_post_order_request(signed, owner_api_key=creds.api_key or "")
    return body


async def post(
    http: aiohttp.ClientSession, box: Sandbox, creds: Credentials, body: dict[str, Any]
) -> tuple[int, Any]:
    assert box.urls is not None
    text = json.dumps(body, separators=(",", ":"))
    headers = {**l2(creds, "POST", "/order", text), "Content-Type": "application/json"}
    async with http.post(f"{box.urls.clob_url}/order", data=text, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_l2_headers_are_checked(box: Sandbox) -> None:
    gateway, creds = await connect(box)
    assert box.urls is not None
    url = f"{box.urls.clob_url}/data/orders"
    try:
        async with aiohttp.ClientSession() as http:
            good = l2(creds, "GET", "/data/orders")
            bad_cases = [
                {},
                {**good, "POLY_SIGNATURE": l2(creds, "GET", "/data/trades")["POLY_SIGNATURE"]},
                {**good, "POLY_PASSPHRASE": "nope"},
                {**good, "POLY_API_KEY": "00000000-0000-0000-0000-000000000000"},
                {**good, "POLY_ADDRESS": "0x" + "11" * 20},
            ]
            for headers in bad_cases:
                async with http.get(url, headers=headers) as resp:
                    assert resp.status == 401
                    assert await resp.json() == {"error": UNAUTHORIZED}
            async with http.get(url, headers=good) as resp:
                assert resp.status == 200
                assert await resp.json() == {
                    "data": [], "next_cursor": "LTE=", "limit": 100, "count": 0,
                }  # fmt: skip
            # a body changed after signing
            body = await signed_body(gateway, creds, yes_token(box), "0.30", "5")
            text = json.dumps(body, separators=(",", ":"))
            headers = l2(creds, "POST", "/order", text.replace('"GTC"', '"FOK"'))
            async with http.post(f"{box.urls.clob_url}/order", data=text, headers=headers) as r:
                assert r.status == 401
        assert box.exchange.orders_received == []
    finally:
        await gateway.close()


async def test_order_types_and_validation(box: Sandbox) -> None:
    gateway, creds = await connect(box)
    yes = yes_token(box)
    box.venue.set_book(yes, [("0.10", "50")], [("0.30", "6")], mirror=False)
    try:
        async with aiohttp.ClientSession() as http:
            body = await signed_body(gateway, creds, yes, "0.30", "10")
            assert await post(http, box, creds, {**body, "orderType": "FOK"}) == (
                400,
                {"error": FOK_KILLED},
            )
            assert await post(http, box, creds, {**body, "postOnly": True}) == (
                400,
                {"error": CROSSES},
            )
            status, fak = await post(http, box, creds, {**body, "orderType": "FAK"})
            assert status == 200 and fak["status"] == "matched"
            assert (fak["makingAmount"], fak["takingAmount"]) == ("1.8", "6")  # 6 x 0.30
            assert box.exchange.open_orders() == []  # FAK: the rest is killed
            # the same signed order again: refused as a duplicate
            status, dup = await post(http, box, creds, {**body, "orderType": "FAK"})
            assert status == 400 and dup["error"].endswith("Duplicated.")
            fresh = await signed_body(gateway, creds, yes, "0.30", "10")
            assert await post(http, box, creds, {**fresh, "orderType": "FAK"}) == (
                400,
                {"error": FAK_KILLED},
            )

            tampered = await signed_body(gateway, creds, yes, "0.20", "10")
            tampered["order"]["makerAmount"] = "1000000"  # pay less than signed for
            assert await post(http, box, creds, tampered) == (400, {"error": "invalid signature"})

            small = await signed_body(gateway, creds, yes, "0.20", "4.99")
            status, err = await post(http, box, creds, small)
            assert status == 400 and err["error"].endswith("Size (4.99) lower than the minimum: 5")

            on_old_grid = await signed_body(gateway, creds, yes, "0.25", "10")
            box.venue.tick_size_change(yes, "0.1")
            status, err = await post(http, box, creds, on_old_grid)
            assert status == 400
            assert err["error"].endswith("Price (0.25) breaks minimum tick size rule: 0.1")
    finally:
        await gateway.close()


async def test_open_orders_are_paged_with_a_cursor(box: Sandbox) -> None:
    gateway, _creds = await connect(box)
    box.exchange.page_size = 2
    try:
        ids = []
        for i in range(5):
            token = yes_token(box, i)
            box.venue.set_book(token, [("0.01", "10")], [("0.90", "10")], mirror=False)
            r = await gateway.place(
                OrderRequest(f"k{i}", token, "BUY", Decimal("0.05"), Decimal("5"))
            )
            assert r.accepted and r.resting
            ids.append(r.order_id)
        before = box.exchange.requests["GET /data/orders"]
        assert [o.order_id for o in await gateway.open_orders()] == ids
        assert box.exchange.requests["GET /data/orders"] - before == 3  # 2 + 2 + 1
    finally:
        await gateway.close()


async def test_market_metadata_shapes(box: Sandbox) -> None:
    assert box.urls is not None
    yes, no = box.quoted[0].tokens(0)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{box.urls.clob_url}/markets-by-token/{yes}") as resp:
            by_token = await resp.json()
        assert by_token["primary_token_id"] == yes and by_token["secondary_token_id"] == no
        cid = by_token["condition_id"]
        async with http.get(f"{box.urls.clob_url}/clob-markets/{cid}") as resp:
            market = await resp.json()
        async with http.get(f"{box.urls.clob_url}/markets-by-token/123") as resp:
            assert resp.status == 404
    assert market["t"] == [{"t": yes, "o": "Yes"}, {"t": no, "o": "No"}]
    assert market["mts"] in (0.01, 0.1, 0.001) and market["mos"] == 5 and market["nr"] is True
    assert market["fd"] == {"r": 0.05, "e": 1, "to": True}


@pytest.mark.parametrize("status", [429, 425, 503])
async def test_busy_answers(box: Sandbox, status: int) -> None:
    assert box.urls is not None
    gateway, creds = await connect(box)
    box.exchange.faults.busy, box.exchange.faults.busy_status = 2, status
    try:
        async with aiohttp.ClientSession() as http:
            body = await signed_body(gateway, creds, yes_token(box), "0.05", "5")
            text = json.dumps(body, separators=(",", ":"))
            for _ in range(2):
                headers = l2(creds, "POST", "/order", text)
                async with http.post(f"{box.urls.clob_url}/order", data=text, headers=headers) as r:
                    assert r.status == status and "error" in await r.json()
                    assert (r.headers.get("Retry-After") == "1") is (status == 429)
            assert (await post(http, box, creds, body))[0] == 200  # the third one goes through
    finally:
        await gateway.close()
