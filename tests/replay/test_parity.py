"""Record a paper-trading sandbox run with a socket drop, replay it offline: the same decisions.

The replay runs the unchanged Engine, jobs (answered from the tape), paper trader and store on
a virtual clock; parity covers edge episodes (prices, sizes, probabilities, close reasons, the
receive times of the inputs they answered) and the trades (intents and fills)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.calibration.conftest import box
from tests.conftest import eventually, running_daemon
from weatheredge.config import parse_config
from weatheredge.engine import Engine
from weatheredge.model.prices import MICRO
from weatheredge.replay.driver import Replay, ReplayResult
from weatheredge.replay.parity import differences, edge_rows, trade_rows
from weatheredge.replay.settings import replay_settings
from weatheredge.sandbox import Sandbox
from weatheredge.store import recent_edges
from weatheredge.tape.reader import read_tape

REPO = Path(__file__).resolve().parents[2]
__all__ = ["box"]
PAPER = "mode: paper\ntrading: {take_profit: false, day_timezone: UTC}\n"


def _ask_for_edge(p: float, rate: float, tick: int, low: float, high: float) -> str:
    """A price whose buy edge against ``p`` lies in [low, high)."""
    for micros in range(MICRO - tick, 0, -tick):
        a = micros / MICRO
        if low <= p - a - rate * a * (1 - a) < high:
            return f"{a:.6f}".rstrip("0")
    raise AssertionError("no such price")


@pytest.fixture
async def recorded(box: Sandbox, tmp_path: Path) -> Path:
    """A paper run: a clear edge traded, a thin edge (0.05..0.08), a socket drop, reconnect."""
    event = box.quoted[0]
    probs = event.probs
    likely = probs.index(max(probs))
    thin = next(i for i in range(len(probs)) if i != likely and 0.2 < probs[i] < 0.8)
    yes, thin_yes = event.tokens(likely)[0], event.tokens(thin)[0]
    config = tmp_path / "paper.yaml"
    config.write_text(PAPER)
    async with running_daemon(box, tmp_path / "live.db", PAPER) as (daemon, _base):
        engine = daemon.engine
        await eventually(lambda: event.event["id"] in engine.pricing, within=8)
        await eventually(lambda: all(_synced(engine, t) for t in (yes, thin_yes)))
        await daemon.trading.trader.ready()
        box.venue.set_book(yes, [("0.10", "50")], [("0.16", "20")], mirror=False)
        await eventually(lambda: any(r["kind"] == "fill" for r in _tape(tmp_path)))
        ref = engine.tokens[thin_yes]
        p = engine.pricing[ref.event.event_id].probs[ref.market.market_id]
        ask = _ask_for_edge(p, ref.market.fee_rate, ref.market.tick, 0.06, 0.07)
        box.venue.set_book(thin_yes, [("0.01", "50")], [(ask, "30")], mirror=False)
        # Both orders matched before the drop (one in flight across it: test_parity_faults.py).
        await eventually(lambda: sum(r["kind"] == "fill" for r in _tape(tmp_path)) == 2)
        await box.venue.drop_connections()
        await eventually(
            lambda: any(r.get("event") == "connected" and r["epoch"] == 2 for r in _tape(tmp_path))
        )
        await eventually(
            lambda: engine.books[yes].synced and daemon.stream.status()["mode"] == "live"
        )
    return tmp_path


def _synced(engine: Engine, token: str) -> bool:
    book = engine.books.get(token)
    return book is not None and book.synced


def _tape(tmp_path: Path) -> list[dict]:
    return list(read_tape(tmp_path / "tape", lambda _w: None))


async def _replay(tmp_path: Path, db: str, **overrides: str) -> ReplayResult:
    settings = replay_settings(str(tmp_path / "paper.yaml"), overrides, str(tmp_path / db))
    return await Replay(settings).run(read_tape(tmp_path / "tape"))


async def test_replay_reproduces_a_recorded_paper_run_with_a_socket_drop(recorded: Path) -> None:
    records = _tape(recorded)
    assert any(r.get("event") == "disconnected" and r["reason"] != "cancelled" for r in records)
    closes = [r["data"]["reason"] for r in records if r.get("type") == "EdgeClosed"]
    assert any(reason.startswith("feed lost") for reason in closes)  # the drop closed edges
    result = await _replay(recorded, "replay.db")
    assert differences(result.taped, result.decisions) == []
    rows = edge_rows(result.decisions)
    assert sum(r[1] == "open" for r in rows) >= 3  # both edges, and a reopening after the drop
    kinds = [r[0] for r in trade_rows(result.decisions)]
    assert kinds.count("fill") == 2  # both edges traded on paper
    # The output is a normal database: the same tables and queries as a live one.
    replayed = [e.as_dict() for e in recent_edges(recorded / "replay.db")]
    live = [e.as_dict() for e in recent_edges(recorded / "live.db")]
    key = ("market_id", "side", "open_price", "open_size", "prob", "close_reason")
    assert sorted(tuple(e[k] for k in key) for e in replayed) == sorted(
        tuple(e[k] for k in key) for e in live
    )


async def test_min_edge_on_replay_gives_other_decisions_on_the_same_tape(recorded: Path) -> None:
    result = await _replay(recorded, "what-if.db", min_edge="0.08")
    diff = differences(result.taped, result.decisions)
    assert diff  # the thin edge (0.06..0.07) is gone
    live_opens = [r for r in edge_rows(result.taped) if r[1] == "open" and r[2][2] == "bucket"]
    opens = [r for r in edge_rows(result.decisions) if r[1] == "open" and r[2][2] == "bucket"]
    assert all(r[6] >= 0.08 for r in opens) and len(opens) < len(live_opens)
    kinds = [r[0] for r in trade_rows(result.decisions)]
    assert kinds.count("fill") == 1  # and only the clear edge is traded


def test_replay_check_from_the_command_line(recorded: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "weatheredge", "replay", str(recorded / "tape")]
    cmd += ["-c", str(recorded / "paper.yaml"), "--check"]
    ok = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "parity: OK" in ok.stdout
    bad = subprocess.run([*cmd, "--set", "min_edge=0.08"], capture_output=True, text=True, env=env)
    assert bad.returncode == 1 and "difference(s)" in bad.stdout
    assert parse_config(PAPER, env={}).settings.min_edge < 0.08


def test_backtest_prints_one_row_per_combination(recorded: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "weatheredge", "backtest", str(recorded / "tape")]
    cmd += ["-c", str(recorded / "paper.yaml"), "--set", "min_edge=0.05,0.08"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    table = out.stdout.split("\n\n")[0].splitlines()
    assert table[0].split()[:4] == ["combination", "edges", "trades", "fees"]
    rows = {line.split()[0]: line.split()[1:] for line in table[1:]}
    assert set(rows) == {"min_edge=0.05", "min_edge=0.08"}
    assert int(rows["min_edge=0.05"][1]) == 2 and int(rows["min_edge=0.08"][1]) == 1  # trades


async def test_a_window_of_the_tape_replays_with_parity(recorded: Path) -> None:
    records = _tape(recorded)
    drop = next(r["wall_ns"] for r in records if r.get("event") == "disconnected")
    fill = next(r["wall_ns"] for r in records if r["kind"] == "fill")
    settings = replay_settings(str(recorded / "paper.yaml"), {}, str(recorded / "w.db"))
    # From just after the first fill (the tape before is a warm-up) to before the next trade.
    intents = [r["wall_ns"] for r in records if r["kind"] == "intent" and r["wall_ns"] > fill]
    end = min(drop, intents[0])
    result = await Replay(settings, start_ns=fill + 1, end_ns=end - 1).run(iter(records))
    assert differences(result.taped, result.decisions) == []
    assert not any(r[2] == "feed lost" for r in edge_rows(result.decisions) if r[1] == "close")
    assert trade_rows(result.decisions) == []
