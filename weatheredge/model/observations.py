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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from weatheredge.model.buckets import Rounding, Unit, c_to_f, settle_from_celsius


@dataclass(frozen=True, slots=True)
class Observation:
    """One METAR/SPECI temperature report."""

    icao: str
    observed_at: dt.datetime  # UTC, timezone-aware
    temp_c: float  # tenths when ``tenths``, else the whole-degree body value
    tenths: bool  # True when the raw report carried a T-group
    kind: str  # "METAR" or "SPECI"
    raw: str
    published_at: dt.datetime | None = None  # when the service had it (AWC ``receiptTime``)


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


# --- the day's extreme with its provenance, data-quality checks, poll timing -------------------


@dataclass(frozen=True, slots=True)
class DayExtreme:
    """The running (or final) extreme of one station's local day."""

    settled: int  # settled integer in the market's unit: what resolves
    raw: float  # the same report's value in the market's unit before rounding (EMOS target)
    reports: int  # reports inside the local day so far
    first_report: dt.datetime
    last_report: dt.datetime
    whole_degree_only: bool  # some report lacked a T-group (ambiguous in a °F market)


def day_extreme(
    observations: Iterable[Observation],
    station_tz: str,
    local_date: dt.date,
    unit: Unit,
    rounding: Rounding,
    extreme: Literal["max", "min"],
) -> DayExtreme | None:
    """Like :func:`running_extreme`, keeping which report set it and how many there were.

    Ties on the settled integer keep the higher (for a max) raw value.
    """
    start, end = local_day_window(station_tz, local_date)
    best: tuple[int, float] | None = None
    times: list[dt.datetime] = []
    whole = False
    for obs in observations:
        if obs.observed_at.tzinfo is None:
            raise ValueError(f"naive observed_at in {obs.icao} report {obs.raw!r}")
        if not start <= obs.observed_at < end:
            continue
        times.append(obs.observed_at)
        whole = whole or not obs.tenths
        raw = c_to_f(obs.temp_c) if unit is Unit.F else obs.temp_c
        key = (settle_from_celsius(obs.temp_c, unit, rounding), raw)
        if best is None or (key > best if extreme == "max" else key < best):
            best = key
    if best is None:
        return None
    return DayExtreme(best[0], best[1], len(times), min(times), max(times), whole)


def observation_problem(
    observations: Sequence[Observation],
    *,
    now: dt.datetime,
    station_tz: str,
    local_date: dt.date,
    unit: Unit,
    max_silence: dt.timedelta,
    max_skew: dt.timedelta,
) -> str | None:
    """Why this station's reports cannot be trusted to condition today's event, or None.

    * a report stamped in the future beyond ``max_skew``: our clock or theirs is wrong;
    * a °F market fed reports without tenths (whole °C cannot be turned into a °F integer);
    * the local day is under way and the station has been silent for ``max_silence``.
    """
    start, end = local_day_window(station_tz, local_date)
    for obs in observations:
        ahead = obs.observed_at - now
        if ahead > max_skew:
            minutes = ahead.total_seconds() / 60
            return f"clock skew: {obs.icao} report is {minutes:.0f} min in the future"
    in_day = [o for o in observations if start <= o.observed_at < end]
    if unit is Unit.F and any(not o.tenths for o in in_day):
        return "whole-degree reports only: a °F settlement cannot be reconstructed"
    if start <= now < end and now - start >= max_silence:
        last = max((o.observed_at for o in observations if o.observed_at <= now), default=None)
        if last is None or now - last >= max_silence:
            hours = max_silence.total_seconds() / 3600
            code = observations[0].icao if observations else "the station"
            return f"no reports from {code} for {hours:g} h"
    return None


def routine_minutes(observations: Iterable[Observation]) -> list[int]:
    """Minutes past the hour at which this station files its routine reports, most common first."""
    counts: dict[int, int] = {}
    for obs in observations:
        if obs.kind == "METAR":
            counts[obs.observed_at.minute] = counts.get(obs.observed_at.minute, 0) + 1
    return [m for m, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:2]]


DEFAULT_REPORT_MINUTES = (51, 20, 50)  # US ASOS :51-:53; many airports also :20 and :50


def poll_due(
    now: dt.datetime,
    last_poll: dt.datetime | None,
    report_minutes: Iterable[int],
    *,
    fast: dt.timedelta,
    slow: dt.timedelta,
    window: dt.timedelta = dt.timedelta(minutes=12),
) -> bool:
    """Poll often right after a routine report is due (it reaches the API minutes later), else
    rarely (specials come any time). ``report_minutes`` are minutes past the hour."""
    if last_poll is None:
        return True
    since = now - last_poll
    if since >= slow:
        return True
    if since < fast:
        return False
    minute = now.minute + now.second / 60
    span = window.total_seconds() / 60
    return any(0 <= (minute - m) % 60 < span for m in report_minutes)
