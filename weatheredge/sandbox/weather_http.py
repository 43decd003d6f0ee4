"""The HTTP side of the simulated weather services (see :mod:`weatheredge.sandbox.weather` for
what they serve and how they fail): request parsing, the Open-Meteo answers, the METAR feed."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from weatheredge.model.buckets import c_to_f
from weatheredge.sandbox.official_feeds import add_official_routes
from weatheredge.sandbox.weather import (
    _FORECAST_HORIZON,
    ENSEMBLE_MODELS,
    FORECAST_MODELS,
    Extreme,
    WeatherState,
    _grid_cell,
    _rng,
)

# --- HTTP ---------------------------------------------------------------------------------

STATE = web.AppKey("weather_state", WeatherState)


class _BadRequest(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _error(reason: str, status: int = 400) -> web.Response:
    return web.json_response({"error": True, "reason": reason}, status=status)


@web.middleware
async def _harness(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
    state = request.app[STATE]
    state.requests.append((request.path, dict(request.query)))
    if (fault := state.take_fault(request.path)) is not None:
        status, body = fault
        return web.Response(status=status, text=body, content_type="application/json")
    try:
        return await handler(request)
    except _BadRequest as err:
        return _error(err.reason)


def _coordinate(query: Any, name: str, limit: float) -> float:
    try:
        value = float(query[name])
    except KeyError:
        raise _BadRequest(f"Parameter '{name}' is missing") from None
    except ValueError:
        raise _BadRequest(f"Parameter '{name}' is not a number") from None
    if not -limit <= value <= limit:
        raise _BadRequest(f"{name.capitalize()} must be in range of -{limit} to {limit}°.")
    return value


def _zone(query: Any, daily: bool) -> ZoneInfo:
    name = query.get("timezone")
    if name is None and daily:
        raise _BadRequest("Timezone is required when requesting daily variables")
    if name is None or name in ("GMT", "UTC", "auto"):
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _BadRequest(f"Invalid timezone {name}") from None


def _variables(query: Any) -> list[tuple[str, Extreme]]:
    names = [v for v in query.get("daily", "").split(",") if v]
    out: list[tuple[str, Extreme]] = []
    for name in names:
        if name not in ("temperature_2m_max", "temperature_2m_min"):
            raise _BadRequest(f"Cannot initialize DailyVariable from invalid String value {name}.")
        out.append((name, "max" if name.endswith("max") else "min"))
    return out


def _models(query: Any, known: Iterable[str], default: Sequence[str]) -> list[str]:
    names = [m for m in query.get("models", "").split(",") if m] or list(default)
    for name in names:
        if name not in known:
            raise _BadRequest(
                f"Cannot initialize MultiDomains from invalid String value {name} for key models."
            )
    return names


def _days(query: Any, zone: ZoneInfo, now: dt.datetime, limit: int) -> list[dt.date]:
    try:
        count = int(query.get("forecast_days", "7"))
    except ValueError:
        raise _BadRequest("Parameter 'forecast_days' is not an integer") from None
    if not 0 <= count <= limit:
        raise _BadRequest(f"Forecast days is invalid. Allowed range 0 to {limit}.")
    today = now.astimezone(zone).date()
    return [today + dt.timedelta(days=i) for i in range(count)]


def _convert(celsius: float | None, fahrenheit: bool) -> float | None:
    if celsius is None:
        return None
    return round(c_to_f(celsius) if fahrenheit else celsius, 1)


def _fahrenheit(query: Any) -> bool:
    unit = query.get("temperature_unit", "celsius")
    if unit not in ("celsius", "fahrenheit"):
        raise _BadRequest(f"Cannot initialize TemperatureUnit from invalid String value {unit}.")
    return unit == "fahrenheit"


def _envelope(lat: float, lon: float, zone: ZoneInfo, now: dt.datetime) -> dict[str, Any]:
    local = now.astimezone(zone)
    offset = local.utcoffset() or dt.timedelta(0)
    return {
        # Open-Meteo answers with the grid cell it used, not the point asked for.
        "latitude": _grid_cell(lat, lon)[0],
        "longitude": _grid_cell(lat, lon)[1],
        "generationtime_ms": 0.42,
        "utc_offset_seconds": int(offset.total_seconds()),
        "timezone": "GMT" if zone.key == "UTC" else zone.key,
        "timezone_abbreviation": local.tzname() or "GMT",
        "elevation": 10.0,
    }


def _finish(
    body: dict[str, Any], days: list[dt.date], daily: dict[str, Any], fahrenheit: bool
) -> web.Response:
    if daily:
        unit = "°F" if fahrenheit else "°C"
        body["daily_units"] = {"time": "iso8601", **{k: unit for k in daily}}
        body["daily"] = {"time": [d.isoformat() for d in days], **daily}
    return web.json_response(body, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _member_keys(variable: str, model: str, suffixed: bool) -> list[str]:
    spec = ENSEMBLE_MODELS[model]
    suffix = f"_{spec.domain}" if suffixed else ""
    members = [f"{variable}_member{i:02d}{suffix}" for i in range(1, spec.members)]
    return [f"{variable}{suffix}", *members]


def _ensemble_columns(
    state: WeatherState,
    point: tuple[float, float],
    days: list[dt.date],
    extreme: Extreme,
    model: str,
    fahrenheit: bool,
) -> list[list[float | None]]:
    """One column per member (control first); null past the model's horizon, as live."""
    spec = ENSEMBLE_MODELS[model]
    rows = [
        state.members(*point, day, extreme, model)
        if lead < spec.horizon_days
        else [None] * spec.members
        for lead, day in enumerate(days)
    ]
    return [[_convert(v, fahrenheit) for v in column] for column in zip(*rows, strict=True)] or [
        [] for _ in range(spec.members)
    ]


@dataclass(frozen=True, slots=True)
class _Request:
    point: tuple[float, float]
    variables: list[tuple[str, Extreme]]
    models: list[str]
    zone: ZoneInfo
    now: dt.datetime
    days: list[dt.date]
    fahrenheit: bool


def _request(request: web.Request, known: Any, default: str, max_days: int) -> _Request:
    query = request.query
    lat, lon = _coordinate(query, "latitude", 90), _coordinate(query, "longitude", 180)
    variables = _variables(query)
    zone = _zone(query, bool(variables))
    models = _models(query, known, [default])
    now = request.app[STATE].clock()
    return _Request(
        (lat, lon),
        variables,
        models,
        zone,
        now,
        _days(query, zone, now, max_days),
        _fahrenheit(query),
    )


async def _ensemble(request: web.Request) -> web.Response:
    state = request.app[STATE]
    req = _request(request, ENSEMBLE_MODELS, "ecmwf_ifs025", 35)
    daily: dict[str, Any] = {}
    for variable, extreme in req.variables:
        for model in req.models:
            keys = _member_keys(variable, model, len(req.models) > 1)
            columns = _ensemble_columns(state, req.point, req.days, extreme, model, req.fahrenheit)
            daily.update(zip(keys, columns, strict=True))
    return _finish(_envelope(*req.point, req.zone, req.now), req.days, daily, req.fahrenheit)


async def _forecast(request: web.Request) -> web.Response:
    state = request.app[STATE]
    req = _request(request, FORECAST_MODELS, "best_match", 16)
    daily: dict[str, Any] = {}
    for variable, extreme in req.variables:
        for model in req.models:
            key = f"{variable}_{model}" if len(req.models) > 1 else variable
            horizon = _FORECAST_HORIZON.get(model, 16)
            daily[key] = [
                _convert(_deterministic(state, *req.point, day, extreme, model), req.fahrenheit)
                if lead < horizon
                else None
                for lead, day in enumerate(req.days)
            ]
    return _finish(_envelope(*req.point, req.zone, req.now), req.days, daily, req.fahrenheit)


def _deterministic(
    state: WeatherState, lat: float, lon: float, day: dt.date, extreme: Extreme, model: str
) -> float:
    dist = state.distribution(lat, lon, day, extreme)
    rng = _rng(state.seed, state.anchor(lat, lon), day, extreme, "det", model)
    noise = rng.gauss(0.0, 0.3 * min(dist.spread_c, 1.0))
    return dist.mean_c + FORECAST_MODELS[model] * min(dist.spread_c, 1.0) + noise


async def _metar(request: web.Request) -> web.Response:
    state, query = request.app[STATE], request.query
    ids = [i.strip().upper() for i in query.get("ids", "").split(",") if i.strip()]
    if not ids:
        return web.Response(status=400, text="Missing ids parameter")
    try:
        hours = float(query.get("hours", "1.5"))
    except ValueError:
        return web.Response(status=400, text="Invalid hours parameter")
    records = state.visible_metars(ids, hours)
    if not records:
        return web.Response(status=204)
    fmt = query.get("format", "raw")
    if fmt == "json":
        return web.json_response(records)
    if fmt == "raw":
        return web.Response(text="\n".join(r["rawOb"] for r in records) + "\n")
    return web.Response(status=400, text=f"Invalid format {fmt}")


def create_weather_app(state: WeatherState) -> web.Application:
    """The simulated weather services, all on one app (mount or serve it as-is)."""
    app = web.Application(middlewares=[_harness])
    app[STATE] = state
    app.router.add_get("/v1/ensemble", _ensemble)
    app.router.add_get("/v1/forecast", _forecast)
    app.router.add_get("/api/data/metar", _metar)
    add_official_routes(
        app,
        state.feeds,
        lambda ids, hours: state.recorded_metars(ids, hours),
        lambda lat, lon, day, extreme: state.distribution(lat, lon, day, extreme).mean_c,
        state.clock,
    )
    return app
