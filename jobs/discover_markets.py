"""Discover open temperature events on Gamma (every 60 s).

Reads Gamma ``/events/keyset``; writes events and markets to SQLite; tells the engine the new
catalogue and the stream which tokens to subscribe (on the open socket, no reconnect) or drop.
"""

from __future__ import annotations

import datetime as dt
import logging

from weatheredge.context import JobContext
from weatheredge.polymarket.gamma import discover_temperature_events
from weatheredge.store import EventSeen

logger = logging.getLogger(__name__)


async def run(ctx: JobContext) -> None:
    settings = ctx.settings.polymarket
    found = await discover_temperature_events(
        ctx.session, settings.gamma_url, tag_slug=settings.tag_slug
    )
    now = dt.datetime.now(dt.UTC)
    for event in found.events:
        ctx.store.submit(EventSeen(event, now))
    added, removed = ctx.engine.set_events(found.events)
    if ctx.stream is not None:
        if added:
            ctx.stream.subscribe(added)
        if removed:
            ctx.stream.unsubscribe(removed)
    if found.rejected:
        logger.debug("skipped %d records: %s", len(found.rejected), found.rejected[:5])
    ctx.discovery.update(
        events=len(found.events),
        markets=sum(len(e.markets) for e in found.events),
        rejected=len(found.rejected),
        rejected_sample=[f"{slug}: {why}" for slug, why in found.rejected[:10]],
    )
    if added:
        logger.info(
            "discovery: %d events, %d new tokens, %d removed, %d records skipped",
            len(found.events),
            len(added),
            len(removed),
            len(found.rejected),
        )
        ctx.request_run("refresh_forecasts")
        ctx.request_run("poll_observations")  # a running day's reports at once (issue 10)
