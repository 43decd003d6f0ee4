"""The settlement job runs in a replay at its virtual times and reads its recorded answers:
yesterday's event is settled from the station's reports and checked against the venue's
resolution (Gamma), as live; a request the tape never answered fails as a timeout."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from tests.calibration.conftest import NY, box, nyc_event, resolve_at_venue
from tests.conftest import eventually, running_daemon
from weatheredge.replay.driver import Replay
from weatheredge.replay.settings import replay_settings
from weatheredge.sandbox import Sandbox
from weatheredge.tape.reader import read_tape

__all__ = ["box"]
CONFIG = "model: {settle_after: 1, settle_interval: 1}\n"
COLUMNS = "event_id, status, settled_value, winning_label, venue_market_id, agreement"


def _settlements(db: Path) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(f"SELECT {COLUMNS} FROM settlements ORDER BY event_id").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


async def test_settlement_and_venue_check_replay_from_the_tape(box: Sandbox, tmp_path: Path):
    day = dt.datetime.now(NY).date() - dt.timedelta(days=1)
    raw, _event = nyc_event(box, day, 350000)
    noon = dt.datetime.combine(day, dt.time(12, 51), tzinfo=NY)
    box.weather.add_metar("KLGA", noon, 7.2)  # 44.96 °F -> 45: "44-45°F"
    (tmp_path / "c.yaml").write_text(CONFIG)
    async with running_daemon(box, tmp_path / "live.db", CONFIG):
        await eventually(lambda: len(_settlements(tmp_path / "live.db")) == 1, within=15)
        winner = resolve_at_venue(box, raw, "44-45°F")
        await eventually(lambda: _settlements(tmp_path / "live.db")[0][4] is not None, within=15)
    live = _settlements(tmp_path / "live.db")
    assert live == [("350000", "settled", 45, "44-45°F", winner["id"], 1)]

    settings = replay_settings(str(tmp_path / "c.yaml"), {}, str(tmp_path / "r.db"))
    result = await Replay(settings).run(read_tape(tmp_path / "tape"))
    assert result.counts["job settle_events"] >= 2
    assert _settlements(tmp_path / "r.db") == live
    # The venue's answer is on the tape for the scoreboard too.
    assert result.resolutions.outcome[winner["id"]] == 1
    assert result.resolutions.outcome_of(raw["markets"][0]["id"], "350000") == 0

    # A tape cut before the venue check answered: the check fails as a timeout, counted.
    records = list(read_tape(tmp_path / "tape"))
    cut = [r for r in records if not (r["kind"] == "http" and "/events/slug/" in r.get("url", ""))]
    (tmp_path / "r2.db").unlink(missing_ok=True)
    settings = replay_settings(str(tmp_path / "c.yaml"), {}, str(tmp_path / "r2.db"))
    result = await Replay(settings).run(iter(cut))
    assert [s[:4] for s in _settlements(tmp_path / "r2.db")] == [s[:4] for s in live]
    assert _settlements(tmp_path / "r2.db")[0][4] is None
    assert any("/events/slug/" in k for k in result.missing)
