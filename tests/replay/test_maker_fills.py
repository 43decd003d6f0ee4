"""Resting paper orders in replay (issue 14): filled by the tape's trade prints through the same
queue model, the same way every run; and the maker metrics of a replay's database."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from db.migrations import apply_migrations
from tests.trading.test_paper_resting import YES, resting_bid
from weatheredge.replay.driver import Replay
from weatheredge.replay.maker_metrics import maker_metrics
from weatheredge.replay.settings import replay_settings

PAPER = "mode: paper\ntrading: {take_profit: false, day_timezone: UTC}\n"
T0 = 1_800_000_000 * 10**9
QUOTE_ACTIONS = """CREATE TABLE IF NOT EXISTS quote_actions (id INTEGER PRIMARY KEY, at TEXT,
  event_id TEXT, token_id TEXT, side TEXT, outcome TEXT, action TEXT, price_micros INTEGER,
  size_micros INTEGER, order_id TEXT, reason TEXT)"""


def _print(at_s: float, price: str, size: str) -> dict:
    raw = {
        "event_type": "last_trade_price", "market": "0xm", "asset_id": YES, "price": price,
        "size": size, "side": "SELL", "timestamp": str(int((T0 + at_s * 1e9) // 10**6)),
    }  # fmt: skip
    ns = int(at_s * 1e9)
    return {"kind": "frame", "wall_ns": T0 + ns, "mono_ns": ns, "raw": json.dumps(raw)}


def _rows(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return list(con.execute(sql))
    finally:
        con.close()


@pytest.fixture
async def seeded(tmp_path: Path) -> Path:
    """A database a paper run left with a bid resting at 0.40 behind 100 shares."""
    db = tmp_path / "seed.db"
    v, ledger, _ = await resting_bid(db)
    await v.paper.close()
    await ledger.close()
    return db


async def test_resting_orders_fill_in_replay_the_same_way_every_run(
    seeded: Path, tmp_path: Path
) -> None:
    config = tmp_path / "paper.yaml"
    config.write_text(PAPER)
    tape = [
        {"kind": "session", "wall_ns": T0, "mono_ns": 0},
        _print(1, "0.40", "60"),  # 40 still ahead
        _print(2, "0.40", "45"),  # 5 of ours
        _print(3, "0.41", "99"),  # a worse price for the seller than our bid: not ours
        _print(4, "0.39", "20"),  # through our price: the other 5
        {"kind": "stale", "wall_ns": T0 + 6 * 10**9, "mono_ns": 6 * 10**9},
    ]
    fills = []
    for run in (1, 2):
        db = tmp_path / f"run{run}.db"
        shutil.copy(seeded, db)
        await Replay(replay_settings(str(config), {}, str(db))).run(iter(tape))
        fills.append(_rows(db, "SELECT trade_id, size, fee FROM trade_fills ORDER BY trade_id"))
    assert fills[0] == fills[1] == [("paper:q1:m1", "5", "0"), ("paper:q1:m2", "5", "0")]


def test_maker_metrics_of_a_replay_database(tmp_path: Path) -> None:
    db = tmp_path / "bt.db"
    apply_migrations(sqlite_utils.Database(db))  # the tables a replay's database has
    con = sqlite3.connect(db)
    con.execute(QUOTE_ACTIONS)
    at = "2026-12-01T00:00:00.000Z"
    actions = [
        ("place", "o1"), ("replace", "o2"), ("cancel", "o2"), ("place", "o3"),
        ("reject", None), ("fill", "o1"), ("place", "o4"), ("cancel", "o4"),
    ]  # fmt: skip
    con.executemany(
        "INSERT INTO quote_actions (at, event_id, token_id, side, outcome, action, price_micros,"
        " size_micros, order_id, reason) VALUES (?, 'e', 't', 'BUY', 'YES', ?, 400000, 10000000,"
        " ?, '')",
        [(at, a, o) for a, o in actions],
    )
    fill = (
        "INSERT INTO trade_fills (trade_id, venue_order_id, token_id, side, price, size, fee,"
        " realized_pnl, status, matched_at, updated_at) VALUES (?, ?, 't', ?, ?, ?, ?, ?,"
        " 'CONFIRMED', ?, ?)"
    )
    rows = [  # (trade, order, side, price, size, fee, realised, minute)
        ("f1", "o1", "BUY", "0.40", "10", "0", "0", 1),
        ("f2", "o3", "BUY", "0.30", "5", "0", "0", 2),
        ("f3", "o3", "BUY", "0.30", "5", "0", "0", 3),
        ("tk", "taker", "BUY", "0.50", "4", "0.05", "-0.05", 4),  # a taker fill: fees only
        ("s1", None, "SETTLE", "1", "10", "0", "6", 5),
        ("s2", None, "SETTLE", "0", "10", "0", "-3", 6),
        ("s3", None, "SETTLE", "0", "4", "0", "-2", 7),
        ("s4", None, "SETTLE", "1", "1", "0", "4", 8),
    ]
    for t, o, side, p, s, fee, pnl, minute in rows:
        when = f"2026-12-01T00:0{minute}:00.000Z"
        con.execute(fill, (t, o, side, p, s, fee, pnl, when, when))
    marks = [("f1", 0, "0.42"), ("f1", 60, "0.38"), ("f1", 600, "0.30"),
             ("f2", 0, "0.32"), ("f2", 60, "0.34")]  # fmt: skip
    con.executemany(
        "INSERT INTO paper_marks (trade_id, horizon_s, at, mid) VALUES (?, ?, ?, ?)",
        [(t, h, at, m) for t, h, m in marks],
    )
    con.commit()
    con.close()
    m = maker_metrics(db)
    assert (m["quotes_placed"], m["quotes_replaced"], m["quotes_cancelled"]) == (3, 1, 2)
    assert m["quotes_rejected"] == 1
    assert (m["fills"], m["filled_shares"]) == (3, 20.0)
    assert m["fill_rate"] == 2 / 4  # o1 and o3 of o1..o4
    # 1 min: f1 lost 0.04 on 10 shares, f2 gained 0.02 on 5: (0.4 - 0.1) / 15 against us
    assert m["adverse_1m"] == pytest.approx(0.02)
    assert (m["adverse_1m_fills"], m["adverse_10m_fills"]) == (2, 1)
    assert m["adverse_10m"] == pytest.approx(0.12)
    assert (m["fees"], m["rebates"]) == (pytest.approx(0.05), 0.0)
    assert m["maker_volume"] == pytest.approx(4.0 + 1.5 + 1.5)
    # realised: -0.05, +6 (peak 5.95), -3, -2 (trough 0.95), +4 -> 4.95; drawdown 5
    assert m["realised_pnl"] == pytest.approx(4.95)
    assert m["max_drawdown"] == pytest.approx(5.0)


def test_maker_metrics_of_a_run_without_quotes_are_zero(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    sqlite3.connect(db).close()
    m = maker_metrics(db)
    assert m["quotes_placed"] == m["fills"] == 0 and m["fill_rate"] == 0.0
