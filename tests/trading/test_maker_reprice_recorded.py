"""A re-priced ladder is quoted exactly as before the maker's decision was made faster (issue
14): the same places, replaces and cancels, at the same prices and sizes, for the same reasons,
with limits tight enough that every shared one binds somewhere (open orders, the bucket, the
event, the city's day and the total) and the quotes of one round sized against each other.
The expected log was recorded from the previous implementation (commit 66bd319) on the same
script against the sandbox exchange (real SDK)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.trading.livekit import box, loopback_only  # noqa: F401  (fixtures)
from tests.trading.makerkit import MakerRig
from weatheredge.sandbox import Sandbox

BUCKETS = 6
LIMITS = {"max_open_orders": 9, "max_order_usd": 6, "max_bucket_usd": 9, "max_event_usd": 25,
          "max_city_date_usd": 30, "max_total_usd": 28}  # fmt: skip
SHIFTS = (0.0, -0.03, 0.02, -0.05, 0.04, 0.0, -0.01)
RECORDED: list[tuple[str, str, int, int, str]] = [
    ("0Y", "place", 60000, 88650000, "new"),
    ("1Y", "place", 180000, 33330000, "new"),
    ("2Y", "place", 310000, 19350000, "new"),
    ("3Y", "place", 430000, 13950000, "new"),
    ("5N", "place", 230000, 7320000, "new"),
    ("0Y", "replace", 10000, 532000000, "fair_moved"),
    ("0Y", "place", 10000, 532000000, "fair_moved"),
    ("1Y", "replace", 140000, 42850000, "fair_moved"),
    ("1Y", "place", 140000, 42850000, "fair_moved"),
    ("2Y", "replace", 270000, 22220000, "fair_moved"),
    ("2Y", "place", 270000, 22210000, "fair_moved"),
    ("3Y", "replace", 400000, 14990000, "fair_moved"),
    ("3Y", "place", 400000, 15000000, "fair_moved"),
    ("5N", "replace", 250000, 6730000, "fair_moved"),
    ("5N", "place", 250000, 6730000, "fair_moved"),
    ("0Y", "replace", 60000, 88690000, "fair_moved"),
    ("0Y", "place", 60000, 88690000, "fair_moved"),
    ("1Y", "replace", 190000, 31570000, "fair_moved"),
    ("1Y", "place", 190000, 31570000, "fair_moved"),
    ("2Y", "replace", 320000, 18740000, "fair_moved"),
    ("2Y", "place", 320000, 18740000, "fair_moved"),
    ("3Y", "replace", 450000, 13330000, "fair_moved"),
    ("3Y", "place", 450000, 13330000, "fair_moved"),
    ("5N", "replace", 210000, 8020000, "fair_moved"),
    ("5N", "place", 210000, 8020000, "fair_moved"),
    ("0Y", "cancel", 60000, 88690000, "no_price"),
    ("1Y", "replace", 120000, 49990000, "fair_moved"),
    ("1Y", "place", 120000, 50000000, "fair_moved"),
    ("2Y", "replace", 250000, 23990000, "fair_moved"),
    ("2Y", "place", 250000, 24000000, "fair_moved"),
    ("3Y", "replace", 380000, 15780000, "fair_moved"),
    ("3Y", "place", 380000, 15780000, "fair_moved"),
    ("5N", "replace", 250000, 6740000, "fair_moved"),
    ("5N", "place", 250000, 24000000, "fair_moved"),
    ("0Y", "place", 60000, 16720000, "new"),
    ("1Y", "replace", 190000, 31570000, "fair_moved"),
    ("1Y", "place", 190000, 31570000, "fair_moved"),
    ("2Y", "replace", 320000, 18750000, "fair_moved"),
    ("2Y", "place", 320000, 18750000, "fair_moved"),
    ("3Y", "replace", 450000, 13330000, "fair_moved"),
    ("3Y", "place", 450000, 13330000, "fair_moved"),
    ("5N", "replace", 190000, 31570000, "fair_moved"),
    ("5N", "place", 190000, 31570000, "fair_moved"),
    ("0Y", "replace", 40000, 25120000, "fair_moved"),
    ("0Y", "place", 40000, 25120000, "fair_moved"),
    ("1Y", "replace", 170000, 35290000, "fair_moved"),
    ("1Y", "place", 170000, 35280000, "fair_moved"),
    ("2Y", "replace", 300000, 20000000, "fair_moved"),
    ("2Y", "place", 300000, 20000000, "fair_moved"),
    ("3Y", "replace", 430000, 13950000, "fair_moved"),
    ("3Y", "place", 430000, 13950000, "fair_moved"),
    ("5N", "replace", 230000, 26080000, "fair_moved"),
    ("5N", "place", 230000, 26080000, "fair_moved"),
    ("0Y", "replace", 30000, 33510000, "fair_moved"),
    ("0Y", "place", 30000, 33510000, "fair_moved"),
    ("1Y", "replace", 160000, 37480000, "fair_moved"),
    ("1Y", "place", 160000, 37480000, "fair_moved"),
    ("2Y", "replace", 290000, 20680000, "fair_moved"),
    ("2Y", "place", 290000, 20680000, "fair_moved"),
    ("3Y", "replace", 420000, 14280000, "fair_moved"),
    ("3Y", "place", 420000, 14280000, "fair_moved"),
    ("5N", "replace", 240000, 24990000, "fair_moved"),
    ("5N", "place", 240000, 25000000, "fair_moved"),
]


@pytest.fixture
async def rig(box: Sandbox, tmp_path: Path) -> AsyncIterator[MakerRig]:  # noqa: F811
    made = MakerRig(box, tmp_path / "maker.db", buckets=BUCKETS, **LIMITS)
    yield made
    await made.close()


def fair(m: int, shift: float) -> float:
    return round(0.08 + 0.13 * m + shift, 4)


async def replay(rig: MakerRig) -> list[tuple[str, str, int, int, str]]:
    await rig.start()
    for m in range(BUCKETS):
        p = fair(m, 0.0)
        rig.book(rig.token(m), [(f"{p - 0.03:.2f}", "100")], [("0.97", "100")])
        rig.book(rig.token(m, False), [(f"{1 - p - 0.03:.2f}", "100")], [("0.97", "100")])
    for shift in SHIFTS:  # each a report re-pricing every bucket
        for m in range(BUCKETS):
            rig.price(fair(m, shift), m)
        await rig.step(0.3)
    bucket = {t: f"{m}{'Y' if t == rig.token(m) else 'N'}" for m in range(BUCKETS)
              for t in (rig.token(m), rig.token(m, False))}  # fmt: skip
    rows = rig.rows(
        "SELECT token_id, action, price_micros, size_micros, reason FROM quote_actions ORDER BY id"
    )
    return [(bucket[t], a, p, s, r) for t, a, p, s, r in rows]


async def test_a_re_priced_ladder_is_quoted_as_recorded(rig: MakerRig) -> None:
    log = await replay(rig)
    assert log == RECORDED
