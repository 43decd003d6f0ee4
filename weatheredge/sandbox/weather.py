"""Simulated Open-Meteo (ensemble + forecast) and aviationweather METAR services.

Serves, on whatever host/port the caller binds (tests and the sandbox use 127.0.0.1):

* ``GET /v1/ensemble`` - Open-Meteo Ensemble API shape (weather.md §2.2). Multi-model requests
  suffix keys with the *internal domain name* (``gfs_seamless`` -> ``ncep_gefs_seamless``);
  the control member has no ``_memberNN``. Members: ECMWF IFS 51, GEFS 31, ICON-EPS 40,
  GEM 21, each including the control. ICON stops after 7 days (``null`` beyond), as live.
* ``GET /v1/forecast`` - Forecast API daily shape (§2.1); keys suffixed with the requested alias.
* ``GET /api/data/metar`` - aviationweather JSON records (§2.5) with a realistic ``rawOb``:
  US stations (K/P prefix) carry a T-group and tenths in ``temp``; others whole °C. A report is
  visible once ``receiptTime`` has passed on the state's clock. No reports -> HTTP 204, empty.
* The NWS API relay of the same reports, HKO and CWA open data: see ``official_feeds``.

The HTTP handlers and ``create_weather_app`` are in ``weather_http``; this module holds the state
and the METAR records.

Errors mimic the real services: unknown model -> 400 ``{"error": true, "reason": "Cannot
initialize MultiDomains ..."}``; ``daily`` without ``timezone`` -> 400. Locations or dates the
scenario did not set get a seeded climatology so the daemon never starves. Everything is
deterministic for a given ``WeatherState.seed``. Limits: no ``hourly`` data, ``timezone=auto``
is treated as GMT, only ``temperature_2m_max``/``_min`` exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from weatheredge.clock import SYSTEM
from weatheredge.sandbox.official_feeds import OfficialFeeds
from weatheredge.weather.stations import resolve_station

Extreme = Literal["max", "min"]
Clock = Callable[[], dt.datetime]

_MATCH_DEGREES = 0.05
_DIURNAL_RANGE_C = 8.0  # default max-min gap when only one extreme was set


@dataclass(frozen=True, slots=True)
class EnsembleModel:
    domain: str  # internal name used as the key suffix in multi-model responses
    members: int  # including the control
    horizon_days: int
    bias_c: float  # systematic offset so models disagree a little, as real ones do


ENSEMBLE_MODELS = {
    "ecmwf_ifs025": EnsembleModel("ecmwf_ifs025_ensemble", 51, 15, 0.0),
    "gfs_seamless": EnsembleModel("ncep_gefs_seamless", 31, 35, 0.4),
    "icon_seamless": EnsembleModel("icon_seamless_eps", 40, 7, -0.3),
    "gem_global": EnsembleModel("gem_global_ensemble", 21, 16, 0.6),
}
FORECAST_MODELS = {
    "best_match": 0.0,
    "ecmwf_ifs025": 0.0,
    "gfs_seamless": 0.4,
    "gfs_global": 0.4,
    "icon_seamless": -0.3,
    "icon_global": -0.3,
    "gem_seamless": 0.6,
    "jma_seamless": 0.2,
    "ukmo_seamless": -0.1,
    "meteofrance_seamless": 0.1,
    "cma_grapes_global": 0.8,
    "ncep_hrrr_conus": 0.3,
}
_FORECAST_HORIZON = {"icon_seamless": 7, "icon_global": 7, "ncep_hrrr_conus": 2}


@dataclass(frozen=True, slots=True)
class DailyDistribution:
    mean_c: float
    spread_c: float


class WeatherState:
    """What the simulated services answer; scenario authors and tests mutate it directly."""

    def __init__(self, *, seed: int = 0, clock: Clock | None = None) -> None:
        self.seed = seed
        self.clock: Clock = clock or SYSTEM.now
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._daily: dict[tuple[float, float], dict[tuple[dt.date, str], DailyDistribution]] = {}
        self._metars: dict[str, list[dict[str, Any]]] = {}
        self._faults: dict[str, deque[tuple[int, str]]] = {}
        self.feeds = OfficialFeeds()  # HKO, CWA and NWS relay endpoints (official_feeds.py)

    def set_daily(
        self,
        lat: float,
        lon: float,
        day: dt.date,
        mean_c: float,
        spread_c: float,
        extreme: Extreme = "max",
    ) -> None:
        """Members for ``day`` (station-local) near (lat, lon) are drawn around ``mean_c``."""
        location = self._match(lat, lon) or (round(lat, 4), round(lon, 4))
        self._daily.setdefault(location, {})[(day, extreme)] = DailyDistribution(mean_c, spread_c)

    def distribution(
        self, lat: float, lon: float, day: dt.date, extreme: Extreme
    ) -> DailyDistribution:
        """The set distribution, one derived from the other extreme, or a seeded default."""
        anchor = self.anchor(lat, lon)
        days = self._daily.get(anchor, {})
        if (found := days.get((day, extreme))) is not None:
            return found
        other = days.get((day, "min" if extreme == "max" else "max"))
        if other is not None:
            shift = -_DIURNAL_RANGE_C if extreme == "min" else _DIURNAL_RANGE_C
            return DailyDistribution(other.mean_c + shift, other.spread_c)
        return _climatology(anchor[0], day, extreme)

    def add_metar(
        self,
        icao: str,
        obs_time: dt.datetime,
        temp_c: float,
        kind: Literal["METAR", "SPECI"] = "METAR",
        *,
        dewpoint_c: float | None = None,
        tenths: bool | None = None,
        receipt_delay: dt.timedelta = dt.timedelta(minutes=3),
        slp: bool | None = None,
        raw: str | None = None,
    ) -> dict[str, Any]:
        """Record a report; ``tenths`` defaults to True for US (K/P) stations. Returns the JSON.

        ``slp`` (default: routine US reports) adds ``SLPnnn`` to the remarks; False makes an
        off-minute/auxiliary METAR the NOAA hourly view does not show. ``raw`` serves a report
        text verbatim (e.g. a real one) in ``rawOb``.
        """
        code = icao.strip().upper()
        if obs_time.tzinfo is None:
            raise ValueError("obs_time must be timezone-aware")
        record = metar_record(
            code,
            obs_time.astimezone(dt.UTC),
            temp_c,
            kind,
            temp_c - 5.0 if dewpoint_c is None else dewpoint_c,
            code[:1] in ("K", "P") if tenths is None else tenths,
            receipt_delay,
            slp,
        )
        if raw is not None:
            record["rawOb"] = raw
        self._metars.setdefault(code, []).append(record)
        return record

    def inject_error(self, path: str, status: int = 503, body: str = "") -> None:
        """The next request to ``path`` fails with ``status`` and ``body`` (queued, FIFO)."""
        self._faults.setdefault(path, deque()).append((status, body))

    def clear_faults(self, path: str) -> None:
        """The service at ``path`` recovers: queued failures are dropped."""
        self._faults.pop(path, None)

    def take_fault(self, path: str) -> tuple[int, str] | None:
        queue = self._faults.get(path)
        return queue.popleft() if queue else None

    def visible_metars(self, icaos: Iterable[str], hours: float) -> list[dict[str, Any]]:
        now = self.clock().astimezone(dt.UTC)
        since = (now - dt.timedelta(hours=hours)).timestamp()
        out = []
        for icao in icaos:
            records = [
                r
                for r in self._metars.get(icao, [])
                if r["obsTime"] >= since and _parse_awc_time(r["receiptTime"]) <= now
            ]
            out.extend(sorted(records, key=lambda r: -r["obsTime"]))  # newest first, as AWC
        return out

    def recorded_metars(self, icaos: Iterable[str], hours: float) -> list[dict[str, Any]]:
        """Every record of the last ``hours``, received by aviationweather yet or not."""
        since = (self.clock().astimezone(dt.UTC) - dt.timedelta(hours=hours)).timestamp()
        return [r for i in icaos for r in self._metars.get(i, []) if r["obsTime"] >= since]

    def anchor(self, lat: float, lon: float) -> tuple[float, float]:
        """The point that seeds a location's members: a scripted location, else the grid cell."""
        return self._match(lat, lon) or _grid_cell(lat, lon)

    def _match(self, lat: float, lon: float) -> tuple[float, float] | None:
        near = [
            (abs(a - lat) + abs(o - lon), (a, o))
            for a, o in self._daily
            if abs(a - lat) <= _MATCH_DEGREES and abs(o - lon) <= _MATCH_DEGREES
        ]
        return min(near)[1] if near else None

    def members(
        self, lat: float, lon: float, day: dt.date, extreme: Extreme, model: str
    ) -> list[float]:
        """Deterministic member values in °C; index 0 is the control."""
        dist = self.distribution(lat, lon, day, extreme)
        spec = ENSEMBLE_MODELS[model]
        rng = _rng(self.seed, self.anchor(lat, lon), day, extreme, model)
        # Bias scales with spread so that spread 0 reproduces the scenario's mean exactly.
        centre = dist.mean_c + spec.bias_c * min(dist.spread_c, 1.0)
        control = centre + rng.gauss(0.0, dist.spread_c * 0.3)
        return [control] + [centre + rng.gauss(0.0, dist.spread_c) for _ in range(spec.members - 1)]


def _grid_cell(lat: float, lon: float) -> tuple[float, float]:
    return round(round(lat / 0.25) * 0.25, 2), round(round(lon / 0.25) * 0.25, 2)


def _rng(*parts: object) -> random.Random:
    # hash() of str is salted per process; a digest keeps runs reproducible.
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _climatology(lat: float, day: dt.date, extreme: Extreme) -> DailyDistribution:
    """Crude seasonal cycle: warm near the equator, peak ~19 July north / ~19 January south."""
    season = math.cos(2 * math.pi * (day.timetuple().tm_yday - 200) / 365.25)
    if lat < 0:
        season = -season
    mean_max = 30.0 - 0.45 * abs(lat) + 0.25 * abs(lat) * season
    mean = mean_max if extreme == "max" else mean_max - _DIURNAL_RANGE_C
    return DailyDistribution(round(mean, 1), 1.5)


# --- METAR records ------------------------------------------------------------------------


def _awc_time(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _parse_awc_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)


def _body_group(celsius: float) -> str:
    whole = math.floor(celsius + 0.5)
    negative = whole < 0 or (whole == 0 and celsius < 0)
    return f"{'M' if negative else ''}{abs(whole):02d}"


def _t_part(celsius: float) -> str:
    tenths = round(abs(celsius) * 10)
    return f"{'1' if celsius < 0 and tenths else '0'}{tenths:03d}"


def _report_time(obs: dt.datetime, kind: str) -> dt.datetime:
    if kind == "METAR" and obs.minute >= 45:
        # Routine reports taken at :51 are filed as the next hour's report.
        return obs.replace(minute=0, second=0) + dt.timedelta(hours=1)
    return obs.replace(second=0)


def raw_metar(
    icao: str,
    obs: dt.datetime,
    temp_c: float,
    dew_c: float,
    kind: str,
    tenths: bool,
    slp: bool | None = None,
) -> str:
    """A plausible raw report; US style (A-altimeter, RMK AO2, SLP, T-group) when ``tenths``."""
    prefix = "SPECI " if kind == "SPECI" else ""
    head = f"{prefix}{icao} {obs:%d%H%M}Z 31008KT"
    temps = f"{_body_group(temp_c)}/{_body_group(dew_c)}"
    if not tenths:
        return f"{head} 9999 FEW030 {temps} Q1019 NOSIG"
    with_slp = kind == "METAR" if slp is None else slp
    t_group = f"T{_t_part(temp_c)}{_t_part(dew_c)}"
    return f"{head} 10SM FEW250 {temps} A3010 RMK AO2{' SLP191' if with_slp else ''} {t_group}"


def metar_record(
    icao: str,
    obs: dt.datetime,
    temp_c: float,
    kind: str,
    dew_c: float,
    tenths: bool,
    receipt_delay: dt.timedelta,
    slp: bool | None = None,
) -> dict[str, Any]:
    """One aviationweather JSON record, fields as documented (weather.md §2.5)."""
    station = resolve_station(icao)
    temp: float = round(temp_c, 1) if tenths else math.floor(temp_c + 0.5)
    dewp: float = round(dew_c, 1) if tenths else math.floor(dew_c + 0.5)
    return {
        "icaoId": icao,
        "receiptTime": _awc_time(obs + receipt_delay),
        "obsTime": int(obs.timestamp()),
        "reportTime": _awc_time(_report_time(obs, kind)),
        "temp": temp,
        "dewp": dewp,
        "wdir": 310,
        "wspd": 8,
        "wgst": None,
        "visib": "10+",
        "altim": 1019.2,
        "slp": 1019.1 if (kind == "METAR" if slp is None else slp) and tenths else None,
        "qcField": 4,
        "wxString": None,
        "presTend": None,
        "maxT": None,
        "minT": None,
        "maxT24": None,
        "minT24": None,
        "precip": None,
        "pcp3hr": None,
        "pcp6hr": None,
        "pcp24hr": None,
        "snow": None,
        "vertVis": None,
        "metarType": kind,
        "rawOb": raw_metar(icao, obs, temp_c, dew_c, kind, tenths, slp),
        "lat": station.latitude if station else 0.0,
        "lon": station.longitude if station else 0.0,
        "elev": round(station.elevation_m) if station else 0,
        "name": f"{icao} (sandbox)",
        "clouds": [{"cover": "FEW", "base": 25000 if tenths else 3000}],
        "fltCat": "VFR",
    }
