"""Price every bucket from the forecast ensemble (every 10 min, and right after discovery).

For each (station, unit, extreme) one Open-Meteo ensemble request covers every event date.
Each event's members become a calibrated predictive distribution of the station's reported
extreme (multi-model EMOS per station and lead, shrunk toward priors while history is short;
``weatheredge.model.calibration``), integrated over each bucket's rounding preimage, conditioned
on the running extreme once the local day has started (``weatheredge.pricing.event``), stored
as a forecast snapshot and handed to the engine, which re-evaluates that event's edges at once.

Bad input marks the event stale (no edge; ``/status`` → ``degraded`` says why): too few
members, non-finite members, an unusable observation record. Each event is priced in isolation:
whatever one event raises (pricing, storing the snapshot) marks that event stale with the reason
and the others are priced as usual; a station whose request fails leaves only its events out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import defaultdict

from weatheredge.context import JobContext
from weatheredge.model.calibration import ensemble_summary, prior_params
from weatheredge.model.live import AWAITING_REPORTS, EventPrior
from weatheredge.model.market import EnsembleForecast, Station, TemperatureEvent
from weatheredge.pricing.event import (
    clear_stale,
    compute,
    event_failed,
    extreme_of,
    lead_days,
    mark_stale,
    pricing_of,
    station_for,
)
from weatheredge.store import ForecastSnapshot
from weatheredge.weather.openmeteo import WeatherError, fetch_ensemble

logger = logging.getLogger(__name__)


async def run(ctx: JobContext) -> None:
    groups: dict[tuple[str, str, str], list[TemperatureEvent]] = defaultdict(list)
    for event in ctx.engine.market.events().values():
        if event.rule.station is None:
            ctx.health.note(f"forecast:{event.slug}", "no ICAO station to forecast for")
            continue
        groups[(event.rule.station, event.rule.unit.value, event.rule.extreme.value)].append(event)
    failures = []
    for (icao, _, _), events in groups.items():
        try:
            await _price_group(ctx, icao, events)
        except Exception as err:  # WeatherError, or a surprise: this station's events only
            if not isinstance(err, WeatherError):
                logger.exception("pricing station %s failed", icao)
            failures.append(f"{icao}: {err}")
            for event in events:
                if not ctx.engine.market.is_fresh(event.event_id):
                    ctx.engine.clear_pricing(event.event_id, "forecast unavailable")
    if failures:
        raise WeatherError(f"{len(failures)} station(s) failed: {'; '.join(failures[:3])}")


def _station(ctx: JobContext, icao: str) -> Station | None:
    return station_for(ctx, icao)


async def _price_group(ctx: JobContext, icao: str, events: list[TemperatureEvent]) -> None:
    station = _station(ctx, icao)
    if station is None:
        ctx.health.note(
            f"station:{icao}",
            "not in the airport table (airportsdata); add its coordinates under weather.stations",
        )
        return
    rule = events[0].rule
    forecasts = await fetch_ensemble(
        ctx.session,
        ctx.settings.weather.ensemble_url,
        station,
        unit=rule.unit,
        extreme="max" if extreme_of(events[0]) == "max" else "min",
        models=ctx.settings.weather.models,
        forecast_days=ctx.settings.weather.forecast_days,
        issued_at=ctx.engine.clock.now(),  # not the machine's: a replay's refit reads it
    )
    for event in events:
        forecast = forecasts.get(event.date)
        if forecast is None:
            ctx.health.note(f"forecast:{event.slug}", f"no forecast for {event.date}")
            continue
        ctx.health.note(f"forecast:{event.slug}", None)
        try:
            await _price_event(ctx, event, forecast, station)
        except Exception as err:  # one bad event must not leave the rest unpriced
            event_failed(ctx, event, "pricing", err)


async def _price_event(
    ctx: JobContext, event: TemperatureEvent, forecast: EnsembleForecast, station: Station
) -> None:
    now = ctx.engine.clock.now()
    members = forecast.members
    need = ctx.settings.model.min_members
    if len(members) < need:
        mark_stale(ctx, event, f"only {len(members)} ensemble members (need {need})")
        return
    try:
        model_means, spread = ensemble_summary(members, forecast.models)
    except ValueError as err:
        mark_stale(ctx, event, f"bad ensemble: {err}")
        return
    lead = lead_days(station, event, now)
    key = (station.icao, extreme_of(event), event.rule.unit.value, lead)
    params = ctx.live.params.get(key) or prior_params(event.rule.unit, lead)
    try:
        dist = params.predict(model_means, spread)
    except ValueError as err:
        mark_stale(ctx, event, f"bad forecast: {err}")
        return
    prior = EventPrior(
        cdf=dist.cdf,
        tail_sigma=dist.sigma,
        forecast_id=None,
        issued_mono=ctx.engine.clock.monotonic(),
        issued_at=forecast.issued_at or now,
        mu=dist.mu,
        sigma=dist.sigma,
    )
    priced = compute(ctx, event, prior, station, now)
    stale = priced if isinstance(priced, str) else None
    observed = None if isinstance(priced, str) else priced.observed
    probs = (
        compute_unconditioned(ctx, event, prior, now) if isinstance(priced, str) else priced.probs
    )
    snapshot = ForecastSnapshot(
        event_id=event.event_id,
        station=forecast.station,
        date=event.date,
        issued_at=prior.issued_at,
        members=members,
        models=dict(forecast.models),
        probs=probs,
        kind="forecast",
        lead_days=lead,
        model_means=model_means,
        spread=spread,
        mu=dist.mu,
        sigma=dist.sigma,
        observed_value=None if observed is None else observed.settled,
    )
    forecast_id = await ctx.store.save_forecast(snapshot)
    # From here on nothing is awaited: the result is in force at this instant (taped, so a
    # replay applies it between the same inputs; a report may have arrived during the write).
    await ctx.applying("refresh_forecasts", event.event_id)
    prior = dataclasses.replace(prior, forecast_id=forecast_id)
    ctx.live.priors[event.event_id] = prior
    if stale is not None:
        mark_stale(ctx, event, stale)
        if stale == AWAITING_REPORTS:
            ctx.request_run("poll_observations")  # the day's reports now, not at the next tick
        return
    assert not isinstance(priced, str)
    clear_stale(ctx, event)
    if observed is not None:
        ctx.live.extremes[event.event_id] = observed.settled
        ctx.live.open_weights[event.event_id] = priced.open_weight or 0.0
    ctx.engine.set_pricing(event.event_id, pricing_of(priced, prior))


def compute_unconditioned(
    ctx: JobContext, event: TemperatureEvent, prior: EventPrior, now: dt.datetime
) -> dict[str, float]:
    """The forecast's own probabilities (recorded even when observations make it stale)."""
    priced = compute(ctx, event, prior, None, now)
    assert not isinstance(priced, str)
    return priced.probs
