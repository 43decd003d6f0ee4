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
  ``receiptTime``/``reportTime`` come as ``"2025-06-19 20:56:35"`` in older captures and as
  ISO ``"2025-12-03T14:00:00.000Z"`` in newer ones; neither is needed to read a report.
* ``rawOb`` may carry the ``METAR``/``SPECI`` prefix (newer captures) or not; ``wdir`` can be
  ``"VRB"`` and ``visib`` ``"10+"`` or a number: fields we do not read are never typed.
* One record that does not match the documented types is skipped and counted, not the body.
* ``maxT``/``maxT24`` (6-/24-hour extremes) are ignored on purpose: Polymarket settles on the
  reported hourly/SPECI values, and those groups can exceed them.
* Public endpoint, no key, rate-limited: batch stations into one ``ids=`` request.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
from collections.abc import Sequence

import aiohttp
import msgspec

from weatheredge.model.metar_text import ReportText, parse_report, parse_t_group
from weatheredge.model.observations import Observation, observation_from_report, plausible_c
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
    receipt_time: str | None = None  # one format per response, so text order is time order


_RECORD = msgspec.json.Decoder(_MetarRecord).decode


async def fetch_metars(
    session: aiohttp.ClientSession, metar_url: str, icaos: Sequence[str], hours: float = 24
) -> list[Observation]:
    """Reports of the last ``hours`` for ``icaos``, oldest first per station.

    Raises WeatherError on transport failure, HTTP error or a malformed body.
    """
    if not icaos:
        return []
    params = {
        "ids": ",".join(i.strip().upper() for i in icaos),
        "format": "json",
        "hours": str(math.ceil(hours)),  # whole hours, as the service documents
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
    """``(observations, reports skipped)`` from a JSON body.

    A report is skipped (and counted) for a null temperature, a NIL text, or a record whose
    fields do not have the documented types; the other reports of the body are still read.
    """
    if not raw.strip():
        return [], 0
    try:
        items = msgspec.json.decode(raw, type=list[msgspec.Raw])
    except (msgspec.DecodeError, RecursionError) as err:
        raise WeatherError(f"aviationweather: malformed body: {err}") from err
    observations: dict[tuple[str, int], tuple[Observation, str]] = {}
    skipped = 0
    for item in items:
        try:
            record = _RECORD(item)
        except (msgspec.DecodeError, RecursionError) as err:
            logger.info("aviationweather: record skipped: %s", err)
            skipped += 1
            continue
        obs = _observation(record)
        if obs is None:
            skipped += 1
        else:
            # AWC can list a report twice (the original and its COR, in no promised order):
            # keep one per station and time, the correction, else the one received last.
            key = (obs.icao, record.obs_time)
            rank = f"{int(bool(obs.cor))}{record.receipt_time or ''}"
            kept = observations.get(key)
            if kept is None or rank >= kept[1]:
                observations[key] = (obs, rank)
    ordered = sorted((o for o, _ in observations.values()), key=lambda o: (o.icao, o.observed_at))
    return ordered, skipped


def _observation(record: _MetarRecord) -> Observation | None:
    if record.temp is None or not record.icao_id.strip():
        return None  # sensor out ("//"), or a NIL report: AWC sends null
    try:
        observed = dt.datetime.fromtimestamp(record.obs_time, dt.UTC)
    except (OverflowError, OSError, ValueError):  # a time no calendar holds: skip the report
        return None
    obs = observation_from_report(
        record.icao_id.strip().upper(),
        observed,
        record.raw_ob,
        kind=record.metar_type,
        temp_c=record.temp,
    )
    if obs is None or not plausible_c(obs.temp_c):
        return None  # NIL, no temperature, or a value no station reports (1e300, NaN)
    return dataclasses.replace(obs, published_at=_receipt(record.receipt_time))


def _receipt(text: str | None) -> dt.datetime | None:
    """``receiptTime`` ("2025-11-25 23:54:12", UTC): when the report became available."""
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace(" ", "T")).replace(tzinfo=dt.UTC)
    except ValueError:
        return None  # a malformed receipt time only costs us the delay measurement
