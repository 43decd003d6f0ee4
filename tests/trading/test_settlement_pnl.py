"""Held positions are settled at the venue's resolution: exact realised PnL, exactly once.

The venue's winner arrives either as a ``market_resolved`` frame on the market channel (the
engine keeps it in ``venue_winners``) or as ``settlements.venue_market_id``, which the
settlement job records from those frames or Gamma's closed state. Our own settlement from the
station's reports (``settlements.winning_market_id``) never moves money.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from pathlib import Path

from db.readonly import connect_read_only
from tests.trading.conftest import EVENT, M1, M2, Harness
from weatheredge.config_trading import TradingNotifySettings
from weatheredge.notify import Notifier
from weatheredge.store import EventSeen, EventSettled, Store, VenueChecked
from weatheredge.trading.cli import format_pnl, pnl_rows
from weatheredge.trading.ledger_files import query
from weatheredge.trading.portfolio import Position
from weatheredge.webui import queries

FEE_20_AT_016 = Decimal("0.1344")  # 20 * 0.05 * 0.16 * 0.84
FEE_20_AT_050 = Decimal("0.25")  # 20 * 0.05 * 0.50 * 0.50


def resolved_frame(winner_yes: bool, market: object = M2) -> str:
    """The venue's market_resolved frame for one bucket market."""
    return json.dumps(
        {
            "event_type": "market_resolved",
            "id": market.market_id,  # type: ignore[attr-defined]
            "market": market.condition_id,  # type: ignore[attr-defined]
            "assets_ids": [market.yes_token, market.no_token],  # type: ignore[attr-defined]
            "winning_asset_id": market.yes_token if winner_yes else market.no_token,  # type: ignore[attr-defined]
            "winning_outcome": "Yes" if winner_yes else "No",
            "timestamp": str(int(time.time() * 1000)),
        }
    )


async def buy(h: Harness, token: str, p_yes_m2: float, ask: str) -> None:
    """One entry that takes exactly the 20 shares offered at ``ask`` on ``token``."""
    h.fair_books()
    h.price(p_yes_m2)
    await h.step()
    h.book(token, [("0.01", "50")], [(ask, "20")])
    await h.step()
    [fill] = h.rows("SELECT side, price, size, fee FROM trade_fills")
    assert (fill["side"], Decimal(fill["price"]), fill["size"]) == ("BUY", Decimal(ask), "20")


async def record_venue_check(db: Path, winner: str, ours: str | None = None) -> None:
    """What jobs/settle_events records: our settlement, then the venue's winner beside it."""
    store = Store.open(db)
    now = dt.datetime.now(dt.UTC)
    store.submit(EventSeen(EVENT, now))
    store.submit(
        EventSettled(
            event_id=EVENT.event_id,
            station="KLGA",
            date=EVENT.date,
            extreme="high",
            unit="F",
            status="settled",
            observed_value=45.0,
            settled_value=45,
            reports=24,
            winning_market_id=ours or winner,
            winning_label=None,
            settled_at=now,
        )
    )
    store.submit(VenueChecked(EVENT.event_id, winner, (ours or winner) == winner, now))
    await store.flush()
    await store.close()


def settlement_rows(h: Harness) -> list[dict[str, object]]:
    return h.rows(
        "SELECT trade_id, token_id, side, price, size, fee, realized_pnl, status, intent_key "
        "FROM trade_fills WHERE side = 'SETTLE' ORDER BY trade_id"
    )


def position(h: Harness, token: str) -> Position:
    [row] = h.rows(f"SELECT * FROM positions WHERE token_id = '{token}'")
    return Position.from_row(row)


async def test_yes_held_through_a_yes_resolution_is_paid_exactly(harness: Harness) -> None:
    h = harness
    trader = await h.start()
    await buy(h, M2.yes_token, 0.40, "0.16")
    assert position(h, M2.yes_token).realized == -FEE_20_AT_016

    h.engine.on_frame(resolved_frame(winner_yes=True), time.perf_counter_ns())
    await h.step()

    # realised = 20 x (1 - 0.16) - fee = 16.8 - 0.1344
    expected = Decimal(20) * (Decimal(1) - Decimal("0.16")) - FEE_20_AT_016
    assert expected == Decimal("16.6656")
    pos = position(h, M2.yes_token)
    assert (pos.shares, pos.avg_price, pos.fees) == (0, 0, FEE_20_AT_016)
    assert pos.realized == expected
    assert trader.positions[M2.yes_token].realized == expected
    assert trader.status()["realized_pnl"] == "16.6656"
    assert trader.status()["positions"] == {}
    assert trader.day_pnl() == expected  # the daily loss limit sees the payout too
    assert settlement_rows(h) == [
        {
            "trade_id": f"settlement:{M2.yes_token}",
            "token_id": M2.yes_token,
            "side": "SETTLE",
            "price": "1",
            "size": "20",
            "fee": "0",
            "realized_pnl": "16.8",
            "status": "SETTLED",
            "intent_key": None,
        }
    ]
    [episode] = h.rows("SELECT * FROM trade_episodes WHERE kind = 'settlement'")
    assert episode["status"] == "closed" and episode["price"] == "1"
    assert episode["event_id"] == EVENT.event_id and episode["outcome"] == "YES"
    assert "market_resolved" in episode["reason"] and M2.market_id in episode["reason"]
    settled = [(title, body) for kind, title, body in h.notes if kind == "settled"]
    assert len(settled) == 1
    assert settled[0][0] == "Settled (won): NYC 2026-11-25 44-45°F YES"
    assert "realised 16.8" in settled[0][1] and "position total 16.6656" in settled[0][1]

    # weatheredge pnl and the saved query over weeks include the payout
    [event] = pnl_rows(str(h.db))
    assert event["realized"] == expected and event["settled"] == Decimal("16.8")
    assert event["open_cost"] == 0
    assert "16.6656" in format_pnl(str(h.db))
    with connect_read_only(h.db) as conn:
        [week] = queries.run(conn, queries.load("pnl_by_week")).dicts()
    assert week["realised_pnl"] == 16.6656 and week["settled_pnl"] == 16.8
    assert week["fills"] == 1 and week["notional"] == 3.2 and week["fees"] == 0.1344


async def test_losing_yes_goes_to_minus_cost_from_the_recorded_venue_check(
    harness: Harness,
) -> None:
    h = harness
    trader = await h.start()
    await buy(h, M2.yes_token, 0.40, "0.16")
    # The settlement job read the venue's winner (Gamma's closed state): 43°F or below.
    await record_venue_check(h.db, M1.market_id)
    trader.request_resolution_check()
    await h.step()

    cost = Decimal(20) * Decimal("0.16")
    pos = position(h, M2.yes_token)
    assert pos.shares == 0 and pos.realized == -cost - FEE_20_AT_016 == Decimal("-3.3344")
    [row] = settlement_rows(h)
    assert (row["price"], row["size"], row["realized_pnl"]) == ("0", "20", "-3.2")
    [episode] = h.rows("SELECT reason FROM trade_episodes WHERE kind = 'settlement'")
    assert "venue check" in episode["reason"]
    assert [t for k, t, _ in h.notes if k == "settled"] == [
        "Settled (lost): NYC 2026-11-25 44-45°F YES"
    ]
    # pnl_by_event, with the event the store recorded
    with connect_read_only(h.db) as conn:
        [event] = queries.run(conn, queries.load("pnl_by_event")).dicts()
    assert event["realised_pnl"] == -3.3344 and event["settled_pnl"] == -3.2
    assert event["open_shares"] == 0 and event["open_cost"] == 0


async def test_the_venue_not_our_settlement_decides_the_money(harness: Harness) -> None:
    h = harness
    trader = await h.start()
    await buy(h, M2.yes_token, 0.40, "0.16")
    # Our reports say 44-45°F won, but the venue has not resolved yet: nothing moves.
    store = Store.open(h.db)
    now = dt.datetime.now(dt.UTC)
    store.submit(EventSeen(EVENT, now))
    store.submit(
        EventSettled(
            event_id=EVENT.event_id,
            station="KLGA",
            date=EVENT.date,
            extreme="high",
            unit="F",
            status="settled",
            observed_value=45.0,
            settled_value=45,
            reports=24,
            winning_market_id=M2.market_id,
            winning_label="44-45°F",
            settled_at=now,
        )
    )
    await store.flush()
    await store.close()
    trader.request_resolution_check()
    await h.step()
    assert settlement_rows(h) == [] and position(h, M2.yes_token).shares == 20
    # The venue then resolves the other bucket YES: we lost, whatever our reports said.
    await record_venue_check(h.db, M1.market_id, ours=M2.market_id)
    trader.request_resolution_check()
    await h.step()
    assert position(h, M2.yes_token).realized == Decimal("-3.3344")


async def test_repeated_signals_and_restarts_never_double_count(harness: Harness) -> None:
    h = harness
    trader = await h.start()
    await buy(h, M2.yes_token, 0.40, "0.16")
    h.engine.on_frame(resolved_frame(winner_yes=True), time.perf_counter_ns())
    await h.step()
    expected = Decimal("16.6656")

    # The same frame again, the settlement job's record of it, explicit signals, more steps.
    h.engine.on_frame(resolved_frame(winner_yes=True), time.perf_counter_ns())
    await record_venue_check(h.db, M2.market_id)
    trader.on_resolution(EVENT.event_id, M2.market_id)
    trader.request_resolution_check()
    await h.step()
    await h.step()
    # A restart: the process learns the resolution again, from the database and the stream.
    trader = await h.restart()
    trader.on_resolution(EVENT.event_id, M2.market_id)
    await h.step()
    trader = await h.restart()
    await h.step()

    assert len(settlement_rows(h)) == 1
    assert len(h.rows("SELECT * FROM trade_episodes WHERE kind = 'settlement'")) == 1
    assert position(h, M2.yes_token).realized == expected
    assert trader.status()["realized_pnl"] == "16.6656"
    assert [k for k, _, _ in h.notes].count("settled") == 1
    [event] = pnl_rows(str(h.db))
    assert event["realized"] == expected


async def test_resolution_while_the_daemon_was_down_settles_at_startup(harness: Harness) -> None:
    h = harness
    await h.start()
    await buy(h, M2.yes_token, 0.40, "0.16")
    assert h.ledger is not None
    await h.ledger.close()
    h.ledger = None
    await record_venue_check(h.db, M2.market_id)  # recorded by another run of the job
    await h.start()  # recover() settles before anything else
    assert position(h, M2.yes_token).realized == Decimal("16.6656")
    assert len(settlement_rows(h)) == 1


async def test_no_positions_pay_the_opposite(tmp_path: Path) -> None:
    # NO on 44-45°F, which loses: 43°F or below resolves YES, so our NO pays 1.
    h = Harness(tmp_path / "no_win.db")
    await h.start()
    await buy(h, M2.no_token, 0.20, "0.50")
    h.engine.on_frame(resolved_frame(winner_yes=True, market=M1), time.perf_counter_ns())
    await h.step()
    pos = position(h, M2.no_token)
    assert pos.outcome == "NO" and pos.shares == 0
    assert pos.realized == Decimal(20) * (1 - Decimal("0.50")) - FEE_20_AT_050 == Decimal("9.75")
    [row] = settlement_rows(h)
    assert (row["price"], row["realized_pnl"]) == ("1", "10")
    await h.close()

    # NO on 44-45°F, which wins: our NO pays 0, the cost and the fee are lost.
    h = Harness(tmp_path / "no_lose.db")
    trader = await h.start()
    await buy(h, M2.no_token, 0.20, "0.50")
    h.engine.on_frame(resolved_frame(winner_yes=False, market=M1), time.perf_counter_ns())
    await h.step()  # M1 lost: that alone does not say which bucket won
    assert settlement_rows(h) == []
    h.engine.on_frame(resolved_frame(winner_yes=True, market=M2), time.perf_counter_ns())
    await h.step()
    assert position(h, M2.no_token).realized == Decimal("-10.25")
    assert trader.status()["realized_pnl"] == "-10.25"
    assert [t for k, t, _ in h.notes if k == "settled"] == [
        "Settled (lost): NYC 2026-11-25 44-45°F NO"
    ]
    await h.close()


async def test_shares_filled_after_the_settlement_are_settled_once_more(
    harness: Harness,
) -> None:
    from weatheredge.trading.gateway import TradeView

    h = harness
    trader = await h.start()
    await buy(h, M2.yes_token, 0.40, "0.16")
    h.engine.on_frame(resolved_frame(winner_yes=True), time.perf_counter_ns())
    await h.step()
    # A fill matched before the resolution but reported after it (a user-channel gap).
    late = TradeView("late-1", "unknown-order", M2.yes_token, "BUY", Decimal("0.5"), Decimal(10),
                     "CONFIRMED", fee=Decimal(0))  # fmt: skip
    trader.on_trade_event(late)
    await h.step()
    await h.step()
    rows = settlement_rows(h)
    assert [r["trade_id"] for r in rows] == [
        f"settlement:{M2.yes_token}",
        f"settlement:{M2.yes_token}:2",
    ]
    assert rows[1]["size"] == "10" and rows[1]["realized_pnl"] == "5"
    assert position(h, M2.yes_token).realized == Decimal("16.6656") + 5
    rows = query(h.db, "SELECT count(*) AS n FROM trade_fills WHERE side = 'SETTLE'")
    assert rows == [{"n": 2}]


def test_settled_notifications_are_on_by_default() -> None:
    notifier = Notifier([], levels=TradingNotifySettings(), deliver=lambda *_: None)
    assert notifier.level("settled").value == "on"
