"""Station observations and the settled running extreme over a local calendar day.

Settlement replicates the resolution pages (weather.md §1.5, §2.5): the extreme over every
*reported* METAR (routine and SPECI) whose observation time falls in the station's local civil
day 00:00-23:59, DST-aware (so the window is 23 or 25 hours on change-over days), each report
settled to an integer in the market's unit. For °F that is tenths °C (T-group) -> °F -> half-up;
for °C markets the whole-degree body value is already the integer. Peaks between reports,
6-/24-hour max groups and 5-minute data are deliberately ignored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from weatheredge.model.buckets import Rounding, Unit, settle_from_celsius


@dataclass(frozen=True, slots=True)
class Observation:
    """One METAR/SPECI temperature report."""

    icao: str
    observed_at: dt.datetime  # UTC, timezone-aware
    temp_c: float  # tenths when ``tenths``, else the whole-degree body value
    tenths: bool  # True when the raw report carried a T-group
    kind: str  # "METAR" or "SPECI"
    raw: str


def local_day_window(station_tz: str, local_date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)`` in UTC of ``local_date``'s civil day in ``station_tz``."""
    zone = ZoneInfo(station_tz)
    start = dt.datetime.combine(local_date, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(local_date + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def running_extreme(
    observations: Iterable[Observation],
    station_tz: str,
    local_date: dt.date,
    unit: Unit,
    rounding: Rounding,
    extreme: Literal["max", "min"],
) -> int | None:
    """Settled max (or min) of one station's reports within its local day; None if none yet.

    Raises ValueError for a naive ``observed_at`` or for reports from several stations, either
    of which would silently produce a wrong settlement value.
    """
    start, end = local_day_window(station_tz, local_date)
    settled: list[int] = []
    stations: set[str] = set()
    for obs in observations:
        if obs.observed_at.tzinfo is None:
            raise ValueError(f"naive observed_at in {obs.icao} report {obs.raw!r}")
        stations.add(obs.icao)
        if start <= obs.observed_at < end:
            settled.append(settle_from_celsius(obs.temp_c, unit, rounding))
    if len(stations) > 1:
        raise ValueError(f"observations from several stations: {sorted(stations)}")
    if not settled:
        return None
    return max(settled) if extreme == "max" else min(settled)
