"""`weatheredge backtest` on a tape from `weatheredge demo --mode paper --record`: the venue
resolves two events near the end, so the scoreboard shows PnL paid at the resolution, scores of
our probability against the market's mid, and the plot."""

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
def test_backtest_of_a_demo_tape_prints_the_scoreboard_and_plots(tmp_path: Path) -> None:
    asyncio.run(run_paper_demo(duration=26.0, db_path=str(tmp_path / "l.db"), record=str(tmp_path)))
    config = tmp_path / "paper.yaml"  # written beside the tape by the demo
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "weatheredge", "backtest", str(tmp_path), "-c", str(config)]
    cmd += ["--set", "min_edge=0.05,0.2", "--sample-every", "5", "--plot", str(tmp_path / "p.png")]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=150)
    assert out.returncode == 0, out.stdout + out.stderr
    table = out.stdout.split("\n\n")[0].splitlines()
    head = table[0].split()
    assert head[:5] == ["combination", "edges", "trades", "fees", "realised"]
    rows = {line.split()[0]: line.split()[1:] for line in table[1:]}
    assert set(rows) == {"min_edge=0.05", "min_edge=0.2"}
    loose, strict = rows["min_edge=0.05"], rows["min_edge=0.2"]
    assert int(loose[1]) > int(strict[1]) > 0  # trades: the higher threshold trades less
    assert float(strict[3]) > 0  # the NO position held to the resolution paid out
    assert strict[6] == "0"  # nothing left open: every held position had its resolution
    assert all(v != "-" for v in strict[7:11])  # Brier and log loss, ours and the market's
    assert "horizon 1 day" in out.stdout or "horizon running day" in out.stdout
    assert "city    London" in out.stdout and "pnl     London" in out.stdout
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
