"""The tape of a real daemon against the sandbox: everything it saw and decided, a kill -9,
drops under a writer that cannot keep up, and ``demo --record`` + ``tape info``."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.calibration.conftest import NY, box, nyc_event
from tests.conftest import eventually, running_daemon
from weatheredge.sandbox import Sandbox
from weatheredge.store import recent_edges
from weatheredge.tape.info import render, scan
from weatheredge.tape.reader import read_tape, segments

REPO = Path(__file__).resolve().parents[2]
__all__ = ["box"]  # fixture: the sandbox without its scripted price moves
SHARDED = "feed: {max_tokens_per_connection: 22, connect_stagger: 0}\n"


async def _get(url: str) -> tuple[str, dict]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/metrics") as resp:
            metrics = await resp.text()
        async with http.get(f"{url}/status") as resp:
            status = await resp.json()
        async with http.get(f"{url}/api/v1/state") as resp:
            status["page"] = await resp.json()
    return metrics, status


async def test_a_daemon_run_records_every_source_and_its_decisions(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    nyc_event(sandbox, dt.datetime.now(NY).date(), 320000)  # a running day: METARs are polled
    db = tmp_path / "we.db"
    async with running_daemon(sandbox, db, SHARDED) as (daemon, base):
        await eventually(lambda: len(sandbox.notifications) >= 2, within=20)
        await eventually(lambda: daemon.stream.status()["mode"] == "live", within=20)
        await eventually(lambda: bool(daemon.ctx.live.attempted_at), within=20)
        shards = {s.index for s in daemon.stream.shards if s.tokens}
        metrics, status = await _get(base)
    assert len(shards) == 5  # one event (22 tokens) per socket
    assert "weatheredge_tape_records_total" in metrics
    assert "weatheredge_tape_dropped_total 0" in metrics
    assert status["tape"]["enabled"] is True and status["tape"]["dropped"] == 0
    assert status["page"]["tape"]["dir"] == str(tmp_path / "tape")

    records = list(read_tape(tmp_path / "tape"))  # closed with the daemon: nothing torn
    frames = [r for r in records if r["kind"] == "frame"]
    assert {r["shard"] for r in frames} == shards
    assert all(r["epoch"] == 1 and r["raw"] for r in frames)
    books = [json.loads(r["raw"]) for r in frames if r["raw"].startswith("[")]
    assert books and all(b["event_type"] == "book" for page in books for b in page)
    # Receive times: the transport's monotonic reading, taken before parsing, in arrival order.
    for shard in shards:
        mono = [r["mono_ns"] for r in frames if r["shard"] == shard]
        assert mono == sorted(mono)
    http = {r["source"]: r for r in records if r["kind"] == "http"}
    assert {"gamma", "open-meteo-ensemble", "aviationweather"} <= set(http)
    assert json.loads(http["gamma"]["body"])  # the page as received
    assert "metar" in http["aviationweather"]["url"] and http["aviationweather"]["status"] == 200
    edges = [r for r in records if r["kind"] == "edge"]
    assert {"EdgeOpened"} <= {r["type"] for r in edges}
    assert {r["data"]["edge_id"] for r in edges} >= {e.edge_id for e in recent_edges(db)}
    blind = [(r["scope"], r["state"]) for r in records if r["kind"] == "blind"]
    for shard in shards:  # connecting/syncing until every book streamed, then live
        assert blind.index((f"shard-{shard}", "start")) < blind.index((f"shard-{shard}", "end"))
    assert [r["kind"] for r in records][:2] == ["segment", "session"]
    assert records[-1]["kind"] == "session_end"


async def test_a_slow_writer_drops_tape_records_never_decisions(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    db = tmp_path / "we.db"
    async with running_daemon(sandbox, db, "tape: {queue_size: 1}\n") as (daemon, base):
        await eventually(lambda: len(sandbox.notifications) >= 2, within=20)
        await eventually(lambda: daemon.tape.dropped > 0, within=10)
        metrics, status = await _get(base)
        await daemon.store.flush()
    dropped = next(
        int(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("weatheredge_tape_dropped_total ")
    )
    assert dropped > 0 and status["tape"]["dropped"] >= dropped
    assert status["page"]["tape"]["dropped"] >= dropped  # shown on the status page
    assert recent_edges(db)  # every decision was still made and stored
    assert scan(tmp_path / "tape").dropped > 0  # and the loss is on the tape itself


async def test_the_tape_survives_kill_9_up_to_the_last_second(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    cfg, tape = tmp_path / "config.yaml", tmp_path / "tape"
    cfg.write_text(sandbox.config_yaml(str(tmp_path / "we.db"), extra="tape: {dir: tape}\n"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(  # noqa: ASYNC220 - the sandbox runs on this test's loop
        [sys.executable, "-m", "weatheredge", "run", "-c", str(cfg)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path,
    )  # fmt: skip
    sent: list[tuple[float, int]] = []
    try:

        def framed() -> bool:
            return any(r["kind"] == "frame" for r in read_tape(tape, lambda _w: None))

        await eventually(framed, within=30)
        for seq in range(60):  # ~3 s of marked frames, the last ones just before the kill
            sandbox.venue.send_raw(json.dumps({"event_type": "tape_marker", "seq": seq}))
            sent.append((time.time(), seq))
            await asyncio.sleep(0.05)
        killed_at = time.time()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    warnings: list[str] = []
    seen = set()
    for record in read_tape(tape, warnings.append):
        if record["kind"] == "frame" and "tape_marker" in record["raw"]:
            seen.add(json.loads(record["raw"])["seq"])
    must = {seq for at, seq in sent if at <= killed_at - 1.0}
    assert must and must <= seen, sorted(must - seen)
    assert all("torn tail skipped" in w for w in warnings)  # a torn tail is only a warning
    assert scan(tape).records > 0


def test_demo_record_then_tape_info(tmp_path: Path) -> None:
    tape = tmp_path / "tape"
    cmd = [sys.executable, "-m", "weatheredge"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    demo = subprocess.run(
        [*cmd, "demo", "--duration", "6", "--record", str(tape)],
        capture_output=True, text=True, timeout=90, env=env,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    assert f"== tape {tape} ==" in demo.stdout
    assert segments(tape)
    info = subprocess.run(
        [*cmd, "tape", "info", str(tape)], capture_output=True, text=True, timeout=60, env=env
    )
    assert info.returncode == 0, info.stderr
    out = info.stdout
    expected = ["span     :", "frame shard-0", "http gamma", "http open-meteo-ensemble"]
    expected += ["edge EdgeOpened", "blind windows: ", "dropped  : 0", "torn tails / bad lines: 0"]
    for line in expected:
        assert line in out, out
    as_json = subprocess.run(
        [*cmd, "tape", "info", str(tape), "--json"], capture_output=True, text=True, env=env
    )
    assert json.loads(as_json.stdout)["counts"]["frame shard-0"] > 0


async def test_a_paper_trade_puts_its_intent_and_fill_on_the_tape(
    box: Sandbox, tmp_path: Path
) -> None:
    event = box.quoted[0]
    yes = event.tokens(event.probs.index(max(event.probs)))[0]  # the likeliest bucket's YES
    paper = "mode: paper\ntrading: {take_profit: false, day_timezone: UTC}\n"
    async with running_daemon(box, tmp_path / "paper.db", paper) as (daemon, _base):
        await eventually(lambda: event.event["id"] in daemon.engine.pricing, within=8)
        await eventually(lambda: daemon.engine.books[yes].synced)
        await daemon.trading.trader.ready()
        box.venue.set_book(yes, [("0.10", "50")], [("0.16", "20")], mirror=False)
        await eventually(lambda: _filled(tmp_path))
    records = list(read_tape(tmp_path / "tape"))
    [intent] = [r["data"] for r in records if r["kind"] == "intent"]
    [fill] = [r["data"]["fill"] for r in records if r["kind"] == "fill"]
    assert (intent["token_id"], intent["side"], intent["price"]) == (yes, "BUY", "0.16")
    assert fill["intent_key"] == intent["intent_key"] and fill["size"] == "20"
    updates = [r["data"] for r in records if r["kind"] == "intent_update"]
    assert {u["intent_key"] for u in updates} == {intent["intent_key"]}
    opened = next(
        r
        for r in records
        if r.get("type") == "EdgeOpened" and r["data"]["market"]["yes_token"] == yes
    )
    assert opened["data"]["side"] == "YES" and opened["data"]["price"] == "0.16"
    assert opened["wall_ns"] <= next(r["wall_ns"] for r in records if r["kind"] == "intent")


def _filled(tmp_path: Path) -> bool:
    return any(r["kind"] == "fill" for r in read_tape(tmp_path / "tape", lambda _w: None))


async def test_polling_is_a_blind_window_and_its_books_are_taped(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    polling = "websocket: {enabled: false}\njobs: {poll_interval: 0.2}\n"
    async with running_daemon(sandbox, tmp_path / "we.db", polling) as (daemon, _base):
        await eventually(lambda: daemon.stream.polling.rounds >= 2, within=20)
    records = list(read_tape(tmp_path / "tape"))
    [blind] = [r for r in records if r["kind"] == "blind" and r["state"] == "start"]
    assert blind["reason"] == "polling: websocket disabled by config"
    assert "blind windows: 1" in render(scan(tmp_path / "tape"))
    books = [r for r in records if r["kind"] == "http" and r["source"] == "clob"]
    applied = [r for r in records if r["kind"] == "rest_books"]
    assert books and books[0]["method"] == "POST" and json.loads(books[0]["body"])
    assert applied and set(applied[0]["tokens"]) == {
        b["asset_id"] for b in json.loads(books[0]["body"])
    }
    assert not any(r["kind"] == "frame" for r in records)
