"""The other ways in: SIGHUP to a real `weatheredge run` process, and the file watch."""

from __future__ import annotations

import json
import signal
import sqlite3
import urllib.request
from pathlib import Path

from tests.conftest import eventually, sandbox_and_daemon, wait_until
from tests.reload.conftest import config_text, daemon_from_file, free_port
from weatheredge.sandbox import Sandbox


def _status(port: int) -> dict:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2) as resp:
            return json.loads(resp.read())
    except OSError:
        return {}


def _reasons(db: Path) -> list[str]:
    try:
        con = sqlite3.connect(db)
        try:
            rows = con.execute("SELECT close_reason FROM edges").fetchall()
        finally:
            con.close()
    except sqlite3.OperationalError:  # not migrated yet
        return []
    return [r[0] for r in rows]


def test_sighup_reloads_a_running_daemon(tmp_path: Path) -> None:
    cfg, db, port = tmp_path / "config.yaml", tmp_path / "we.db", free_port()
    with sandbox_and_daemon(tmp_path, web_port=port) as (daemon, _):
        wait_until(lambda: None in _reasons(db), "open edge", within=30)
        before = _status(port)
        assert before["config"]["version"] == 1
        cfg.write_text(cfg.read_text() + "min_edge: 0.9\n")
        daemon.send_signal(signal.SIGHUP)
        wait_until(lambda: _status(port).get("config", {}).get("version") == 2, "reload")
        wait_until(lambda: "config changed" in _reasons(db), "episode closed by the reload")
        after = _status(port)
        assert after["config"]["last_reload"]["source"] == "SIGHUP"
        assert after["uptime_s"] >= before["uptime_s"] and daemon.poll() is None
        daemon.send_signal(signal.SIGTERM)
        log, _ = daemon.communicate(timeout=10)
        assert daemon.returncode == 0, log
        assert "config reload (SIGHUP): applied, version 2; changed: min_edge 0.05 -> 0.9" in log


async def test_the_file_watch_follows_an_edit(sandbox: Sandbox, tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    text = config_text(sandbox, tmp_path, "reload: {watch: true}\n")
    cfg.write_text(text)
    async with daemon_from_file(cfg) as (daemon, _):
        reloader = daemon.reloader
        assert reloader.status()["watch"] is True
        # The watcher may still be starting: write until it has seen an edit.
        for attempt in range(20):
            cfg.write_text(text + f"min_edge: 0.{attempt + 30}\n")
            try:
                await eventually(lambda: reloader.version > 1, within=0.5)
                break
            except AssertionError:
                continue
        await eventually(lambda: daemon.engine.min_edge == float(f"0.{attempt + 30}"))
        assert reloader.status()["last_reload"]["source"] == "file watch"
        # Turned off by an edit: later edits are no longer followed.
        cfg.write_text(text.replace("watch: true", "watch: false"))
        await eventually(lambda: reloader.status()["watch"] is False)
        assert daemon.settings.reload.watch is False
