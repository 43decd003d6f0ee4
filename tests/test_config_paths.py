"""Issue 12 item 3: paths in a config mean "beside the config"; commands repeat the -c given."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from weatheredge.config import load_config

REPO = Path(__file__).resolve().parents[1]
DB_COMMANDS = ("edges", "calibration", "query", "trades", "pnl", "arm", "disarm", "halt", "resume")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_relative_paths_resolve_beside_the_config(tmp_path: Path, monkeypatch) -> None:
    conf_dir = tmp_path / "etc"
    conf_dir.mkdir()
    cfg = conf_dir / "x.yaml"
    cfg.write_text(
        "database: data/w.db\nlogging: {file: logs/w.log}\ntrading: {key_file: keys.yaml}\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    s = load_config(Path("../etc/x.yaml"), env={}).settings
    assert Path(s.database) == (conf_dir / "data/w.db").absolute()
    assert Path(s.logging.file or "") == (conf_dir / "logs/w.log").absolute()
    assert Path(s.trading.key_file or "") == (conf_dir / "keys.yaml").absolute()
    cfg.write_text("database: /var/tmp/abs.db\nlogging: {file: ~/w.log}\n")
    s = load_config(cfg, env={}).settings
    assert s.database == "/var/tmp/abs.db"
    assert s.logging.file == str(Path("~/w.log").expanduser())


def test_commands_from_another_cwd_share_the_config_database(tmp_path: Path) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    cfg = tmp_path / "conf" / "x.yaml"
    cfg.parent.mkdir()
    cfg.write_text(f"database: sandbox.db\nweb: {{port: {closed_port()}}}\n")
    halted = run_cli("halt", "-c", str(cfg), "--reason", "test", cwd=here)
    assert halted.returncode == 0, halted.stderr
    assert (cfg.parent / "sandbox.db").exists()
    assert not (here / "sandbox.db").exists()
    assert f"weatheredge resume -c {cfg}" in halted.stdout
    for command in ("trades", "pnl", "edges"):
        read = run_cli(command, "-c", str(cfg), cwd=there)
        assert read.returncode == 0, read.stderr
    resumed = run_cli("resume", "-c", str(cfg), cwd=there)
    assert str(cfg.parent / "sandbox.db") in resumed.stdout
    assert not list(there.iterdir()) and not list(here.iterdir())


def test_hints_repeat_the_config_and_db_given(tmp_path: Path) -> None:
    cfg = tmp_path / "my config.yaml"
    cfg.write_text(f"web: {{port: {closed_port()}}}\n")
    status = run_cli("status", "-c", str(cfg), cwd=tmp_path)
    assert status.returncode == 3
    assert f"weatheredge run -c '{cfg}'" in status.stderr
    armed = run_cli("arm", "-c", str(cfg), "--db", "other.db", cwd=tmp_path)
    assert armed.returncode == 0, armed.stderr
    assert f"weatheredge disarm -c '{cfg}' --db other.db" in armed.stdout
    assert (tmp_path / "other.db").exists()


@pytest.mark.parametrize("command", DB_COMMANDS)
def test_every_database_command_takes_config_and_db(command: str) -> None:
    from weatheredge.cli import build_parser

    parser = build_parser()
    args = parser.parse_args([command, "-c", "a.yaml", "--db", "b.db"])
    assert (args.config, args.db) == ("a.yaml", "b.db")


def test_sandbox_write_config_puts_the_database_beside_it(tmp_path: Path) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    target = tmp_path / "conf" / "x.yaml"
    target.parent.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "weatheredge", "sandbox", "--write-config", str(target)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(10)
    assert Path(load_config(target, env={}).settings.database) == target.parent / "sandbox.db"
