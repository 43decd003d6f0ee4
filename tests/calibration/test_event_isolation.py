"""Issue 13, break 1: whatever one event raises in the model jobs, the others are still priced
and the failing one is marked stale with the reason (``/status`` → degraded)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from jobs import poll_observations, refresh_forecasts
from tests.calibration.conftest import NY, any_hour, nyc_event
from weatheredge.context import JobContext
from weatheredge.model.buckets import Bucket, Unit
from weatheredge.model.live import EventPrior
from weatheredge.model.market import TemperatureEvent
from weatheredge.model.probability import Normal
from weatheredge.polymarket.gamma_event import to_temperature_event
from weatheredge.polymarket.gamma_wire import decode_gamma_event
from weatheredge.sandbox import Sandbox


def _hostile(event: TemperatureEvent, event_id: str) -> TemperatureEvent:
    """A two-bucket ladder with 400-digit bounds (discovery now refuses it; the jobs must cope
    with anything that gets through all the same)."""
    low, high = event.markets[0], event.markets[-1]
    huge = int("9" * 400)
    markets = tuple(
        dataclasses.replace(
            m,
            market_id=f"{event_id}{i}",
            condition_id=f"0x{event_id}{i}",
            yes_token=f"{event_id}{i}y",
            no_token=f"{event_id}{i}n",
        )
        for i, m in enumerate(
            (
                dataclasses.replace(low, bucket=Bucket(None, huge, Unit.F)),
                dataclasses.replace(high, bucket=Bucket(huge + 1, None, Unit.F)),
            )
        )
    )
    return dataclasses.replace(
        event, event_id=event_id, slug=f"hostile-{event_id}", markets=markets
    )


async def test_one_unpriceable_event_does_not_leave_the_others_unpriced(
    box: Sandbox, ctx: JobContext
) -> None:
    quoted = [to_temperature_event(decode_gamma_event(json.dumps(q.event))) for q in box.quoted]
    nyc = quoted[0]
    hostile = _hostile(nyc, "666")
    ctx.engine.set_events([hostile, *quoted])  # first in its station's group
    assert ctx.engine.rejected == []

    await refresh_forecasts.run(ctx)

    assert hostile.event_id not in ctx.engine.pricing
    reason = ctx.live.stale[hostile.event_id]
    assert reason.startswith("pricing failed: OverflowError")
    assert ctx.health.notes[f"event:{hostile.slug}"].startswith("stale: pricing failed")
    # NYC high, NYC low, London and Hong Kong (its station ships with the package): all priced.
    assert set(ctx.engine.pricing) == {e.event_id for e in quoted}


@any_hour
async def test_one_event_failing_on_a_report_does_not_stop_the_others(
    box: Sandbox, ctx: JobContext
) -> None:
    now = ctx.engine.clock.now()
    _, nyc = nyc_event(box, now.astimezone(NY).date(), 320000)
    hostile = _hostile(nyc, "667")
    ctx.engine.set_events([hostile, nyc])
    prior = Normal(46.0, 2.5)
    for event in (hostile, nyc):
        ctx.live.priors[event.event_id] = EventPrior(
            prior.cdf, 2.5, None, ctx.engine.clock.monotonic(), now, mu=46.0, sigma=2.5
        )
    start = dt.datetime.combine(now.astimezone(NY).date(), dt.time(0), tzinfo=NY)
    seen = max(start + dt.timedelta(seconds=30), now - dt.timedelta(minutes=20))
    box.weather.add_metar("KLGA", seen, 12.0, receipt_delay=dt.timedelta(0))  # 54 °F

    await poll_observations.run(ctx)

    assert ctx.live.extremes[nyc.event_id] == 54  # conditioned, though listed after the failure
    assert nyc.event_id in ctx.engine.pricing
    assert ctx.live.stale[hostile.event_id].startswith("observation handling failed:")
    assert hostile.event_id not in ctx.engine.pricing
