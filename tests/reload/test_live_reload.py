"""Reload against a running daemon and the sandbox: the books, sockets and episodes survive."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest
import yaml

from tests.conftest import eventually
from tests.reload.conftest import (
    config_text,
    daemon_from_file,
    free_port,
    get_json,
    get_text,
    post_reload,
)
from weatheredge.cli import main
from weatheredge.sandbox import Sandbox
from weatheredge.webui import BROADCASTER


def _subscribes(box: Sandbox) -> int:
    """Subscription frames the venue ever received (initial and subscribe operations)."""
    return len(box.venue.subscriptions_received)


def _close_reasons(db: Path) -> list[str]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT close_reason FROM edges WHERE status = 'closed'").fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


async def test_raising_min_edge_closes_the_open_edge_and_keeps_the_socket(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(config_text(sandbox, tmp_path, port=free_port()))
    async with daemon_from_file(cfg) as (daemon, base):
        engine = daemon.engine
        await eventually(lambda: bool(engine.tracker.open_keys()), within=15)
        books = dict(engine.books)
        connections, subscribes = sandbox.venue.connections, _subscribes(sandbox)
        cfg.write_text(cfg.read_text() + "min_edge: 0.9\n")
        # The command line, as a user runs it (blocking urllib: off the loop).
        code = await asyncio.to_thread(main, ["reload", "-c", str(cfg)])
        assert code == 0
        # In force at once: nothing is open, nothing new opens under 0.9.
        assert engine.min_edge == 0.9 and engine.tracker.open_keys() == []
        await daemon.store.flush()
        assert "config changed" in _close_reasons(tmp_path / "we.db")
        # Same books, same sockets, no resubscription.
        assert engine.books == books and all(engine.books[t] is b for t, b in books.items())
        assert sandbox.venue.connections == connections and _subscribes(sandbox) == subscribes
        assert daemon.stream.status()["connected"] is True
        status = await get_json(base, "/status")
        assert status["config"]["version"] == 2 and status["config"]["state"] == "ok"
        assert status["config"]["last_reload"]["changed"] == ["min_edge 0.05 -> 0.9"]
        assert 'weatheredge_reloads_total{result="applied"} 1' in await get_text(base, "/metrics")

        # Lowered again: the edges the new threshold allows open at once, with the same reason.
        cfg.write_text(cfg.read_text().replace("min_edge: 0.9", "min_edge: 0.05"))
        status_code, answer = await post_reload(base)
        assert status_code == 200 and answer["result"] == "applied" and answer["version"] == 3
        assert engine.tracker.open_keys()
        assert sandbox.venue.connections == connections


async def test_an_invalid_edit_changes_nothing(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "config.yaml"
    good = config_text(sandbox, tmp_path, port=free_port())
    cfg.write_text(good)
    async with daemon_from_file(cfg) as (daemon, base):
        settings = daemon.settings
        cfg.write_text(good + "min_edge: 2\ntrading: {max_order_usd: -1, colour: red}\n")
        code = await asyncio.to_thread(main, ["reload", "-c", str(cfg)])
        err = capsys.readouterr().err
        assert code == 2
        for path in ("$.min_edge", "$.trading.max_order_usd", "$.trading.colour"):
            assert path in err
        assert daemon.settings is settings and daemon.engine.min_edge == 0.05
        status = await get_json(base, "/status")
        assert status["config"]["state"] == "rejected" and status["config"]["version"] == 1
        assert any("$.trading.colour" in p for p in status["config"]["rejected"])
        state = await get_json(base, "/api/v1/state")
        assert state["config"]["state"] == "rejected"
        metrics = await get_text(base, "/metrics")
        assert 'weatheredge_reloads_total{result="rejected"} 1' in metrics
        # Fixed: accepted again, and the rejection is gone.
        cfg.write_text(good)
        status_code, answer = await post_reload(base)
        assert status_code == 200 and answer["result"] == "unchanged"
        assert (await get_json(base, "/status"))["config"]["state"] == "ok"


async def test_a_notify_url_added_by_reload_gets_the_next_edge(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert sandbox.urls is not None
    cfg = tmp_path / "config.yaml"
    cfg.write_text(config_text(sandbox, tmp_path, "min_edge: 0.9\n", notify=False))
    async with daemon_from_file(cfg) as (daemon, base):
        await eventually(lambda: daemon.engine.status()["books_synced"] > 0, within=15)
        await asyncio.sleep(1.0)
        assert sandbox.notifications == [] and not daemon.engine.tracker.open_keys()
        cfg.write_text(config_text(sandbox, tmp_path))
        with caplog.at_level(logging.INFO, logger="weatheredge.reloader"):
            status_code, answer = await post_reload(base)
        assert status_code == 200, answer
        assert "notify.urls <masked>" in answer["changed"]
        await eventually(lambda: len(sandbox.notifications) >= 1, within=10)
        first = sandbox.notifications[0]
        assert first["title"].startswith(("Edge open", "Ladder edge open"))
        assert "Opened: config changed" in first["message"]  # opened by the lower threshold
        logged = [r.getMessage() for r in caplog.records if "config reload" in r.getMessage()]
        assert len(logged) == 1 and "sandbox-webhook" not in logged[0]


async def test_what_cannot_change_live_is_named_and_left_alone(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    cfg = tmp_path / "config.yaml"
    text = config_text(sandbox, tmp_path)
    cfg.write_text(text)
    async with daemon_from_file(cfg) as (daemon, base):
        web = daemon.settings.web
        # Edited as a user would: each key once (a duplicate key is an error).
        data = yaml.safe_load(text)
        data["web"].update(port=9, push_interval=0.5)
        data.update(mode="live", armed=True, database="elsewhere.db")
        data.setdefault("jobs", {})["discovery_interval"] = 17
        data.setdefault("trading", {})["max_order_usd"] = 7
        data.setdefault("feed", {})["stale_after"] = 33
        data.setdefault("logging", {})["level"] = "WARNING"
        data.setdefault("weather", {})["models"] = ["gfs_seamless"]
        cfg.write_text(yaml.safe_dump(data))
        await eventually(lambda: daemon.health.jobs["refresh_forecasts"].runs >= 1, within=15)
        forecasts = daemon.health.jobs["refresh_forecasts"].runs
        root = logging.getLogger()
        level = root.level
        try:
            status_code, answer = await post_reload(base)
            assert root.level == logging.WARNING
        finally:
            root.setLevel(level)
        assert status_code == 200, answer
        restart = " ".join(answer["needs_restart"])
        for key in ("web.port", "mode", "armed", "database"):
            assert key in restart
        s = daemon.settings
        assert s.mode.value == "dry_run" and s.database == str(tmp_path / "we.db")
        assert (s.web.host, s.web.port) == (web.host, web.port)
        assert daemon.trading.trader.mode.value == "dry_run"
        # ...while the live ones reached their owners.
        job = daemon.scheduler.get_job("discover_markets")
        assert job.trigger.interval.total_seconds() == 17
        assert str(daemon.trading.trader.limits.max_order) == "7.0"
        assert daemon.stream.config.stale_after_s == 33
        assert daemon.ctx.settings is s
        assert daemon.reloader.app[BROADCASTER].interval == 0.5
        # A new model choice re-prices now, not at the next forecast interval.
        await eventually(lambda: daemon.health.jobs["refresh_forecasts"].runs > forecasts)


async def test_secrets_yaml_is_validated_and_its_values_masked(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg, secrets = tmp_path / "config.yaml", tmp_path / "secrets.yaml"
    text = config_text(sandbox, tmp_path).replace("sandbox-cwa-key", "!secret cwa")
    cfg.write_text(text)
    secrets.write_text("cwa: first-cwa-key-1234\n")
    secrets.chmod(0o600)
    async with daemon_from_file(cfg) as (daemon, base):
        secrets.write_text("cwa: second-cwa-key-5678\n")
        secrets.chmod(0o644)  # readable by others: refused, as check-config refuses it
        status_code, answer = await post_reload(base)
        assert status_code == 422 and "must be mode 0600" in " ".join(answer["problems"])
        assert daemon.settings.weather.cwa_api_key == "first-cwa-key-1234"
        secrets.chmod(0o600)
        with caplog.at_level(logging.INFO, logger="weatheredge.reloader"):
            status_code, answer = await post_reload(base)
        assert status_code == 200 and answer["changed"] == ["weather.cwa_api_key <masked>"]
        assert daemon.settings.weather.cwa_api_key == "second-cwa-key-5678"
        assert "second-cwa-key" not in caplog.text and "first-cwa-key" not in caplog.text
        assert "second-cwa-key" not in await get_text(base, "/status")
