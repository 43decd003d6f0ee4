"""A demo database: the real daemon run against the sandbox for a few seconds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import eventually, running_daemon
from weatheredge.sandbox import Sandbox


async def _record_demo(db: Path) -> None:
    async with Sandbox(first_edge_after_s=0.3, cycle_s=3.0) as box:
        async with running_daemon(box, db) as (daemon, _):
            # A full cycle: edges open, update and close again.
            await eventually(lambda: daemon.engine.counters["edges_close"] >= 2, within=15)
            await daemon.store.flush()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo day recorded by the real daemon."""
    db = tmp_path_factory.mktemp("demo") / "weatheredge.db"
    asyncio.run(_record_demo(db))
    return db
