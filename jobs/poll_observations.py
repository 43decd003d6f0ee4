"""Live station reports: fetch each station's report the moment it is published; re-price at once.

The job ticks every ``model.observation_tick`` s (1 s) and fetches only the stations due
(``weatheredge.model.report_schedule``): a station whose running day has no reports in hand yet
(start-up, restart, an event discovered mid-day, a failed request) is due at once; otherwise
every ``observation_fast`` s (<= 5) from just before its next routine report is expected (its
own routine minute + publication delay, learnt from ``receiptTime``) until that report is in
hand, and every ``observation_slow`` s in between. Each station is read from its resolution
source's feed (``weatheredge.observing.sources``): one aviationweather request covers every
airport due (chunked under the 400-record cap), with the NWS API as second source; the Hong Kong
Observatory and CWA stations through their open data. Never more than
``observation_max_per_minute`` requests a minute.

When the answer is in hand the station's events are re-priced and their edges re-evaluated in
the same tick through ``Engine.reprice_observed`` (nothing else is awaited between the answer
and the decision), and every new report's observed / published / fetched / applied / decided
times are recorded (``report_timings``). Until a running day's reports are in hand its events
carry no price: ``weatheredge.pricing.event.compute`` says "awaiting today's reports".
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections import defaultdict
from dataclasses import dataclass

from weatheredge.context import JobContext
from weatheredge.model.live import AWAITING_REPORTS
from weatheredge.model.market import TemperatureEvent
from weatheredge.model.observations import Observation, local_day_window
from weatheredge.model.report_schedule import PollTiming, chunk_ids, learn_schedule, next_poll
from weatheredge.model.rules import ObservationFeed
from weatheredge.observing.settling import assess_reports, load_history, refresh_facts
from weatheredge.observing.sources import fetch_reports
from weatheredge.pricing.event import (
    clear_stale,
    compute,
    event_failed,
    mark_stale,
    pricing_of,
    station_for,
)
from weatheredge.store import ExtremeChanged, ForecastSnapshot, ObservationsSeen, ReportTimed
from weatheredge.weather.errors import WeatherError

logger = logging.getLogger(__name__)

_WEIGHT_STEP = 0.02  # re-price when the open-day weight moved this much
_PROB_STEP = 0.005  # ... or any bucket's probability did (a new report's level, the clock)
_KEEP = dt.timedelta(days=2)
_ROUTINE_HOURS = 2.0  # look-back of a routine poll: the latest reports, corrections included
_MAX_HOURS = 30
_REINDEX_AT_LEAST = dt.timedelta(hours=1)  # running days re-indexed at least this often
_SWEEP_EVERY_S = 30.0


@dataclass(slots=True)
class _RunningDays:
    """Station -> events whose local day is running, valid until the next day boundary of any
    event (or a catalogue or station change)."""

    catalogue: object
    size: int
    stations: object
    valid_until: dt.datetime
    by_station: dict[str, list[TemperatureEvent]]


def live_events(ctx: JobContext, now: dt.datetime) -> dict[str, list[TemperatureEvent]]:
    """Station -> events whose local day has started and not yet ended."""
    events, stations = ctx.engine.market.events(), ctx.settings.weather.stations
    cached = ctx.live.running_days
    if (
        isinstance(cached, _RunningDays)
        and cached.catalogue is events
        and cached.size == len(events)
        and cached.stations is stations
        and now < cached.valid_until
    ):
        return cached.by_station
    out: dict[str, list[TemperatureEvent]] = defaultdict(list)
    valid_until = now + _REINDEX_AT_LEAST
    for event in events.values():
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
        boundary = start if now < start else end if now < end else None
        if boundary is not None and boundary < valid_until:
            valid_until = boundary
    ctx.live.running_days = _RunningDays(events, len(events), stations, valid_until, out)
    return out


def _timing(ctx: JobContext) -> PollTiming:
    model = ctx.settings.model
    return PollTiming(
        fast_s=model.observation_fast,
        slow_s=model.observation_slow,
        lead_s=model.observation_lead,
        give_up_s=model.observation_give_up,
    )


def due_stations(
    ctx: JobContext, targets: dict[str, list[TemperatureEvent]], now: dt.datetime
) -> tuple[list[str], dict[str, dt.datetime]]:
    """(stations to fetch now, station -> start of its earliest running day not in hand)."""
    live, timing = ctx.live, _timing(ctx)
    # Half a tick of slack: a request sent a few ms into one tick is due again on the tick
    # ``fast_s`` later, not one tick after that (3 s stays 3 s, not 3-4 s).
    slack = dt.timedelta(seconds=ctx.settings.model.observation_tick / 2)
    due: list[str] = []
    catch_up: dict[str, dt.datetime] = {}
    for icao, events in targets.items():
        station = station_for(ctx, icao)
        assert station is not None
        starts = [local_day_window(station.timezone, e.date)[0] for e in events]
        missing = [s for s in starts if not live.in_hand(icao, s)]
        tried = live.attempted_at.get(icao)
        if missing:
            catch_up[icao] = min(missing)
            # A first try at once; after a failure, retry at the fast cadence.
            if tried is None or now + slack - tried >= dt.timedelta(seconds=timing.fast_s):
                due.append(icao)
            continue
        reports = live.station_reports(icao)
        routine = [o.observed_at for o in reports if o.kind == "METAR"]
        when = next_poll(
            learn_schedule(reports),
            now,
            last_fetch=tried,
            last_report=max(routine) if routine else None,
            timing=timing,
        )
        if when <= now + slack:
            due.append(icao)
    return due, catch_up


async def run(ctx: JobContext) -> None:
    now = ctx.engine.clock.now()
    _sweep_old_forecasts(ctx)
    targets = live_events(ctx, now)
    if not targets:
        return
    live = ctx.live
    due, catch_up = due_stations(ctx, targets, now)
    if not due:
        return
    for icao in catch_up:  # no blind pricing while the first answer is on its way
        for event in targets[icao]:
            if event.event_id not in live.stale:
                mark_stale(ctx, event, AWAITING_REPORTS)
    await load_history(ctx, due)  # stored reports behind each station's schedule, read once
    failures: list[str] = []
    for hours, icaos in _batches(due, catch_up, now):
        for chunk in chunk_ids(icaos, hours):
            if _over_budget(ctx, now):
                logger.warning("aviationweather: request budget reached, %s wait", chunk)
                return
            error = await _fetch_and_apply(ctx, chunk, hours, targets)
            if error is not None:
                failures.append(error)
    live.prune(now - _KEEP)
    if failures:
        raise WeatherError("; ".join(failures[:3]))


def _batches(
    due: list[str], catch_up: dict[str, dt.datetime], now: dt.datetime
) -> list[tuple[float, list[str]]]:
    """Routine polls ask for the last 2 h; catching up asks back to the local day's start."""
    routine = [i for i in due if i not in catch_up]
    behind = [i for i in due if i in catch_up]
    out: list[tuple[float, list[str]]] = []
    if behind:
        oldest = min(catch_up[i] for i in behind)
        hours = min(_MAX_HOURS, math.ceil((now - oldest).total_seconds() / 3600) + 1)
        out.append((float(hours), sorted(behind)))
    if routine:
        out.append((_ROUTINE_HOURS, sorted(routine)))
    return out


def _over_budget(ctx: JobContext, now: dt.datetime) -> bool:
    since = now - dt.timedelta(minutes=1)
    recent = sum(1 for t in ctx.live.requests if t >= since)
    return recent >= ctx.settings.model.observation_max_per_minute


async def _fetch_and_apply(
    ctx: JobContext,
    icaos: list[str],
    hours: float,
    targets: dict[str, list[TemperatureEvent]],
) -> str | None:
    """Fetch ``icaos`` (one request per feed), then price and decide on the answer at once."""
    by_feed: dict[ObservationFeed, list[str]] = {}
    for icao in icaos:
        by_feed.setdefault(targets[icao][0].rule.observation_feed, []).append(icao)
    errors = [
        error
        for feed, group in by_feed.items()
        if (error := await _fetch_feed(ctx, feed, group, hours, targets)) is not None
    ]
    return "; ".join(errors) if errors else None


async def _fetch_feed(
    ctx: JobContext,
    feed: ObservationFeed,
    icaos: list[str],
    hours: float,
    targets: dict[str, list[TemperatureEvent]],
) -> str | None:
    live = ctx.live
    sent = ctx.engine.clock.now()
    live.requests.append(sent)
    for icao in icaos:
        live.attempted_at[icao] = sent
    try:
        reports = await fetch_reports(ctx, dict.fromkeys(icaos, feed), sent, metar_hours=hours)
    except WeatherError as err:
        for icao in icaos:  # what we hold may be missing reports now: price nothing blind
            live.fetched_at.pop(icao, None)
            for event in targets.get(icao, []):
                mark_stale(ctx, event, f"{AWAITING_REPORTS} (observation source failed)")
        return f"{','.join(icaos)}: {err}"
    # The answer is applied from this instant (taped, so a replay applies it between the same
    # inputs as live); from here to the decision nothing is awaited.
    await ctx.applying("poll_observations", ",".join(icaos))
    recv_ns = ctx.engine.clock.perf_ns()
    received = ctx.engine.clock.now()
    fresh = [o for o in reports if live.observations.get(o.icao, {}).get(o.observed_at) != o]
    live.add_observations(reports)
    refresh_facts(ctx, icaos)  # routine minutes: which of these reports certainly count
    racing = {i for i in icaos if i in live.fetched_at}  # caught-up reports were not raced
    for icao in icaos:
        live.fetched_at[icao] = sent
    applied = ctx.engine.clock.now()
    decided: dict[str, dt.datetime] = {}
    for icao in icaos:
        for event in targets.get(icao, []):
            try:
                reprice_event(ctx, event, icao, received, recv_ns)
            except Exception as err:  # one event's failure leaves the others conditioned
                event_failed(ctx, event, "observation handling", err)
        decided[icao] = ctx.engine.clock.now()
    live.fetch_to_decision_us.append((ctx.engine.clock.perf_ns() - recv_ns) // 1000)
    if fresh:
        ctx.store.submit(ObservationsSeen(tuple(fresh), received))
        assess_reports(ctx, targets, fresh)
        _record_timings(ctx, fresh, received, applied, decided, racing)
    return None


def _record_timings(
    ctx: JobContext,
    fresh: list[Observation],
    received: dt.datetime,
    applied: dt.datetime,
    decided: dict[str, dt.datetime],
    racing: set[str],
) -> None:
    live = ctx.live
    newest: dict[str, Observation] = {}
    for obs in fresh:
        if obs.icao in decided:
            ctx.store.submit(
                ReportTimed(
                    station=obs.icao,
                    observed_at=obs.observed_at,
                    published_at=obs.published_at,
                    fetched_at=received,
                    applied_at=applied,
                    decided_at=decided[obs.icao],
                    kind=obs.kind,
                )
            )
            if obs.icao not in newest or obs.observed_at > newest[obs.icao].observed_at:
                newest[obs.icao] = obs
    for icao, obs in newest.items():
        # A catch-up answer (start-up, new event, after a failure) holds reports we never raced.
        if obs.published_at is not None and icao in racing:
            live.record_race(icao, (decided[icao] - obs.published_at).total_seconds())


def reprice_event(
    ctx: JobContext, event: TemperatureEvent, icao: str, received: dt.datetime, recv_ns: int
) -> None:
    live = ctx.live
    prior = live.priors.get(event.event_id)
    if prior is None:
        if live.stale.get(event.event_id, "").startswith(AWAITING_REPORTS):
            clear_stale(ctx, event)  # reports in hand; the forecast job prices when it can
        return
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
    current = ctx.engine.market.pricing(event.event_id)
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
    """A forecast past ``max_forecast_age`` stops edges (the engine checks that itself); say so
    where people look, at most every ``_SWEEP_EVERY_S``: ages are counted in hours."""
    now = ctx.engine.clock.monotonic()
    if now - ctx.live.swept_mono < _SWEEP_EVERY_S:
        return
    ctx.live.swept_mono = now
    max_age = ctx.settings.weather.max_forecast_age
    market = ctx.engine.market
    for event_id in market.priced_events():
        if not market.is_fresh(event_id):
            age = market.forecast_age(event_id) or 0.0
            event = market.event(event_id)
            if event is not None:
                mark_stale(
                    ctx, event, f"forecast {age / 3600:.1f} h old (max {max_age / 3600:g} h)"
                )
