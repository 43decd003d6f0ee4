"""The day's PnL the daily loss limit reads follows every change to the fills (it is memoised:
a decision round reads it many times and a long-running daemon holds many fills)."""

from __future__ import annotations

from decimal import Decimal

from tests.trading.conftest import M2, Harness
from weatheredge.trading.gateway import TradeView


def _trade(trade_id: str, side: str, price: str, status: str = "CONFIRMED") -> TradeView:
    return TradeView(trade_id, f"o-{trade_id}", M2.yes_token, side, Decimal(price),
                     Decimal("10"), status)  # fmt: skip


async def test_day_pnl_follows_new_and_failed_fills(harness: Harness) -> None:
    trader = await harness.start()
    start = trader.day_pnl()
    await trader.on_trade(_trade("t-1", "BUY", "0.2"))
    await trader.on_trade(_trade("t-2", "SELL", "0.3"))
    after_sell = trader.day_pnl()
    assert after_sell > start  # the round trip realised a profit
    assert trader.day_pnl() == after_sell  # read again: the same
    await trader.on_trade(_trade("t-2", "SELL", "0.3", "FAILED"))  # the sell is undone
    undone = trader.day_pnl()
    assert undone != after_sell
    await trader.on_trade(_trade("t-3", "SELL", "0.25"))
    again = trader.day_pnl()
    assert again not in (undone, after_sell)
    restarted = await harness.restart()  # read from the ledger, nothing remembered
    assert restarted.day_pnl() == again
