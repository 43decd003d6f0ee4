"""`weatheredge demo --mode paper`: the figures it prints are the ones that happened."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from weatheredge.trading.demo import run_paper_demo, trade_line


@pytest.mark.timeout(90)
async def test_paper_demo_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await run_paper_demo(duration=8.0, db_path=str(tmp_path / "p.db"))
    out = capsys.readouterr().out
    # Shares still held at the stop: their value at the bid, read while the books were live.
    open_cost = sum(
        Decimal(m) for m in re.findall(r"^\S.*\(\d+\)\s+\S+\s+\S+\s+\S+\s+(\S+)$", out, re.M)
    )
    unrealised = re.search(r"^unrealised at the bid: (\S+)", out, re.M)
    assert unrealised is not None, out
    if open_cost:
        assert Decimal(unrealised.group(1)) != 0, out
    # "notifications: N" lists N titles, or says how many more there were.
    block = out.split("notifications     : ")[1].split("\n\n")[0].splitlines()
    count = int(block[0].split()[0])
    listed = [line for line in block[1:] if line.startswith("  ") and "more" not in line]
    more = re.search(r"… and (\d+) more", "\n".join(block))
    assert count == len(listed) + (int(more.group(1)) if more else 0), block


def test_a_rejected_trade_shows_its_reason() -> None:
    row = {
        "created_at": "2026-12-01T00:00:00.000Z",
        "kind": "entry",
        "side": "BUY",
        "outcome": "YES",
        "city": "NYC",
        "bucket": "46-47°F",
        "filled_size": "0",
        "size": "150",
        "price": "0.16",
        "fees": "0",
        "status": "rejected",
        "note": "INVALID_ORDER_MIN_SIZE: size below the market minimum",
    }
    assert trade_line(row).endswith(
        "[rejected] INVALID_ORDER_MIN_SIZE: size below the market minimum"
    )
