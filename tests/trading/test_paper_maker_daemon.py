"""The whole daemon (the app ``weatheredge run`` serves) in paper maker mode against the sandbox
and its taker flow: quotes rest in the paper venue, the flow's prints reach one of them through
the queue, and the fill is recorded as a maker fill with no fee (SQLite and ``/status``)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import eventually, running_daemon
from weatheredge.replay.maker_metrics import maker_metrics
from weatheredge.sandbox import Sandbox

PAPER_MAKER = """\
mode: paper
trading:
  bankroll: 1000
  take_profit: false
  day_timezone: UTC
  strategy: maker
  maker:
    margin: 0.01
    pull_before_report: 0
"""


@pytest.fixture
async def busy() -> AsyncIterator[Sandbox]:
    """The scripted day, its taker flow at test speed."""
    box = Sandbox(first_edge_after_s=0.5, cycle_s=8.0, flow_interval_s=0.2, flow_refill_s=0.6)
    await box.start()
    try:
        yield box
    finally:
        await box.stop()


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    con = sqlite3.connect(db)
    try:
        return list(con.execute(sql))
    except sqlite3.OperationalError:  # tables not migrated yet
        return []
    finally:
        con.close()


@pytest.mark.timeout(120)
async def test_paper_maker_daemon_rests_quotes_and_the_flow_fills_one(
    busy: Sandbox, tmp_path: Path
) -> None:
    db = tmp_path / "maker.db"
    async with running_daemon(busy, db, extra=PAPER_MAKER) as (daemon, base):
        assert daemon.trading is not None
        await eventually(
            lambda: rows(db, "SELECT 1 FROM paper_orders WHERE status = 'open'"), within=30
        )
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/status") as r:
                status = await r.json()
        maker = status["trading"]["maker"]
        assert maker["strategy"] == "maker" and maker["resting"]
        assert {q["outcome"] for q in maker["resting"]} <= {"YES", "NO"}
        await eventually(
            lambda: rows(db, "SELECT 1 FROM quote_actions WHERE action = 'fill'"), within=60
        )
    fills = rows(
        db,
        "SELECT f.fee, i.kind, i.mode FROM trade_fills f "
        "JOIN trade_intents i USING (intent_key) WHERE i.kind = 'quote'",
    )
    assert fills and all(f == ("0", "quote", "paper") for f in fills)
    assert {r[0] for r in rows(db, "SELECT reason FROM quote_actions WHERE action = 'fill'")} == {
        "MAKER"
    }
    filled = rows(db, "SELECT role, token_id FROM paper_trades")
    assert {role for role, _ in filled} == {"MAKER"}
    # the flow's prints filled them: on tokens a taker sold into
    assert busy.taker_flow is not None
    sold = {
        busy.quoted[t.event].tokens(t.bucket)[t.outcome == "NO"]
        for t, prints in busy.taker_flow.sent
        if prints and t.side == "SELL"
    }
    assert {token for _, token in filled} <= sold
    # and the backtest's maker metrics, read from the same tables, count them as quote fills
    metrics = maker_metrics(db)
    assert metrics["fills"] == len(fills) and metrics["fill_rate"] > 0
