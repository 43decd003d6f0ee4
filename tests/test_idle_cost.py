"""Issue 13 break 9: an idle daemon does no per-event work nobody asked for.

The figures are in benchmarks/idle_cost.py; these tests pin the behaviour behind them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from jobs import discover_markets
from tests.conftest import eventually, running_daemon
from weatheredge.sandbox import Sandbox


async def test_unchanged_discovery_rewrites_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    db = tmp_path / "we.db"
    async with running_daemon(sandbox, db) as (daemon, _):
        await eventually(lambda: daemon.ctx is not None and len(daemon.ctx.stored_events) == 4)
        assert daemon.ctx is not None and daemon.engine is not None and daemon.store is not None
        await daemon.store.flush()
        before = _last_seen(db)
        catalogue = daemon.engine.events
        await discover_markets.run(daemon.ctx)
        await daemon.store.flush()
        assert _last_seen(db) == before  # not one event rewritten
        assert daemon.engine.events is catalogue  # nor the catalogue swapped
        # A changed event is recorded (and indexed) again at once.
        nyc = sandbox.quoted[0].event
        nyc["markets"][0]["orderMinSize"] = 10
        sandbox.venue.add_event(nyc)
        await discover_markets.run(daemon.ctx)
        await daemon.store.flush()
        after = _last_seen(db)
        moved = [slug for slug, seen in after.items() if seen != before[slug]]
        assert moved == [nyc["slug"]]
        assert daemon.engine.events is not catalogue


def _last_seen(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT slug, last_seen FROM events").fetchall())
