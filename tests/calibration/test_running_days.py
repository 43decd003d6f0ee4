"""The observation job ticks every second: which events' local days are running is indexed once
per catalogue and day boundary, not walked for every event on every tick (issue 13, idle cost)."""

from __future__ import annotations

import datetime as dt

from jobs.poll_observations import live_events
from tests.calibration.conftest import NY, nyc_event
from weatheredge.context import JobContext
from weatheredge.sandbox import Sandbox


async def test_running_days_are_indexed_once_until_a_boundary_or_a_new_catalogue(
    box: Sandbox, ctx: JobContext
) -> None:
    now = ctx.engine.clock.now()
    today = now.astimezone(NY).date()
    _, running = nyc_event(box, today, 410001)
    _, tomorrow = nyc_event(box, today + dt.timedelta(days=1), 410002)
    ctx.engine.set_events([running, tomorrow])

    first = live_events(ctx, now)
    assert [e.event_id for e in first["KLGA"]] == [running.event_id]
    assert live_events(ctx, now + dt.timedelta(seconds=1)) is first  # no walk of the catalogue

    # Tomorrow's local day begins: the index is rebuilt at that boundary.
    midnight = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0), tzinfo=NY)
    later = live_events(ctx, midnight.astimezone(dt.UTC))
    assert later is not first
    assert [e.event_id for e in later["KLGA"]] == [tomorrow.event_id]

    ctx.engine.set_events([running])  # a new catalogue is indexed at once
    assert [e.event_id for e in live_events(ctx, now)["KLGA"]] == [running.event_id]
    assert live_events(ctx, now) is not first
