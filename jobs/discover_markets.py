"""Discover open temperature events on Gamma (every 60 s).

Reads Gamma ``/events/keyset`` under every configured tag (merged by event id); writes
events and markets to SQLite; tells the engine the new catalogue and the stream which tokens
to subscribe (on the open socket, no reconnect) or drop.
Rejected records (a reason each: bad labels, bounds outside the physical range, a token another
event owns) are counted and sampled in ``/status`` → ``discovery``.
"""

from __future__ import annotations

import datetime as dt
import logging

from weatheredge.context import JobContext
from weatheredge.model.market import TemperatureEvent
from weatheredge.polymarket.gamma import discover_temperature_events
from weatheredge.store import EventSeen

logger = logging.getLogger(__name__)

# An unchanged event is re-recorded (moving its last_seen) only this often: rewriting 10,000
# events and their markets every minute was a large share of the idle CPU (issue 13).
RESTORE_UNCHANGED_S = 600.0


async def run(ctx: JobContext) -> None:
    settings = ctx.settings.polymarket
    tags = [*settings.tag_slugs, *([settings.tag_slug] if settings.tag_slug else [])]
    found = await discover_temperature_events(
        ctx.session, settings.gamma_url, tag_slugs=tags, owner_of=ctx.engine.market.owner_of
    )
    now = ctx.engine.clock.now()
    # At 10,000 events a catalogue swap costs ~0.5 s of CPU; an unchanged one needs none.
    if found.events == ctx.indexed_events:
        added, removed = [], []
    else:
        # The new catalogue is in force from this instant (taped, so a replay swaps it between
        # the same inputs as live); from here to the swap nothing is awaited.
        await ctx.applying("discover_markets", "catalogue")
        added, removed = ctx.engine.set_events(found.events)
        ctx.indexed_events = list(found.events)
    market = ctx.engine.market
    found.rejected[:0] = market.rejected()  # the engine's own check; normally empty
    found.events = [e for e in found.events if market.event(e.event_id) is not None]
    _store_changed(ctx, found.events, ctx.engine.clock.monotonic(), now)
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
        other_records=found.ignored,
        # Per Gamma tag: records listed, temperature events, and events no other tag listed.
        by_tag={
            tag: {"listed": c.listed, "events": c.events, "only_here": c.only_here}
            for tag, c in found.by_tag.items()
        },
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


def _store_changed(
    ctx: JobContext, events: list[TemperatureEvent], mono: float, now: dt.datetime
) -> None:
    """Record new and changed events, and unchanged ones every RESTORE_UNCHANGED_S."""
    stored = ctx.stored_events
    for event in events:
        previous = stored.get(event.event_id)
        if previous is None or previous[0] != event or mono - previous[1] >= RESTORE_UNCHANGED_S:
            ctx.store.submit(EventSeen(event, now))
            stored[event.event_id] = (event, mono)
    if len(stored) > len(events):
        listed = {e.event_id for e in events}
        for event_id in [k for k in stored if k not in listed]:
            del stored[event_id]
