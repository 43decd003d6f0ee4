"""The pricing policy: an event's forecast prior + its station's reports -> engine prices.

One function decides an event's probabilities whoever asks (the forecast refresh or a new
report: ``jobs/refresh_forecasts.py``, ``jobs/poll_observations.py``), so a forecast refresh
never undoes the observation conditioning and vice versa; the jobs only fetch, call and store.
When an event cannot be priced, :func:`mark_stale` says why in one place.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from weatheredge.config import StationOverride
from weatheredge.context import JobContext
from weatheredge.live import Pricing
from weatheredge.model.buckets import Bucket, Unit, c_to_f
from weatheredge.model.conditioning import conditioned_on_distribution, is_dead, still_open
from weatheredge.model.day_extreme import DayReading, read_day
from weatheredge.model.intraday import diurnal_prior, remaining_max
from weatheredge.model.live import AWAITING_REPORTS, EventPrior
from weatheredge.model.market import Station, TemperatureEvent
from weatheredge.model.observations import (
    Observation,
    local_day_window,
    observation_problem,
)
from weatheredge.model.probability import probabilities_from_cdf
from weatheredge.model.rules import Extreme
from weatheredge.observing.settling import settling_rule
from weatheredge.weather.stations import resolve_station

logger = logging.getLogger(__name__)


def station_for(ctx: JobContext, icao: str) -> Station | None:
    return _station(icao, tuple(ctx.settings.weather.stations.items()))


# Cached: the model jobs ask for every event's station on every tick (issue 13, idle cost).
@functools.lru_cache(maxsize=1024)
def _station(icao: str, configured: tuple[tuple[str, StationOverride], ...]) -> Station | None:
    overrides = {
        code: Station(code, o.latitude, o.longitude, o.elevation_m, o.timezone)
        for code, o in configured
    }
    return resolve_station(icao, overrides)


def extreme_of(event: TemperatureEvent) -> str:
    return "max" if event.rule.extreme is Extreme.HIGH else "min"


def local_hour(station: Station, now: dt.datetime) -> float:
    local = now.astimezone(ZoneInfo(station.timezone))
    return local.hour + local.minute / 60 + local.second / 3600


def lead_days(station: Station, event: TemperatureEvent, now: dt.datetime) -> int:
    """Local days from today to the event's day (0 = the day is today, or already running)."""
    today = now.astimezone(ZoneInfo(station.timezone)).date()
    return max(0, (event.date - today).days)


@dataclass(frozen=True, slots=True)
class Priced:
    probs: dict[str, float]  # market_id -> P(YES)
    observed: DayReading | None  # the day so far under the station's settling rule
    open_weight: float | None  # P(a later report still beats the running extreme)
    dead: int
    blind_after: float | None = None  # epoch s: the local day starts, these prices lapse


def _today_reports(
    reports: list[Observation], station: Station, event: TemperatureEvent, now: dt.datetime
) -> list[tuple[float, float]]:
    """(local hour, temperature in the event's unit) of the reports inside the local day."""
    start, end = local_day_window(station.timezone, event.date)
    out: list[tuple[float, float]] = []
    for obs in reports:
        if start <= obs.observed_at < min(end, now + dt.timedelta(minutes=1)):
            value = c_to_f(obs.temp_c) if event.rule.unit is Unit.F else obs.temp_c
            out.append((local_hour(station, obs.observed_at), value))
    return out


def compute(
    ctx: JobContext,
    event: TemperatureEvent,
    prior: EventPrior,
    station: Station | None,
    now: dt.datetime,
) -> Priced | str:
    """The event's probabilities now, or why it cannot be priced (stale)."""
    observed: DayReading | None = None
    weight: float | None = None
    remaining: Callable[[float], float] | None = None
    blind_after: float | None = None
    if station is not None and event.rule.station is not None:
        start, end = local_day_window(station.timezone, event.date)
        in_hand = ctx.live.in_hand(station.icao, start)
        if now < start and event.rule.from_metar:
            blind_after = start.timestamp()
        elif event.rule.from_metar and not in_hand:
            return AWAITING_REPORTS  # never price a running day blind (issue 10)
        if now >= start:
            reports = ctx.live.station_reports(station.icao)
            model = ctx.settings.model
            problem = observation_problem(
                reports,
                now=now,
                station_tz=station.timezone,
                local_date=event.date,
                unit=event.rule.unit,
                # Until an answer is in hand nobody knows whether the station is silent.
                max_silence=dt.timedelta(seconds=model.max_report_silence if in_hand else 1e9),
                max_skew=dt.timedelta(seconds=model.max_clock_skew),
            )
            if problem is not None:
                return problem
            # Only reports the resolution table will show count (issue 16).
            observed = read_day(settling_rule(ctx, event), reports, station.timezone, event.date)
            if observed is not None:
                hour = local_hour(station, now)
                # The station's own shape once learnt from its settled days (issue 10 §4).
                shape = ctx.live.shapes.get((station.icao, extreme_of(event)))
                if now >= end:
                    weight = 0.0
                elif shape is not None:
                    weight = shape.open_at(hour)
                else:
                    weight = still_open(extreme_of(event), hour)
                # Highs: model the max still to come from the latest report against the
                # station's usual diurnal curve (weather.md §3.6) when the forecast is a normal.
                if (
                    now < end
                    and extreme_of(event) == "max"
                    and prior.mu is not None
                    and prior.sigma is not None
                ):
                    today = _today_reports(reports, station, event, now)
                    if today:
                        rest = remaining_max(
                            prior.mu,
                            prior.sigma,
                            today,
                            event.rule.unit,
                            diurnal_prior(station.icao) if shape is None else shape.prior(),
                        )
                        remaining = rest.cdf
                        cut = Bucket(observed.settled, observed.settled, event.rule.unit)
                        weight = 1.0 - rest.cdf(cut.preimage(event.rule.rounding)[0])
    buckets = event.buckets
    if observed is None:
        probs = probabilities_from_cdf(prior.cdf, buckets, event.rule.rounding)
        dead = 0
    else:
        assert weight is not None
        # Dead (exactly 0) only beyond what certainly counts; uncertain reports shade the rest.
        probs = conditioned_on_distribution(
            prior.cdf,
            buckets,
            event.rule.rounding,
            observed.distribution,
            extreme_of(event),
            open_weight=weight,
            tail_sigma=max(prior.sigma or 1.0, 0.5),
            remaining=remaining,
        )
        certain = observed.certain
        dead = sum(
            1 for b in buckets if certain is not None and is_dead(b, certain, extreme_of(event))
        )
    by_market = {m.market_id: p for m, p in zip(event.markets, probs, strict=True)}
    return Priced(by_market, observed, weight, dead, blind_after)


def pricing_of(priced: Priced, prior: EventPrior) -> Pricing:
    # The forecast's age, not the observation's, decides staleness: a report does not make an
    # old forecast of the rest of the day any fresher.
    return Pricing(priced.probs, prior.forecast_id, prior.issued_mono, priced.blind_after)


def mark_stale(ctx: JobContext, event: TemperatureEvent, reason: str) -> None:
    """No edge for this event until the problem clears; /status (degraded) says why."""
    if ctx.live.stale.get(event.event_id) != reason:
        logger.warning("event %s stale: %s", event.slug, reason)
    ctx.live.stale[event.event_id] = reason
    ctx.health.note(f"event:{event.slug}", f"stale: {reason}")
    ctx.engine.clear_pricing(event.event_id, f"stale: {reason}")


def event_failed(ctx: JobContext, event: TemperatureEvent, stage: str, err: Exception) -> None:
    """An unexpected error while handling one event: that event goes stale, the job goes on."""
    if ctx.live.stale.get(event.event_id, "").startswith(f"{stage} failed"):
        logger.debug("event %s: %s failed again", event.slug, stage, exc_info=True)
    else:
        logger.exception("event %s: %s failed", event.slug, stage)
    mark_stale(ctx, event, f"{stage} failed: {type(err).__name__}: {str(err)[:160]}")


def clear_stale(ctx: JobContext, event: TemperatureEvent) -> bool:
    """True when the event was stale until now."""
    if ctx.live.stale.pop(event.event_id, None) is None:
        return False
    ctx.health.note(f"event:{event.slug}", None)
    return True
