"""Which reports settle a market and with which value: one rule per resolution source.

The same rule feeds the running extreme, the dead buckets and our settlement, so a bucket is
only declared dead by a report the resolution table will certainly show (weather.md §1.5):

* **NOAA WRH table, "Show Hourly Data"** (US °F markets, ``hourly_only``): a row is shown when
  it carries a sea-level pressure (routine reports: ``SLPnnn`` in the remarks) or is a SPECI;
  5-minute rows never show (aviationweather does not serve them). The value is the T-group
  tenths -> °F -> half-up, except that on some SPECI rows the table shows the whole-degree body
  instead: when the two settle differently the report is uncertain.
* **NOAA WRH table, all data** (non-US, mostly °C): routine reports at the station's own routine
  minutes and SPECIs count; METARs at other minutes are uncertain until the venue's history
  says otherwise, and known off-minutes (Moscow Vnukovo's :24/:50) never count. Value: T-group
  tenths when present (half-up), else the body.
* **Weather Underground** (history page): every routine report and SPECI; °F from the T-group
  tenths half-up, °C from the whole-degree body.
* Anything else (``other``; the official feeds of one-decimal sources such as the Hong Kong
  Observatory) counts every report: an observation is always a bound on the official extreme.

A report whose fate is not certain becomes a set of outcomes (value, probability; ``None`` = the
table will not show it). The day's extreme is then a small distribution over integers: its
lowest value (for a high) is what certainly counts and decides dead buckets; the rest moves the
probabilities without ever reaching 0 or 1. Pure, stdlib only.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from weatheredge.model.buckets import Rounding, Unit, c_to_f, settle_from_celsius
from weatheredge.model.observations import Observation
from weatheredge.model.rules import ResolutionRule, SourceKind


class Status(enum.StrEnum):
    COUNTS = "counts"  # the table will show it, with this value
    UNCERTAIN = "uncertain"  # it may not show, or may show another value
    EXCLUDED = "excluded"  # the table never shows it


# How likely an uncertain report is to show (or to show its alternative value). Coarse on
# purpose: they only have to keep a bucket alive and shade it, not to be exact.
P_NO_SLP = 0.25  # hourly view, a routine report without SLPnnn: the row is probably hidden
P_OFF_MINUTE = 0.3  # a METAR at a minute the station does not file routine reports at
P_UNKNOWN_PATTERN = 0.7  # the station's routine minutes are not learnt yet
P_SPECI_BODY = 0.12  # the table shows a SPECI's body integer (70 of 563 replayed SPECI rows)
P_WHOLE_F_CENTRE = 0.6  # no T-group in a °F market: the body's own conversion is most likely

# Station minutes whose reports the venue's resolution table is known to leave out.
KNOWN_EXCLUDED_MINUTES: dict[str, frozenset[int]] = {"UUWW": frozenset({24, 50})}

MIN_LEARN_HOURS = 12  # hours of routine reports before a station's pattern counts as known
ROUTINE_SHARE = 0.6  # a minute is routine when it is filed in this share of the hours seen


@dataclass(frozen=True, slots=True)
class StationFacts:
    """A station's report schedule, learnt from its own reports."""

    icao: str
    routine_minutes: tuple[int, ...]
    hours: int  # distinct clock hours with a routine-type report
    reports: int  # routine-type reports read
    excluded_minutes: tuple[int, ...] = ()
    slp_reports: int = 0  # routine-type reports carrying SLPnnn

    @property
    def files_slp(self) -> bool:
        """US/Canadian-style remarks: the hourly view can key on the sea-level pressure."""
        return self.reports > 0 and self.slp_reports * 2 >= self.reports

    @property
    def known(self) -> bool:
        return self.hours >= MIN_LEARN_HOURS and bool(self.routine_minutes)

    @property
    def pattern(self) -> str:
        if not self.known:
            return "unknown"
        n = len(self.routine_minutes)
        return {1: "hourly", 2: "half-hourly"}.get(n, f"{n} per hour")

    def as_dict(self) -> dict[str, object]:
        return {
            "pattern": self.pattern,
            "routine_minutes": list(self.routine_minutes),
            "excluded_minutes": list(self.excluded_minutes),
            "hours_seen": self.hours,
            "reports_seen": self.reports,
            "files_slp": self.files_slp,
        }


def learn_station_facts(icao: str, reports: Iterable[Observation]) -> StationFacts:
    """Routine minutes = minutes at which a METAR is filed in most of the hours seen.

    SPECIs and corrections are left out: they come at any minute. A half-hourly station files
    at two minutes (e.g. :20 and :50) in nearly every hour; an occasional off-minute METAR stays
    below the share and is left out.
    """
    hours: set[tuple[dt.date, int]] = set()
    per_minute: Counter[int] = Counter()
    seen: set[dt.datetime] = set()
    n = slp = 0
    for obs in reports:
        if obs.kind != "METAR" or obs.cor or obs.observed_at in seen:
            continue
        seen.add(obs.observed_at)
        n += 1
        slp += bool(obs.slp)
        hours.add((obs.observed_at.date(), obs.observed_at.hour))
        per_minute[obs.minute] += 1
    routine = sorted(m for m, c in per_minute.items() if hours and c / len(hours) >= ROUTINE_SHARE)
    excluded = sorted(KNOWN_EXCLUDED_MINUTES.get(icao, frozenset()))
    return StationFacts(icao, tuple(routine), len(hours), n, tuple(excluded), slp)


Outcome = tuple[int | None, float]  # (settled value, probability); None = not shown


@dataclass(frozen=True, slots=True)
class Assessed:
    """One report under one settling rule."""

    obs: Observation
    status: Status
    reason: str  # why not simply counted ("" when it counts)
    outcomes: tuple[Outcome, ...]
    raw: float  # the report's own value in the market unit, before rounding
    values: tuple[int, ...] = ()  # the values it may show (filled in from ``outcomes``)
    sure: bool = False  # it certainly shows (with one of ``values``)

    def __post_init__(self) -> None:
        values = tuple(v for v, _ in self.outcomes if v is not None)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "sure", bool(values) and len(values) == len(self.outcomes))

    def as_dict(self) -> dict[str, object]:
        return {
            "observed_at": self.obs.observed_at.isoformat(timespec="minutes"),
            "kind": self.obs.kind,
            "status": self.status.value,
            "reason": self.reason,
            "values": list(self.values),
            "raw": self.obs.raw,
        }


@dataclass(frozen=True, slots=True)
class SettlingRule:
    source: SourceKind
    hourly_only: bool
    unit: Unit
    rounding: Rounding
    extreme: str  # "max" | "min"
    facts: StationFacts | None = None

    @property
    def noaa(self) -> bool:
        return self.source is SourceKind.NOAA_WRH

    def assess(self, obs: Observation) -> Assessed:
        # Every tick re-reads the same reports for every event of the station: remember them,
        # keyed on what decides the outcome (not on the facts' running counters).
        facts = self.facts
        schedule = (
            (facts.known, facts.routine_minutes, facts.excluded_minutes, facts.files_slp)
            if facts is not None
            else None
        )
        key = (self.source, self.hourly_only, self.unit, self.rounding, schedule, obs)
        found = _ASSESSED.get(key)
        if found is None:
            if len(_ASSESSED) >= _ASSESSED_MAX:
                _ASSESSED.clear()
            found = _ASSESSED[key] = self._assess(obs)
        return found

    def _assess(self, obs: Observation) -> Assessed:
        appear, why = self._appears(obs)
        values, how = self._values(obs)
        raw = c_to_f(obs.temp_c) if self.unit is Unit.F else obs.temp_c
        if appear <= 0.0:
            return Assessed(obs, Status.EXCLUDED, why, ((None, 1.0),), raw)
        outcomes: list[Outcome] = [(v, p * appear) for v, p in values]
        if appear < 1.0:
            outcomes.append((None, 1.0 - appear))
        certain = appear >= 1.0 and len(values) == 1
        reason = "; ".join(r for r in (why, how) if r)
        return Assessed(
            obs, Status.COUNTS if certain else Status.UNCERTAIN, reason, tuple(outcomes), raw
        )

    def _appears(self, obs: Observation) -> tuple[float, str]:
        facts = self.facts
        excluded = facts.excluded_minutes if facts else ()
        if obs.minute in (excluded or KNOWN_EXCLUDED_MINUTES.get(obs.icao, ())):
            if self.noaa:
                return 0.0, f"off-minute :{obs.minute:02d} is left out by the NOAA table"
            return P_OFF_MINUTE, f"off-minute :{obs.minute:02d} (left out in the NOAA era)"
        if obs.kind == "SPECI":
            return 1.0, ""
        if self.noaa and self.hourly_only:
            if obs.slp:
                return 1.0, ""
            # A station whose reports never carry SLP (non-US) cannot be filtered on it: the
            # routine-minute rule below applies instead.
            if facts is None or not facts.known or facts.files_slp:
                return P_NO_SLP, "routine report without sea-level pressure (hourly view hides it)"
        if not self.noaa:
            return 1.0, ""  # WU shows every routine report
        if facts is None or not facts.known:
            return P_UNKNOWN_PATTERN, "station's routine minutes not learnt yet"
        if obs.minute in facts.routine_minutes:
            return 1.0, ""
        return P_OFF_MINUTE, f"off-minute :{obs.minute:02d} (routine at {_minutes(facts)})"

    def _values(self, obs: Observation) -> tuple[list[Outcome], str]:
        def settled(celsius: float) -> int:
            return settle_from_celsius(celsius, self.unit, self.rounding)

        body = obs.body_c
        if not obs.tenths:
            if self.unit is Unit.C:
                return [(settled(obs.temp_c), 1.0)], ""
            return _whole_degree_f(obs.temp_c, settled), "no T-group: whole °C in a °F market"
        tenths = settled(obs.temp_c)
        if self.unit is Unit.C and not self.noaa and body is not None:
            return [(settled(body), 1.0)], ""  # WU shows the body for °C stations
        if self.noaa and obs.kind == "SPECI" and body is not None and settled(body) != tenths:
            alt = settled(body)
            return (
                [(tenths, 1.0 - P_SPECI_BODY), (alt, P_SPECI_BODY)],
                f"SPECI body {alt} vs T-group {tenths}",
            )
        return [(tenths, 1.0)], ""


_ASSESSED: dict[tuple[object, ...], Assessed] = {}
_ASSESSED_MAX = 20_000


def _minutes(facts: StationFacts) -> str:
    return "/".join(f":{m:02d}" for m in facts.routine_minutes)


def _whole_degree_f(body_c: float, settled: Callable[[float], int]) -> list[Outcome]:
    """A whole °C body could be any tenths in [body - 0.5, body + 0.5): its °F integers."""
    centre = settled(body_c)
    span = sorted({settled(body_c - 0.5), settled(body_c + 0.4), centre})
    others = [v for v in range(span[0], span[-1] + 1) if v != centre]
    if not others:
        return [(centre, 1.0)]
    share = (1.0 - P_WHOLE_F_CENTRE) / len(others)
    return [(centre, P_WHOLE_F_CENTRE), *((v, share) for v in others)]


def rule_for(resolution: ResolutionRule, facts: StationFacts | None = None) -> SettlingRule:
    extreme = "max" if resolution.extreme.value == "high" else "min"
    return SettlingRule(
        resolution.source,
        resolution.hourly_only,
        resolution.unit,
        resolution.rounding,
        extreme,
        facts,
    )
