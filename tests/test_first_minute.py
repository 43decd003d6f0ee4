"""The first minute as a new user meets it: offline errors in words, truthful health, preflight."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

from tests.conftest import eventually
from weatheredge.config import parse_config
from weatheredge.daemon import DAEMON
from weatheredge.failures import describe, with_hint
from weatheredge.metrics_core import LatencyHistogram
from weatheredge.runtime import make_app, serve
from weatheredge.status import health_verdict
from weatheredge.webui.client import exit_code, format_status

ROOT = Path(__file__).resolve().parents[1]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def offline_yaml(db: Path, port: int, web_port: int = 0, extra: str = "") -> str:
    """Every external URL at a closed loopback port: a venue nobody answers for."""
    base = f"http://127.0.0.1:{port}"
    return f"""\
database: {db}
polymarket:
  gamma_url: {base}
  clob_url: {base}
  ws_url: ws://127.0.0.1:{port}/ws/market
weather:
  ensemble_url: {base}/v1/ensemble
  forecast_url: {base}/v1/forecast
  metar_url: {base}/api/data/metar
web:
  host: 127.0.0.1
  port: {web_port}
{extra}"""


def test_causes_in_words() -> None:
    key = ConnectionKey("gamma-api.polymarket.com", 443, True, True, None, None, None, None)
    dns = aiohttp.ClientConnectorDNSError(key, OSError(-2, "Name or service not known"))
    words = describe(dns)
    assert words == "DNS lookup failed for gamma-api.polymarket.com"
    assert "ConnectionKey" not in with_hint(words, dns)
    assert with_hint(words, dns).endswith("no internet? `weatheredge demo` runs offline")
    refused = aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connect call failed"))
    assert describe(refused) == "connection refused by gamma-api.polymarket.com:443"
    assert with_hint("x", refused) == "x"  # a refusal is not "no internet"
    assert describe(TimeoutError()) == "timed out"
    try:
        try:
            raise TimeoutError()
        except TimeoutError as err:
            raise RuntimeError("boom") from err
    except RuntimeError as outer:
        assert describe(outer) == "timed out"


def test_percentiles_never_exceed_the_max() -> None:
    hist = LatencyHistogram()
    for ns in (100_000, 120_000, 130_000):  # all in the 131 µs bucket
        hist.observe(ns)
    summary = hist.summary()
    assert summary["max_us"] == 130.0
    assert summary["p999_us_le"] <= summary["max_us"]
    assert summary["p50_us_le"] <= summary["max_us"]


async def test_offline_first_run_is_one_worded_line_and_503(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO)
    text = offline_yaml(
        tmp_path / "we.db", closed_port(), extra="jobs:\n  discovery_interval: 0.3\n"
    )
    app = make_app(parse_config(text, env={}))
    runner = await serve(app, asyncio.Event())
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    daemon = app[DAEMON]
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as resp:
                first = resp.status, await resp.json()
            await eventually(lambda: daemon.health.job("discover_markets").runs >= 3, within=10)
            async with http.get(f"{base}/healthz") as resp:
                status, body = resp.status, await resp.json()
            async with http.get(f"{base}/status") as resp:
                doc = await resp.json()
    finally:
        await runner.cleanup()
    # From the first second: starting (or already failed), never "ok" with nothing working.
    assert first[1]["state"] in ("starting", "unhealthy")
    assert status == 503 and body["state"] == "unhealthy"
    reason = "Polymarket Gamma /events/keyset: cannot reach Polymarket (connection refused by"
    assert any(reason in p for p in body["problems"]), body
    assert doc["jobs"]["discover_markets"]["last_error"].startswith(reason)
    assert doc["healthy"] is False and doc["health"]["state"] == "unhealthy"
    summary = format_status(doc, base)  # what `weatheredge status` prints (exit code 1)
    assert ": UNHEALTHY, mode DRY_RUN" in summary and exit_code(doc) == 1
    assert f"problem: discovery has not worked yet: {reason}" in summary
    assert "ConnectionKey" not in summary
    # Ours, plus anything at WARNING and above (the scheduler's own INFO chatter is muted by
    # `weatheredge run`'s logging set-up, which this in-process test does not install).
    records = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING
        or (r.levelno >= logging.INFO and r.name.startswith("weatheredge"))
    ]
    discovery = [r for r in records if "discover_markets" in r.getMessage()]
    assert len(discovery) == 1, [r.getMessage() for r in discovery]  # one per state change
    assert not [r for r in records if r.exc_info], "a traceback above DEBUG"
    assert not any("ConnectionKey" in r.getMessage() for r in records)


def _run(args: list[str], **kw) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "weatheredge", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        **kw,
    )


def test_a_busy_port_is_one_line_exit_2_and_nothing_done(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = tmp_path / "c.yaml"
        db = tmp_path / "sub" / "we.db"
        db.parent.mkdir()
        config.write_text(offline_yaml(db, closed_port(), web_port=port))
        done = _run(["run", "-c", str(config)])
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "web.port" in lines[0]
    assert "address already in use" in lines[0]
    assert not db.exists()  # nothing migrated
    assert done.stdout == ""


@pytest.mark.parametrize("command", ["edges", "trades"])
def test_output_survives_a_closed_pipe(tmp_path: Path, command: str) -> None:
    import sqlite3

    from weatheredge.store import Store

    db = tmp_path / "we.db"
    asyncio.run(_migrate(db, Store))
    with sqlite3.connect(db) as conn:
        if command == "edges":
            row = conn.execute("SELECT * FROM edges LIMIT 0")
            cols = [d[0] for d in row.description]
        else:
            cols = [d[0] for d in conn.execute("SELECT * FROM trade_intents LIMIT 0").description]
    # Enough rows to overflow a pipe buffer many times over.
    _fill(db, "edges" if command == "edges" else "trade_intents", cols, 3000)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "weatheredge",
            command,
            "--db",
            str(db),
            "--json",
            "--limit",
            "3000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "BrokenPipeError" not in err and "Traceback" not in err, err
    assert proc.returncode in (0, 141)


async def _migrate(db: Path, store_cls: type) -> None:
    store = store_cls.open(db)
    await store.close(grace_s=1)


def _fill(db: Path, table: str, cols: list[str], n: int) -> None:
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA foreign_keys=OFF")
        notnull = {r[1]: r[2] for r in conn.execute(f"PRAGMA table_info({table})") if r[3]}
        rows = []
        for i in range(n):
            row = []
            for c in cols:
                kind = notnull.get(c)
                if kind is None:
                    row.append(None)
                elif "INT" in kind.upper() or "REAL" in kind.upper():
                    row.append(i)
                else:
                    row.append(f"{c}-{i}-" + "x" * 40)
            rows.append(row)
        conn.executemany(
            f"INSERT INTO {table} ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})", rows
        )


async def test_a_feed_that_never_worked_is_unhealthy_at_once(sandbox, tmp_path: Path) -> None:
    """Discovery and forecasts work; the market channel and REST books are unreachable."""
    port = closed_port()
    text = sandbox.config_yaml(str(tmp_path / "we.db"))
    text = text.replace(sandbox.urls.ws_url, f"ws://127.0.0.1:{port}/ws/market")
    text = text.replace(f"clob_url: {sandbox.urls.clob_url}", f"clob_url: http://127.0.0.1:{port}")
    app = make_app(parse_config(text, env={}))
    runner = await serve(app, asyncio.Event())
    daemon = app[DAEMON]
    try:
        await eventually(lambda: health_verdict(daemon)["state"] == "unhealthy", within=10)
        verdict = health_verdict(daemon)
    finally:
        await runner.cleanup()
    [problem] = [p for p in verdict["problems"] if p.startswith("market feed")]
    assert problem.startswith("market feed has not worked yet: connection refused"), problem
