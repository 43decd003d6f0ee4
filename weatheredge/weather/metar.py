"""aviationweather.gov Data API METARs -> ``Observation`` (weather.md §2.5).

Quirks and limits:

* ``temp`` is °C in tenths when the report carries a remarks T-group (US ASOS: ``T01171011`` =
  11.7 °C / -1.1 °C), else the whole-degree body value (most non-US stations). We re-read the
  tenths from ``rawOb`` rather than trusting ``temp``, because the T-group is what the
  resolution pages convert to °F.
* A station with no reports yields an empty body (not ``[]``), sometimes as HTTP 204.
* Reports with ``temp: null`` (sensor out, ``M`` in the body) are skipped and counted.
* ``obsTime`` is unix seconds (UTC); ``receiptTime`` is when AWC had it, which can lag by minutes.
* ``maxT``/``maxT24`` (6-/24-hour extremes) are ignored on purpose: Polymarket settles on the
  reported hourly/SPECI values, and those groups can exceed them.
* Public endpoint, no key, rate-limited: batch stations into one ``ids=`` request.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence

import aiohttp
import msgspec

from weatheredge.model.observations import Observation
from weatheredge.weather._http import get_bytes
from weatheredge.weather.errors import WeatherError

__all__ = ["Observation", "decode_metars", "fetch_metars", "parse_t_group"]

logger = logging.getLogger(__name__)

# Sign digit (0 = +, 1 = -) then three digits of tenths; the dew-point half may be missing.
_T_GROUP = re.compile(r"(?:^|\s)T([01])(\d{3})(?:[01]\d{3})?(?=\s|$)")


class _MetarRecord(msgspec.Struct, rename="camel"):
    icao_id: str
    obs_time: int
    temp: float | None = None
    metar_type: str | None = None
    raw_ob: str = ""
    receipt_time: str | None = None


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
    except msgspec.DecodeError as err:
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
        return None
    tenths = parse_t_group(record.raw_ob)
    return Observation(
        icao=record.icao_id,
        observed_at=dt.datetime.fromtimestamp(record.obs_time, dt.UTC),
        temp_c=record.temp if tenths is None else tenths,
        tenths=tenths is not None,
        kind=_kind(record),
        raw=record.raw_ob,
        published_at=_receipt(record.receipt_time),
    )


def _receipt(text: str | None) -> dt.datetime | None:
    """``receiptTime`` ("2025-11-25 23:54:12", UTC): when the report became available."""
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace(" ", "T")).replace(tzinfo=dt.UTC)
    except ValueError:
        return None  # a malformed receipt time only costs us the delay measurement


def _kind(record: _MetarRecord) -> str:
    if record.metar_type in ("METAR", "SPECI"):
        return record.metar_type
    return "SPECI" if record.raw_ob.startswith("SPECI") else "METAR"


def parse_t_group(raw_ob: str) -> float | None:
    """Temperature in tenths °C from the remarks T-group, or None when there is none."""
    _, sep, remarks = raw_ob.partition(" RMK ")
    if not sep:
        return None
    match = _T_GROUP.search(remarks)
    if match is None:
        return None
    value = int(match.group(2)) / 10.0
    return -value if match.group(1) == "1" else value
