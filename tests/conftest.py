"""Shared fixtures: the built-in sandbox (real servers on 127.0.0.1) and a running daemon."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from weatheredge.config import parse_config
from weatheredge.daemon import DAEMON, Daemon
from weatheredge.runtime import make_app, serve
from weatheredge.sandbox import Sandbox


async def eventually(condition: Callable[[], bool], within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``weatheredge ARGS`` in a fresh process from ``cwd``, importing this checkout."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run(
        [sys.executable, "-m", "weatheredge", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
    )


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    box = Sandbox(first_edge_after_s=0.5, cycle_s=8.0)
    await box.start()
    try:
        yield box
    finally:
        await box.stop()


@contextlib.asynccontextmanager
async def running_daemon(
    box: Sandbox,
    db: Path,
    extra: str = "",
    env: dict[str, str] | None = None,
    weather_extra: str = "",
) -> AsyncIterator[tuple[Daemon, str]]:
    """The real daemon app on an ephemeral port, pointed at the sandbox."""
    text = box.config_yaml(str(db), extra=extra, weather_extra=weather_extra)
    loaded = parse_config(text, env=env or {})
    app = make_app(loaded)
    runner = await serve(app, asyncio.Event())
    port = runner.addresses[0][1]
    try:
        yield app[DAEMON], f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def wait_until(condition: Callable[[], bool], what: str, within: float = 20.0) -> None:
    """The blocking twin of ``eventually``, for tests that drive subprocesses."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {within} s"
        time.sleep(0.1)


@contextlib.contextmanager
def sandbox_and_daemon(
    tmp_path: Path, web_port: int = 0
) -> Iterator[tuple[subprocess.Popen[str], subprocess.Popen[bytes]]]:
    """`weatheredge sandbox` and `weatheredge run` as a user runs them, in two processes:
    yields (daemon, sandbox); config ``tmp_path/config.yaml``, database ``tmp_path/we.db``.
    Whatever is still running at the end gets SIGINT (then SIGKILL after 5 s)."""
    cfg, db = tmp_path / "config.yaml", tmp_path / "we.db"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "weatheredge"]
    box = subprocess.Popen(
        [*cmd, "sandbox", "--write-config", str(cfg), "--db", str(db)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    daemon = None
    try:
        wait_until(lambda: cfg.exists() and "web:" in cfg.read_text(), "sandbox config")
        cfg.write_text(cfg.read_text().replace("port: 8787", f"port: {web_port}"))
        daemon = subprocess.Popen(
            [*cmd, "run", "-c", str(cfg)], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip
        yield daemon, box
    finally:
        for proc in (daemon, box):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
