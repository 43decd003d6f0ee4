"""Parity on a running day: a station report kills a bucket, its NO edge opens and is traded.

The race that once split live from replay is landed on purpose: the forecast is priced while the
station is down ("awaiting today's reports"), and its snapshot write (in the store's thread) is
held until the recovered station's report has been applied, so the report lands before the
forecast's result. Live then decides at the next report; a replay that applied the result when
the job finished its write decided one report earlier. The tape's ``applied`` records place both
jobs' results, and the replay decides where live did."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.calibration.test_no_blind_day import CONFIG, METAR, NWS, nyc_running_day
from tests.conftest import eventually, running_daemon
from tests.replay.test_parity import _tape
from weatheredge.replay.driver import Replay
from weatheredge.replay.parity import differences, edge_rows, trade_rows
from weatheredge.replay.settings import replay_settings
from weatheredge.sandbox import Sandbox
from weatheredge.store import Store
from weatheredge.tape.reader import read_tape


@pytest.fixture
async def running_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A paper run: the 46-47°F bucket dead after a 54 °F report; (run dir, its market id)."""
    (tmp_path / "paper.yaml").write_text(CONFIG)
    box = Sandbox()
    await box.start(play=False)
    state: dict[str, Any] = {}
    save = Store.save_forecast

    async def save_after_the_report(self: Store, snapshot: Any) -> Any:
        if snapshot.event_id == "390001" and "gated" not in state:
            # Priced while the station was down ("awaiting today's reports"); the station
            # recovers and its report is applied before this forecast's result is.
            state["gated"] = True
            box.weather.clear_faults(METAR)
            box.weather.clear_faults(NWS)
            await eventually(
                lambda: "daemon" in state and "KLGA" in state["daemon"].ctx.live.observations,
                within=15,
            )
        return await save(self, snapshot)

    monkeypatch.setattr(Store, "save_forecast", save_after_the_report)
    try:
        now = dt.datetime.now(dt.UTC)
        raw, q, labels, start = nyc_running_day(box, 390001)
        killed = labels.index("46-47°F")
        yes, no = q.tokens(killed)
        box.venue.set_book(yes, [("0.05", "50")], [("0.10", "50")], mirror=False)
        box.venue.set_book(no, [("0.75", "50")], [("0.80", "50")], mirror=False)
        at = max(start + dt.timedelta(seconds=1), now - dt.timedelta(minutes=20))
        box.weather.add_metar("KLGA", at, 12.0, receipt_delay=dt.timedelta(0))  # 54 °F
        for _ in range(500):  # the station's sources are down until the forecast is computed
            box.weather.inject_error(METAR, 503, '{"error": "down"}')
            box.weather.inject_error(NWS, 503, '{"error": "down"}')
        async with running_daemon(box, tmp_path / "live.db", extra=CONFIG) as (daemon, _base):
            state["daemon"] = daemon
            await eventually(lambda: daemon.engine.tracker.is_open(no), within=20)
            await eventually(lambda: any(r["kind"] == "fill" for r in _tape(tmp_path)), within=15)
    finally:
        await box.stop()
    return tmp_path, raw["markets"][killed]["id"]


async def test_a_bucket_killed_by_a_report_replays_exactly(running_day: tuple[Path, str]) -> None:
    run, market_id = running_day
    records = _tape(run)
    # On the tape: the report answered before the forecast's result was applied.
    applied = next(i for i, r in enumerate(records) if r.get("key") == "390001")
    sources = ("aviationweather", "nws")
    report = next(
        i for i, r in enumerate(records) if r.get("source") in sources and r["status"] == 200
    )
    assert report < applied
    opened = [r["data"] for r in records if r.get("type") == "EdgeOpened"]
    assert any(d["market"]["market_id"] == market_id and d["side"] == "NO" for d in opened)
    settings = replay_settings(str(run / "paper.yaml"), {}, str(run / "r.db"))
    result = await Replay(settings).run(read_tape(run / "tape"))
    assert differences(result.taped, result.decisions) == []
    opens = [r for r in edge_rows(result.decisions) if r[1] == "open"]
    assert opens
    assert [r[0] for r in trade_rows(result.decisions)].count("fill") >= 1
