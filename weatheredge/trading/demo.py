"""``weatheredge demo --mode paper``: the scripted sandbox day, traded on paper, with its PnL."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from weatheredge.cli_common import setup_logging
from weatheredge.sandbox.demo import print_tape, record_yaml, sandbox_run, summary
from weatheredge.trading.cli import format_pnl, trades_rows

PAPER = """\
mode: paper
trading:
  bankroll: 1000
  take_profit: true
  day_timezone: UTC
"""


def cmd_paper_demo(args: argparse.Namespace) -> int:
    setup_logging(None, args.log_level)
    record = getattr(args, "record", None)
    return asyncio.run(run_paper_demo(duration=args.duration, db_path=args.db, record=record))


async def run_paper_demo(*, duration: float, db_path: str | None, record: str | None = None) -> int:
    extra = PAPER + record_yaml(record)
    # Long enough for a trade on each side: the venue resolves two events 5 s before the end,
    # so the day's PnL (and a tape's backtest) shows money paid out at the venue's resolution.
    resolve = duration - 5.0 if duration >= 25.0 else None
    async with sandbox_run(
        duration=duration, db_path=db_path, extra=extra, label="paper", resolve_after=resolve
    ) as (
        db_path,
        daemon,
        sandbox,
    ):
        print(summary(db_path, daemon, sandbox))
        print("\n== paper trades ==")
        for t in reversed(trades_rows(db_path, 50)):
            print(trade_line(t))
        print("\n== the day's PnL (pUSD) ==")
        print(format_pnl(db_path))
        final = daemon.final_trading  # taken before the stop, while the books were live
        if final is not None:
            print(f"unrealised at the bid: {final['unrealized_pnl']} (open positions, at stop)")
    print_tape(record)
    if record:  # the settings a replay or backtest of this tape needs (URLs do not matter)
        (Path(record) / "paper.yaml").write_text(PAPER)
        print(f"backtest it: weatheredge backtest {record} -c {Path(record) / 'paper.yaml'} "
              "--set min_edge=0.05,0.1,0.2")  # fmt: skip
    return 0


def trade_line(t: dict[str, Any]) -> str:
    """One order of the paper day; a rejected or failed one says why."""
    line = (
        f"  {t['created_at']}  {t['kind']:<11} {t['side']:<4} {t['outcome'] or '':<3} "
        f"{t['city']} {t['bucket']:<14} {t['filled_size']}/{t['size']} @ {t['price']} "
        f"fees {t['fees']}  [{t['status']}]"
    )
    return f"{line} {t['note']}" if t.get("note") else line
