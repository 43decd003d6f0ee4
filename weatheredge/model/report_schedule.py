"""When to ask for a station's next report: learnt from its own reports, pure and synchronous.

A station files its routine report at fixed minutes past the hour (US ASOS :51-:53, many
airports :20 and :50) and aviationweather publishes it a fairly steady delay later
(``receiptTime - obsTime``, typically 1-3 minutes). Knowing both, we poll every few seconds
from just before the report is expected until it is in hand, and rarely otherwise (specials
can come any time). One request covers every station due, chunked so that no answer exceeds
the service's 400-record cap.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from weatheredge.model.observations import DEFAULT_REPORT_MINUTES, Observation, routine_minutes

DEFAULT_DELAY_S = 120.0  # before a station has told us its own publication delay
MAX_RECORDS = 400  # aviationweather returns at most this many records per request


@dataclass(frozen=True, slots=True)
class StationSchedule:
    """Routine minutes past the hour and the publication delay (median, 90th percentile)."""

    minutes: tuple[int, ...]
    delay_s: float
    delay_p90_s: float
    samples: int  # reports that carried a publication time

    def slots(self, after: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
        """Routine observation times in ``(after, until]``, oldest first."""
        out: list[dt.datetime] = []
        hour = after.replace(minute=0, second=0, microsecond=0)
        while hour <= until:
            for minute in self.minutes:
                slot = hour + dt.timedelta(minutes=minute)
                if after < slot <= until:
                    out.append(slot)
            hour += dt.timedelta(hours=1)
        return sorted(out)


def learn_schedule(reports: Iterable[Observation]) -> StationSchedule:
    """A station's routine minutes and publication delay from the reports we hold."""
    reports = list(reports)
    minutes = tuple(routine_minutes(reports)) or DEFAULT_REPORT_MINUTES
    delays = sorted(
        (o.published_at - o.observed_at).total_seconds()
        for o in reports
        if o.published_at is not None and o.published_at >= o.observed_at
    )
    if not delays:
        return StationSchedule(minutes, DEFAULT_DELAY_S, DEFAULT_DELAY_S * 1.5, 0)
    p90 = delays[min(len(delays) - 1, math.ceil(0.9 * len(delays)) - 1)]
    return StationSchedule(minutes, statistics.median(delays), p90, len(delays))


@dataclass(frozen=True, slots=True)
class PollTiming:
    fast_s: float = 3.0  # while a report is expected (the bound: <= 5 s)
    slow_s: float = 300.0  # otherwise: specials only
    lead_s: float = 20.0  # start polling this long before the earliest plausible publication
    give_up_s: float = 900.0  # a report this late after its expected time was not filed


def expected_publication(
    schedule: StationSchedule,
    now: dt.datetime,
    last_report: dt.datetime | None,
    timing: PollTiming,
) -> dt.datetime:
    """When the oldest routine report we do not hold yet should appear on the service.

    Slots already given up on (no report ``give_up_s`` after their expected time) are skipped.
    """
    delay = dt.timedelta(seconds=schedule.delay_s)
    give_up = dt.timedelta(seconds=timing.give_up_s)
    floor = now - delay - give_up
    after = floor if last_report is None or last_report < floor else last_report
    for slot in schedule.slots(after, now + dt.timedelta(hours=2)):
        if slot + delay + give_up > now:
            return slot + delay
    return now + dt.timedelta(hours=1)  # no routine minute at all: the slow poll covers it


def next_poll(
    schedule: StationSchedule,
    now: dt.datetime,
    *,
    last_fetch: dt.datetime | None,
    last_report: dt.datetime | None,
    timing: PollTiming,
) -> dt.datetime:
    """The next time this station is worth a request.

    Hot (every ``fast_s``) from ``lead_s`` before the earliest plausible publication (the
    learnt delay's fastest decile, at most the median) until the report is in hand.
    """
    if last_fetch is None:
        return now
    expected = expected_publication(schedule, now, last_report, timing)
    early = min(schedule.delay_s, _fast_delay(schedule))
    hot_from = expected - dt.timedelta(seconds=schedule.delay_s - early + timing.lead_s)
    if now >= hot_from:
        return last_fetch + dt.timedelta(seconds=timing.fast_s)
    return min(last_fetch + dt.timedelta(seconds=timing.slow_s), hot_from)


def _fast_delay(schedule: StationSchedule) -> float:
    # Publication spreads around the median; start as early as the fast tail (≈ mirror of p90).
    return max(0.0, 2 * schedule.delay_s - schedule.delay_p90_s)


def chunk_ids(
    icaos: Sequence[str], hours: float, *, per_hour: float = 3.0, max_records: int = MAX_RECORDS
) -> list[list[str]]:
    """Stations grouped so that one answer stays under the service's record cap."""
    per_station = max(1, math.ceil(hours * per_hour))
    size = max(1, max_records // per_station)
    return [list(icaos[i : i + size]) for i in range(0, len(icaos), size)]
