"""Idempotence that survives restarts (issue 13): the paper venue remembers what it gave, sizing
targets a position instead of adding per episode, a fill is never half-recorded, and episodes a
killed process left open are closed at the next start."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import eventually, running_daemon
from tests.trading.conftest import M2, Crash, Harness, db_rows, edge, modal_yes
from weatheredge.config import Mode
from weatheredge.sandbox import Sandbox


def shares(h: Harness) -> list[str]:
    return [r["shares"] for r in h.rows("SELECT shares FROM positions")]


def limits(h: Harness) -> list[str]:
    return [r["limit_name"] for r in h.rows("SELECT limit_name FROM risk_rejections ORDER BY id")]


async def test_a_restart_never_rebuys_the_offer_the_paper_venue_already_gave(
    harness: Harness,
) -> None:
    h = harness
    await h.start()
    edge(h)
    await h.step()
    assert shares(h) == ["30"]
    [first] = h.rows("SELECT episode_id, status FROM trade_episodes")
    assert first["status"] == "open"
    for _ in range(3):  # each restart opens a new episode of the same edge, same offer
        await h.restart()
        edge(h)
        await h.step()
    # the episode the "killed" process left open was closed at the next start
    [row] = h.rows(f"SELECT * FROM trade_episodes WHERE episode_id = '{first['episode_id']}'")
    assert (row["status"], row["reason"]) == ("closed", "daemon restarted") and row["closed_at"]
    assert len(h.gateway.placed) == 1
    assert shares(h) == ["30"]
    assert limits(h) == ["offer_taken"] * 3
    assert [r["size"] for r in h.rows("SELECT size FROM paper_trades")] == ["30"]
    # The seller refreshes the level (another size): that is new liquidity, bought once.
    h.book(M2.yes_token, [("0.18", "50")], [("0.20", "40")])
    await h.step()
    assert shares(h) == ["70"]
    await h.restart()
    edge(h, size="40")
    await h.step()
    assert shares(h) == ["70"] and len(h.gateway.placed) == 2


async def test_an_exit_never_sells_into_the_same_bid_twice(harness: Harness) -> None:
    h = harness
    await h.start()
    edge(h)
    await h.step()
    h.book(M2.yes_token, [("0.55", "20")], [("0.60", "100")])  # overshoot: exit at the bid
    for _ in range(3):
        await h.step()
    await h.restart()
    h.fair_books()
    h.price(0.40)
    h.book(M2.yes_token, [("0.55", "20")], [("0.60", "100")])
    await h.step()
    rows = h.rows("SELECT kind, size, status FROM trade_intents ORDER BY created_at")
    assert rows == [
        {"kind": "entry", "size": "30", "status": "filled"},
        {"kind": "exit", "size": "20", "status": "filled"},
    ]  # not an order per tick for a bid our paper order already took
    assert shares(h) == ["10"]
    assert limits(h) == ["min_size", "min_size"]  # once per run, not per tick


@pytest.mark.parametrize("mode", [Mode.PAPER, Mode.LIVE])
async def test_a_new_episode_tops_up_to_the_target_instead_of_a_second_full_order(
    tmp_path: Path, mode: Mode
) -> None:
    # Kelly's target at p=0.40, ask 0.20 (cost 0.208): 0.25 × 0.192/0.792 × 1000 / 0.208
    # = 291.37 shares; the money caps are out of the way.
    caps = {f"max_{k}_usd": 1000.0 for k in ("order", "bucket", "event", "city_date", "total")}
    h = Harness(tmp_path / "target.db", mode, **caps)
    try:
        await h.start()
        edge(h, size="100")
        await h.step()
        assert shares(h) == ["100"]  # depth bound the first order
        h.fair_books()  # the edge goes away: its episode closes
        await h.step()
        edge(h, size="1000")  # a new episode with plenty offered: only the difference
        await h.step()
        assert [r["size"] for r in h.rows("SELECT size FROM trade_intents")] == ["100", "191.37"]
        assert shares(h) == ["291.37"]
        h.fair_books()
        await h.step()
        edge(h, ask="0.20", size="2000")  # again, and after a restart: at the target already
        await h.step()
        await h.restart()
        edge(h, size="3000")
        await h.step()
        assert shares(h) == ["291.37"] and len(h.gateway.placed) == 2
        assert limits(h) == ["position_target", "position_target"]
    finally:
        await h.close()


async def test_a_crash_inside_recording_a_fill_loses_neither_the_fill_nor_counts_it_twice(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    trader = await h.start()

    async def dies_while_recording(*_: Any, **__: Any) -> None:
        raise Crash

    monkeypatch.setattr(trader.ledger, "save_fill", dies_while_recording)
    edge(h)
    with pytest.raises(Crash):
        await h.step()
    assert shares(h) == []  # the venue filled it; our process died before recording it
    await h.restart()  # reconcile: the venue's trade is applied now, once
    assert shares(h) == ["30"]
    assert [r["status"] for r in h.rows("SELECT status FROM trade_intents")] == ["filled"]
    await h.restart()
    assert shares(h) == ["30"] and len(h.gateway.placed) == 1


PAPER = """\
mode: paper
trading:
  take_profit: false
  day_timezone: UTC
"""


async def test_edges_left_open_are_closed_at_start_and_reopened_only_if_they_hold(
    tmp_path: Path,
) -> None:
    db = tmp_path / "edges.db"
    box = Sandbox()
    await box.start(play=False)
    try:
        nyc, yes = modal_yes(box)
        fair = box.venue.book(yes)
        wire = {s: [(lvl["price"], lvl["size"]) for lvl in fair[s]] for s in ("bids", "asks")}
        async with running_daemon(box, db, extra=PAPER) as (daemon, _):
            await eventually(lambda: nyc.event["id"] in daemon.engine.pricing, within=8)
            await eventually(lambda: yes in daemon.engine.books and daemon.engine.books[yes].synced)
            await daemon.trading.trader.ready()
            box.venue.set_book(yes, [("0.10", "50")], [("0.16", "20")], mirror=False)
            await eventually(lambda: bool(db_rows(db, "SELECT * FROM positions")))
        # What a kill -9 leaves behind: the edge and the entry episode still open.
        con = sqlite3.connect(db)
        with con:
            con.execute("UPDATE edges SET status = 'open', closed_at = NULL, close_reason = NULL")
            con.execute("UPDATE trade_episodes SET status = 'open', closed_at = NULL")
        con.close()
        [old] = [r["edge_id"] for r in db_rows(db, "SELECT edge_id FROM edges")]
        box.venue.set_book(yes, wire["bids"], wire["asks"], mirror=False)  # the edge is gone
        async with running_daemon(box, db, extra=PAPER) as (daemon, _):
            await daemon.trading.trader.ready()
            [row] = db_rows(db, "SELECT edge_id, status, close_reason FROM edges")
            assert row == {"edge_id": old, "status": "closed", "close_reason": "daemon restarted"}
            await eventually(lambda: yes in daemon.engine.books and daemon.engine.books[yes].synced)
            await eventually(lambda: nyc.event["id"] in daemon.engine.pricing, within=8)
            assert len(db_rows(db, "SELECT * FROM edges")) == 1  # not reopened: it no longer holds
            box.venue.set_book(yes, [("0.10", "50")], [("0.16", "30")], mirror=False)
            await eventually(lambda: len(db_rows(db, "SELECT * FROM edges")) == 2)  # it holds now
            # a position of 20 far below its target: the new episode tops up with the 30
            await eventually(
                lambda: db_rows(db, "SELECT shares FROM positions") == [{"shares": "50"}]
            )
        episodes = db_rows(db, "SELECT status, reason FROM trade_episodes")
        assert {e["status"] for e in episodes} == {"closed"}
        assert any("daemon restarted" in e["reason"] for e in episodes)
    finally:
        await box.stop()
    assert db_rows(db, "SELECT edge_id FROM edges WHERE closed_at IS NULL") == []
    assert {r["close_reason"] for r in db_rows(db, "SELECT close_reason FROM edges")} == {
        "daemon restarted",
        "daemon stopped",
    }
