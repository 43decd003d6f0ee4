"""Risk limits and sizing change live in paper mode; the position bought before stays."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.conftest import eventually
from tests.reload.conftest import daemon_from_file, post_reload
from weatheredge.sandbox import Sandbox

PAPER = "mode: paper\ntrading:\n  take_profit: false\n  day_timezone: UTC\n"


def _intents(db: Path) -> list[tuple[str, str, str]]:
    con = sqlite3.connect(db)
    try:
        sql = "SELECT price, size, status FROM trade_intents ORDER BY rowid"
        return con.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


async def test_a_smaller_max_order_sizes_the_next_entry_and_keeps_the_position(
    tmp_path: Path,
) -> None:
    box = Sandbox()
    await box.start(play=False)
    db, cfg = tmp_path / "we.db", tmp_path / "config.yaml"
    try:
        nyc = box.quoted[0]
        by_prob = sorted(range(len(nyc.probs)), key=nyc.probs.__getitem__, reverse=True)
        first, _ = nyc.tokens(by_prob[0])
        second, _ = nyc.tokens(by_prob[1])
        cfg.write_text(box.config_yaml(str(db), extra=PAPER))
        async with daemon_from_file(cfg) as (daemon, base):
            engine, trader = daemon.engine, daemon.trading.trader
            await eventually(lambda: nyc.event["id"] in engine.pricing, within=8)
            await eventually(lambda: engine.books[first].synced and engine.books[second].synced)
            await trader.ready()
            box.venue.set_book(first, [("0.10", "50")], [("0.16", "20")], mirror=False)
            await eventually(lambda: [i[2] for i in _intents(db)] == ["filled"])
            position = trader.positions[first]
            shares = position.shares

            cfg.write_text(cfg.read_text().replace("trading:\n", "trading:\n  max_order_usd: 1\n"))
            status, answer = await post_reload(base)
            assert status == 200 and answer["changed"] == ["trading.max_order_usd 50.0 -> 1.0"]
            assert trader.positions[first] is position and position.shares == shares

            # The next entry is cut to the new limit: $1 at 0.10 is 10 shares, not the 50 offered.
            box.venue.set_book(second, [("0.05", "50")], [("0.10", "50")], mirror=False)
            await eventually(lambda: len(_intents(db)) == 2 and _intents(db)[1][2] == "filled")
            price, size, _ = _intents(db)[1]
            assert float(price) * float(size) <= 1.0 and float(size) < 50
    finally:
        await box.stop()
