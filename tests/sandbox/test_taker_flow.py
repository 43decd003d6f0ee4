"""The sandbox market's taker flow: seeded and varied, swept the way the venue reports it, and
matched against our resting orders in price-time priority behind the displayed size (real
servers on loopback, the real SDK placing our orders)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import aiohttp

from tests.conftest import eventually
from weatheredge.sandbox import Sandbox
from weatheredge.sandbox.flow import TakerFlow
from weatheredge.sandbox.moves import scripted_buckets
from weatheredge.trading.gateway import OrderRequest
from weatheredge.trading.sdk import SdkGateway

D = Decimal


def hk_modal(box: Sandbox) -> tuple[str, str]:
    """Hong Kong's likeliest bucket (no scripted move): its (YES, NO) tokens."""
    hk = box.quoted[3]
    return hk.tokens(max(range(len(hk.probs)), key=hk.probs.__getitem__))


def levels(box: Sandbox, token: str, side: str) -> list[tuple[D, D]]:
    """(price, size), best first."""
    book = box.venue.book(token)
    wire = book["bids"] if side == "BUY" else book["asks"]
    return [(D(lv["price"]), D(lv["size"])) for lv in reversed(wire)]


async def rest(gw: SdkGateway, token: str, price: D, size: D, key: str) -> str:
    placed = await gw.place(
        OrderRequest(key, token, "BUY", price, size, order_type="GTC", post_only=True)
    )
    assert placed.trades == ()
    return placed.order_id


def makers(box: Sandbox, order_id: str) -> list[D]:
    return [
        D(t["size"])
        for t in box.exchange.trades.values()
        if t["trader_side"] == "MAKER" and t["maker_orders"][0]["order_id"] == order_id
    ]


async def test_the_flow_is_seeded_and_varied(box: Sandbox) -> None:
    def draws(seed: int) -> list[Any]:
        flow = TakerFlow(box.venue, box.quoted, box.exchange.sweep, seed=seed)
        return [flow.draw() for _ in range(300)]

    takes = draws(7)
    assert takes == draws(7)
    assert takes != draws(8)
    assert len({t.event for t in takes}) == 4
    assert len({(t.event, t.bucket) for t in takes}) >= 10
    assert {t.outcome for t in takes} == {"YES", "NO"}
    assert {t.side for t in takes} == {"BUY", "SELL"}
    sizes = [t.size for t in takes]
    assert min(sizes) < 30 and max(sizes) > 300  # small prints and sweeps through two levels
    assert not {(t.event, t.bucket) for t in takes} & set(scripted_buckets(box.quoted))


async def test_a_sweep_takes_each_level_and_prints_there_then_the_book_refills(
    box: Sandbox,
) -> None:
    yes, no = hk_modal(box)
    (top, top_size), (second, second_size) = levels(box, no, "BUY")
    frames: list[dict[str, Any]] = []
    assert box.urls is not None
    async with aiohttp.ClientSession() as session, session.ws_connect(box.urls.ws_url) as ws:
        await ws.send_str(json.dumps({"type": "market", "assets_ids": [yes, no]}))
        await ws.receive(timeout=5)  # the initial dump

        async def read() -> None:
            async for msg in ws:
                got = json.loads(msg.data)
                frames.extend(got if isinstance(got, list) else [got])

        reader = asyncio.create_task(read())
        prints = box.exchange.sweep(no, "SELL", top_size + 50)
        await eventually(lambda: len(frames) >= 4)
        reader.cancel()
    assert prints == [(str(top), top_size), (str(second), D(50))]
    assert levels(box, no, "BUY") == [(second, second_size - 50)]
    shapes = []
    for f in frames:
        if f["event_type"] == "price_change":
            (mine,) = [c for c in f["price_changes"] if c["asset_id"] == no]
            shapes.append(("level", mine["side"], D(mine["price"]), D(mine["size"])))
        else:
            assert f["event_type"] == "last_trade_price" and f["asset_id"] == no
            shapes.append(("trade", f["side"], D(f["price"]), D(f["size"])))
    assert shapes == [
        ("level", "BUY", top, D(0)),  # the top level is gone…
        ("trade", "SELL", top, top_size),  # …printed there…
        ("level", "BUY", second, second_size - 50),  # …then the next one is taken into
        ("trade", "SELL", second, D(50)),
    ]
    # mirrored: the YES asks lost the same
    assert levels(box, yes, "SELL") == [(1 - second, second_size - 50)]
    hk = box.quoted[3]
    TakerFlow(box.venue, box.quoted, box.exchange.sweep).refill(3, hk.probs.index(max(hk.probs)))
    assert levels(box, no, "BUY") == [(top, top_size), (second, second_size)]


async def test_our_bid_fills_only_after_the_size_displayed_ahead_of_it(
    box: Sandbox,
    gateway: SdkGateway,
) -> None:
    yes, _ = hk_modal(box)
    (top, top_size), _second = levels(box, yes, "BUY")
    order = await rest(gateway, yes, top, D(10), "q1")  # joins behind the displayed 150
    assert box.exchange.sweep(yes, "SELL", top_size - 50) == [(str(top), top_size - 50)]
    assert makers(box, order) == []  # a print at our price, all of it ahead of us
    assert box.exchange.sweep(yes, "SELL", D(60)) == [(str(top), D(60))]
    assert makers(box, order) == [D(10)]  # the last 50 ahead, then our 10
    assert box.exchange.orders[order].status == "MATCHED"
    assert levels(box, yes, "BUY")[0][0] < top  # the others' level is gone too


async def test_better_price_first_and_the_mirror_meets_our_no_bid(
    box: Sandbox,
    gateway: SdkGateway,
) -> None:
    yes, no = hk_modal(box)
    (bid, _), _ = levels(box, yes, "BUY")
    (ask, ask_size), _ = levels(box, yes, "SELL")
    tick = D("0.01")
    better = await rest(gateway, yes, bid + tick, D(20), "q1")  # inside the spread: first
    assert box.exchange.sweep(yes, "SELL", D(5)) == [(str(bid + tick), D(5))]
    assert makers(box, better) == [D(5)]
    assert levels(box, yes, "BUY")[0] == (bid, D(150))  # the displayed book is untouched
    # a NO bid at 1 - ask is a YES ask at ``ask``: a YES buyer meets it after the 150 ahead
    no_bid = await rest(gateway, no, 1 - ask, D(12), "q2")
    assert box.exchange.sweep(yes, "BUY", ask_size + 12) == [(str(ask), ask_size + 12)]
    assert makers(box, no_bid) == [D(12)]
    (trade,) = [t for t in box.exchange.trades.values() if t["asset_id"] == no]
    ours = trade["maker_orders"][0]
    assert (ours["side"], D(ours["price"]), trade["trader_side"]) == ("BUY", 1 - ask, "MAKER")
