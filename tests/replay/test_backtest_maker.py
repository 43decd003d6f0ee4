"""`weatheredge backtest` sweeping the strategy: taker against maker at two margins on a tape
from `weatheredge demo --mode paper --record`. The sweep is the product of the --set keys, so
the margin is swept for the taker too (two equal taker rows); the maker table appears because
some combination quotes, and its rows show the quotes the replay placed in the paper venue."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from weatheredge.trading.demo import run_paper_demo

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(180)
def test_backtest_sweeps_taker_against_maker_margins(tmp_path: Path) -> None:
    asyncio.run(run_paper_demo(duration=15.0, db_path=str(tmp_path / "l.db"), record=str(tmp_path)))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "weatheredge", "backtest", str(tmp_path)]
    cmd += ["-c", str(tmp_path / "paper.yaml"), "--set", "trading.strategy=taker,maker"]
    cmd += ["--set", "trading.maker.margin=0.01,0.03"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=150)
    assert out.returncode == 0, out.stdout + out.stderr
    tables = out.stdout.split("\n\n")
    assert len(tables[0].splitlines()) == 1 + 4  # header; taker and maker × margins 0.01, 0.03
    maker = tables[1].splitlines()
    assert maker[0].startswith("maker (quotes")
    head = maker[1].split()
    assert head[:5] == ["combination", "placed", "replaced", "cancelled", "fills"]
    rows = {}
    for line in maker[2:]:
        name, cells = line.split("  ", 1)
        rows[name.strip()] = cells.split()
    assert set(rows) == {
        f"trading.strategy={s}, trading.maker.margin={m}"
        for s in ("taker", "maker")
        for m in ("0.01", "0.03")
    }
    for margin in ("0.01", "0.03"):
        assert int(rows[f"trading.strategy=maker, trading.maker.margin={margin}"][0]) > 0
        assert rows[f"trading.strategy=taker, trading.maker.margin={margin}"][0] == "0"
    assert head[-6:] == ["fees", "rebates", "realised", "PnL", "max", "DD"]


def test_a_taker_sweep_prints_no_maker_table(tmp_path: Path) -> None:
    from weatheredge.replay.cli import render_scoreboard
    from weatheredge.replay.scoreboard import CombinationResult

    taker = CombinationResult({"min_edge": "0.05"}, {"quotes_placed": 0}, {}, {}, [])
    assert "maker (quotes" not in render_scoreboard([taker])
    maker = CombinationResult({"trading.strategy": "maker"}, {"quotes_placed": 2}, {}, {}, [])
    assert "maker (quotes" in render_scoreboard([taker, maker])
