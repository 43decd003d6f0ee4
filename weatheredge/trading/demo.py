"""``weatheredge demo --mode paper``: the scripted sandbox day, traded on paper, with its PnL."""

from __future__ import annotations

from weatheredge.sandbox.demo import print_tape, record_yaml, sandbox_run, summary

PAPER = """\
mode: paper
trading:
  bankroll: 1000
  take_profit: true
  day_timezone: UTC
"""


async def run_paper_demo(*, duration: float, db_path: str | None, record: str | None = None) -> int:
    from weatheredge.trading.cli import format_pnl, trades_rows

    extra = PAPER + record_yaml(record)
    async with sandbox_run(duration=duration, db_path=db_path, extra=extra, label="paper") as (
        db_path,
        daemon,
        sandbox,
    ):
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
    print_tape(record)
    return 0
