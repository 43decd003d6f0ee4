"""``weatheredge demo --mode paper``: the scripted sandbox day, traded on paper, with its PnL."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from weatheredge.config import parse_config
from weatheredge.runtime import run_daemon
from weatheredge.sandbox import Sandbox
from weatheredge.sandbox.demo import summary

PAPER = """\
mode: paper
trading:
  bankroll: 1000
  take_profit: true
  day_timezone: UTC
"""


async def run_paper_demo(*, duration: float, db_path: str | None) -> int:
    from weatheredge.trading.cli import format_pnl, trades_rows

    with contextlib.ExitStack() as stack:
        if db_path is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="weatheredge-paper-"))
            db_path = str(Path(tmp) / "paper.db")
        sandbox = Sandbox()
        await sandbox.start()
        print(f"sandbox up; paper trading against it for {duration:g} s (database {db_path})")
        try:
            loaded = parse_config(sandbox.config_yaml(db_path, extra=PAPER), env={})
            daemon = await run_daemon(loaded, duration=duration)
        finally:
            await sandbox.stop()
        print(summary(db_path, daemon, sandbox))
        print("\n== paper trades ==")
        for t in reversed(trades_rows(db_path, 50)):
            print(
                f"  {t['created_at']}  {t['kind']:<11} {t['side']:<4} {t['outcome'] or '':<3} "
                f"{t['city']} {t['bucket']:<14} {t['filled_size']}/{t['size']} @ {t['price']} "
                f"fees {t['fees']}  [{t['status']}]"
            )
        print("\n== the day's PnL (pUSD) ==")
        print(format_pnl(db_path))
        trading = getattr(daemon, "trading", None)
        if trading is not None:
            status = trading.status()
            print(f"unrealised at the bid: {status['unrealized_pnl']}")
    return 0
