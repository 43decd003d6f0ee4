"""aviationweather.gov Data API METARs -> ``Observation`` (weather.md §2.5).

Quirks and limits:

* ``temp`` is °C in tenths when the report carries a remarks T-group (US ASOS: ``T01171011`` =
  11.7 °C / -1.1 °C), else the whole-degree body value (most non-US stations). We re-read the
  tenths from ``rawOb`` rather than trusting ``temp``, because the T-group is what the
  resolution pages convert to °F.
* A station with no reports yields an empty body (not ``[]``), sometimes as HTTP 204.
* Reports with ``temp: null`` (sensor out, ``//`` in the body; ``NIL`` reports) are skipped and
  counted. What the settling rules need (type, SLP, COR, AUTO, body vs T-group) is read from
  ``rawOb`` by :func:`weatheredge.model.metar_text.parse_report`.
* ``obsTime`` is unix seconds (UTC); ``receiptTime`` is when AWC had it, which can lag by minutes.
* ``maxT``/``maxT24`` (6-/24-hour extremes) are ignored on purpose: Polymarket settles on the
  reported hourly/SPECI values, and those groups can exceed them.
* Public endpoint, no key, rate-limited: batch stations into one ``ids=`` request.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

import aiohttp
import msgspec

from weatheredge.model.metar_text import ReportText, parse_report, parse_t_group
from weatheredge.model.observations import Observation, observation_from_report
from weatheredge.weather._http import get_bytes
from weatheredge.weather.errors import WeatherError

__all__ = [
    "Observation",
    "ReportText",
    "decode_metars",
    "fetch_metars",
    "parse_report",
    "parse_t_group",
]

logger = logging.getLogger(__name__)


class _MetarRecord(msgspec.Struct, rename="camel"):
    icao_id: str
    obs_time: int
    temp: float | None = None
    metar_type: str | None = None
    raw_ob: str = ""


async def fetch_metars(
    session: aiohttp.ClientSession, metar_url: str, icaos: Sequence[str], hours: int = 24
) -> list[Observation]:
    """Reports of the last ``hours`` for ``icaos``, oldest first per station.

    Raises WeatherError on transport failure, HTTP error or a malformed body.
    """
    if not icaos:
        return []
    params = {
        "ids": ",".join(i.strip().upper() for i in icaos),
        "format": "json",
        "hours": str(hours),
    }
    status, raw = await get_bytes(session, metar_url, params, "aviationweather")
    if status == 204:
        return []
    if status != 200:
        raise WeatherError(f"aviationweather: HTTP {status}: {raw[:200]!r}")
    observations, skipped = decode_metars(raw)
    if skipped:
        logger.info("aviationweather: skipped %d reports without temperature", skipped)
    return observations


def decode_metars(raw: bytes) -> tuple[list[Observation], int]:
    """``(observations, reports skipped for a null temperature)`` from a JSON body."""
    if not raw.strip():
        return [], 0
    try:
        records = msgspec.json.decode(raw, type=list[_MetarRecord])
    except (msgspec.DecodeError, RecursionError) as err:  # RecursionError: hostile nesting
        raise WeatherError(f"aviationweather: malformed body: {err}") from err
    observations: dict[tuple[str, int], Observation] = {}
    skipped = 0
    for record in records:
        obs = _observation(record)
        if obs is None:
            skipped += 1
        else:
            # AWC can list a report twice (e.g. on a correction); keep one per station and time.
            observations[(record.icao_id, record.obs_time)] = obs
    ordered = sorted(observations.values(), key=lambda o: (o.icao, o.observed_at))
    return ordered, skipped


def _observation(record: _MetarRecord) -> Observation | None:
    if record.temp is None:
        return None  # sensor out ("//"), or a NIL report: AWC sends null
    try:
        observed = dt.datetime.fromtimestamp(record.obs_time, dt.UTC)
    except (OverflowError, OSError, ValueError):  # a time no calendar holds: skip the report
        return None
    return observation_from_report(
        record.icao_id,
        observed,
        record.raw_ob,
        kind=record.metar_type,
        temp_c=record.temp,
    )
