"""Station observations, the station's local-day window, data-quality checks, poll timing.

A report (``Observation``) carries what the settling rules read from its raw text: type, body
and T-group temperatures, sea-level pressure, COR/AUTO. Which reports settle a market and with
which value (the running extreme, dead buckets, our settlement) is ``model/settling.py``. The
local day is the station's civil day 00:00-23:59, DST-aware (23 or 25 hours on change-over days).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from weatheredge.model.buckets import PHYSICAL_RANGE, Unit
from weatheredge.model.metar_text import parse_report


@dataclass(frozen=True, slots=True)
class Observation:
    """One METAR/SPECI temperature report, with what the settling rules read from its text."""

    icao: str
    observed_at: dt.datetime  # UTC, timezone-aware
    temp_c: float  # tenths when ``tenths``, else the whole-degree body value
    tenths: bool  # True when the raw report carried a T-group
    kind: str  # "METAR" or "SPECI"
    raw: str
    # Read from ``raw`` when not given, so every feed relaying a METAR text (aviationweather,
    # the NWS API, stored rows) yields the same report.
    body_c: int | None = None  # whole °C of the body TT/DD group (None: missing)
    slp: bool | None = None  # remarks carry a sea-level pressure (the NOAA hourly view keys on it)
    cor: bool | None = None  # a correction (it replaces the report it corrects)
    auto: bool | None = None  # unattended station
    # When the service had it (AWC ``receiptTime``): timing, not part of the report's identity.
    published_at: dt.datetime | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.slp is None or self.cor is None or self.auto is None:
            text = parse_report(self.raw)
            if self.body_c is None:
                object.__setattr__(self, "body_c", text.body_c)
            if self.slp is None:
                object.__setattr__(self, "slp", text.slp)
            if self.cor is None:
                object.__setattr__(self, "cor", text.cor)
            if self.auto is None:
                object.__setattr__(self, "auto", text.auto)

    @property
    def minute(self) -> int:
        return self.observed_at.minute

    @property
    def t_group_c(self) -> float | None:
        return self.temp_c if self.tenths else None


def observation_from_report(
    icao: str,
    observed_at: dt.datetime,
    raw: str,
    *,
    kind: str | None = None,
    temp_c: float | None = None,
) -> Observation | None:
    """An Observation from a report's raw text (plus the feed's own type/temperature fields).

    None for a ``NIL`` report or one without any temperature (``//`` and no T-group, no feed
    value). The T-group wins over the feed's ``temp``: it is what the resolution pages convert.
    """
    text = parse_report(raw)
    if text.nil:
        return None
    if text.t_group_c is not None:
        value, tenths = text.t_group_c, True
    elif text.body_c is not None:
        value, tenths = float(text.body_c), False
    elif temp_c is not None:
        value, tenths = temp_c, False
    else:
        return None
    if not plausible_c(value):
        return None
    report_kind = text.kind or (kind if kind in ("METAR", "SPECI") else "METAR")
    fields = (text.body_c, text.slp, text.cor, text.auto)
    return Observation(icao, observed_at, value, tenths, report_kind, raw, *fields)


def plausible_c(temp_c: float) -> bool:
    """A reading a station can report: finite and inside the physical range the bucket labels
    are held to. A feed's 1e300 or NaN would otherwise settle every bucket of the day."""
    low, high = PHYSICAL_RANGE[Unit.C]
    return math.isfinite(temp_c) and low <= temp_c <= high


# Cached: the model jobs ask it for every event on every tick (10,000 events: 10,000 calls).
@functools.lru_cache(maxsize=4096)
def local_day_window(station_tz: str, local_date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)`` in UTC of ``local_date``'s civil day in ``station_tz``."""
    zone = ZoneInfo(station_tz)
    start = dt.datetime.combine(local_date, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(local_date + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


# --- data-quality checks, poll timing (the day's extreme itself: model/settling.py) ------------


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
    (A °F report without tenths is no longer a problem here: the settling rule turns it into
    the range of °F integers its whole °C allows, which shades buckets but never kills one.)
    * the local day is under way and the station has been silent for ``max_silence``.
    """
    start, end = local_day_window(station_tz, local_date)
    for obs in observations:
        ahead = obs.observed_at - now
        if ahead > max_skew:
            minutes = ahead.total_seconds() / 60
            return f"clock skew: {obs.icao} report is {minutes:.0f} min in the future"
    del unit  # kept for callers; see above
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
