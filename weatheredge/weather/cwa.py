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
* Missing values are ``-99`` (or ``-99.0``/``"-99"``): skipped and counted, never a reading.
* Values are °C to one decimal (the Taipei CWA-era rules settle by floor).
* Shape from CWA's open-data swagger (``O-A0003-001``) as used by public clients; weather.md has
  no live capture, so verify against the live feed once.
* Only the latest observation per station: like HKO, the running extreme is the extreme of
  the readings we sampled.
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


class _Station(msgspec.Struct, rename="pascal"):
    station_id: str
    obs_time: _ObsTime
    weather_element: _Elements = msgspec.field(default_factory=_Elements)


class _Records(msgspec.Struct, rename="pascal"):
    station: list[_Station] = []


class _Body(msgspec.Struct):
    success: str = "false"
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
    """``(observations, stations skipped for a missing temperature)``."""
    try:
        body = msgspec.json.decode(raw, type=_Body, strict=False)  # numbers may come as text
    except (msgspec.DecodeError, RecursionError) as err:  # RecursionError: hostile nesting
        raise WeatherError(f"cwa: malformed body: {err}") from err
    if body.success != "true":
        raise WeatherError("cwa: request not successful")
    out: list[Observation] = []
    skipped = 0
    for station in body.records.station:
        value = station.weather_element.air_temperature
        when = station.obs_time.date_time
        if value is None or value <= _MISSING or not plausible_c(value) or when.tzinfo is None:
            skipped += 1
            continue
        out.append(
            Observation(
                icao=station.station_id,
                observed_at=when.astimezone(dt.UTC),
                temp_c=value,
                tenths=True,
                kind="OBS",
                raw=f"CWA {station.station_id} {when.isoformat()} {value}",
            )
        )
    return out, skipped
