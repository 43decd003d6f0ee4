"""The whole loop against the sandbox: real WebSocket and HTTP servers, a real SQLite file,
notifications delivered over HTTP to a local endpoint through apprise."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.conftest import eventually, running_daemon, sandbox_and_daemon, wait_until
from weatheredge.sandbox import Sandbox
from weatheredge.store import recent_edges


def _rows(db: Path, sql: str) -> list[sqlite3.Row]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


async def test_edges_are_recorded_and_notified(sandbox: Sandbox, tmp_path: Path) -> None:
    db = tmp_path / "we.db"
    async with running_daemon(sandbox, db) as (daemon, base):
        await eventually(lambda: len(sandbox.notifications) >= 2, within=15)
        await daemon.store.flush()
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as resp:
                assert resp.status == 200, await resp.text()
            async with http.get(f"{base}/status") as resp:
                status = await resp.json()
    assert status["mode"] == "dry_run"
    assert status["discovery"]["events"] == 4
    # Every sandbox event carries daily-temperature and its own highest-/lowest- tag.
    by_tag = status["discovery"]["by_tag"]
    assert (
        by_tag["daily-temperature"]["events"] == 4 and by_tag["lowest-temperature"]["events"] == 1
    )
    assert not any("HKO" in k or "hko" in k for k in status["degraded"])  # priced out of the box
    assert "disagreements" in status["observations"]
    assert status["engine"]["books_synced"] == 88
    assert status["feed"]["connected"] is True
    # Station schedules learnt from their reports and settlement agreement (issue 16).
    assert isinstance(status["model"]["stations"], dict)
    assert "settlement_agreement" in status["model"]

    edges = {(e.city, e.side): e.as_dict() for e in recent_edges(db) if e.kind == "bucket"}
    nyc = edges[("NYC", "YES")]
    assert nyc["bucket"] == "46-47°F"
    assert nyc["open_price"] in {"0.16", "0.18"}  # exact decimal text, as the venue sent it
    assert 0.25 < nyc["prob"] < 0.4
    assert nyc["open_edge"] >= 0.05
    assert nyc["forecast_id"] is not None
    assert 0 < nyc["latency_us"] < 50_000
    london = edges[("London", "NO")]
    assert london["prob"] > 0.95

    bodies = "\n".join(n["title"] + "\n" + n["message"] for n in sandbox.notifications)
    assert "NYC" in bodies and "46-47°F" in bodies and "YES" in bodies
    assert "London" in bodies and "NO" in bodies
    opens = ("Edge open", "Ladder edge open")
    assert all(n["title"].startswith(opens) for n in sandbox.notifications[:2])

    events = _rows(db, "SELECT slug, unit, station, extreme FROM events ORDER BY slug")
    assert [(r["unit"], r["station"], r["extreme"]) for r in events] == [
        ("C", "HKO", "high"),
        ("C", "EGLC", "high"),
        ("F", "KLGA", "high"),
        ("F", "KLGA", "low"),
    ]
    probs = _rows(
        db,
        "SELECT f.event_id, sum(p.prob) AS total FROM forecast_probs p "
        "JOIN forecasts f USING (forecast_id) GROUP BY p.forecast_id",
    )
    assert len(probs) == 4  # HKO is no airport: its coordinates ship with the package
    assert all(abs(r["total"] - 1) < 1e-9 for r in probs)


async def test_one_notification_per_episode_and_episodes_close(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    db = tmp_path / "we.db"
    async with running_daemon(sandbox, db) as (daemon, _):
        # The script reprices back to fair ~8 s into each cycle: both episodes close.
        await eventually(lambda: daemon.engine.counters["edges_close"] >= 2, within=15)
        await daemon.store.flush()
    rows = _rows(db, "SELECT status, close_reason, max_edge, open_edge, kind FROM edges")
    closed = [r for r in rows if r["status"] == "closed" and r["kind"] == "bucket"]
    assert len(closed) >= 2
    # Repricing removes the cheap asks first, then quotes fair: either ends the episode.
    reasons = {"edge below threshold", "no ask", "daemon stopped"}
    assert {r["close_reason"] for r in closed} <= reasons
    assert all(r["max_edge"] >= r["open_edge"] for r in rows)
    opens = ("Edge open", "Ladder edge open")
    opened = sum(1 for n in sandbox.notifications if n["title"].startswith(opens))
    assert opened == len(rows)  # one push per episode, not per tick


async def test_bad_frames_are_counted_and_never_produce_edges(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    async with running_daemon(sandbox, tmp_path / "we.db") as (daemon, _):
        await eventually(lambda: daemon.engine.status()["books_synced"] == 88)
        before = daemon.engine.counters["edges_open"]
        sandbox.venue.send_raw("this is not json")
        sandbox.venue.send_raw('{"event_type": "book_v9", "asset_id": "1"}')
        sandbox.venue.send_raw('[{"event_type": "price_change", "market": "0x1"}]')
        sandbox.venue.send_raw(
            '{"event_type":"price_change","market":"0x1","timestamp":"1",'
            '"price_changes":[{"asset_id":"' + sandbox.quoted[0].tokens(0)[0] + '",'
            '"price":"abc","size":"1","side":"SELL","hash":"h"}]}'
        )
        await eventually(lambda: sum(daemon.engine.bad_frames.values()) >= 4)
        assert daemon.engine.bad_frames["not_json"] == 1
        assert daemon.engine.bad_frames["unknown_event"] == 1
        assert daemon.engine.bad_frames["invalid"] == 1
        assert daemon.engine.bad_frames["invalid_value"] == 1
        assert daemon.stream.connected
        assert daemon.engine.counters["edges_open"] == before


async def test_polling_fallback_when_websocket_disabled(sandbox: Sandbox, tmp_path: Path) -> None:
    db = tmp_path / "we.db"
    env = {"USE_WEBSOCKET": "false"}
    extra = "jobs: {poll_interval: 0.3}\n"
    async with running_daemon(sandbox, db, extra=extra, env=env) as (daemon, _):
        await eventually(lambda: daemon.engine.counters["edges_open"] >= 1, within=15)
        # No socket: every shard of the feed is fed by REST polling (issue 3).
        assert set(daemon.stream.modes().values()) == {"polling"}
        assert sandbox.venue.connections == 0
        await daemon.store.flush()
    assert recent_edges(db)
    assert sandbox.venue.requests["/books"] >= 1


def test_demo_command_prints_an_edge_and_its_notification(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    out = subprocess.run(
        [sys.executable, "-m", "weatheredge", "demo", "--duration", "8", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "edge episodes" in out.stdout
    assert "46-47°F" in out.stdout
    assert "Edge open: NYC" in out.stdout
    assert recent_edges(db)


def test_run_stops_cleanly_on_sigterm_within_5s(tmp_path: Path) -> None:
    """`weatheredge sandbox` and `weatheredge run` as a user runs them, in two processes."""
    db = tmp_path / "we.db"
    with sandbox_and_daemon(tmp_path) as (daemon, box):
        wait_until(lambda: db.exists() and bool(_edges_once_migrated(db)), "an edge")
        daemon.send_signal(signal.SIGTERM)
        started = time.monotonic()
        log, _ = daemon.communicate(timeout=10)
        assert time.monotonic() - started < 5
        assert daemon.returncode == 0, log
        assert "stopping" in log and "DRY RUN" in log
        assert "sandbox-webhook" not in log  # the notify URL's path is redacted
    assert box.returncode == 0
    assert _rows(db, "SELECT count(*) AS n FROM events")[0]["n"] == 4
    closed = _rows(db, "SELECT count(*) AS n FROM edges WHERE status = 'open'")
    assert closed[0]["n"] == 0  # episodes open at shutdown were closed, nothing left dangling


def _edges_once_migrated(db: Path) -> list:
    """The file exists a moment before its migrations have run: no table yet is no edge yet."""
    try:
        return recent_edges(db)
    except sqlite3.OperationalError:
        return []


async def test_new_event_is_subscribed_on_the_open_socket(sandbox: Sandbox, tmp_path: Path) -> None:
    from weatheredge.sandbox import scenario

    async with running_daemon(sandbox, tmp_path / "we.db") as (daemon, _):
        await eventually(lambda: daemon.engine.status()["books_synced"] == 88)
        connections = sandbox.venue.connections
        spec = scenario.event_specs()[0]
        later = scenario.gamma_event(spec, dt.date(2030, 1, 2), 260000)
        sandbox.venue.add_event(later)
        daemon.request_run("discover_markets")
        await eventually(lambda: daemon.engine.status()["books_synced"] == 110)
        assert sandbox.venue.connections == connections  # no reconnect
        frames = sandbox.venue.subscriptions_received
        assert frames[0]["type"] == "market" and frames[0]["initial_dump"] is True
        update = frames[-1]
        assert update["operation"] == "subscribe"
        assert len(update["assets_ids"]) == 22
        assert not [f for f in frames[1:] if f.get("type") == "market"]


async def test_a_station_the_airport_table_lacks_is_priced_once_configured(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    hko = "  stations:\n    HKO: {latitude: 22.302, longitude: 114.174, timezone: Asia/Hong_Kong}\n"
    async with running_daemon(sandbox, tmp_path / "we.db", weather_extra=hko) as (daemon, _):
        await eventually(lambda: len(daemon.engine.pricing) == 4)
        hk = next(e for e in daemon.engine.events.values() if e.city == "Hong Kong")
        probs = daemon.engine.pricing[hk.event_id].probs
        assert abs(sum(probs.values()) - 1) < 1e-9
        assert not [k for k in daemon.health.notes if "hong-kong" in k or "HKO" in k]


async def test_an_edge_interrupted_by_a_reconnect_is_not_pushed_twice(tmp_path: Path) -> None:
    from weatheredge.sandbox import moves

    box = Sandbox()
    await box.start(play=False)
    try:
        db = tmp_path / "we.db"
        async with running_daemon(box, db) as (daemon, _):
            await eventually(lambda: daemon.engine.status()["books_synced"] == 88)
            await eventually(lambda: len(daemon.engine.pricing) == 4)  # Hong Kong included
            nyc = box.quoted[0]
            modal = max(range(len(nyc.probs)), key=nyc.probs.__getitem__)
            moves.reprice(box.venue, nyc, modal, nyc.probs[modal] - 0.2)
            await eventually(lambda: len(box.notifications) == 1)
            await box.venue.drop_connections()
            # closed ("feed lost"), then reopened from the fresh snapshot as a new episode
            await eventually(lambda: daemon.engine.counters["edges_open"] == 2)
            await daemon.store.flush()
            await asyncio.sleep(0.3)  # give a (wrong) second push time to arrive
        rows = _rows(db, "SELECT close_reason FROM edges ORDER BY opened_at")
        assert len(rows) == 2 and rows[0]["close_reason"].startswith("feed lost")
        assert len(box.notifications) == 1
    finally:
        await box.stop()
