"""Issue 10 §1: a running day is never priced blind. The daemon in paper mode against the
sandbox, with a bucket that an earlier report already killed while the book still offers its
YES cheaply: no YES edge and no YES order at any moment; the NO edge (and order) once the
report is applied."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

from tests.conftest import eventually, running_daemon
from weatheredge.sandbox import Sandbox, scenario

NY = ZoneInfo("America/New_York")
METAR = "/api/data/metar"
NWS = "/stations/KLGA/observations"  # the second source for US stations
CONFIG = """\
mode: paper
trading:
  take_profit: false
  day_timezone: UTC
model:
  observation_tick: 0.2
  observation_fast: 0.5
  observation_slow: 1
"""


def _rows(db: Path, sql: str, *args: object) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


async def _status(base: str) -> dict:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/status") as resp:
        return await resp.json()


def nyc_running_day(
    box: Sandbox, event_id: int
) -> tuple[dict, scenario.Quoted, list[str], dt.datetime]:
    """Today's NYC high (forecast ~46 °F; ladder 37°F or below .. 56°F+) on the sandbox, every
    YES offered at 0.95: (event, its quotes, bucket labels, start of the local day)."""
    today = dt.datetime.now(dt.UTC).astimezone(NY).date()
    spec = scenario.event_specs()[0]
    box.weather.set_daily(spec.lat, spec.lon, today, 8.0, 1.0, "max")
    raw = scenario.gamma_event(spec, today, event_id)
    box.venue.add_event(raw)
    q = scenario.Quoted(spec, raw, scenario.fair_probs(spec))
    labels = [m["groupItemTitle"] for m in raw["markets"]]
    for i in range(len(labels)):
        box.venue.set_book(q.tokens(i)[0], [("0.01", "100")], [("0.95", "100")])
    return raw, q, labels, dt.datetime.combine(today, dt.time(0), tzinfo=NY)


async def test_a_killed_bucket_never_gets_a_yes_edge_or_order(tmp_path: Path) -> None:
    box = Sandbox()
    await box.start(play=False)
    db = tmp_path / "paper.db"
    try:
        now = dt.datetime.now(dt.UTC)
        raw, q, labels, start = nyc_running_day(box, 390001)
        killed = labels.index("46-47°F")  # the forecast's favourite, dead after a 54 °F report
        yes, no = q.tokens(killed)
        box.venue.set_book(yes, [("0.05", "50")], [("0.10", "50")], mirror=False)
        box.venue.set_book(no, [("0.75", "50")], [("0.80", "50")], mirror=False)
        at = max(start + dt.timedelta(seconds=1), now - dt.timedelta(minutes=20))
        box.weather.add_metar("KLGA", at, 12.0, receipt_delay=dt.timedelta(0))  # 53.6 -> 54 °F
        for _ in range(500):  # both observation sources are down at start-up
            box.weather.inject_error(METAR, 503, '{"error": "down"}')
            box.weather.inject_error(NWS, 503, '{"error": "down"}')
        event_id = raw["id"]

        async with running_daemon(box, db, extra=CONFIG) as (daemon, base):
            assert daemon.ctx is not None
            await eventually(lambda: event_id in daemon.ctx.live.priors, within=15)
            status = await _status(base)
            assert event_id in status["observations"]["awaiting_reports"]
            assert any("awaiting today's reports" in v for v in status["degraded"].values())
            assert event_id not in daemon.engine.pricing  # no price, so no edge, no order
            page = await _page_state(base)
            [card] = [e for e in page["events"] if e["event_id"] == event_id]
            assert card["why_unpriced"].startswith("awaiting today's reports")

            box.weather.clear_faults(METAR)  # the source recovers: the report is applied
            box.weather.clear_faults(NWS)
            await eventually(lambda: daemon.engine.tracker.is_open(no), within=15)
            await eventually(lambda: bool(_rows(db, _INTENTS, no)), within=15)
            status = await _status(base)
            assert event_id not in status["observations"]["awaiting_reports"]
            assert daemon.engine.pricing[event_id].probs[raw["markets"][killed]["id"]] == 0.0

            # The next report races: published -> decision per station on /metrics and the page.
            box.weather.add_metar(
                "KLGA", dt.datetime.now(dt.UTC), 12.5, "SPECI", receipt_delay=dt.timedelta(0)
            )
            await eventually(lambda: "KLGA" in daemon.ctx.live.race, within=15)
            async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as resp:
                metrics = await resp.text()
            assert 'weatheredge_report_published_to_decision_p90_seconds{station="KLGA"}' in metrics
            race = await _page_race(base, "KLGA")
            assert race["p50_s"] >= 0 and race["reports"] == 1
    finally:
        await box.stop()

    # Every episode the engine ever opened is in the edges table: none on the dead YES.
    market_id = raw["markets"][killed]["id"]
    sides = {s for (s,) in _rows(db, "SELECT side FROM edges WHERE market_id = ?", market_id)}
    assert sides == {"NO"}
    assert _rows(db, _INTENTS, yes) == []
    timings = _rows(db, "SELECT station, published_at, decided_at FROM report_timings")
    assert ("KLGA",) in {(t[0],) for t in timings} and all(t[1] and t[2] for t in timings)


_INTENTS = "SELECT side, price FROM trade_intents WHERE token_id = ?"


async def _page_state(base: str) -> dict:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/api/v1/state") as resp:
        return await resp.json()


async def _page_race(base: str, station: str, within: float = 10.0) -> dict:
    """``station``'s race figures on the page: its document is rebuilt every push interval, so
    it may show the race a moment after ``/metrics`` does."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        race = (await _page_state(base))["observations"]["published_to_decision"]
        if station in race or asyncio.get_running_loop().time() > deadline:
            return race[station]
        await asyncio.sleep(0.05)
