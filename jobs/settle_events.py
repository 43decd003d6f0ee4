"""Settle events from the station's own reports once their local day is over, and cross-check.

``model.settle_after`` seconds after an event's local day ends (late reports and corrections
keep arriving for a while), the day's reports are fetched again and the extreme over the local
day is settled under the event's settling rule (``model/settling.py``: which reports the
resolution table shows, which value it reads, its rounding) — the very number the market
resolves on; the reports involved and whether any was uncertain are stored with it. The bucket
containing it is the winner (``settlements``). Later runs read the venue's own outcome — from
the market channel's ``market_resolved`` frames when the daemon saw them, else from Gamma (the
event's markets, ``closed`` with YES priced 1) — and store it beside ours with ``agreement``,
summed per city and source for ``/status`` and ``weatheredge calibration``. A day without any
report is recorded as ``no_data`` after two days (the venue then resolves to the lowest
bracket, weather.md §1.6).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import math
from collections import defaultdict

from weatheredge.context import JobContext
from weatheredge.model.buckets import Bucket, Rounding, Unit
from weatheredge.model.day_extreme import read_day
from weatheredge.model.observations import Observation, local_day_window
from weatheredge.model.rules import SourceKind
from weatheredge.model.settling import SettlingRule
from weatheredge.observing.settling import learn_facts, refresh_agreement
from weatheredge.polymarket.gamma import GammaError, fetch_event_by_slug, resolved_yes
from weatheredge.polymarket.gamma_wire import GammaEvent
from weatheredge.pricing.event import station_for
from weatheredge.store import (
    EventRow,
    EventSettled,
    MarketRow,
    ObservationsSeen,
    PendingVenueCheck,
    VenueChecked,
    event_markets,
    unchecked_settlements,
    unsettled_events,
)
from weatheredge.weather.errors import WeatherError
from weatheredge.weather.metar import fetch_metars

logger = logging.getLogger(__name__)

_NO_DATA_AFTER = dt.timedelta(days=2)
NOT_FROM_METAR = {SourceKind.HKO.value, SourceKind.CWA.value}
_MAX_HOURS = 168  # how far back one aviationweather request may reach
_CHECK_DAYS = 14


async def run(ctx: JobContext) -> None:
    now = ctx.engine.clock.now()
    path = ctx.store.path
    rows = await asyncio.to_thread(unsettled_events, path, now.date())
    due: dict[str, list[tuple[EventRow, str, dt.datetime, dt.datetime]]] = defaultdict(list)
    after = dt.timedelta(seconds=ctx.settings.model.settle_after)
    for row in rows:
        if row.source in NOT_FROM_METAR:
            continue  # settled by the venue only; airport reports do not reproduce its value
        station = station_for(ctx, row.station)
        if station is None:
            continue
        start, end = local_day_window(station.timezone, dt.date.fromisoformat(row.date))
        if now >= end + after:
            due[station.icao].append((row, station.timezone, start, end))
    for icao, items in due.items():
        earliest = min(start for _, _, start, _ in items)
        hours = min(_MAX_HOURS, math.ceil((now - earliest).total_seconds() / 3600) + 1)
        try:
            fetched = await fetch_metars(ctx.session, ctx.settings.weather.metar_url, [icao], hours)
        except WeatherError as err:
            ctx.health.note(f"settle:{icao}", f"reports unavailable: {err}")
            continue
        ctx.health.note(f"settle:{icao}", None)
        if fetched:
            ctx.store.submit(ObservationsSeen(tuple(fetched), now))
        reports = {o.observed_at: o for o in ctx.live.station_reports(icao)}
        reports.update({o.observed_at: o for o in fetched})
        await learn_facts(ctx, [icao], fetched)
        for row, tz, _, end in items:
            await _settle(ctx, row, tz, end, list(reports.values()), now)
    if due:  # the venue check reads this run's settlements (not whatever the writer flushed)
        await ctx.store.flush()
    await _check_venue(ctx, now)
    await refresh_agreement(ctx)


def row_rule(ctx: JobContext, row: EventRow) -> SettlingRule:
    """The settling rule of a stored event (the same rule the live pricing used)."""
    source = SourceKind(row.source)
    hourly = row.hourly_only
    if hourly is None:  # stored before the column existed: the clause is on US °F NOAA events
        hourly = source is SourceKind.NOAA_WRH and row.unit == Unit.F.value
    return SettlingRule(
        source,
        bool(hourly),
        Unit(row.unit),
        Rounding(row.rounding),
        "max" if row.extreme == "high" else "min",
        ctx.live.station_facts.get(row.station),
    )


async def _settle(
    ctx: JobContext,
    row: EventRow,
    tz: str,
    end: dt.datetime,
    reports: list[Observation],
    now: dt.datetime,
) -> None:
    date = dt.date.fromisoformat(row.date)
    unit = Unit(row.unit)
    # Only the reports the resolution table shows, read the way it reads them (issue 16).
    found = read_day(row_rule(ctx, row), reports, tz, date)
    common = {
        "event_id": row.event_id,
        "station": row.station,
        "date": date,
        "extreme": row.extreme,
        "unit": row.unit,
        "settled_at": now,
    }
    if found is None:
        if now >= end + _NO_DATA_AFTER:
            ctx.store.submit(
                EventSettled(
                    **common,
                    status="no_data",
                    observed_value=None,
                    settled_value=None,
                    reports=0,
                    winning_market_id=None,
                    winning_label=None,
                )
            )
        return
    markets = await asyncio.to_thread(event_markets, ctx.store.path, row.event_id)
    winner = winning_market(markets, found.settled, unit)
    # Certain when every value the table may show for these reports lands in the same bucket.
    certain = winner is not None and all(
        v is not None and Bucket(winner.bucket_lo, winner.bucket_hi, unit).contains(v)
        for v, _ in found.distribution
    )
    ctx.store.submit(
        EventSettled(
            **common,
            status="settled",
            observed_value=found.raw,
            settled_value=found.settled,
            reports=found.reports,
            winning_market_id=None if winner is None else winner.market_id,
            winning_label=None if winner is None else winner.label,
            certain=certain,
            uncertain_reports=found.uncertain,
            evidence=json.dumps([a.as_dict() for a in found.involved]),
        )
    )
    logger.info(
        "settled %s: %s %s -> %s%s",
        row.slug,
        row.extreme,
        found.settled,
        winner and winner.label,
        "" if certain else f" (uncertain: {found.distribution})",
    )


def winning_market(markets: list[MarketRow], settled: int, unit: Unit) -> MarketRow | None:
    for market in markets:
        if Bucket(market.bucket_lo, market.bucket_hi, unit).contains(settled):
            return market
    return None


def venue_winner(event: GammaEvent) -> str | None:
    """The market Gamma shows resolved YES (closed, YES priced 1), or None if not resolved."""
    winners = [m.id for m in event.markets or [] if resolved_yes(m)]
    return winners[0] if len(winners) == 1 else None


async def _check_venue(ctx: JobContext, now: dt.datetime) -> None:
    since = now.date() - dt.timedelta(days=_CHECK_DAYS)
    pending = await asyncio.to_thread(unchecked_settlements, ctx.store.path, since)
    for row in pending:
        streamed = ctx.engine.market.venue_winner(row.event_id)
        if streamed is not None:  # the market channel's market_resolved beat Gamma to it
            _record_venue(ctx, row, streamed, now)
            continue
        try:
            event = await fetch_event_by_slug(
                ctx.session, ctx.settings.polymarket.gamma_url, row.slug
            )
        except GammaError as err:
            logger.debug("venue check %s: %s", row.slug, err)
            continue
        if event is None:
            continue
        winner = venue_winner(event)
        if winner is not None:
            _record_venue(ctx, row, winner, now)


def _record_venue(ctx: JobContext, row: PendingVenueCheck, winner: str, now: dt.datetime) -> None:
    agree = winner == row.winning_market_id
    if not agree:
        logger.warning(
            "settlement disagrees with the venue for %s: ours %s, venue market %s",
            row.slug,
            row.winning_label,
            winner,
        )
    ctx.store.submit(VenueChecked(row.event_id, winner, agree, now))
