"""Restart races (issue 13, break 5): a second daemon on the same database, say a copy of the
config on another port or a restart overlapping a slow stop, would read the same ledger and take
the same offer again. It refuses to start instead; the lock dies with its process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import running_daemon
from weatheredge.config import parse_config
from weatheredge.errors import StartupError
from weatheredge.runtime import make_app, serve
from weatheredge.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]


async def test_a_second_daemon_on_the_same_database_refuses_to_start(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    db = tmp_path / "we.db"
    config = tmp_path / "other-port.yaml"
    config.write_text(sandbox.config_yaml(str(db)))  # port 0: never a port clash
    async with running_daemon(sandbox, db, extra="mode: paper\n"):
        second = make_app(parse_config(config.read_text(), env={}))
        with pytest.raises(StartupError, match="in use by another weatheredge"):
            await serve(second, asyncio.Event())
        run = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "weatheredge", "run", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
        assert run.returncode == 2
        assert "in use by another weatheredge" in run.stderr and "Traceback" not in run.stderr
    # Stopped cleanly: the next start on that database is welcome.
    async with running_daemon(sandbox, db):
        pass
