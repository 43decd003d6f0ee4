"""``kill -9`` at varied moments, restart, repeat: the daemon (a real subprocess, paper mode,
against the sandbox) never takes an offer twice, tops its position up to the Kelly target and
no further, and leaves no edge or trade episode open once it finally stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from tests.trading.conftest import db_rows, modal_yes
from weatheredge.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]
# Caps wide enough that Kelly's position target binds, not a money cap.
PAPER = """\
mode: paper
trading:
  take_profit: false
  day_timezone: UTC
  max_order_usd: 1000
  max_bucket_usd: 1000
  max_event_usd: 1000
  max_city_date_usd: 1000
  max_total_usd: 1000
"""
ASK, FIRST, SECOND = "0.16", Decimal(150), Decimal(2000)


def _count(db: Path, sql: str) -> int:
    rows = db_rows(db, sql)
    return int(next(iter(rows[0].values()))) if rows else 0


def _shares(db: Path) -> Decimal:
    return sum(
        (Decimal(r["shares"]) for r in db_rows(db, "SELECT shares FROM positions")), Decimal(0)
    )


def _target(prob: float, price: Decimal) -> Decimal:
    """Kelly's position target in shares: 1/4 × (p − c)/(1 − c) × 1000 pUSD / c."""
    cost = price + Decimal("0.05") * price * (1 - price)
    p = Decimal(repr(prob))
    return Decimal("0.25") * (p - cost) / (1 - cost) * 1000 / cost


class Runs:
    def __init__(self, config: Path, db: Path, log: Path) -> None:
        self.config, self.db, self.log = config, db, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "weatheredge", "run", "-c", str(self.config)],
                env=env,
                cwd=self.config.parent,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def until(self, condition: Callable[[], bool], within: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not condition():
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
            assert loop.time() < deadline, (
                "condition not met in time\n" + self.log.read_text()[-3000:]
            )
            await asyncio.sleep(0.01)

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.proc.wait)
        assert self.proc.returncode == -signal.SIGKILL
        self.kills += 1

    async def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.proc.wait, 15)


async def test_kill_9_loop_never_takes_an_offer_twice_nor_leaves_an_edge_open(
    tmp_path: Path,
) -> None:
    db, config = tmp_path / "kill.db", tmp_path / "config.yaml"
    box = Sandbox()
    await box.start(play=False)
    runs = Runs(config, db, tmp_path / "daemon.log")
    try:
        _, yes = modal_yes(box)
        config.write_text(box.config_yaml(str(db), extra=PAPER), encoding="utf-8")
        box.venue.set_book(yes, [("0.10", "50")], [(ASK, str(FIRST))], mirror=False)

        def edges_opened() -> int:
            return _count(db, "SELECT count(*) FROM edges")

        def intents() -> int:
            return _count(db, "SELECT count(*) FROM trade_intents")

        def rejections() -> int:
            return _count(db, "SELECT count(*) FROM risk_rejections")

        # 1. killed while starting up, before any decision
        runs.start()
        await asyncio.sleep(0.4)
        await runs.kill()
        # 2. killed the moment its first order intent is committed: racing the paper fill
        runs.start()
        await runs.until(lambda: intents() >= 1)
        await runs.kill()
        # 3. killed once the offer has been bought (or right away, if run 2 already had it)
        runs.start()
        await runs.until(lambda: _shares(db) > 0)
        await asyncio.sleep(0.2)
        await runs.kill()
        assert _shares(db) == FIRST  # the whole offer, once, whatever run 2 was doing
        # 4. restarted facing the same offer: it opens the edge again, decides, takes nothing
        opened, before, refused = edges_opened(), intents(), rejections()
        runs.start()
        await runs.until(lambda: edges_opened() > opened)
        await runs.until(lambda: rejections() > refused or intents() > before)
        await asyncio.sleep(0.3)
        await runs.kill()
        assert _shares(db) == FIRST
        assert intents() == before
        # The seller refreshes the level with far more than the target: new liquidity.
        box.venue.set_book(yes, [("0.10", "50")], [(ASK, str(SECOND))], mirror=False)
        # 5. killed the moment the top-up intent is committed
        before = intents()
        runs.start()
        await runs.until(lambda: intents() > before)
        await runs.kill()
        # 6. killed shortly after it has reopened the edge
        opened = edges_opened()
        runs.start()
        await runs.until(lambda: edges_opened() > opened)
        await asyncio.sleep(0.3)
        await runs.kill()
        # Final run: once its own episode of the edge is open and the position at the target,
        # a clean stop.
        [entry] = db_rows(db, "SELECT prob FROM trade_intents WHERE kind = 'entry' LIMIT 1")
        target = _target(entry["prob"], Decimal(ASK))  # the same forecast in every run
        opened = edges_opened()
        runs.start()
        await runs.until(lambda: edges_opened() > opened and _shares(db) > target - 1)
        await asyncio.sleep(0.3)
        assert await runs.stop() == 0
    finally:
        if runs.proc is not None and runs.proc.poll() is None:
            runs.proc.kill()
            runs.proc.wait()
        await box.stop()

    assert runs.kills >= 6
    # Never an offer twice: the first 150 were bought once, the top-up only up to the target.
    shares = _shares(db)
    assert target - Decimal("0.01") < shares <= target
    probs = {r["prob"] for r in db_rows(db, "SELECT prob FROM trade_intents WHERE kind = 'entry'")}
    assert probs == {entry["prob"]}
    assert shares < FIRST + SECOND
    fills = db_rows(db, "SELECT side, price, size, status FROM trade_fills")
    assert {(f["side"], f["price"], f["status"]) for f in fills} == {("BUY", ASK, "CONFIRMED")}
    assert sum(Decimal(f["size"]) for f in fills) == shares  # every fill counted, once
    paper = db_rows(db, "SELECT size FROM paper_trades")
    assert sum(Decimal(t["size"]) for t in paper) == shares  # what the paper venue gave
    [level] = db_rows(db, "SELECT seen, taken FROM paper_levels")
    assert Decimal(level["taken"]) <= Decimal(level["seen"]) == SECOND
    # No edge and no trade episode left open; the killed runs' edges closed at the next start.
    assert db_rows(db, "SELECT edge_id FROM edges WHERE closed_at IS NULL") == []
    reasons = {r["close_reason"] for r in db_rows(db, "SELECT close_reason FROM edges")}
    assert {"daemon restarted", "daemon stopped"} <= reasons
    assert db_rows(db, "SELECT episode_id FROM trade_episodes WHERE status = 'open'") == []
