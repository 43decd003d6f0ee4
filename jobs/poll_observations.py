"""Live station reports: poll METARs for events whose local day is running; re-price at once.

The job ticks every ``model.observation_tick`` seconds but only fetches when a report is likely
to be new: every ``observation_fast`` s in the minutes after each station's routine report time
(learnt from its own reports; US ASOS files at ~:51, many airports at :20/:50), otherwise every
``observation_slow`` s for specials. Each station is read from its resolution source's feed
(``jobs._observation_sources``): one aviationweather request covers every airport, with the NWS
API as second source; the Hong Kong Observatory and CWA stations through their open data.

When a report moves an event's running extreme (or the afternoon wears on enough to change how
much of the day is still open), that event's buckets are re-priced and its edges re-evaluated
in the same tick — not at the next forecast refresh — through ``Engine.reprice_observed``. The
time from the report in hand to the decision is recorded (``extreme_changes.latency_us``).
Also sweeps forecasts older than ``weather.max_forecast_age`` into the stale list with a reason.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from jobs._observation_sources import fetch_reports
from jobs._pricing import (
    clear_stale,
    compute,
    event_failed,
    mark_stale,
    pricing_of,
    station_for,
)
from jobs._settling import apply_settling_rules
from weatheredge.context import JobContext
from weatheredge.model.market import TemperatureEvent
from weatheredge.model.observations import (
    DEFAULT_REPORT_MINUTES,
    local_day_window,
    poll_due,
    routine_minutes,
)
from weatheredge.store import ExtremeChanged, ForecastSnapshot, ObservationsSeen

logger = logging.getLogger(__name__)

_WEIGHT_STEP = 0.02  # re-price when the open-day weight moved this much
_PROB_STEP = 0.005  # ... or any bucket's probability did (a new report's level, the clock)
_KEEP = dt.timedelta(days=2)


def live_events(ctx: JobContext, now: dt.datetime) -> dict[str, list[TemperatureEvent]]:
    """Station -> events whose local day has started and not yet ended."""
    out: dict[str, list[TemperatureEvent]] = defaultdict(list)
    for event in ctx.engine.events.values():
        icao = event.rule.station
        if icao is None:
            continue
        try:
            station = station_for(ctx, icao)
            if station is None:
                continue
            start, end = local_day_window(station.timezone, event.date)
        except Exception as err:  # e.g. a date at the calendar's edge: this event only
            event_failed(ctx, event, "observation handling", err)
            continue
        if start <= now < end:
            out[station.icao].append(event)
    return out


async def run(ctx: JobContext) -> None:
    now = ctx.engine.clock.now()
    _sweep_old_forecasts(ctx)
    targets = live_events(ctx, now)
    if not targets:
        return
    live, model = ctx.live, ctx.settings.model
    minutes = {m for icao in targets for m in routine_minutes(live.station_reports(icao))}
    due = poll_due(
        now,
        live.last_poll,
        minutes or DEFAULT_REPORT_MINUTES,
        fast=dt.timedelta(seconds=model.observation_fast),
        slow=dt.timedelta(seconds=model.observation_slow),
    )
    if not due:
        return
    feeds = {icao: events[0].rule.observation_feed for icao, events in targets.items()}
    reports = await fetch_reports(ctx, feeds, now)
    recv_ns = ctx.engine.clock.perf_ns()
    received = ctx.engine.clock.now()
    live.last_poll = now
    fresh = [o for o in reports if live.observations.get(o.icao, {}).get(o.observed_at) != o]
    live.add_observations(reports)
    if fresh:
        ctx.store.submit(ObservationsSeen(tuple(fresh), received))
    await apply_settling_rules(ctx, targets, fresh)  # station schedules; mark each new report
    for icao, events in targets.items():
        for event in events:
            try:
                reprice_event(ctx, event, icao, received, recv_ns)
            except Exception as err:  # one event's failure leaves the others conditioned
                event_failed(ctx, event, "observation handling", err)
    live.prune(received - _KEEP)


def reprice_event(
    ctx: JobContext, event: TemperatureEvent, icao: str, received: dt.datetime, recv_ns: int
) -> None:
    live = ctx.live
    prior = live.priors.get(event.event_id)
    if prior is None:
        return  # no forecast yet: the forecast job will condition when it prices
    station = station_for(ctx, icao)
    priced = compute(ctx, event, prior, station, received)
    if isinstance(priced, str):
        mark_stale(ctx, event, priced)
        return
    was_stale = clear_stale(ctx, event)
    observed = priced.observed
    old = live.extremes.get(event.event_id)
    weight = priced.open_weight or 0.0
    moved = observed is not None and observed.settled != old
    drift = abs(weight - live.open_weights.get(event.event_id, weight)) >= _WEIGHT_STEP
    current = ctx.engine.pricing.get(event.event_id)
    shifted = current is None or any(
        abs(p - current.probs.get(m, 0.0)) >= _PROB_STEP for m, p in priced.probs.items()
    )
    if not (moved or drift or shifted or was_stale):
        return
    latency = ctx.engine.reprice_observed(event.event_id, pricing_of(priced, prior), recv_ns)
    live.open_weights[event.event_id] = weight
    if observed is None:
        return
    live.extremes[event.event_id] = observed.settled
    if moved:
        if latency is not None:
            live.latencies_us.append(latency)
        ctx.store.submit(
            ExtremeChanged(
                event_id=event.event_id,
                station=icao,
                observed_at=observed.last_report,
                received_at=received,
                old_value=old,
                new_value=observed.settled,
                latency_us=latency,
                dead_buckets=priced.dead,
            )
        )
        logger.info(
            "%s: running %s %s -> %s, %d dead bucket(s), re-priced in %s µs",
            event.slug,
            event.rule.extreme.value,
            old,
            observed.settled,
            priced.dead,
            latency,
        )
    ctx.store.submit(
        ForecastSnapshot(
            event_id=event.event_id,
            station=icao,
            date=event.date,
            issued_at=received,
            members=(),
            models={},
            probs=priced.probs,
            kind="observed",
            mu=prior.mu,
            sigma=prior.sigma,
            observed_value=observed.settled,
        )
    )


def _sweep_old_forecasts(ctx: JobContext) -> None:
    """A forecast past ``max_forecast_age`` stops edges; say so where people look."""
    max_age = ctx.settings.weather.max_forecast_age
    now = ctx.engine.clock.monotonic()
    for event_id, pricing in list(ctx.engine.pricing.items()):
        age = now - pricing.issued_mono
        if age > max_age:
            event = ctx.engine.events.get(event_id)
            if event is not None:
                mark_stale(
                    ctx, event, f"forecast {age / 3600:.1f} h old (max {max_age / 3600:g} h)"
                )
