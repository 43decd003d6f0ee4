"""ICAO code -> ``Station`` (coordinates, elevation, IANA time zone).

Source: the ``airportsdata`` package (keyed by ICAO, ~28k airports, offline). Quirks and limits:

* ``elevation`` is in **feet**; ``Station.elevation_m`` is metres.
* Non-airport resolution sources (e.g. the Hong Kong Observatory, a city "station" such as
  KNYC/Central Park) are absent; they must come from config overrides, which always win.
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
