"""The daemon in paper mode against the sandbox: a trading day with exact PnL, the HTTP kill
switch and the CLI's view of it."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import aiohttp

from tests.conftest import eventually, running_daemon
from weatheredge.sandbox import Sandbox
from weatheredge.trading.cli import format_pnl

PAPER = """\
mode: paper
trading:
  take_profit: false
  day_timezone: UTC
"""


def _rows(db: Path, sql: str) -> list[dict]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql)]
    finally:
        con.close()


async def test_paper_trading_day_in_the_sandbox(tmp_path: Path) -> None:
    db = tmp_path / "paper.db"
    box = Sandbox()
    await box.start(play=False)
    try:
        nyc = box.quoted[0]
        modal = max(range(len(nyc.probs)), key=nyc.probs.__getitem__)
        yes, _ = nyc.tokens(modal)
        async with running_daemon(box, db, extra=PAPER) as (daemon, base):
            engine = daemon.engine
            await eventually(lambda: nyc.event["id"] in engine.pricing, within=8)
            await eventually(lambda: engine.books[yes].synced)
            assert daemon.trading is not None
            await daemon.trading.trader.ready()

            # The YES ask drops to 0.16 for 20 shares: bought, all 20 (depth binds).
            box.venue.set_book(yes, [("0.10", "50")], [("0.16", "20")], mirror=False)
            await eventually(lambda: _status(db) == ["filled"])
            # The market overshoots to a 0.60 bid: our probability is far below it, exit.
            box.venue.set_book(yes, [("0.60", "20")], [("0.63", "50")], mirror=False)
            await eventually(lambda: _status(db) == ["filled", "filled"])

            async with aiohttp.ClientSession() as http:
                url = f"{base}/api/v1/trading/halt"
                async with http.post(
                    url, json={"reason": "test"}, headers={"X-Weatheredge": "1"}
                ) as resp:
                    assert resp.status == 200
                    assert (await resp.json())["halted"] is True
                box.venue.set_book(yes, [("0.10", "50")], [("0.16", "20")], mirror=False)
                await eventually(lambda: bool(_rows(db, "SELECT * FROM risk_rejections")))
                async with http.get(f"{base}/status") as resp:
                    status = await resp.json()
            assert status["trading"]["halted"] is True
            assert status["trading"]["realized_pnl"] == "8.4256"
    finally:
        await box.stop()

    intents = _rows(db, "SELECT kind, side, price, size, fees, status FROM trade_intents")
    assert [(i["kind"], i["side"], i["price"], i["size"], i["fees"]) for i in intents] == [
        ("entry", "BUY", "0.16", "20", "0.1344"),  # 20 * 0.05 * 0.16 * 0.84
        ("exit", "SELL", "0.6", "20", "0.24"),  # 20 * 0.05 * 0.60 * 0.40
    ]
    # 20 * (0.60 - 0.16) - 0.1344 - 0.24
    position = _rows(db, "SELECT shares, realized_pnl FROM positions")
    assert position == [{"shares": "0", "realized_pnl": "8.4256"}]
    assert [r["limit_name"] for r in _rows(db, "SELECT limit_name FROM risk_rejections")] == [
        "halted"
    ]
    assert "8.4256" in format_pnl(str(db))
    assert Decimal("8.4256") == Decimal(20) * (Decimal("0.60") - Decimal("0.16")) - Decimal(
        "0.3744"
    )
    kinds = {r["kind"] for r in _rows(db, "SELECT kind FROM notifications")}
    assert {"trade_intent", "trade_filled", "trade_exit"} <= kinds


def _status(db: Path) -> list[str]:
    try:
        return [r["status"] for r in _rows(db, "SELECT status FROM trade_intents ORDER BY rowid")]
    except sqlite3.OperationalError:
        return []
