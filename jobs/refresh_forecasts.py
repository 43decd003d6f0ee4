"""Price every bucket from the forecast ensemble (every 10 min, and right after discovery).

For each (station, unit, extreme) one Open-Meteo ensemble request covers every event date;
each event's member extremes become bucket probabilities (kernel dressing, rounding rule of the
event's source), stored as a forecast snapshot and handed to the engine, which re-evaluates that
event's edges at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict

from weatheredge.context import JobContext
from weatheredge.engine import Pricing
from weatheredge.model.market import EnsembleForecast, Station, TemperatureEvent
from weatheredge.model.probability import bucket_probabilities
from weatheredge.model.rules import Extreme
from weatheredge.store import ForecastSnapshot
from weatheredge.weather.openmeteo import WeatherError, fetch_ensemble
from weatheredge.weather.stations import resolve_station

logger = logging.getLogger(__name__)


async def run(ctx: JobContext) -> None:
    groups: dict[tuple[str, str, str], list[TemperatureEvent]] = defaultdict(list)
    for event in ctx.engine.events.values():
        if event.rule.station is None:
            ctx.health.note(f"forecast:{event.slug}", "no ICAO station to forecast for")
            continue
        groups[(event.rule.station, event.rule.unit.value, event.rule.extreme.value)].append(event)
    failures = []
    for (icao, _, _), events in groups.items():
        try:
            await _price_group(ctx, icao, events)
        except WeatherError as err:
            failures.append(f"{icao}: {err}")
            for event in events:
                if not _still_fresh(ctx, event):
                    ctx.engine.clear_pricing(event.event_id, "forecast unavailable")
    if failures:
        raise WeatherError(f"{len(failures)} station(s) failed: {'; '.join(failures[:3])}")


def _still_fresh(ctx: JobContext, event: TemperatureEvent) -> bool:
    pricing = ctx.engine.pricing.get(event.event_id)
    max_age = ctx.settings.weather.max_forecast_age
    return pricing is not None and time.monotonic() - pricing.issued_mono <= max_age


def _station(ctx: JobContext, icao: str) -> Station | None:
    overrides = {
        code: Station(code, o.latitude, o.longitude, o.elevation_m, o.timezone)
        for code, o in ctx.settings.weather.stations.items()
    }
    return resolve_station(icao, overrides)


async def _price_group(ctx: JobContext, icao: str, events: list[TemperatureEvent]) -> None:
    station = _station(ctx, icao)
    if station is None:
        ctx.health.note(f"station:{icao}", "unknown to airportsdata; add it under weather.stations")
        return
    rule = events[0].rule
    forecasts = await fetch_ensemble(
        ctx.session,
        ctx.settings.weather.ensemble_url,
        station,
        unit=rule.unit,
        extreme="max" if rule.extreme is Extreme.HIGH else "min",
        models=ctx.settings.weather.models,
        forecast_days=ctx.settings.weather.forecast_days,
    )
    for event in events:
        forecast = forecasts.get(event.date)
        if forecast is None:
            ctx.health.note(f"forecast:{event.slug}", f"no forecast for {event.date}")
            continue
        ctx.health.note(f"forecast:{event.slug}", None)
        await _price_event(ctx, event, forecast)


async def _price_event(
    ctx: JobContext, event: TemperatureEvent, forecast: EnsembleForecast
) -> None:
    probs = bucket_probabilities(forecast.members, event.buckets, event.rule.rounding)
    by_market = {m.market_id: p for m, p in zip(event.markets, probs, strict=True)}
    members = forecast.members
    snapshot = ForecastSnapshot(
        event_id=event.event_id,
        station=forecast.station,
        date=event.date,
        issued_at=forecast.issued_at or dt.datetime.now(dt.UTC),
        members=members,
        models=dict(forecast.models),
        probs=by_market,
    )
    forecast_id = await ctx.store.save_forecast(snapshot)
    ctx.engine.set_pricing(event.event_id, Pricing(by_market, forecast_id, time.monotonic()))
