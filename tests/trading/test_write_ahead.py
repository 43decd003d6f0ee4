"""Write-ahead orders: never two orders per intent, never a forgotten one; and the kill switch."""

from __future__ import annotations

import pytest

from tests.trading.conftest import M2, Crash, Harness, edge
from weatheredge.trading import ledger as L


def statuses(h: Harness) -> list[str]:
    return [r["status"] for r in h.rows("SELECT status FROM trade_intents ORDER BY created_at")]


async def test_timed_out_submit_that_filled_is_adopted_not_resent(harness: Harness) -> None:
    h = harness
    await h.start()
    h.gateway.faults = ["timeout_after_accept"]
    edge(h)
    await h.step()
    # the same edge episode goes on (new ask): a naive retry would buy again
    h.book(M2.yes_token, [("0.18", "50")], [("0.19", "30")])
    await h.step()
    assert len(h.gateway.placed) == 1
    assert statuses(h) == ["filled"]
    assert h.rows("SELECT shares FROM positions") == [{"shares": "30"}]
    assert h.trader.counters["timeouts"] == 1 and h.trader.counters["adopted"] == 1


async def test_lost_submit_is_unknown_then_failed_and_never_resent(harness: Harness) -> None:
    h = harness
    await h.start()
    h.gateway.faults = ["timeout_lost"]
    edge(h)
    await h.step()
    await h.step()
    assert statuses(h) == [L.UNKNOWN]
    assert h.gateway.placed == []
    await h.restart()  # startup reconciliation: the venue never saw it
    assert statuses(h) == [L.FAILED]
    assert h.gateway.placed == []


async def test_busy_is_reconciled_then_retried_once(harness: Harness) -> None:
    h = harness
    await h.start()
    h.gateway.faults = ["busy"]
    edge(h)
    await h.step()
    assert len(h.gateway.placed) == 1
    row = h.rows("SELECT status, attempts FROM trade_intents")[0]
    assert row == {"status": "filled", "attempts": 2}


async def test_crash_between_intent_and_send(harness: Harness, monkeypatch) -> None:
    h = harness
    trader = await h.start()
    real = trader.ledger.update_intent

    async def dies_before_sending(key, **fields):
        if fields.get("status") == L.SENDING:
            raise Crash
        await real(key, **fields)

    monkeypatch.setattr(trader.ledger, "update_intent", dies_before_sending)
    edge(h)
    with pytest.raises(Crash):
        await h.step()
    assert statuses(h) == [L.PENDING]  # committed before anything was sent
    await h.restart()
    assert statuses(h) == [L.ABANDONED]
    edge(h)
    await h.step()  # a new episode after the restart trades normally, once
    assert statuses(h) == [L.ABANDONED, L.FILLED]
    assert len(h.gateway.placed) == 1


async def test_crash_between_send_and_ack_fill(harness: Harness, monkeypatch) -> None:
    h = harness
    await h.start()
    real = h.gateway.place

    async def dies_after_send(request):
        await real(request)  # the venue got it and filled it
        raise Crash

    monkeypatch.setattr(h.gateway, "place", dies_after_send)
    edge(h)
    with pytest.raises(Crash):
        await h.step()
    assert statuses(h) == [L.SENDING]
    monkeypatch.setattr(h.gateway, "place", real)
    trader = await h.restart()
    assert statuses(h) == [L.FILLED]
    assert h.rows("SELECT shares, realized_pnl FROM positions") == [
        {"shares": "30", "realized_pnl": "-0.24"}
    ]
    await h.restart()  # and again: the fills are not counted twice
    assert trader.counters.get("fills") == 1
    assert h.rows("SELECT shares FROM positions") == [{"shares": "30"}]
    assert len(h.gateway.placed) == 1


async def test_crash_between_send_and_ack_resting_order_is_not_forgotten(
    harness: Harness, monkeypatch
) -> None:
    h = harness
    await h.start()
    h.gateway.rest = True
    real = h.gateway.place

    async def dies_after_send(request):
        await real(request)
        raise Crash

    monkeypatch.setattr(h.gateway, "place", dies_after_send)
    edge(h)
    with pytest.raises(Crash):
        await h.step()
    trader = await h.restart()
    row = h.rows("SELECT status, venue_order_id FROM trade_intents")[0]
    assert row["status"] == L.OPEN and row["venue_order_id"].startswith("rest:")
    assert len(trader.intents) == 1  # counted against max_open_orders, cancellable by halt
    assert await trader.halt("test", cancel=True) == 1
    assert h.gateway.resting == {}
    assert statuses(h) == [L.CANCELLED]


async def test_venue_orders_unknown_to_the_ledger_are_tracked(harness: Harness) -> None:
    from decimal import Decimal

    from weatheredge.trading.gateway import OpenOrderView

    h = harness
    h.gateway.resting["x1"] = OpenOrderView(
        "x1", M2.yes_token, "BUY", Decimal("0.1"), Decimal(5), Decimal(0)
    )
    trader = await h.start()
    assert "orphan:x1" in trader.intents
    rows = h.rows("SELECT kind, status FROM trade_intents")
    assert rows == [{"kind": "orphan", "status": "open"}]


async def test_kill_switch_manual_persisted_and_automatic(harness: Harness) -> None:
    h = harness
    trader = await h.start()
    await trader.halt("operator", cancel=False)
    edge(h)
    await h.step()
    assert h.gateway.placed == []
    assert [r["limit_name"] for r in h.rows("SELECT limit_name FROM risk_rejections")] == ["halted"]
    trader = await h.restart()
    assert trader.halts == {"manual": "operator"}  # a restart stays halted
    await trader.resume()
    h.connected = False  # the market feed drops: automatic halt
    await h.step()
    assert trader.halts == {"auto": "market feed disconnected"}
    h.connected = True
    await h.step()
    assert trader.halts == {}
    edge(h, ask="0.19")
    await h.step()
    assert len(h.gateway.placed) == 1
    kinds = [k for k, _, _ in h.notes]
    assert kinds.count("halt") >= 3


async def test_trade_status_only_moves_forward(harness: Harness) -> None:
    """REST reconcile may see CONFIRMED before the user channel's queued MATCHED/MINED events
    are applied: those must not regress the fill (and the fill is counted once)."""
    from decimal import Decimal

    from weatheredge.trading.gateway import TradeView

    h = harness
    trader = await h.start()

    def trade(status: str) -> TradeView:
        return TradeView("t-1", "o-1", M2.yes_token, "BUY", Decimal("0.2"), Decimal("10"), status)

    for status in ("CONFIRMED", "MATCHED", "MINED", "CONFIRMED"):
        await trader.on_trade(trade(status))
    assert h.rows("SELECT status, size FROM trade_fills") == [{"status": "CONFIRMED", "size": "10"}]
    assert h.rows("SELECT shares FROM positions") == [{"shares": "10"}]
    await trader.on_trade(trade("FAILED"))  # FAILED still undoes it
    assert h.rows("SELECT status FROM trade_fills") == [{"status": "FAILED"}]
    assert h.rows("SELECT shares FROM positions") == [{"shares": "0"}]
