"""Several feeds relaying the same station reports: merge, compare, and time them.

aviationweather is the primary METAR source and the NWS API the second (weather.md §2.4-2.5).
Both relay the same reports, so one report is one (station, observation time). The ledger keeps
which source delivered each report first and when, applies each report once, and flags a report
the sources disagree on (a different temperature for the same station and time):

* the first delivery of a report is applied, whichever source it came from;
* a later delivery by another source is a duplicate: compared, never applied twice; when it
  disagrees the primary's value wins (a secondary arriving first is replaced), and it is counted;
* the same source delivering a changed report is a correction and is applied.

Pure bookkeeping, no I/O: the observation job feeds it what each fetch returned.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import statistics
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from weatheredge.model.observations import Observation

logger = logging.getLogger(__name__)

Key = tuple[str, dt.datetime]  # (station, observed_at)


@dataclass(slots=True)
class _Seen:
    source: str  # the source whose value is held
    first_source: str
    first_at: dt.datetime  # when the first source's fetch returned it
    obs: Observation
    others: set[str] = field(default_factory=set)  # other sources that delivered it too
    disagreed: bool = False  # already counted (each poll re-delivers the last hours)


def same_reading(a: Observation, b: Observation) -> bool:
    """True when two deliveries of one report carry the same temperature.

    A source without the tenths (whole °C body) agrees with one holding them when the tenths
    round half-up to its whole degree.
    """
    if a.tenths == b.tenths:
        return abs(a.temp_c - b.temp_c) < 0.05
    tenths, whole = (a, b) if a.tenths else (b, a)
    return math.floor(tenths.temp_c + 0.5) == round(whole.temp_c)


@dataclass(slots=True)
class SourceLedger:
    primary: str = "aviationweather"
    _seen: dict[Key, _Seen] = field(default_factory=dict)
    delivered: Counter[str] = field(default_factory=Counter)  # reports delivered, per source
    first: Counter[str] = field(default_factory=Counter)  # reports a source delivered first
    both: int = 0  # reports delivered by more than one source
    leads: dict[str, deque[float]] = field(default_factory=dict)  # source -> s ahead, recent
    disagreements: int = 0
    recent_disagreements: deque[str] = field(default_factory=lambda: deque(maxlen=20))
    failures: Counter[str] = field(default_factory=Counter)  # failed fetches, per source
    fallbacks: int = 0  # fetches of the second source because the primary failed or lagged
    # (source, station) -> newest observation time that source delivered (where to resume).
    cursors: dict[tuple[str, str], dt.datetime] = field(default_factory=dict)

    def merge(
        self, source: str, observations: Iterable[Observation], fetched_at: dt.datetime
    ) -> list[Observation]:
        """The reports of this delivery to apply: new ones, corrections, primary overrides."""
        apply: list[Observation] = []
        for obs in observations:
            key = (obs.icao, obs.observed_at)
            self.delivered[source] += 1
            cursor = self.cursors.get((source, obs.icao))
            if cursor is None or obs.observed_at > cursor:
                self.cursors[(source, obs.icao)] = obs.observed_at
            seen = self._seen.get(key)
            if seen is None:
                self._seen[key] = _Seen(source, source, fetched_at, obs)
                self.first[source] += 1
                apply.append(obs)
                continue
            if source == seen.source:
                if obs != seen.obs:  # a correction (COR) from the same source
                    seen.obs = obs
                    apply.append(obs)
                continue
            if source not in seen.others and source != seen.first_source:
                seen.others.add(source)
                if len(seen.others) == 1:
                    self.both += 1
                    lead = (fetched_at - seen.first_at).total_seconds()
                    self.leads.setdefault(seen.first_source, deque(maxlen=500)).append(lead)
            if not seen.disagreed and not same_reading(obs, seen.obs):
                seen.disagreed = True
                self._disagree(source, obs, seen)
            if source == self.primary and obs != seen.obs:
                seen.source, seen.obs = source, obs
                apply.append(obs)
        return apply

    def _disagree(self, source: str, obs: Observation, seen: _Seen) -> None:
        self.disagreements += 1
        text = (
            f"{obs.icao} {obs.observed_at:%Y-%m-%d %H:%MZ}: {seen.source} {seen.obs.temp_c:g} °C,"
            f" {source} {obs.temp_c:g} °C"
        )
        self.recent_disagreements.append(text)
        logger.warning("report sources disagree: %s", text)

    def newest(self, icao: str) -> dt.datetime | None:
        """The newest report of ``icao`` any source delivered."""
        times = [t for (source, code), t in self.cursors.items() if code == icao]
        return max(times, default=None)

    def first_source(self, icao: str, observed_at: dt.datetime) -> str | None:
        seen = self._seen.get((icao, observed_at))
        return seen.first_source if seen else None

    def prune(self, before: dt.datetime) -> None:
        self._seen = {k: v for k, v in self._seen.items() if k[1] >= before}
        self.cursors = {k: t for k, t in self.cursors.items() if t >= before}

    def status(self) -> dict[str, object]:
        return {
            "delivered": dict(self.delivered),
            "first": dict(self.first),
            "both": self.both,
            # Median seconds the first source was ahead of the other, by the first source.
            "lead_p50_s": {s: round(statistics.median(v), 1) for s, v in self.leads.items() if v},
            "disagreements": self.disagreements,
            "recent_disagreements": list(self.recent_disagreements),
            "failures": dict(self.failures),
            "fallbacks": self.fallbacks,
        }
