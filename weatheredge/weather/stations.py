"""ICAO code -> ``Station`` (coordinates, elevation, IANA time zone).

Source: the ``airportsdata`` package (keyed by ICAO, ~28k airports, offline). Quirks and limits:

* ``elevation`` is in **feet**; ``Station.elevation_m`` is metres.
* Non-airport resolution sources are absent from it. The ones Polymarket rules name are shipped
  here (``OFFICIAL_STATIONS``: the Hong Kong Observatory, Taiwan CWA stations); anything else
  (e.g. KNYC/Central Park) comes from config overrides, which always win.
* Loading the table takes ~0.1 s and some MB, so it is loaded lazily once per process. The
  first call blocks the event loop for that long; call ``resolve_station`` once at startup.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any

import airportsdata

from weatheredge.model.market import Station

logger = logging.getLogger(__name__)

_FEET_TO_METRES = 0.3048

# Resolution sources that are not airports, by the code ``model.rules`` gives them. Sources:
# HKO headquarters, 134A Nathan Road (HKO station list: 22°18'07"N 114°10'27"E, 32 m above MSL);
# CWA Taipei 466920 (WMO 46692; CWA station list: 25.0377 N 121.5149 E, 6.3 m), the station of
# Taipei's CWA-era rules (weather.md §1.2). Their observation adapters: weather.hko, weather.cwa.
OFFICIAL_STATIONS: dict[str, Station] = {
    "HKO": Station("HKO", 22.3019, 114.1742, 32.0, "Asia/Hong_Kong"),
    "466920": Station("466920", 25.0377, 121.5149, 6.3, "Asia/Taipei"),
}


@functools.cache
def _airports() -> Mapping[str, Mapping[str, Any]]:
    return airportsdata.load("ICAO")


def _normalise(icao: str) -> str:
    return icao.strip().upper()


def resolve_station(icao: str, overrides: Mapping[str, Station] | None = None) -> Station | None:
    """The station for ``icao``; config ``overrides`` win; ``None`` when nobody knows it."""
    code = _normalise(icao)
    for key, station in (overrides or {}).items():
        if _normalise(key) == code:
            return station
    if (official := OFFICIAL_STATIONS.get(code)) is not None:
        return official
    row = _airports().get(code)
    if row is None:
        logger.debug("station %s not in airportsdata", code)
        return None
    return _station_from_row(code, row)


def _station_from_row(code: str, row: Mapping[str, Any]) -> Station | None:
    tz = row.get("tz")
    if not tz:
        # Without a time zone the local settlement day is undefined: treat as unknown.
        logger.warning("station %s has no time zone in airportsdata", code)
        return None
    return Station(
        icao=code,
        latitude=float(row["lat"]),
        longitude=float(row["lon"]),
        elevation_m=round(float(row.get("elevation") or 0.0) * _FEET_TO_METRES, 1),
        timezone=str(tz),
    )
