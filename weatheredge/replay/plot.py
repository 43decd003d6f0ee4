"""``weatheredge backtest --plot FILE.png``: cumulative realised PnL per combination.

matplotlib is already a main dependency (the calibration report's reliability diagram), so the
plot needs no extra; it is imported only here, with the non-interactive Agg backend."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from weatheredge.replay.scoreboard import CombinationResult


def plot_pnl(results: Sequence[CombinationResult], path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for result in results:
        if not result.curve:
            ax.plot([], [], label=f"{result.name} (no trades)")
            continue
        times = [dt.datetime.fromtimestamp(at / 1e9, dt.UTC) for at, _ in result.curve]
        values = [v for _, v in result.curve]
        ax.step([times[0], *times], [0.0, *values], where="post", label=result.name)
    ax.axhline(0, color="grey", linewidth=0.6)
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("cumulative realised PnL (pUSD)")
    ax.set_title("backtest: PnL at the venue's resolution, per combination")
    ax.legend(fontsize="small")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
