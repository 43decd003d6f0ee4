"""A catalogue change mid-tape lands between the same inputs in a replay as it did live.

Live, a new event is listed on Gamma while the daemon runs; a frame is landed on purpose between
discovery's last Gamma answer and its catalogue swap (as a slow parse or a busy loop would). The
tape's ``applied`` record (``discover_markets``, tape format 4) places the swap, and the replay
swaps the catalogue after that same frame, not at the Gamma answer; the new event's edge opens
and the decisions equal the live ones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import jobs.discover_markets as discovery
from tests.calibration.conftest import box
from tests.conftest import eventually, running_daemon
from tests.replay.test_parity import PAPER, _synced, _tape
from weatheredge.engine import Engine
from weatheredge.replay.driver import INPUTS, Replay
from weatheredge.replay.parity import differences, edge_rows
from weatheredge.replay.settings import replay_settings
from weatheredge.sandbox import Sandbox, scenario
from weatheredge.tape.reader import read_tape

__all__ = ["box"]
CONFIG = PAPER + "jobs: {discovery_interval: 0.3}\n"
NEW_ID = "250077"


def _new_event(box: Sandbox) -> scenario.Quoted:
    """NYC's high the day after the listed one, with fair books."""
    spec = scenario.event_specs()[0]
    day = scenario.local_tomorrow(spec.tz, dt.datetime.now(dt.UTC)) + dt.timedelta(days=1)
    box.weather.set_daily(spec.lat, spec.lon, day, spec.mean_c, spec.spread_c, "max")
    raw = scenario.gamma_event(spec, day, int(NEW_ID))
    q = scenario.Quoted(spec, raw, scenario.fair_probs(spec))
    box.venue.add_event(raw)
    for i, p in enumerate(q.probs):
        scenario.quote_fair(box.venue, q, i, p)
    return q


@pytest.fixture
async def listed_mid_tape(box: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "c.yaml").write_text(CONFIG)
    listed = box.quoted[0]
    other = listed.tokens(0)[0]
    async with running_daemon(box, tmp_path / "live.db", CONFIG) as (daemon, _base):
        engine = daemon.engine
        await eventually(lambda: listed.event["id"] in engine.pricing, within=8)
        await eventually(lambda: _synced(engine, other))
        await daemon.trading.trader.ready()
        discover = discovery.discover_temperature_events

        async def a_frame_before_the_swap(*args: Any, **kwargs: Any) -> Any:
            found = await discover(*args, **kwargs)
            if any(e.event_id == NEW_ID for e in found.events):
                monkeypatch.setattr(discovery, "discover_temperature_events", discover)
                box.venue.set_book(other, [("0.01", "10")], [("0.99", "10")], mirror=False)
                await eventually(lambda: (engine.books[other].best_ask() or (0,))[0] == 990_000)
            return found

        monkeypatch.setattr(discovery, "discover_temperature_events", a_frame_before_the_swap)
        new = _new_event(box)
        likely = max(range(len(new.probs)), key=new.probs.__getitem__)
        yes = new.tokens(likely)[0]
        await eventually(lambda: NEW_ID in engine.pricing and _synced(engine, yes), within=10)
        box.venue.set_book(yes, [("0.10", "50")], [("0.16", "20")], mirror=False)
        await eventually(lambda: engine.tracker.is_open(yes), within=5)
        await eventually(lambda: any(r["kind"] == "fill" for r in _tape(tmp_path)), within=10)
    return tmp_path


def _swaps(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, list[str]]]:
    """Every catalogue swap of the replay: the virtual (wall, mono) it happened at, tokens added."""
    seen: list[tuple[int, int, list[str]]] = []
    swap = Engine.set_events

    def recorded(self: Engine, events: Any) -> tuple[list[str], list[str]]:
        added, removed = swap(self, events)
        seen.append((self.clock.wall_ns, self.clock.monotonic_ns(), list(added)))
        return added, removed

    monkeypatch.setattr(Engine, "set_events", recorded)
    return seen


async def test_a_new_event_is_listed_at_the_same_instant_in_replay(
    listed_mid_tape: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = listed_mid_tape
    records = _tape(run)
    assert next(r for r in records if r["kind"] == "session")["tape_format"] >= 4
    gamma = [i for i, r in enumerate(records) if r.get("source") == "gamma"]
    listed = next(i for i in gamma if NEW_ID in records[i].get("body", ""))  # the new event
    at = next(i for i in range(listed, len(records)) if records[i].get("job") == "discover_markets")
    assert any(r["kind"] == "frame" for r in records[listed:at])  # landed before the swap
    last_input = next(
        r
        for r in reversed(records[:at])
        if r["kind"] in INPUTS and r.get("error") != "CancelledError"
    )
    swaps = _swaps(monkeypatch)
    settings = replay_settings(str(run / "c.yaml"), {}, str(run / "r.db"))
    result = await Replay(settings).run(read_tape(run / "tape"))
    assert differences(result.taped, result.decisions) == []
    new_tokens = [s for s in swaps[1:] if s[2]]  # the first swap lists the catalogue
    assert [(w, m) for w, m, _ in new_tokens] == [(last_input["wall_ns"], last_input["mono_ns"])]
    opens = [r for r in edge_rows(result.decisions) if r[1] == "open"]
    assert any(r[2][0].startswith(NEW_ID) for r in opens)  # the new event's edge, as live
