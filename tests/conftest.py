"""Shared fixtures: the built-in sandbox (real servers on 127.0.0.1) and a running daemon."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from weatheredge.config import parse_config
from weatheredge.runtime import DAEMON, Daemon, make_app, serve
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
