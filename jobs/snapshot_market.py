"""Record our probability and the market's mid for every bucket at fixed horizons.

At ``model.horizons`` hours (default 24, 6, 1) before each event's local day ends, one row per
bucket goes into ``horizon_snapshots``: our current P(YES), the YES book's best bid and ask and
their mid. Scoring (``weatheredge calibration``) compares the two once the event settles, at the
same instant, so the comparison is fair. A horizon is taken within ``_LATE`` of its moment, else
skipped (the daemon was not running then).
"""

from __future__ import annotations

import datetime as dt

from weatheredge.context import JobContext
from weatheredge.model.observations import local_day_window
from weatheredge.model.prices import MICRO, from_micros
from weatheredge.pricing.event import station_for
from weatheredge.store import HorizonSnapshot

_LATE = dt.timedelta(minutes=30)


async def run(ctx: JobContext) -> None:
    now = ctx.engine.clock.now()
    market = ctx.engine.market
    for event in list(market.events().values()):
        tz = _timezone(ctx, event.rule.station)
        if tz is None:
            continue
        _, end = local_day_window(tz, event.date)
        for horizon in ctx.settings.model.horizons:
            key = (event.event_id, horizon)
            at = end - dt.timedelta(hours=horizon)
            if key in ctx.live.snapshotted or not at <= now < at + _LATE:
                continue
            pricing = market.pricing(event.event_id)
            rows = []
            for bucket in event.markets:
                bid, ask = market.best(bucket.yes_token)
                mid = (bid[0] + ask[0]) / 2 / MICRO if bid and ask else None
                prob = pricing.probs.get(bucket.market_id) if pricing is not None else None
                rows.append(
                    (
                        bucket.market_id,
                        prob,
                        from_micros(bid[0]) if bid else None,
                        from_micros(ask[0]) if ask else None,
                        mid,
                    )
                )
            ctx.store.submit(HorizonSnapshot(event.event_id, horizon, now, tuple(rows)))
            ctx.live.snapshotted.add(key)


def _timezone(ctx: JobContext, icao: str | None) -> str | None:
    if icao is None:
        return None
    station = station_for(ctx, icao)
    return None if station is None else station.timezone
