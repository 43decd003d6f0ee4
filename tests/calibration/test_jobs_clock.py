"""What the model jobs store is stamped on the engine's clock (a replay's virtual one), not the
machine's: a forecast fetched at virtual time t is one a refit at t may train on."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

from jobs import refresh_forecasts
from weatheredge.clock import VirtualClock
from weatheredge.context import JobContext
from weatheredge.polymarket.gamma_event import to_temperature_event
from weatheredge.polymarket.gamma_wire import decode_gamma_event
from weatheredge.sandbox import Sandbox


async def test_forecasts_are_issued_at_the_engine_clock(
    box: Sandbox, ctx: JobContext, clock: VirtualClock
) -> None:
    events = [to_temperature_event(decode_gamma_event(json.dumps(q.event))) for q in box.quoted]
    ctx.engine.set_events(events)

    await refresh_forecasts.run(ctx)

    assert set(ctx.engine.pricing) == {e.event_id for e in events}
    assert {p.issued_at for p in ctx.live.priors.values()} == {clock.now()}
    await ctx.store.flush()
    con = sqlite3.connect(ctx.store.path)
    try:
        stamps = {
            dt.datetime.fromisoformat(t)
            for (t,) in con.execute("SELECT issued_at FROM forecasts WHERE kind = 'forecast'")
        }
    finally:
        con.close()
    assert stamps == {clock.now()}
