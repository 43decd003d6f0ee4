"""A backtest of a dry-run config (the default mode) places no paper orders: it says so, and how
to trade the combinations on paper, instead of printing zero trades without a word."""

from __future__ import annotations

from pathlib import Path

import pytest

from weatheredge.cli import main
from weatheredge.sandbox.synth_tape import synthesize


@pytest.mark.parametrize(("mode", "noted"), [("dry_run", True), ("paper", False)])
def test_a_dry_run_backtest_says_it_traded_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: str, noted: bool
) -> None:
    tape = tmp_path / "tape"
    synthesize(tape, days=0.0005, cities=1, frames_per_s=5, start="2026-11-01")
    config = tmp_path / "c.yaml"
    config.write_text(f"mode: {mode}\n")
    assert main(["backtest", str(tape), "-c", str(config), "--set", "min_edge=0.05,0.2"]) == 0
    out = capsys.readouterr().out
    note = "2 of 2 combinations in mode dry_run: the trader only records intents"
    assert (note in out) is noted
    assert ("--set mode=paper" in out) is noted


@pytest.mark.timeout(120)
def test_a_dry_run_tape_backtested_on_paper_trades_what_the_dry_run_intended(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The dry run's intents are on the tape but no order was placed: a paper replay must not
    wait for answers the tape never has (which once left it trading nothing at a lower
    min_edge and something at a higher one)."""
    import asyncio

    from weatheredge.sandbox.demo import run_demo

    tape = tmp_path / "tape"
    asyncio.run(run_demo(duration=12.0, db_path=str(tmp_path / "live.db"), record=str(tape)))
    capsys.readouterr()
    config = tmp_path / "c.yaml"
    config.write_text("mode: dry_run\n")
    sets = ["--set", "min_edge=0.05,0.2", "--set", "mode=paper"]
    assert main(["backtest", str(tape), "-c", str(config), *sets]) == 0
    rows = {}
    for line in capsys.readouterr().out.split("\n\n")[0].splitlines()[1:]:
        name, cells = line.split("  ", 1)
        rows[name.strip()] = int(cells.split()[1])  # trades
    low, high = rows["min_edge=0.05, mode=paper"], rows["min_edge=0.2, mode=paper"]
    assert high >= 1 and low >= high  # a lower threshold trades at least what a higher one does
    # and the dry run itself replays with parity: its intents are the tape's (as live, the replay
    # runs the trader in dry run too)
    assert main(["replay", str(tape), "-c", str(config), "--check"]) == 0
    out = capsys.readouterr().out
    assert "parity: OK" in out and "intents: 0" not in out
