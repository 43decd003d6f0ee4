"""A paper-trading day with exact PnL, driven through the real engine."""

from __future__ import annotations

from decimal import Decimal

from tests.trading.conftest import M2, Harness
from weatheredge.trading.portfolio import Position


async def test_paper_day_exact_pnl(harness: Harness) -> None:
    h = harness
    trader = await h.start()
    h.fair_books()
    h.price(0.40)  # our P(44-45°F) = 0.40
    await h.step()
    assert h.rows("SELECT * FROM trade_intents") == []

    # 09:00 the YES ask drops to 0.20 with 30 shares: edge 0.40 - 0.20 - 0.008 = 0.192.
    # Kelly (1/4 of 1000) wants far more; the 30 shares offered are what we get.
    h.book(M2.yes_token, [("0.18", "50")], [("0.20", "30"), ("0.25", "100")])
    await h.step()
    # 10:00 the ask comes back at 0.21 for 100: a new tick of the same episode, no second buy.
    h.book(M2.yes_token, [("0.18", "50")], [("0.21", "100")])
    await h.step()
    # 14:00 the market overshoots: bid 0.55 for 20 > p. Exit sells 20 at the bid.
    h.book(M2.yes_token, [("0.55", "20"), ("0.50", "100")], [("0.60", "100")])
    await h.step()
    # 15:00 the forecast moves to 0.30 while bid 0.50 stands for 100: the remaining 10 go.
    h.book(M2.yes_token, [("0.50", "100")], [("0.60", "100")])
    h.price(0.30)
    await h.step()
    await h.step()

    intents = h.rows("SELECT kind, side, price, size, filled_size, fees, status FROM trade_intents")
    assert [(i["kind"], i["side"], i["price"], i["size"], i["status"]) for i in intents] == [
        ("entry", "BUY", "0.2", "30", "filled"),
        ("exit", "SELL", "0.55", "20", "filled"),
        ("exit", "SELL", "0.5", "10", "filled"),
    ]
    # fees: 30*.05*.2*.8 = 0.24; 20*.05*.55*.45 = 0.2475; 10*.05*.5*.5 = 0.125
    assert [i["fees"] for i in intents] == ["0.24", "0.2475", "0.125"]
    # realised: -0.24 + (0.55-0.20)*20 - 0.2475 + (0.50-0.20)*10 - 0.125 = 9.3875
    pos = Position.from_row(h.rows("SELECT * FROM positions")[0])
    assert pos.shares == 0
    assert pos.realized == Decimal("9.3875")
    assert pos.fees == Decimal("0.6125")
    assert trader.status()["realized_pnl"] == "9.3875"
    episodes = h.rows("SELECT kind, status FROM trade_episodes ORDER BY opened_at")
    assert [e["kind"] for e in episodes] == ["entry", "exit", "exit"]
    kinds = [k for k, _, _ in h.notes]
    assert kinds.count("intent") == 3 and kinds.count("filled") == 3 and kinds.count("exit") == 2
    assert kinds.index("intent") < kinds.index("filled")  # told before, then after


async def test_take_profit_when_converged(tmp_path) -> None:
    h = Harness(tmp_path / "tp.db", take_profit=True)
    await h.start()
    h.fair_books()
    h.price(0.40)
    h.book(M2.yes_token, [("0.18", "50")], [("0.20", "10")])
    await h.step()
    h.book(M2.yes_token, [("0.40", "50")], [("0.45", "10")])  # bid - fee = 0.388 >= 0.39? no
    await h.step()
    assert len(h.rows("SELECT * FROM trade_intents")) == 1
    h.book(M2.yes_token, [("0.41", "50")], [("0.45", "10")])  # 0.41 - 0.0121 = 0.3979 >= 0.39
    await h.step()
    rows = h.rows("SELECT kind, price, size, status FROM trade_intents ORDER BY created_at")
    assert rows[-1] == {"kind": "take_profit", "price": "0.41", "size": "10", "status": "filled"}
    await h.close()


async def test_dry_run_records_what_it_would_do(tmp_path) -> None:
    from weatheredge.config import Mode

    h = Harness(tmp_path / "d.db", mode=Mode.DRY_RUN)
    await h.start()
    h.fair_books()
    h.price(0.40)
    h.book(M2.yes_token, [("0.18", "50")], [("0.20", "30")])
    await h.step()
    rows = h.rows("SELECT status, size, price FROM trade_intents")
    assert rows == [{"status": "dry_run", "size": "30", "price": "0.2"}]
    assert h.rows("SELECT * FROM trade_fills") == []
    assert h.notes == []
    await h.close()
