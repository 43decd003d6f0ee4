"""A station's local day read under a settling rule (``settling.py``): the running or final
extreme as the resolution table will show it, its distribution over the uncertain reports, and
what certainly counts (which decides dead buckets). Pure, stdlib only."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from weatheredge.model.buckets import Rounding, Unit
from weatheredge.model.observations import Observation, local_day_window
from weatheredge.model.rules import SourceKind
from weatheredge.model.settling import Assessed, Outcome, SettlingRule, Status


@dataclass(frozen=True, slots=True)
class DayReading:
    """The running (or final) extreme of one station's local day, as the table will show it."""

    settled: int  # most likely settled integer
    certain: int | None  # what certainly counts: buckets beyond it are dead (None: nothing yet)
    distribution: tuple[Outcome, ...]  # of the day's extreme so far; None = no counting report
    raw: float  # the settling report's value in the market unit before rounding (EMOS target)
    reports: int  # reports inside the local day
    first_report: dt.datetime
    last_report: dt.datetime
    involved: tuple[Assessed, ...]  # the reports that set the value or could change it
    uncertain: int  # reports inside the day that are uncertain

    @property
    def is_certain(self) -> bool:
        return len(self.distribution) == 1 and self.distribution[0][0] == self.certain


def extreme_distribution(
    assessed: Sequence[Assessed], extreme: str, floor: int | None = None
) -> list[Outcome]:
    """Distribution of the extreme over independent report outcomes (``None`` = none shown).

    Reports that certainly show collapse into one floor (their best certain value); only the
    reports that could beat it are combined, so a day of routine reports costs one pass.
    """
    high = extreme == "max"
    if floor is None:
        floor = _certain_floor(assessed, high)
    parts: list[tuple[Outcome, ...]] = [((floor, 1.0),)] if floor is not None else []
    for a in assessed:
        if floor is None or any(
            v is not None and (v > floor if high else v < floor) for v, _ in a.outcomes
        ):
            parts.append(a.outcomes)
    values = sorted({v for part in parts for v, _ in part if v is not None}, reverse=not high)
    out: list[Outcome] = []
    below = math.prod(sum(p for v, p in part if v is None) for part in parts)
    if below > 1e-12:
        out.append((None, below))
    for value in values:
        # P(extreme is at or "before" value) = every report shows nothing or something no further.
        cum = math.prod(
            sum(p for v, p in part if v is None or (v <= value if high else v >= value))
            for part in parts
        )
        if cum - below > 1e-12:
            out.append((value, cum - below))
        below = cum
    return out


def _certain_floor(assessed: Sequence[Assessed], high: bool) -> int | None:
    """What certainly shows: for a high, the best lowest-value of the reports sure to appear."""
    floors = [(min if high else max)(a.values) for a in assessed if a.sure]
    return (max(floors) if high else min(floors)) if floors else None


def read_day(
    rule: SettlingRule,
    reports: Iterable[Observation],
    station_tz: str,
    local_date: dt.date,
) -> DayReading | None:
    """The day's extreme from the reports inside the station's local civil day; None if no
    report can count. Raises ValueError for naive times or reports from several stations."""
    start, end = local_day_window(station_tz, local_date)
    stations: set[str] = set()
    assessed: list[Assessed] = []
    for obs in reports:
        if obs.observed_at.tzinfo is None:
            raise ValueError(f"naive observed_at in {obs.icao} report {obs.raw!r}")
        stations.add(obs.icao)
        if start <= obs.observed_at < end:
            assessed.append(rule.assess(obs))
    if len(stations) > 1:
        raise ValueError(f"observations from several stations: {sorted(stations)}")
    high = rule.extreme == "max"
    certain = _certain_floor(assessed, high)
    dist = extreme_distribution(assessed, rule.extreme, certain)
    shown = [(v, p) for v, p in dist if v is not None]
    if not shown:
        return None
    # Most likely value; a tie goes to the value certain reports already guarantee.
    settled = max(shown, key=lambda vp: (round(vp[1], 9), -vp[0] if high else vp[0]))[0]
    assert settled is not None
    setters = [a for a in assessed if settled in a.values]
    best = (max if high else min)(setters, key=lambda a: a.raw)
    beyond = [
        a
        for a in assessed
        if a is not best
        and a.status is not Status.EXCLUDED
        and any(certain is None or (v > certain if high else v < certain) for v in a.values)
    ]
    times = [a.obs.observed_at for a in assessed]
    return DayReading(
        settled=settled,
        certain=certain,
        distribution=tuple(dist),
        raw=best.raw,
        reports=len(assessed),
        first_report=min(times),
        last_report=max(times),
        involved=(best, *sorted(beyond, key=lambda a: a.obs.observed_at)),
        uncertain=sum(1 for a in assessed if a.status is Status.UNCERTAIN),
    )


def running_extreme(
    observations: Iterable[Observation],
    station_tz: str,
    local_date: dt.date,
    unit: Unit,
    rounding: Rounding,
    extreme: str,
    source: SourceKind = SourceKind.WUNDERGROUND,
    hourly_only: bool = False,
) -> int | None:
    """The most likely settled extreme so far under ``source``'s rule; None before any report."""
    rule = SettlingRule(source, hourly_only, unit, rounding, extreme)
    day = read_day(rule, observations, station_tz, local_date)
    return None if day is None else day.settled
