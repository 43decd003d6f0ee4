"""Parity with faults: an order in flight across a socket drop, a silent stall caught by the
REST watchdog, a reconnect, and a tape altered after the fact (``replay --check`` exits 1).

The drop is landed deterministically between the paper venue's match and the order's ``open``
record (inside the paper venue's ledger write): the window in which a replay paced by trader
records alone matched the order after the drop, on unsynced books (the old one-in-six)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import zstandard

from tests.calibration.conftest import box
from tests.conftest import eventually, running_daemon
from tests.replay.test_parity import _ask_for_edge, _synced, _tape
from weatheredge.replay.driver import Replay
from weatheredge.replay.parity import differences, edge_rows, trade_rows
from weatheredge.replay.settings import replay_settings
from weatheredge.sandbox import Sandbox
from weatheredge.tape.reader import read_tape, segments

REPO = Path(__file__).resolve().parents[2]
__all__ = ["box"]
FAULTS = (
    "mode: paper\ntrading: {take_profit: false, day_timezone: UTC}\n"
    "feed: {stale_after: 0.5, watchdog_interval: 0.2}\n"
)


@pytest.fixture
async def faulty(box: Sandbox, tmp_path: Path) -> Path:
    event = box.quoted[0]
    probs = event.probs
    likely = probs.index(max(probs))
    yes = event.tokens(likely)[0]
    (tmp_path / "paper.yaml").write_text(FAULTS)
    async with running_daemon(box, tmp_path / "live.db", FAULTS) as (daemon, _base):
        engine = daemon.engine
        await eventually(lambda: event.event["id"] in engine.pricing, within=8)
        await eventually(lambda: _synced(engine, yes))
        await daemon.trading.trader.ready()
        # The paper venue's one write after it matched (the order's takes, trades and resting
        # rest in one transaction): the socket drops while it is written, before the order's
        # open record.
        resting = daemon.trading.gateway.tap
        save_paper = resting._save

        async def drop_then_save(*args: Any) -> Any:
            resting._save = save_paper
            await box.venue.drop_connections()
            await eventually(lambda: not engine.books[yes].synced, within=5)
            return await save_paper(*args)

        resting._save = drop_then_save
        box.venue.set_book(yes, [("0.10", "50")], [("0.16", "20")], mirror=False)
        await eventually(lambda: any(r["kind"] == "fill" for r in _tape(tmp_path)), within=10)
        await eventually(
            lambda: any(r.get("event") == "connected" and r["epoch"] == 2 for r in _tape(tmp_path))
        )
        await eventually(lambda: daemon.stream.status()["mode"] == "live")
        # A silent stall: no more data, PONGs fine; the book moves; the watchdog's REST check
        # finds the difference, marks the books stale and reconnects.
        thin = next(i for i in range(len(probs)) if i != likely and 0.2 < probs[i] < 0.8)
        thin_yes = event.tokens(thin)[0]
        ref = engine.tokens[thin_yes]
        p = engine.pricing[ref.event.event_id].probs[ref.market.market_id]
        box.venue.stall_data()
        ask = _ask_for_edge(p, ref.market.fee_rate, ref.market.tick, 0.06, 0.07)
        box.venue.set_book(thin_yes, [("0.01", "50")], [(ask, "30")], mirror=False)
        await eventually(lambda: any(r["kind"] == "stale" for r in _tape(tmp_path)), within=10)
        await eventually(lambda: sum(r["kind"] == "fill" for r in _tape(tmp_path)) == 2, within=10)
        await asyncio.sleep(0.3)
    return tmp_path


async def test_an_order_in_flight_across_a_drop_and_a_stall_replay_exactly(faulty: Path) -> None:
    records = _tape(faulty)
    kinds = [r["kind"] for r in records]
    # On the tape: the paper match, then the drop, then the order's open record and fill.
    match = kinds.index("paper_match")
    drop = next(i for i, r in enumerate(records) if r.get("event") == "disconnected")
    first_fill = kinds.index("fill")
    assert match < drop < first_fill
    assert "stale" in kinds  # the watchdog read REST /books and found the stalled book
    for _ in range(3):  # the old pacing got this wrong every time, not one run in six
        settings = replay_settings(str(faulty / "paper.yaml"), {}, str(faulty / "r.db"))
        (faulty / "r.db").unlink(missing_ok=True)
        result = await Replay(settings).run(read_tape(faulty / "tape"))
        assert differences(result.taped, result.decisions) == []
    trades = trade_rows(result.decisions)
    assert [r[0] for r in trades].count("fill") == 2
    assert all(r[6] == "filled" for r in trades if r[0] == "intent" and r[1] == "entry")
    closes = [r[3] for r in edge_rows(result.decisions) if r[1] == "close"]
    assert any(str(c).startswith("feed lost") for c in closes)


def _alter_first_fill(tape: Path) -> None:
    """Rewrite the tape with the first fill's price changed (as a bad recorder would)."""
    for seg in segments(tape):
        text = b"".join(
            zstandard.ZstdDecompressor().stream_reader(io.BytesIO(seg.read_bytes())).readall()
            for _ in [0]
        ).decode()
        lines = text.splitlines()
        for n, line in enumerate(lines):
            rec = json.loads(line)
            if rec.get("kind") == "fill":
                rec["data"]["fill"]["price"] = "0.17"
                lines[n] = json.dumps(rec)
                seg.write_bytes(
                    zstandard.ZstdCompressor().compress(("\n".join(lines) + "\n").encode())
                )
                return
    raise AssertionError("no fill on the tape")


def test_replay_check_exits_1_on_an_altered_tape(faulty: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "weatheredge", "replay", str(faulty / "tape")]
    cmd += ["-c", str(faulty / "paper.yaml"), "--check"]
    ok = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0 and "parity: OK" in ok.stdout, ok.stdout + ok.stderr
    _alter_first_fill(faulty / "tape")
    bad = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "difference(s)" in bad.stdout and "'0.17'" in bad.stdout
