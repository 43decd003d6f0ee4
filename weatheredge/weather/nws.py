"""NWS API station observations -> ``Observation``: the second source for US METARs.

``GET {base}/stations/{ICAO}/observations?start=<ISO>`` (weather.md §2.4) answers GeoJSON:
``features[].properties.{timestamp, rawMessage, temperature{unitCode, value, qualityControl}}``.
The same reports aviationweather relays, fed from NOAA's own pipeline, so it keeps working
when aviationweather is down or slow.

Quirks and limits:

* One station per request (no multi-station call): ask it only for the stations that need it.
* US stations only (K…, P…); elsewhere the API answers 404.
* A ``User-Agent`` naming the application and a contact is required (403 without).
* ``temperature.value`` is °C, ``null`` when the sensor was out; it can be the whole-degree
  body value even when the remarks carry tenths, so the T-group in ``rawMessage`` wins, exactly
  as for aviationweather.
* ``rawMessage`` can be empty for non-METAR platforms; such features are skipped and counted.
* Specials are not marked; a report is a SPECI only when its text says so.
"""

from __future__ import annotations

import datetime as dt
import logging

import aiohttp
import msgspec

from weatheredge.model.metar_text import parse_t_group
from weatheredge.model.observations import Observation, plausible_c
from weatheredge.weather._http import get_bytes
from weatheredge.weather.errors import WeatherError

logger = logging.getLogger(__name__)


class _Quantity(msgspec.Struct, rename="camel"):
    value: float | None = None
    unit_code: str = ""


class _Properties(msgspec.Struct, rename="camel"):
    timestamp: dt.datetime
    raw_message: str = ""
    temperature: _Quantity = msgspec.field(default_factory=_Quantity)


class _Feature(msgspec.Struct):
    properties: _Properties


class _Collection(msgspec.Struct):
    features: list[_Feature] = []


async def fetch_nws_observations(
    session: aiohttp.ClientSession,
    base_url: str,
    icao: str,
    *,
    start: dt.datetime,
    user_agent: str,
) -> list[Observation]:
    """Reports of ``icao`` observed since ``start``, oldest first.

    Raises WeatherError on transport failure, HTTP error or a malformed body.
    """
    code = icao.strip().upper()
    url = f"{base_url.rstrip('/')}/stations/{code}/observations"
    params = {"start": start.astimezone(dt.UTC).isoformat(timespec="seconds")}
    headers = {"User-Agent": user_agent, "Accept": "application/geo+json"}
    status, raw = await get_bytes(session, url, params, "nws", headers=headers)
    if status != 200:
        raise WeatherError(f"nws: {code}: HTTP {status}: {raw[:200]!r}")
    observations, skipped = decode_nws_observations(raw, code)
    if skipped:
        logger.info("nws: %s: skipped %d observations without temperature", code, skipped)
    return observations


def decode_nws_observations(raw: bytes, icao: str) -> tuple[list[Observation], int]:
    """``(observations, features skipped)`` from one station's observations body."""
    try:
        collection = msgspec.json.decode(raw, type=_Collection)
    except (msgspec.DecodeError, RecursionError) as err:  # ValidationError is a DecodeError
        raise WeatherError(f"nws: malformed body: {err}") from err
    out: dict[dt.datetime, Observation] = {}
    skipped = 0
    for feature in collection.features:
        obs = _observation(feature.properties, icao)
        if obs is None:
            skipped += 1
        else:
            out[obs.observed_at] = obs
    return sorted(out.values(), key=lambda o: o.observed_at), skipped


def _observation(props: _Properties, icao: str) -> Observation | None:
    text = props.raw_message.strip()
    if props.timestamp.tzinfo is None or not text:
        return None
    tenths = parse_t_group(text)
    value = props.temperature.value
    if tenths is not None:
        temp_c = tenths
    elif value is not None and props.temperature.unit_code.endswith("degC"):
        temp_c = float(value)
    else:
        return None
    if not plausible_c(temp_c):
        return None
    return Observation(
        icao=icao,
        observed_at=props.timestamp.astimezone(dt.UTC),
        temp_c=temp_c,
        tenths=tenths is not None,
        kind="SPECI" if text.startswith("SPECI") else "METAR",
        raw=text,
    )
