"""Hong Kong Observatory open data -> ``Observation``: the reading Hong Kong markets settle on.

``GET https://data.weather.gov.hk/weatherAPI/hko_data/regional-weather/latest_1min_temperature.csv``
(HKO open data, "Latest 1-minute air temperature", no key) answers one CSV row per automatic
weather station, the latest reading only::

    Date time,Automatic Weather Station,Air Temperature(degree Celsius)
    202611251530,HK Observatory,21.3

Quirks and limits:

* Times are ``YYYYMMDDHHMM`` Hong Kong time (UTC+8, no DST).
* Values are °C to one decimal, the precision of the Daily Extract that settles (floor rule).
* Only the latest minute is published: the day's running extreme is the extreme of the readings
  *we* sampled, a conservative bound (a peak between two polls is missed, never invented).
* A station whose sensor is out is absent or carries a non-number (``N/A``): skipped, counted.
* The file may start with a UTF-8 byte-order mark.
* URL, header and the station name "HK Observatory" follow HKO's open-data dataset description;
  weather.md has no live capture of this file, so verify against the live feed once.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Sequence
from typing import Annotated

import aiohttp
import msgspec

from weatheredge.model.observations import Observation, plausible_c
from weatheredge.weather._http import get_bytes
from weatheredge.weather.errors import WeatherError

logger = logging.getLogger(__name__)

HONG_KONG = dt.timezone(dt.timedelta(hours=8))
# Our station code -> the feed's station name.
STATION_NAMES = {"HKO": "HK Observatory"}
_FIELDS = ("time", "station", "temp_c")


class _Row(msgspec.Struct):
    time: Annotated[str, msgspec.Meta(pattern=r"^\d{12}$")]  # strptime alone takes 10 digits
    station: str
    temp_c: float


async def fetch_hko(
    session: aiohttp.ClientSession, url: str, codes: Sequence[str]
) -> list[Observation]:
    """The latest reading of each station in ``codes`` (ours, e.g. ``HKO``).

    Raises WeatherError on transport failure, HTTP error or a body that is not the CSV.
    """
    wanted = {STATION_NAMES.get(code.upper(), code): code.upper() for code in codes}
    if not wanted:
        return []
    status, raw = await get_bytes(session, url, {}, "hko")
    if status != 200:
        raise WeatherError(f"hko: HTTP {status}: {raw[:200]!r}")
    observations, skipped = decode_hko_csv(raw, wanted)
    if skipped:
        logger.info("hko: skipped %d rows: %s", len(skipped), skipped[:3])
    return observations


def decode_hko_csv(raw: bytes, wanted: dict[str, str]) -> tuple[list[Observation], list[str]]:
    """``(observations, reasons rows were skipped)``; ``wanted`` maps feed name -> our code."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise WeatherError(f"hko: body is not UTF-8: {err}") from err
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as err:  # e.g. a field over the csv module's 128 KiB limit
        raise WeatherError(f"hko: not a readable CSV: {err}") from err
    if not rows or len(rows[0]) < 3 or "temperature" not in rows[0][2].lower():
        raise WeatherError(f"hko: not the temperature CSV: {text[:120]!r}")
    out: list[Observation] = []
    skipped: list[str] = []
    for line in rows[1:]:
        if not line or len(line) < 3 or line[1].strip() not in wanted:
            continue
        try:
            row = msgspec.convert(
                dict(zip(_FIELDS, (c.strip() for c in line), strict=False)), _Row, strict=False
            )
            observed = dt.datetime.strptime(row.time, "%Y%m%d%H%M").replace(tzinfo=HONG_KONG)
        except (msgspec.ValidationError, ValueError) as err:
            skipped.append(f"{line!r}: {err}")
            continue
        if not plausible_c(row.temp_c):
            skipped.append(f"{line[:2]!r}: temperature outside the physical range")
            continue
        out.append(
            Observation(
                icao=wanted[row.station],
                observed_at=observed.astimezone(dt.UTC),
                temp_c=row.temp_c,
                tenths=True,
                kind="OBS",
                raw=",".join(line),
            )
        )
    return out, skipped
