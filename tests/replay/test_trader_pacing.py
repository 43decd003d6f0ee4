"""The replay's trader writes each record between the same inputs as the live one, whatever
its ledger thread's speed (the cause of the ``test_replay_frames`` flake: a fast ledger write
let the trader's ``sending`` land before the input that preceded it live).

Live, a frame is landed on purpose between an order's ``intent`` and its ``sending``; the
replay's ledger is made as fast as it can be (its writes done after one turn of the loop), so
without the pacer's write holds the ``sending`` is written one input early."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.calibration.conftest import box
from tests.conftest import eventually, running_daemon
from tests.replay.test_parity import PAPER, _synced, _tape
from weatheredge.replay.driver import TRADER, Replay
from weatheredge.replay.parity import differences
from weatheredge.replay.settings import replay_settings
from weatheredge.sandbox import Sandbox
from weatheredge.tape.reader import read_tape
from weatheredge.trading.ledger import Ledger

__all__ = ["box"]
OTHER_ASK = 990_000  # micro-dollars: a book change on another token that opens no edge


@pytest.fixture
async def frame_inside_a_step(box: Sandbox, tmp_path: Path) -> Path:
    event = box.quoted[0]
    probs = event.probs
    likely = probs.index(max(probs))
    other = next(i for i in range(len(probs)) if i != likely)
    yes, other_yes = event.tokens(likely)[0], event.tokens(other)[0]
    (tmp_path / "paper.yaml").write_text(PAPER)
    async with running_daemon(box, tmp_path / "live.db", PAPER) as (daemon, _base):
        engine = daemon.engine
        await eventually(lambda: event.event["id"] in engine.pricing, within=8)
        await eventually(lambda: _synced(engine, yes) and _synced(engine, other_yes))
        await daemon.trading.trader.ready()
        ledger = daemon.trading.ledger
        insert = ledger.insert_intent

        async def insert_then_a_frame(intent: Any) -> bool:
            done = await insert(intent)
            ledger.insert_intent = insert  # once
            box.venue.set_book(other_yes, [("0.01", "10")], [("0.99", "10")], mirror=False)
            await eventually(lambda: _best_ask(engine, other_yes) == OTHER_ASK, within=5)
            return done

        ledger.insert_intent = insert_then_a_frame
        box.venue.set_book(yes, [("0.10", "50")], [("0.16", "20")], mirror=False)
        await eventually(lambda: any(r["kind"] == "fill" for r in _tape(tmp_path)), within=10)
    return tmp_path


def _best_ask(engine: Any, token: str) -> int | None:
    best = engine.books[token].best_ask()
    return None if best is None else best[0]


def _fast_ledger(monkeypatch: pytest.MonkeyPatch) -> None:
    async def run(self: Ledger, fn: Callable[..., Any], *args: Any) -> Any:
        await asyncio.sleep(0)
        return fn(*args)

    monkeypatch.setattr(Ledger, "_run", run)


async def test_trader_records_land_between_the_inputs_they_did_live(
    frame_inside_a_step: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = frame_inside_a_step
    records = _tape(run)
    kinds = [r["kind"] for r in records]
    first = kinds.index("intent")
    sending = next(i for i in range(first, len(records)) if kinds[i] == "intent_update")
    assert "frame" in kinds[first:sending]  # live: a frame between the intent and its sending
    _fast_ledger(monkeypatch)
    settings = replay_settings(str(run / "paper.yaml"), {}, str(run / "r.db"))
    result = await Replay(settings).run(read_tape(run / "tape"))
    assert differences(result.taped, result.decisions) == []
    live = [(d.kind, d.trigger) for d in result.taped if d.kind in TRADER]
    replayed = [(d.kind, d.trigger) for d in result.decisions if d.kind in TRADER]
    assert replayed == live and len(live) >= 4
