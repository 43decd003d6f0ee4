"""In-memory model state the scheduled jobs share: forecast priors, observations, fitted params.

Plain data, no I/O. The forecast job writes priors, the observation job writes reports and
running extremes, the refit job writes EMOS parameters; every job reads what it needs.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from weatheredge.model.calibration import EmosParams
from weatheredge.model.observations import Observation
from weatheredge.model.report_sources import SourceLedger
from weatheredge.model.settling import StationFacts

ParamKey = tuple[str, str, str, int]  # (station, extreme, unit, lead days)


@dataclass(frozen=True, slots=True)
class EventPrior:
    """The forecast distribution of one event's latent extreme, before any observation."""

    cdf: Callable[[float], float]
    tail_sigma: float  # spread used when the day runs past the forecast
    forecast_id: int | None
    issued_mono: float  # time.monotonic() of the fetch (forecast age)
    issued_at: dt.datetime
    mu: float | None = None
    sigma: float | None = None


@dataclass(slots=True)
class LiveState:
    priors: dict[str, EventPrior] = field(default_factory=dict)  # event_id ->
    observations: dict[str, dict[dt.datetime, Observation]] = field(default_factory=dict)
    extremes: dict[str, int] = field(default_factory=dict)  # event_id -> last R priced with
    open_weights: dict[str, float] = field(default_factory=dict)  # event_id -> last w used
    params: dict[ParamKey, EmosParams] = field(default_factory=dict)
    last_poll: dt.datetime | None = None
    stale: dict[str, str] = field(default_factory=dict)  # event_id -> why no edge
    latencies_us: deque[int] = field(default_factory=lambda: deque(maxlen=500))
    snapshotted: set[tuple[str, int]] = field(default_factory=set)  # (event_id, horizon h)
    sources: SourceLedger = field(default_factory=SourceLedger)  # which feed reported what first
    # Issue 16: each station's learnt schedule, the stored reports it was learnt from, and how
    # often our settlements matched the venue's (per city and source).
    station_facts: dict[str, StationFacts] = field(default_factory=dict)
    report_history: dict[str, list[Observation]] = field(default_factory=dict)
    agreement: dict[str, object] | None = None

    def add_observations(self, observations: list[Observation]) -> set[str]:
        """Merge reports; returns the stations that got a report not seen before."""
        changed: set[str] = set()
        for obs in observations:
            seen = self.observations.setdefault(obs.icao, {})
            if seen.get(obs.observed_at) != obs:
                seen[obs.observed_at] = obs
                changed.add(obs.icao)
        return changed

    def station_reports(self, icao: str) -> list[Observation]:
        return sorted(self.observations.get(icao, {}).values(), key=lambda o: o.observed_at)

    def prune(self, before: dt.datetime) -> None:
        for icao, seen in self.observations.items():
            self.observations[icao] = {t: o for t, o in seen.items() if t >= before}

    def status(self) -> dict[str, object]:
        lat = sorted(self.latencies_us)
        return {
            "priced_events": len(self.priors),
            "stations_observed": len(self.observations),
            "conditioned_events": len(self.extremes),
            "stale": dict(self.stale),
            "calibrated_keys": sum(1 for p in self.params.values() if p.n),
            "obs_to_edge_p50_us": lat[len(lat) // 2] if lat else None,
            "stations": {k: f.as_dict() for k, f in sorted(self.station_facts.items())},
            "settlement_agreement": self.agreement,
        }
