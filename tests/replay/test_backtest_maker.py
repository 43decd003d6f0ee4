"""`weatheredge backtest` sweeping the strategy: taker against maker at two margins on a tape
from `weatheredge demo --mode paper --record`. The sweep is the product of the --set keys, but
a combination whose settings are the same for what runs is replayed once: the taker reads no
``trading.maker.*``, so it gets one row and a note. The maker table appears because some
combination quotes, and its rows show the quotes the replay placed in the paper venue."""

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
    # The same tape decides the same way in any process: the maker's rows must not follow
    # Python's per-process string hashing (PYTHONHASHSEED).
    other = subprocess.run(
        [*cmd[:5], "-c", str(tmp_path / "paper.yaml"), "--set", "trading.strategy=maker",
         "--set", "trading.maker.margin=0.01"],
        capture_output=True, text=True, env={**env, "PYTHONHASHSEED": "7"}, timeout=150,
    )  # fmt: skip
    assert other.returncode == 0, other.stdout + other.stderr
    again = subprocess.run(
        other.args, capture_output=True, text=True, env={**env, "PYTHONHASHSEED": "8"}, timeout=150
    )
    assert _tables(again.stdout) == _tables(other.stdout)
    tables = out.stdout.split("\n\n")
    assert len(tables[0].splitlines()) == 1 + 3  # header; taker once, maker × margins 0.01, 0.03
    maker = tables[1].splitlines()
    assert maker[0].startswith("maker (quotes")
    head = maker[1].split()
    assert head[:5] == ["combination", "placed", "replaced", "cancelled", "fills"]
    rows = {}
    for line in maker[2:]:
        name, cells = line.split("  ", 1)
        rows[name.strip()] = cells.split()
    assert set(rows) == {
        "trading.strategy=taker",
        "trading.strategy=maker, trading.maker.margin=0.01",
        "trading.strategy=maker, trading.maker.margin=0.03",
    }
    for margin in ("0.01", "0.03"):
        assert int(rows[f"trading.strategy=maker, trading.maker.margin={margin}"][0]) > 0
    assert rows["trading.strategy=taker"][0] == "0"
    assert (
        "trading.strategy=taker: trading.maker.margin do not apply to the taker strategy; "
        "replayed once" in out.stdout
    )
    assert out.stdout.count("trading.strategy=taker: replayed") == 1  # one replay, not two
    assert head[-6:] == ["fees", "rebates", "realised", "PnL", "max", "DD"]


def _tables(stdout: str) -> list[str]:
    """The scoreboard's lines, without the CPU time each replay took."""
    return [line for line in stdout.splitlines() if " s CPU" not in line]


def test_a_taker_sweep_prints_no_maker_table(tmp_path: Path) -> None:
    from weatheredge.replay.cli import render_scoreboard
    from weatheredge.replay.scoreboard import CombinationResult

    taker = CombinationResult({"min_edge": "0.05"}, {"quotes_placed": 0}, {}, {}, [])
    assert "maker (quotes" not in render_scoreboard([taker])
    maker = CombinationResult({"trading.strategy": "maker"}, {"quotes_placed": 2}, {}, {}, [])
    assert "maker (quotes" in render_scoreboard([taker, maker])


def test_only_the_settings_that_apply_tell_combinations_apart(tmp_path: Path) -> None:
    from weatheredge.replay.cli import applicable

    taker = {"trading.strategy": "taker", "trading.maker.margin": "0.03", "min_edge": "0.1"}
    assert applicable(None, taker) == (
        {"trading.strategy": "taker", "min_edge": "0.1"},
        ["trading.maker.margin"],
    )
    assert applicable(None, {"trading.maker.margin": "0.03"}) == ({}, ["trading.maker.margin"])
    maker = {"trading.strategy": "maker", "trading.maker.margin": "0.03"}
    assert applicable(None, maker) == (maker, [])
    config = tmp_path / "c.yaml"  # the strategy may come from the config, not the sweep
    config.write_text("mode: paper\ntrading:\n  strategy: both\n")
    assert applicable(str(config), {"trading.maker.margin": "0.03"}) == (
        {"trading.maker.margin": "0.03"},
        [],
    )
