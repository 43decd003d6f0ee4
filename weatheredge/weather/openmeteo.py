"""Open-Meteo Ensemble and Forecast APIs -> per-day member lists in the market's unit.

Quirks this module exists to absorb (weather.md §2.1, §2.2):

* ``daily`` aggregates require ``timezone``; we always send the station's IANA zone so each
  day is the station's local calendar day, the day Polymarket settles on.
* Ensemble key naming: a single-model request yields ``temperature_2m_max`` (control) and
  ``temperature_2m_max_memberNN``; a multi-model request appends the *internal domain name*,
  not the alias we asked for (``gfs_seamless`` -> ``_ncep_gefs_seamless``). Known domains are
  mapped back to the requested alias; an unknown suffix is kept verbatim.
* Member counts differ by model and have changed without notice (GEFS seen with 30 members and
  no control), so members are counted from the response, never assumed.
* Members past a model's horizon (ICON ~7 days) come back as ``null``; nulls are dropped per
  day and a day without any finite member is omitted.
* Errors come back as HTTP 400 ``{"error": true, "reason": "..."}`` (e.g. an unknown model:
  "Cannot initialize MultiDomains ..."). Limits on the free tier: 600/min, 5,000/h, 10,000/day
  per IP, non-commercial.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, NamedTuple

import aiohttp
import msgspec

from weatheredge.model.buckets import PHYSICAL_RANGE, Unit
from weatheredge.model.market import EnsembleForecast, Station
from weatheredge.weather._http import get_bytes
from weatheredge.weather.errors import WeatherError

logger = logging.getLogger(__name__)

Extreme = Literal["max", "min"]

_UNIT_PARAM = {Unit.F: "fahrenheit", Unit.C: "celsius"}
_UNIT_LABEL = {Unit.F: "°F", Unit.C: "°C"}

# Internal domain names seen as key suffixes in multi-model ensemble responses (weather.md §2.2).
_ENSEMBLE_DOMAINS = {
    "ecmwf_ifs025_ensemble": "ecmwf_ifs025",
    "ncep_gefs_seamless": "gfs_seamless",
    "ncep_gefs025": "gfs025",
    "icon_seamless_eps": "icon_seamless",
    "gem_global_ensemble": "gem_global",
}

Series = list[str | float | None]


class _Body(msgspec.Struct):
    error: bool = False
    reason: str | None = None
    daily: dict[str, Series] | None = None
    daily_units: dict[str, str] = {}


class _Daily(NamedTuple):
    series: dict[str, Series]  # includes "time"
    units: dict[str, str]


def _variable(extreme: Extreme) -> str:
    return f"temperature_2m_{extreme}"


def _params(
    station: Station, unit: Unit, extreme: Extreme, models: Sequence[str], forecast_days: int
) -> dict[str, str]:
    params = {
        "latitude": f"{station.latitude:.4f}",
        "longitude": f"{station.longitude:.4f}",
        "daily": _variable(extreme),
        "temperature_unit": _UNIT_PARAM[unit],
        "timezone": station.timezone,
        "forecast_days": str(forecast_days),
    }
    if models:
        params["models"] = ",".join(models)
    return params


async def fetch_ensemble(
    session: aiohttp.ClientSession,
    ensemble_url: str,
    station: Station,
    *,
    unit: Unit,
    extreme: Extreme,
    models: Sequence[str],
    forecast_days: int = 3,
    issued_at: dt.datetime | None = None,
) -> dict[dt.date, EnsembleForecast]:
    """Ensemble members of each local day's ``extreme`` at ``station``, in ``unit``.

    ``issued_at`` defaults to now (UTC): it records when we fetched, not the model run time.
    Raises WeatherError on transport failure, HTTP error, error body or malformed body.
    """
    if not models:
        raise ValueError("the ensemble API needs at least one model")
    params = _params(station, unit, extreme, models, forecast_days)
    status, raw = await get_bytes(session, ensemble_url, params, "open-meteo ensemble")
    body = _check(status, raw, "open-meteo ensemble")
    stamp = issued_at or dt.datetime.now(dt.UTC)
    forecasts = _from_ensemble(body, station.icao, unit, extreme, models, stamp)
    logger.debug("ensemble %s %s: %d days", station.icao, extreme, len(forecasts))
    return forecasts


def parse_ensemble(
    raw: bytes,
    station_icao: str,
    *,
    unit: Unit,
    extreme: Extreme,
    models: Sequence[str],
    issued_at: dt.datetime,
) -> dict[dt.date, EnsembleForecast]:
    """Pure parse of a 200 ensemble body (exposed for replaying recorded responses)."""
    body = _check(200, raw, "open-meteo ensemble")
    return _from_ensemble(body, station_icao, unit, extreme, models, issued_at)


def _check(status: int, raw: bytes, source: str) -> _Daily:
    try:
        body = msgspec.json.decode(raw, type=_Body)
    except (msgspec.DecodeError, RecursionError) as err:  # RecursionError: hostile nesting
        if status != 200:
            raise WeatherError(f"{source}: HTTP {status}: {raw[:200]!r}") from err
        raise WeatherError(f"{source}: malformed body: {err}") from err
    if status != 200 or body.error:
        raise WeatherError(f"{source}: HTTP {status}: {body.reason or 'no reason given'}")
    if body.daily is None:
        raise WeatherError(f"{source}: body has no 'daily' block")
    return _Daily(body.daily, body.daily_units)


def _from_ensemble(
    daily: _Daily,
    station_icao: str,
    unit: Unit,
    extreme: Extreme,
    models: Sequence[str],
    issued_at: dt.datetime,
) -> dict[dt.date, EnsembleForecast]:
    days = _dates(daily.series)
    pattern = re.compile(rf"^{_variable(extreme)}(?:_member(\d+))?(?:_(.+))?$")
    grouped: dict[str, dict[int, Series]] = {}
    for key, values in daily.series.items():
        if not (match := pattern.match(key)):
            continue
        _check_series(key, values, len(days), daily.units, unit)
        model = _model_name(match.group(2), models)
        grouped.setdefault(model, {})[int(match.group(1) or 0)] = values
    if not grouped:
        raise WeatherError(f"open-meteo ensemble: no {_variable(extreme)} series in body")
    out = {}
    for i, day in enumerate(days):
        if forecast := _day(grouped, i, day, station_icao, issued_at):
            out[day] = forecast
    return out


def _day(
    grouped: Mapping[str, Mapping[int, Series]],
    index: int,
    day: dt.date,
    station_icao: str,
    issued_at: dt.datetime,
) -> EnsembleForecast | None:
    members: list[float] = []
    counts: list[tuple[str, int]] = []
    for model, series in grouped.items():
        finite = _finite(s[index] for _, s in sorted(series.items()))
        if finite:
            members.extend(finite)
            counts.append((model, len(finite)))
    if not members:
        return None
    return EnsembleForecast(station_icao, day, tuple(members), tuple(counts), issued_at)


# Wide enough for either unit (°F -100…150 holds every °C reading too): a member beyond it is
# garbage or hostile, and a 1e300 member would own the whole distribution.
_MEMBER_RANGE = PHYSICAL_RANGE[Unit.F]


def _finite(values: Iterable[str | float | None]) -> list[float]:
    low, high = _MEMBER_RANGE
    return [
        float(v)
        for v in values
        if isinstance(v, (int, float)) and math.isfinite(v) and low <= v <= high
    ]


def _dates(daily: Mapping[str, Series]) -> list[dt.date]:
    times = daily.get("time")
    if times is None or not all(isinstance(t, str) for t in times):
        raise WeatherError("open-meteo: 'daily.time' missing or not a list of dates")
    try:
        return [dt.date.fromisoformat(str(t)) for t in times]
    except ValueError as err:
        raise WeatherError(f"open-meteo: bad date in 'daily.time': {err}") from err


def _check_series(
    key: str, values: Series, length: int, units: Mapping[str, str], unit: Unit
) -> None:
    if len(values) != length or any(isinstance(v, str) for v in values):
        raise WeatherError(f"open-meteo: series {key!r} is not {length} numbers")
    # A silent °C/°F mix-up would misprice every bucket, so a contradicting label is fatal.
    label = units.get(key)
    if label is not None and label != _UNIT_LABEL[unit]:
        raise WeatherError(f"open-meteo: {key!r} is in {label}, asked for {_UNIT_LABEL[unit]}")


def _model_name(suffix: str | None, requested: Sequence[str]) -> str:
    if suffix is None:
        # Unsuffixed keys only make sense for a single-model request.
        return requested[0] if len(requested) == 1 else "unattributed"
    if suffix in requested:
        return suffix
    alias = _ENSEMBLE_DOMAINS.get(suffix)
    if alias is not None and alias in requested:
        return alias
    prefixed = [m for m in requested if suffix.startswith(m)]
    return prefixed[0] if len(prefixed) == 1 else suffix


async def fetch_deterministic(
    session: aiohttp.ClientSession,
    forecast_url: str,
    station: Station,
    *,
    unit: Unit,
    extreme: Extreme = "max",
    models: Sequence[str] = (),
    forecast_days: int = 3,
) -> dict[dt.date, dict[str, float]]:
    """``{local date: {model: value}}`` from the Forecast API; nulls are left out.

    The Forecast API suffixes keys with the requested alias (not a domain name) when several
    models are asked for; with no ``models`` the server uses ``best_match``.
    """
    params = _params(station, unit, extreme, models, forecast_days)
    status, raw = await get_bytes(session, forecast_url, params, "open-meteo forecast")
    body = _check(status, raw, "open-meteo forecast")
    return _from_deterministic(body, unit, extreme, models)


def _from_deterministic(
    daily: _Daily, unit: Unit, extreme: Extreme, models: Sequence[str]
) -> dict[dt.date, dict[str, float]]:
    days = _dates(daily.series)
    pattern = re.compile(rf"^{_variable(extreme)}(?:_(.+))?$")
    out: dict[dt.date, dict[str, float]] = {}
    for key, values in daily.series.items():
        if not (match := pattern.match(key)):
            continue
        _check_series(key, values, len(days), daily.units, unit)
        model = match.group(1) or (models[0] if len(models) == 1 else "best_match")
        for day, value in zip(days, values, strict=True):
            if finite := _finite([value]):
                out.setdefault(day, {})[model] = finite[0]
    return out
