"""Issue 10 §1 after a restart: the reports stored by the previous run are not "today's reports
in hand". A report filed while the daemon was down killed a bucket the book still offers; the
restarted daemon, its observation sources down, must not price the day from what it stored."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.calibration.test_no_blind_day import (
    _INTENTS,
    CONFIG,
    METAR,
    NWS,
    _rows,
    _status,
    nyc_running_day,
)
from tests.conftest import eventually, running_daemon
from weatheredge.sandbox import Sandbox


async def test_a_restart_waits_for_the_reports_filed_while_down(tmp_path: Path) -> None:
    box = Sandbox()
    await box.start(play=False)
    db = tmp_path / "paper.db"
    try:
        now = dt.datetime.now(dt.UTC)
        raw, q, labels, start = nyc_running_day(box, 390002)
        early = max(start + dt.timedelta(seconds=1), now - dt.timedelta(minutes=40))
        box.weather.add_metar("KLGA", early, 12.0, receipt_delay=dt.timedelta(0))  # 54 °F
        event_id = raw["id"]
        market = raw["markets"][labels.index("54-55°F")]["id"]

        async with running_daemon(box, db, extra=CONFIG) as (daemon, _base):
            await eventually(lambda: event_id in daemon.engine.pricing, within=15)
            await eventually(lambda: daemon.engine.pricing[event_id].probs[market] > 0.3)

        # While it is down: a 57 °F report kills 54-55°F, and its YES is offered at 0.30.
        late = max(early + dt.timedelta(seconds=1), now - dt.timedelta(minutes=10))
        box.weather.add_metar("KLGA", late, 14.0, receipt_delay=dt.timedelta(0))  # 57.2 -> 57
        yes, no = q.tokens(labels.index("54-55°F"))
        box.venue.set_book(yes, [("0.25", "50")], [("0.30", "50")], mirror=False)
        box.venue.set_book(no, [("0.65", "50")], [("0.70", "50")], mirror=False)
        for _ in range(500):
            box.weather.inject_error(METAR, 503, '{"error": "down"}')
            box.weather.inject_error(NWS, 503, '{"error": "down"}')

        async with running_daemon(box, db, extra=CONFIG) as (daemon, base):
            assert daemon.ctx is not None
            await eventually(lambda: event_id in daemon.ctx.live.priors, within=15)
            status = await _status(base)
            assert event_id in status["observations"]["awaiting_reports"]
            assert event_id not in daemon.engine.pricing
            assert not daemon.engine.tracker.is_open(yes)

            box.weather.clear_faults(METAR)
            box.weather.clear_faults(NWS)
            await eventually(lambda: daemon.engine.tracker.is_open(no), within=15)
            assert daemon.engine.pricing[event_id].probs[market] == 0.0
    finally:
        await box.stop()

    sides = {s for (s,) in _rows(db, "SELECT side FROM edges WHERE market_id = ?", market)}
    assert "YES" not in sides and "NO" in sides
    assert _rows(db, _INTENTS, yes) == []
