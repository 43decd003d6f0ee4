"""Simulated official observation feeds beside aviationweather, on the weather app.

* ``GET /stations/{ICAO}/observations?start=`` - the NWS API (weather.md §2.4): the same
  reports the METAR endpoint serves, as GeoJSON features, visible ``nws_delay`` after
  aviationweather received them (negative: NWS has them first). US stations (K/P/TJ) only,
  else 404; a request without ``User-Agent`` gets 403, a ``start`` that is not an ISO time
  with an offset 400, as live. As live, ``rawMessage`` has no ``SPECI`` word (specials are
  not marked) and ``temperature.value`` carries float noise.
* ``GET /weatherAPI/hko_data/regional-weather/latest_1min_temperature.csv`` - Hong Kong
  Observatory open data: the latest one-decimal reading per station, HKT ``YYYYMMDDHHMM``.
* ``GET /api/v1/rest/datastore/O-A0003-001?Authorization=&StationId=`` - Taiwan CWA open data
  (key as query parameter or header): 401 without a key, ``-99`` for a missing value, the local
  day's high and low so far (``DailyExtreme``) with the time they occurred.

Readings a scenario did not script are synthesised from the same seeded climatology the
forecast endpoints serve (a diurnal curve between the day's min and max), so a default run
never starves. Deterministic for a given state.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from aiohttp import web

from weatheredge.weather.stations import resolve_station

# (ids, hours) -> every aviationweather record of those stations in the last hours, visible at
# aviationweather yet or not: the NWS relay has its own delay.
Metars = Callable[[list[str], float], list[dict[str, Any]]]
Daily = Callable[[float, float, dt.date, Literal["max", "min"]], float]  # mean °C of the day
HKT = dt.timezone(dt.timedelta(hours=8))
HKO_NAMES = {"HKO": "HK Observatory", "KP": "King's Park", "SHA": "Sha Tin"}
CWA_NAMES = {"466920": "臺北", "466940": "基隆"}
_AWC_TIME = "%Y-%m-%d %H:%M:%S"


@dataclass
class OfficialFeeds:
    """What the HKO, CWA and NWS endpoints answer; tests and scenarios mutate it."""

    # Scripted readings per station code: (observation time, °C or None = sensor out).
    readings: dict[str, list[tuple[dt.datetime, float | None]]] = field(default_factory=dict)
    nws_delay: dt.timedelta = dt.timedelta(0)
    # (ICAO, observation time) -> the °C the NWS API serves instead of aviationweather's.
    nws_values: dict[tuple[str, dt.datetime], float] = field(default_factory=dict)
    cwa_key: str | None = None  # None: any non-empty key is accepted

    def add_reading(self, code: str, at: dt.datetime, temp_c: float | None) -> None:
        if at.tzinfo is None:
            raise ValueError("reading time must be timezone-aware")
        self.readings.setdefault(code.upper(), []).append((at.astimezone(dt.UTC), temp_c))

    def latest(self, code: str, now: dt.datetime, daily: Daily) -> tuple[dt.datetime, float | None]:
        scripted = [r for r in self.readings.get(code, []) if r[0] <= now]
        if scripted:
            return max(scripted, key=lambda r: r[0])
        at = now.replace(second=0, microsecond=0)
        return at, synthetic_reading(code, at, daily)

    def day_readings(
        self, code: str, now: dt.datetime, daily: Daily, zone: dt.tzinfo
    ) -> list[tuple[dt.datetime, float]]:
        """Readings of ``now``'s local day up to now (scripted, plus the latest), with values."""
        start = dt.datetime.combine(now.astimezone(zone).date(), dt.time(0), tzinfo=zone)
        out = [
            (at, t) for at, t in self.readings.get(code, []) if start <= at <= now and t is not None
        ]
        at, temp = self.latest(code, now, daily)
        if temp is not None and (at, temp) not in out:
            out.append((at, temp))
        return out


def synthetic_reading(code: str, at: dt.datetime, daily: Daily) -> float | None:
    """A plausible reading: cosine between the day's min (~05:30) and max (~14:30) local."""
    station = resolve_station(code)
    if station is None:
        return None
    local = at.astimezone(ZoneInfo(station.timezone))
    low = daily(station.latitude, station.longitude, local.date(), "min")
    high = daily(station.latitude, station.longitude, local.date(), "max")
    hour = local.hour + local.minute / 60
    warmth = (1 - math.cos(2 * math.pi * (hour - 5.5) / 18)) / 2 if 5.5 <= hour <= 14.5 else None
    if warmth is None:  # cooling from the afternoon peak to the next dawn
        since = (hour - 14.5) % 24
        warmth = (1 + math.cos(math.pi * since / 15)) / 2
    return round(low + (high - low) * warmth, 1)


FEEDS = web.AppKey("official_feeds", OfficialFeeds)
METARS = web.AppKey("official_metars", Metars)  # type: ignore[arg-type]
DAILY = web.AppKey("official_daily", Daily)  # type: ignore[arg-type]
CLOCK = web.AppKey("official_clock", Callable[[], dt.datetime])  # type: ignore[arg-type]


def add_official_routes(
    app: web.Application,
    feeds: OfficialFeeds,
    metars: Metars,
    daily: Daily,
    clock: Callable[[], dt.datetime],
) -> None:
    app[FEEDS], app[METARS], app[DAILY], app[CLOCK] = feeds, metars, daily, clock
    app.router.add_get("/stations/{icao}/observations", _nws)
    app.router.add_get("/weatherAPI/hko_data/regional-weather/latest_1min_temperature.csv", _hko)
    app.router.add_get("/api/v1/rest/datastore/O-A0003-001", _cwa)


def _problem(status: int, title: str) -> web.Response:
    body = {"type": "https://api.weather.gov/problems/Error", "title": title, "status": status}
    return web.json_response(body, status=status, content_type="application/problem+json")


async def _nws(request: web.Request) -> web.Response:
    app, icao = request.app, request.match_info["icao"].upper()
    if not request.headers.get("User-Agent"):
        return _problem(403, "Forbidden: a User-Agent is required")
    if not icao.startswith(("K", "P", "TJ")):
        return _problem(404, f"Not Found: station {icao}")
    now = app[CLOCK]().astimezone(dt.UTC)
    start = now - dt.timedelta(days=7)
    if "start" in request.query:
        try:
            start = dt.datetime.fromisoformat(request.query["start"])
        except ValueError:
            start = None  # type: ignore[assignment]
        if start is None or start.tzinfo is None:
            return _problem(400, "Bad Request: start must be an ISO 8601 time with an offset")
        start = start.astimezone(dt.UTC)
    feeds = app[FEEDS]
    hours = max((now - start).total_seconds() / 3600, 0.0) + 1
    features = []
    for record in app[METARS]([icao], hours):
        observed = dt.datetime.fromtimestamp(record["obsTime"], dt.UTC)
        received = dt.datetime.strptime(record["receiptTime"], _AWC_TIME).replace(tzinfo=dt.UTC)
        if observed < start or received + feeds.nws_delay > now:
            continue
        features.append(_feature(icao, observed, record, feeds.nws_values.get((icao, observed))))
    features.sort(key=lambda f: f["properties"]["timestamp"], reverse=True)  # newest first
    return web.json_response(
        {"type": "FeatureCollection", "features": features},
        content_type="application/geo+json",
    )


def _feature(
    icao: str, observed: dt.datetime, record: dict[str, Any], override: float | None
) -> dict[str, Any]:
    raw, temp = record["rawOb"], record["temp"]
    # As live: the text carries no METAR/SPECI type word, and the value float noise.
    raw = raw.removeprefix("SPECI ").removeprefix("METAR ")
    if temp is not None:
        temp += 2.3e-14
    if override is not None:  # a disagreeing relay: its own value, its own T-group
        temp = override
        tenths = round(abs(override) * 10)
        raw = f"{raw.split(' RMK ')[0]} RMK AO2 T{int(override < 0 and tenths > 0)}{tenths:03d}"
    stamp = observed.isoformat()
    return {
        "id": f"https://api.weather.gov/stations/{icao}/observations/{stamp}",
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [record["lon"], record["lat"]]},
        "properties": {
            "@id": f"https://api.weather.gov/stations/{icao}/observations/{stamp}",
            "station": f"https://api.weather.gov/stations/{icao}",
            "timestamp": stamp,
            "rawMessage": raw,
            "textDescription": "Clear",
            "temperature": {"unitCode": "wmoUnit:degC", "value": temp, "qualityControl": "V"},
            "dewpoint": {
                "unitCode": "wmoUnit:degC",
                "value": record["dewp"],
                "qualityControl": "V",
            },
            "maxTemperatureLast24Hours": {"unitCode": "wmoUnit:degC", "value": None},
        },
    }


async def _hko(request: web.Request) -> web.Response:
    app = request.app
    now = app[CLOCK]().astimezone(dt.UTC)
    lines = ["Date time,Automatic Weather Station,Air Temperature(degree Celsius)"]
    for code, name in HKO_NAMES.items():
        at, temp = app[FEEDS].latest(code, now, app[DAILY])
        value = "N/A" if temp is None else f"{temp:.1f}"
        lines.append(f"{at.astimezone(HKT):%Y%m%d%H%M},{name},{value}")
    body = "\ufeff" + "\r\n".join(lines) + "\r\n"
    return web.Response(body=body.encode(), content_type="text/csv", charset="utf-8")


async def _cwa(request: web.Request) -> web.Response:
    app, query = request.app, request.query
    # CWA's swagger takes the key as the ``Authorization`` query parameter or header.
    key = query.get("Authorization") or request.headers.get("Authorization", "")
    wanted = app[FEEDS].cwa_key
    if not key or (wanted is not None and key != wanted):
        return web.json_response({"message": "Unauthorized"}, status=401)
    ids = [i for i in query.get("StationId", "").split(",") if i] or list(CWA_NAMES)
    now = app[CLOCK]().astimezone(dt.UTC)
    stations = []
    for code in ids:
        if code not in CWA_NAMES:
            continue
        at, temp = app[FEEDS].latest(code, now, app[DAILY])
        day = app[FEEDS].day_readings(code, now, app[DAILY], HKT)
        stations.append(
            {
                "StationName": CWA_NAMES[code],
                "StationId": code,
                "ObsTime": {"DateTime": at.astimezone(HKT).isoformat()},
                "WeatherElement": {
                    "Weather": "晴",
                    "AirTemperature": -99 if temp is None else temp,
                    "RelativeHumidity": 70,
                    "DailyExtreme": {
                        "DailyHigh": _cwa_extreme(max(day, key=lambda r: r[1], default=None)),
                        "DailyLow": _cwa_extreme(min(day, key=lambda r: r[1], default=None)),
                    },
                },
            }
        )
    body = {
        "success": "true",
        "result": {"resource_id": "O-A0003-001", "fields": []},
        "records": {"Station": stations},
    }
    return web.json_response(body)


def _cwa_extreme(reading: tuple[dt.datetime, float] | None) -> dict[str, Any]:
    if reading is None:  # no reading yet today: CWA's missing value, no time
        return {"TemperatureInfo": {"AirTemperature": -99}}
    at, temp = reading
    occurred = {"DateTime": at.astimezone(HKT).isoformat()}
    return {"TemperatureInfo": {"AirTemperature": temp, "Occurred_at": occurred}}
