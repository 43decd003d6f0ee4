"""The settling rule as the jobs use it: per-station facts learnt from stored and live reports,
each new report marked with its status under its station's rule (issue 16)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
from collections.abc import Mapping, Sequence

from weatheredge.context import JobContext
from weatheredge.model.market import TemperatureEvent
from weatheredge.model.observations import Observation
from weatheredge.model.settling import SettlingRule, learn_station_facts, rule_for
from weatheredge.settlement_reads import settlement_agreement, stored_reports
from weatheredge.store import ReportsAssessed

logger = logging.getLogger(__name__)

HISTORY = dt.timedelta(days=7)  # stored reports read once per station to learn its schedule


def settling_rule(ctx: JobContext, event: TemperatureEvent) -> SettlingRule:
    station = event.rule.station
    return rule_for(event.rule, ctx.live.station_facts.get(station) if station else None)


async def load_history(ctx: JobContext, icaos: Sequence[str]) -> None:
    """Each station's stored reports, read once (one query for every station not seen yet):
    the only awaited step, done before a poll so nothing waits between an answer and its
    decision."""
    live = ctx.live
    new = [icao for icao in icaos if icao not in live.report_history]
    if not new:
        return
    since = ctx.engine.clock.now() - HISTORY
    try:
        found = await asyncio.to_thread(stored_reports, ctx.store.path, new, since)
    except sqlite3.Error as err:
        logger.warning("station history for %s unavailable: %s", ", ".join(new), err)
        found = {}
    for icao in new:
        live.report_history[icao] = found.get(icao, [])


def refresh_facts(ctx: JobContext, icaos: Sequence[str], extra: Sequence[Observation] = ()) -> None:
    """(Re)learn each station's routine minutes from its history plus the reports in memory."""
    live = ctx.live
    for icao in icaos:
        mine = [o for o in extra if o.icao == icao]
        reports = [*live.report_history.get(icao, []), *live.station_reports(icao), *mine]
        live.station_facts[icao] = learn_station_facts(icao, reports)


async def learn_facts(
    ctx: JobContext, icaos: Sequence[str], extra: Sequence[Observation] = ()
) -> None:
    """(Re)learn each station's routine minutes from its stored history (read once, in one
    query for every station not seen yet) plus the reports in memory."""
    await load_history(ctx, icaos)
    refresh_facts(ctx, icaos, extra)


def assess_reports(
    ctx: JobContext,
    targets: Mapping[str, Sequence[TemperatureEvent]],
    fresh: Sequence[Observation],
) -> None:
    """Store each new report's status under its station's rule."""
    rows = []
    for obs in fresh:
        events = targets.get(obs.icao)
        if events:
            assessed = settling_rule(ctx, events[0]).assess(obs)
            rows.append((obs.icao, obs.observed_at, assessed.status.value, assessed.reason))
    if rows:
        ctx.store.submit(ReportsAssessed(tuple(rows)))


async def apply_settling_rules(
    ctx: JobContext,
    targets: Mapping[str, Sequence[TemperatureEvent]],
    fresh: Sequence[Observation],
) -> None:
    """After a poll: refresh the polled stations' facts, then store each new report's status."""
    await learn_facts(ctx, list(targets))
    assess_reports(ctx, targets, fresh)


async def refresh_agreement(ctx: JobContext) -> None:
    """Settlement agreement with the venue, for /status (read after each settlement pass)."""
    await ctx.store.flush()
    try:
        ctx.live.agreement = await asyncio.to_thread(settlement_agreement, ctx.store.path)
    except sqlite3.Error as err:
        logger.warning("settlement agreement unavailable: %s", err)
