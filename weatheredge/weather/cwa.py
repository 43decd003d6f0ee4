"""Taiwan Central Weather Administration open data -> ``Observation``.

``GET https://opendata.cwa.gov.tw/api/v1/rest/datastore/O-A0003-001?Authorization=<key>
&StationId=466920`` (CWA open data, manned-station observations, updated every 10 minutes)::

    {"success": "true",
     "records": {"Station": [{"StationName": "臺北", "StationId": "466920",
                              "ObsTime": {"DateTime": "2026-03-22T14:00:00+08:00"},
                              "WeatherElement": {"AirTemperature": 21.3, ...}}]}}

Quirks and limits:

* A free API key is required (``weather.cwa_api_key``, from ``!secret``); without it every
  request is refused (HTTP 401). The key travels in the query string, so it is scrubbed from
  every error this module raises.
* Missing values are ``-99`` (or ``-99.0``/``"-99"``; ``-990``/``-999`` on some elements, an
  empty string or ``"X"`` in older captures): skipped and counted, never a reading. Numbers may
  come as JSON numbers or as text; ``success`` is the string ``"true"``.
* Values are °C to one decimal (the Taipei CWA-era rules settle by floor).
* Shape from CWA's open-data swagger (``O-A0003-001``) as used by public clients; weather.md has
  no live capture, so verify against the live feed once.
* Only the latest observation per station, but ``WeatherElement.DailyExtreme.DailyHigh`` /
  ``DailyLow`` carry the day's high and low so far with the time they occurred
  (``TemperatureInfo.AirTemperature``, ``Occurred_at.DateTime``): each becomes a reading at that
  time, so a peak between two polls is not missed (a malformed extreme is dropped, the reading
  kept).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

import aiohttp
import msgspec

from weatheredge.model.observations import Observation, plausible_c
from weatheredge.weather._http import get_bytes
from weatheredge.weather.errors import WeatherError

logger = logging.getLogger(__name__)

_MISSING = -90.0  # CWA writes -99 (and -999 on some elements) for "no value"


class _ObsTime(msgspec.Struct, rename="pascal"):
    date_time: dt.datetime


class _Elements(msgspec.Struct, rename="pascal"):
    air_temperature: float | None = None
    # Read apart, so a bad extreme spares the reading (an empty Raw when absent).
    daily_extreme: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)


class _OccurredAt(msgspec.Struct, rename="pascal"):
    date_time: dt.datetime


class _TemperatureInfo(msgspec.Struct, rename="pascal"):
    air_temperature: float | None = None
    occurred_at: _OccurredAt | None = msgspec.field(default=None, name="Occurred_at")


class _Extreme(msgspec.Struct, rename="pascal"):
    temperature_info: _TemperatureInfo | None = None


class _DailyExtreme(msgspec.Struct, rename="pascal"):
    daily_high: _Extreme | None = None
    daily_low: _Extreme | None = None


class _Station(msgspec.Struct, rename="pascal"):
    station_id: str
    obs_time: _ObsTime
    weather_element: _Elements = msgspec.field(default_factory=_Elements)


class _Records(msgspec.Struct, rename="pascal"):
    station: list[msgspec.Raw] = []


class _Body(msgspec.Struct):
    success: str | bool = "false"
    records: _Records = msgspec.field(default_factory=_Records)


async def fetch_cwa(
    session: aiohttp.ClientSession, url: str, api_key: str | None, station_ids: Sequence[str]
) -> list[Observation]:
    """The latest reading of each CWA station in ``station_ids`` (e.g. ``466920``).

    Raises WeatherError (never carrying the key) on a missing key, transport failure, HTTP error
    or a malformed body.
    """
    if not station_ids:
        return []
    if not api_key:
        raise WeatherError("cwa: no API key (set weather.cwa_api_key from !secret)")
    params = {"Authorization": api_key, "StationId": ",".join(station_ids), "format": "JSON"}
    try:
        status, raw = await get_bytes(session, url, params, "cwa")
    except WeatherError as err:
        raise WeatherError(str(err).replace(api_key, "***")) from None
    if status != 200:
        raise WeatherError(f"cwa: HTTP {status}: {raw[:200]!r}".replace(api_key, "***"))
    observations, skipped = decode_cwa(raw)
    if skipped:
        logger.info("cwa: skipped %d stations without temperature", skipped)
    return observations


def decode_cwa(raw: bytes) -> tuple[list[Observation], int]:
    """``(observations, stations skipped)``.

    A station is skipped (and counted) for a missing value (``-99``, ``-990``, ``""``, ``null``,
    ``"X"``), a time without offset or fields of the wrong type; the others are still read.
    """
    try:
        body = msgspec.json.decode(raw, type=_Body)
    except (msgspec.DecodeError, RecursionError) as err:
        raise WeatherError(f"cwa: malformed body: {err}") from err
    if str(body.success).lower() != "true":
        raise WeatherError("cwa: request not successful")
    out: list[Observation] = []
    skipped = 0
    for item in body.records.station:
        try:
            # strict=False: numbers may come as text ("21.3", "-99").
            station = msgspec.json.decode(item, type=_Station, strict=False)
        except (msgspec.DecodeError, RecursionError) as err:
            logger.info("cwa: station skipped: %s", err)
            skipped += 1
            continue
        reading = _reading(
            station.station_id,
            station.obs_time.date_time,
            station.weather_element.air_temperature,
            "",
        )
        if reading is None:
            skipped += 1
            continue
        out.append(reading)
        out.extend(_extremes(station, reading.observed_at))
    return sorted(out, key=lambda o: (o.icao, o.observed_at)), skipped


def _reading(
    station_id: str, when: dt.datetime | None, value: float | None, label: str
) -> Observation | None:
    if value is None or value <= _MISSING or when is None or when.tzinfo is None:
        return None
    if not plausible_c(value):
        return None  # a value no station reports (1e300, NaN)
    return Observation(
        icao=station_id,
        observed_at=when.astimezone(dt.UTC),
        temp_c=value,
        tenths=True,
        kind="OBS",
        raw=f"CWA {station_id} {when.isoformat()} {value}{label}",
    )


def _extremes(station: _Station, observed_at: dt.datetime) -> list[Observation]:
    """The day's high and low so far, each a reading at the time it occurred.

    Only the latest reading is published, so these are what keeps a peak between two polls
    (the official extreme settles). Unusable or missing ones are left out silently: the
    reading itself was kept.
    """
    raw = station.weather_element.daily_extreme
    if not raw:
        return []
    try:
        extreme = msgspec.json.decode(raw, type=_DailyExtreme, strict=False)
    except (msgspec.DecodeError, RecursionError) as err:
        logger.info("cwa: %s: daily extreme skipped: %s", station.station_id, err)
        return []
    out: list[Observation] = []
    for label, part in ((" (daily high)", extreme.daily_high), (" (daily low)", extreme.daily_low)):
        info = part.temperature_info if part is not None else None
        if info is None or info.occurred_at is None:
            continue
        obs = _reading(station.station_id, info.occurred_at.date_time, info.air_temperature, label)
        if obs is not None and obs.observed_at != observed_at:
            out.append(obs)
    return out
