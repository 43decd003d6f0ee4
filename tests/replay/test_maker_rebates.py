"""The backtest's estimated maker rebates: a quote filled in the paper venue (the replay's fill
path: the tape's prints through the queue model) earns ``rebateRate × rate × p × (1 − p) ×
shares`` from its market's own fee schedule, logged with the fill and summed into the maker
table's ``rebates`` column; a market without a rebate rate earns none."""

from __future__ import annotations

import dataclasses
import sqlite3
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from tests.polymarket.factories import make_event as gamma_event
from tests.trading.test_maker_paper import EVENT, YES, M, PaperMaker
from weatheredge.model.market import TemperatureEvent
from weatheredge.polymarket.gamma_event import to_temperature_event
from weatheredge.polymarket.gamma_wire import GammaEvent
from weatheredge.replay.maker_metrics import compute
from weatheredge.replay.resolutions import Resolutions
from weatheredge.replay.sampler import Samples
from weatheredge.replay.scoreboard import METRICS, RunData


def rated(fee_rate: float, rebate_rate: float) -> TemperatureEvent:
    markets = tuple(
        dataclasses.replace(m, fee_rate=fee_rate, rebate_rate=rebate_rate) for m in EVENT.markets
    )
    return dataclasses.replace(EVENT, markets=markets)


async def quote_filled(db: Path, event: TemperatureEvent) -> None:
    """A bid joins 0.48 behind 30 shares; prints of 45 at 0.48 fill 15 of ours."""
    rig = PaperMaker(db, event)
    try:
        await rig.trader.recover()
        rig.book([("0.48", "30")], [("0.60", "100")])
        rig.view.p_yes[M.market_id] = 0.50
        await rig.trader.step()
        assert [o.price for o in await rig.paper.open_orders(YES)] == [Decimal("0.48")]
        rig.trade("0.48", "45")
        await rig.trader.step()
        assert rig.rows("SELECT size_micros FROM quote_actions WHERE action = 'fill'") == [
            (15_000_000,)
        ]
        await rig.trader.shutdown()
    finally:
        await rig.ledger.close()


def rebates_column(db: Path) -> float:
    run = RunData({}, [], [], Samples(), Resolutions(), 0, db_path=str(db))
    return METRICS["rebates"].compute(run)


@pytest.mark.parametrize(
    ("fee_rate", "rebate_rate", "expected"),
    [
        (0.05, 0.25, "0.04680"),  # 0.25 × 0.05 × 0.48 × 0.52 × 15 = 0.0468
        (0.05, 0.0, "0"),  # no rebate rate: nothing
        (0.0, 0.25, "0"),  # no fees: no pool
    ],
)
async def test_a_maker_fill_earns_its_markets_estimated_rebate(
    tmp_path: Path, fee_rate: float, rebate_rate: float, expected: str
) -> None:
    db = tmp_path / "bt.db"
    await quote_filled(db, rated(fee_rate, rebate_rate))
    con = sqlite3.connect(db)
    try:  # the fill's row carries the estimate, exact
        rows = list(con.execute("SELECT rebate FROM quote_actions WHERE action = 'fill'"))
    finally:
        con.close()
    assert rows == [(expected,)]
    assert rebates_column(db) == pytest.approx(float(expected))


def test_the_catalogue_keeps_each_markets_rebate_rate_from_gamma() -> None:
    raw = gamma_event()
    raw["markets"][1]["feeSchedule"] = {"rate": "0.05", "exponent": 1, "takerOnly": True}
    raw["markets"][2]["feesEnabled"] = False
    raw["markets"][3]["feeSchedule"]["rebateRate"] = "lots"  # unreadable: no estimate
    event = to_temperature_event(msgspec.convert(raw, GammaEvent))
    by_id = {m.market_id: m for m in event.markets}
    rates = [by_id[m["id"]].rebate_rate for m in raw["markets"][:5]]
    assert rates == [0.25, 0.0, 0.0, 0.0, 0.25]


def test_a_fill_the_chain_later_failed_earns_no_rebate() -> None:
    fill = {"venue_order_id": "o1", "side": "BUY", "price": "0.48", "size": "15", "fee": "0",
            "realized_pnl": "0", "trade_id": "t1"}  # fmt: skip
    fills = [{**fill, "status": "FAILED"}, {**fill, "trade_id": "t2", "status": "CONFIRMED"}]
    rows = [{"order_id": "o1", "price_micros": 480_000, "size_micros": 15_000_000,
             "rebate": "0.04680"}] * 2  # fmt: skip
    assert compute([], fills, [], rows)["rebates"] == pytest.approx(0.0468)
