"""Maker mode against the sandbox exchange (real SDK, real HTTP on loopback, real SQLite):
post-only quotes, replace on a fair-value move, the replace interval, pull before a report and
requote after, cancel on shutdown, leftovers at start, post-only crossings, maker fills."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.trading.livekit import box, loopback_only  # noqa: F401  (fixtures)
from tests.trading.makerkit import MakerRig
from weatheredge.sandbox import Sandbox

D = Decimal


@pytest.fixture
async def rig(box: Sandbox, tmp_path: Path) -> AsyncIterator[MakerRig]:  # noqa: F811
    r = MakerRig(box, tmp_path / "maker.db")
    yield r
    await r.close()


async def quoting(rig: MakerRig, p: float = 0.50) -> None:
    """One bucket's YES token quoted: book 0.45 / 0.60, fair 0.50 -> bid 0.46."""
    await rig.start()
    rig.book(rig.token(), [("0.45", "100")], [("0.60", "100")])
    rig.price(p)
    await rig.step()


async def test_places_a_post_only_gtc_bid_below_fair_value(rig: MakerRig) -> None:
    await quoting(rig)
    body = rig.box.exchange.orders_received[-1]
    assert body["postOnly"] is True and body["orderType"] == "GTC"
    assert body["order"]["side"] == "BUY" and body["order"]["tokenId"] == rig.token()
    # min(p - margin = 0.48, ask - tick = 0.59, best bid + tick = 0.46); Kelly target, no fee
    assert await rig.open_orders() == [(D("0.46"), D("40.25"))]
    assert rig.actions() == [("place", "new")]
    (row,) = rig.rows("SELECT kind, status, side FROM trade_intents")
    assert row == ("quote", "open", "BUY")
    resting = rig.trader.status()["maker"]["resting"]
    assert [(q["bucket"], q["outcome"], q["price"]) for q in resting] == [
        ("43°F or below", "YES", "0.46")
    ]
    await rig.step(1.0)  # nothing moved: nothing sent
    assert len(rig.box.exchange.orders_received) == 1


async def test_fair_value_move_replaces_once_per_interval(rig: MakerRig) -> None:
    await quoting(rig)
    rig.price(0.47)  # cap 0.45: below the resting 0.46
    await rig.step(0.1)  # within min_replace_interval of the placement: held back
    assert await rig.open_orders() == [(D("0.46"), D("40.25"))]
    await rig.step(0.2)  # 0.3 s after the placement
    orders = await rig.open_orders()
    assert [p for p, _ in orders] == [D("0.45")]
    assert rig.actions() == [("place", "new"), ("replace", "fair_moved"), ("place", "fair_moved")]
    rig.price(0.44)
    await rig.step(0.05)
    assert [p for p, _ in await rig.open_orders()] == [D("0.45")]
    await rig.step(0.25)
    assert [p for p, _ in await rig.open_orders()] == [D("0.42")]
    cancels = rig.rows("SELECT count(*) FROM quote_actions WHERE action = 'replace'")
    assert cancels == [(2,)]


async def test_book_move_replaces_when_no_longer_best(rig: MakerRig) -> None:
    await quoting(rig)
    rig.book(rig.token(), [("0.47", "100")], [("0.60", "100")])  # someone bids over us
    await rig.step(1.0)
    assert [p for p, _ in await rig.open_orders()] == [D("0.48")]  # capped at p - margin
    assert rig.actions()[-2:] == [("replace", "not_best"), ("place", "not_best")]


async def test_pulls_before_a_due_report_and_requotes_after(rig: MakerRig) -> None:
    await quoting(rig)
    rig.view.due = rig.clock.time() + 90  # pull_before_report 60 s: not yet
    await rig.step(1.0)
    assert len(await rig.open_orders()) == 1
    await rig.step(31.0)  # 59 s before the report
    assert await rig.open_orders() == []
    assert rig.actions()[-1] == ("cancel", "report_due")
    await rig.step(1.0)  # still due: stays pulled
    assert await rig.open_orders() == []
    rig.view.due = rig.clock.time() + 3600  # the report is in hand; the next one is far
    await rig.step(1.0)
    assert await rig.open_orders() == [(D("0.46"), D("40.25"))]
    assert rig.actions()[-1] == ("place", "new")


async def test_stale_fair_value_or_desynced_book_pulls_the_quote(rig: MakerRig) -> None:
    await quoting(rig)
    del rig.view.p_yes[rig.event.markets[0].market_id]  # the forecast went stale
    await rig.step(1.0)
    assert await rig.open_orders() == []
    assert rig.actions()[-1] == ("cancel", "no_fair_value")
    rig.price(0.50)
    await rig.step(1.0)
    assert len(await rig.open_orders()) == 1
    rig.view.books[rig.token()].unsync()
    await rig.step(1.0)
    assert await rig.open_orders() == []
    assert rig.actions()[-1] == ("cancel", "book_not_synced")


async def test_kill_switch_pulls_every_quote(rig: MakerRig) -> None:
    await quoting(rig)
    await rig.trader.halt("operator", cancel=False)  # even without cancel_on_halt
    await rig.step(0.01)
    assert await rig.open_orders() == []
    assert rig.actions()[-1] == ("cancel", "halted")


async def test_kill_switch_with_cancel_logs_each_quote_before_cancelling(rig: MakerRig) -> None:
    await quoting(rig)
    assert await rig.trader.halt("operator", cancel=True) == 1
    assert await rig.open_orders() == []
    assert rig.actions()[-1] == ("cancel", "halted")


async def test_cancels_every_quote_on_shutdown(rig: MakerRig) -> None:
    await quoting(rig)
    assert await rig.trader.shutdown() == 1
    assert await rig.open_orders() == []
    assert rig.actions()[-1] == ("cancel", "shutdown")
    assert rig.rows("SELECT status FROM trade_intents") == [("cancelled",)]


async def test_leftover_quotes_are_cancelled_at_start(rig: MakerRig) -> None:
    await quoting(rig)
    await rig.crash()
    await rig.start()
    assert await rig.open_orders() == []
    assert rig.actions()[-1] == ("cancel", "left open by the last run")


async def test_leftover_quotes_are_adopted_at_start(box: Sandbox, tmp_path: Path) -> None:  # noqa: F811
    rig = MakerRig(box, tmp_path / "maker.db", maker={"on_start": "adopt"})
    try:
        await quoting(rig)
        await rig.crash()
        await rig.start()
        rig.book(rig.token(), [("0.45", "100")], [("0.60", "100")])
        rig.price(0.50)
        await rig.step(1.0)
        assert await rig.open_orders() == [(D("0.46"), D("40.25"))]
        assert rig.actions() == [("place", "new")]  # adopted, not placed again
        assert rig.trader.counters["quotes_adopted"] == 1
    finally:
        await rig.close()


async def test_post_only_crossing_is_rejected_and_handled(rig: MakerRig) -> None:
    await rig.start()
    # our view is behind the venue: the venue already offers at 0.44
    rig.box.venue.set_book(rig.token(), [("0.40", "100")], [("0.44", "100")], mirror=False)
    rig.book(rig.token(), [("0.45", "100")], [("0.60", "100")], venue=False)
    rig.price(0.50)
    await rig.step()
    assert await rig.open_orders() == []
    (action, reason) = rig.actions()[-1]
    assert action == "reject" and "crosses book" in reason
    assert rig.rows("SELECT count(*) FROM trade_fills") == [(0,)]  # never took
    rig.book(rig.token(), [("0.40", "100")], [("0.44", "100")])  # the view catches up
    await rig.step(1.0)
    assert await rig.open_orders() == [(D("0.41"), D("93.01"))]  # one tick over 0.40


async def test_maker_fill_is_logged_and_the_quote_resized(rig: MakerRig) -> None:
    await quoting(rig)
    (order,) = await rig.gateway.open_orders()
    rig.box.exchange.fill_resting(order.order_id, "10")
    rig.trader.request_reconcile()  # as after a user-channel gap: REST trades are applied
    await rig.step(1.0)
    fills = rig.rows("SELECT action, price_micros, size_micros, reason FROM quote_actions "
                     "WHERE action = 'fill'")  # fmt: skip
    assert fills == [("fill", 460_000, 10_000_000, "MAKER")]
    assert rig.rows("SELECT shares FROM positions") == [("10",)]
    assert rig.rows("SELECT fee FROM trade_fills") == [("0",)]
    # the position target is unchanged: the rest of the quote keeps resting
    assert await rig.open_orders() == [(D("0.46"), D("30.25"))]


async def test_one_digest_per_event_per_interval(box: Sandbox, tmp_path: Path) -> None:  # noqa: F811
    rig = MakerRig(box, tmp_path / "maker.db", maker={"digest_interval": 10})
    try:
        await quoting(rig)
        for p in (0.47, 0.44, 0.50):
            rig.price(p)
            await rig.step(1.0)
        assert [n for n in rig.notes if n[0] == "quotes"] == []
        await rig.step(10.0)
        (digest,) = [n for n in rig.notes if n[0] == "quotes"]
        assert digest[1].startswith("Quotes: NYC")
        assert "place 4, replace 3" in digest[2] and "1 resting" in digest[2]
        assert [n for n in rig.notes if n[0] == "intent"] == []  # no push per quote
    finally:
        await rig.close()


async def test_switching_back_to_taker_on_a_reload_cancels_the_quotes(rig: MakerRig) -> None:
    import msgspec

    from weatheredge.config import TradingSettings

    await quoting(rig)
    taker = msgspec.structs.replace(rig.settings, strategy="taker")
    rig.trader.set_settings(msgspec.convert(msgspec.to_builtins(taker), TradingSettings))
    await rig.step(1.0)
    assert await rig.open_orders() == []
    assert rig.actions()[-1] == ("cancel", "strategy taker")
