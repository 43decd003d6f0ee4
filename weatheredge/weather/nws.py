"""NWS API station observations -> ``Observation``: the second source for US METARs.

``GET {base}/stations/{ICAO}/observations?start=<ISO>`` (weather.md §2.4) answers GeoJSON:
``features[].properties.{timestamp, rawMessage, temperature{unitCode, value, qualityControl}}``.
The same reports aviationweather relays, fed from NOAA's own pipeline, so it keeps working
when aviationweather is down or slow.

Quirks and limits:

* One station per request (no multi-station call): ask it only for the stations that need it.
* US stations only (K…, P…); elsewhere the API answers 404.
* A ``User-Agent`` naming the application and a contact is required (403 without).
* ``temperature.value`` is °C (``unitCode`` ``wmoUnit:degC``; older captures ``unit:degC``),
  ``null`` when the sensor was out, and carries float noise (``15.600000000000023``); it can be
  the whole-degree body value even when the remarks carry tenths, so the text is read exactly
  as for aviationweather: the T-group, else the body, else ``value``. ``qualityControl``
  (``V``/``C``/``S``/``Z``, older ``qc:V``) is not needed once the text is read.
* ``rawMessage`` can be empty for non-METAR platforms; such features are skipped and counted.
* Specials are not marked: ``rawMessage`` has no ``SPECI`` prefix, so a special relayed here
  reads as a routine report without sea-level pressure, which the hourly-view rule treats as
  uncertain (never dead-making) until aviationweather's copy, typed SPECI, replaces it.
* ``start`` is sent as ``YYYY-MM-DDTHH:MM:SSZ``.
"""

from __future__ import annotations

import datetime as dt
import logging

import aiohttp
import msgspec

from weatheredge.model.observations import Observation, observation_from_report, plausible_c
from weatheredge.weather._http import get_bytes
from weatheredge.weather.errors import WeatherError

logger = logging.getLogger(__name__)


class _Quantity(msgspec.Struct, rename="camel"):
    value: float | None = None
    unit_code: str = ""


class _Properties(msgspec.Struct, rename="camel"):
    timestamp: dt.datetime
    raw_message: str | None = ""
    temperature: _Quantity | None = None


class _Feature(msgspec.Struct):
    properties: _Properties


class _Collection(msgspec.Struct):
    features: list[msgspec.Raw] = []


_FEATURE = msgspec.json.Decoder(_Feature).decode


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
    # "Z", not "+00:00": a "+" left unescaped in a query string reads as a space.
    params = {"start": start.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    headers = {"User-Agent": user_agent, "Accept": "application/geo+json"}
    status, raw = await get_bytes(session, url, params, "nws", headers=headers)
    if status != 200:
        raise WeatherError(f"nws: {code}: HTTP {status}: {raw[:200]!r}")
    observations, skipped = decode_nws_observations(raw, code)
    if skipped:
        logger.info("nws: %s: skipped %d observations without temperature", code, skipped)
    return observations


def decode_nws_observations(raw: bytes, icao: str) -> tuple[list[Observation], int]:
    """``(observations, features skipped)`` from one station's observations body.

    A feature is skipped (and counted) when it has no report text, no temperature, a naive
    timestamp or fields of the wrong type; the other features are still read.
    """
    try:
        collection = msgspec.json.decode(raw, type=_Collection)
    except (msgspec.DecodeError, RecursionError) as err:  # RecursionError: hostile nesting
        raise WeatherError(f"nws: malformed body: {err}") from err
    out: dict[dt.datetime, Observation] = {}
    skipped = 0
    for item in collection.features:
        try:
            obs = _observation(_FEATURE(item).properties, icao)
        except (msgspec.DecodeError, RecursionError) as err:
            logger.info("nws: %s: feature skipped: %s", icao, err)
            obs = None
        if obs is None:
            skipped += 1
        else:
            out[obs.observed_at] = obs
    return sorted(out.values(), key=lambda o: o.observed_at), skipped


def _observation(props: _Properties, icao: str) -> Observation | None:
    text = (props.raw_message or "").strip()
    if props.timestamp.tzinfo is None or not text:
        return None
    quantity = props.temperature
    value = None
    if quantity is not None and quantity.value is not None and quantity.unit_code.endswith("degC"):
        value = quantity.value
    # The same reading of the text as for aviationweather: T-group, else body, else the value.
    obs = observation_from_report(icao, props.timestamp.astimezone(dt.UTC), text, temp_c=value)
    return obs if obs is not None and plausible_c(obs.temp_c) else None
