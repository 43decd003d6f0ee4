"""``replay --venue tape``: a tape recorded while trading for real replays the venue's answers.

The daemon trades live against the sandbox exchange through the real SDK: an order fills
(MATCHED in the order's answer, MINED and CONFIRMED on the user channel). The tape holds the
venue's answers (``order``) and the user channel's fills (``user_trade``); replayed with the
tape venue, the intents and fills equal the live ones (venue order and trade ids included) and so
do the positions. A replay that places an order the tape never answered (another config) is
reported by ``replay --check``, exit 1, not a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import eventually, running_daemon
from tests.replay.test_parity import _tape
from tests.trading.conftest import db_rows
from tests.trading.livekit import box, loopback_only, throwaway
from weatheredge.replay.driver import Replay
from weatheredge.replay.parity import differences, trade_rows
from weatheredge.replay.settings import replay_settings
from weatheredge.replay.venue_tape import KINDS
from weatheredge.sandbox import Sandbox
from weatheredge.tape.reader import read_tape

__all__ = ["box", "loopback_only"]  # fixtures
REPO = Path(__file__).resolve().parents[2]
LIVE = """\
mode: live
armed: true
trading:
  take_profit: false
  day_timezone: UTC
  order_timeout: 5
"""


@pytest.fixture
async def traded_live(box: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    key, address = throwaway()
    monkeypatch.setenv("WEATHEREDGE_PRIVATE_KEY", key)
    monkeypatch.setenv("WEATHEREDGE_WALLET", address)
    (tmp_path / "c.yaml").write_text(LIVE)
    db = tmp_path / "live.db"
    nyc = box.quoted[0]
    yes = nyc.tokens(max(range(len(nyc.probs)), key=nyc.probs.__getitem__))[0]
    async with running_daemon(box, db, extra=LIVE) as (daemon, _base):
        await eventually(lambda: nyc.event["id"] in daemon.engine.pricing, within=8)
        await eventually(lambda: yes in daemon.engine.books and daemon.engine.books[yes].synced)
        await daemon.trading.trader.ready()
        await eventually(lambda: box.exchange.user_client_count == 1)
        box.venue.set_book(yes, [("0.10", "50")], [("0.16", "20")], mirror=False)
        confirmed = "SELECT status FROM trade_fills"
        await eventually(lambda: [r["status"] for r in db_rows(db, confirmed)] == ["CONFIRMED"])
        await eventually(
            lambda: sum(r["kind"] == "user_trade" for r in _tape(tmp_path)) >= 2, within=5
        )
    return tmp_path


async def test_a_live_run_replays_with_the_venues_answers(traded_live: Path) -> None:
    run = traded_live
    records = _tape(run)
    session = next(r for r in records if r["kind"] == "session")
    assert session["mode"] == "live" and session["tape_format"] >= 5
    places = [r for r in records if r["kind"] == "order" and r["op"] == "place"]
    assert len(places) == 1 and places[0]["result"]["accepted"]
    assert {r["kind"] for r in records} >= KINDS - {"user_reconnect"}
    settings = replay_settings(str(run / "c.yaml"), {}, str(run / "tape-venue.db"))
    result = await Replay(settings, venue="tape").run(read_tape(run / "tape"))
    assert result.venue_mismatches == []
    assert differences(result.taped, result.decisions) == []
    fills = [r for r in trade_rows(result.decisions) if r[0] == "fill"]
    assert len(fills) >= 1 and all(r[3] == "0.16" for r in fills)
    # The venue's own ids, as live: the replayed intent holds the order id the venue gave.
    live_ids = db_rows(run / "live.db", "SELECT venue_order_id FROM trade_intents")
    replayed_ids = db_rows(run / "tape-venue.db", "SELECT venue_order_id FROM trade_intents")
    assert replayed_ids == live_ids and live_ids[0]["venue_order_id"]
    shares = "SELECT token_id, shares, avg_price FROM positions"
    assert db_rows(run / "tape-venue.db", shares) == db_rows(run / "live.db", shares)
    fill_rows = "SELECT trade_id, price, size, status FROM trade_fills ORDER BY trade_id"
    assert db_rows(run / "tape-venue.db", fill_rows) == db_rows(run / "live.db", fill_rows)


def test_replay_check_reports_orders_the_tape_venue_cannot_answer(traded_live: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "weatheredge", "replay", str(traded_live / "tape")]
    cmd += ["-c", str(traded_live / "c.yaml"), "--check", "--venue", "tape"]
    ok = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0 and "parity: OK" in ok.stdout, ok.stdout + ok.stderr
    # Smaller orders: the replay asks for an order the live run never placed.
    other = [*cmd, "--set", "trading.max_order_usd=1"]
    bad = subprocess.run(other, capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "tape venue: replay order BUY 5.99 @ 0.16" in bad.stdout, bad.stdout
    assert "tape venue: live order BUY 20 @ 0.16" in bad.stdout
    assert "Traceback" not in bad.stderr
