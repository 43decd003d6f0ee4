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
from weatheredge.model.diurnal_fit import DiurnalShape
from weatheredge.model.observations import Observation
from weatheredge.model.report_sources import SourceLedger
from weatheredge.model.settling import StationFacts

ParamKey = tuple[str, str, str, int]  # (station, extreme, unit, lead days)

# Why a running day has no price yet: its reports up to now are not in hand (issue 10).
AWAITING_REPORTS = "awaiting today's reports"


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
    stale: dict[str, str] = field(default_factory=dict)  # event_id -> why no edge
    # The observation job's index of running local days and when it last swept old forecasts:
    # it ticks every second, and walking 10,000 events each tick was most of the idle cost.
    running_days: object | None = None
    swept_mono: float = float("-inf")
    latencies_us: deque[int] = field(default_factory=lambda: deque(maxlen=500))
    snapshotted: set[tuple[str, int]] = field(default_factory=set)  # (event_id, horizon h)
    sources: SourceLedger = field(default_factory=SourceLedger)  # which feed reported what first
    # Issue 16: each station's learnt schedule, the stored reports it was learnt from, and how
    # often our settlements matched the venue's (per city and source).
    station_facts: dict[str, StationFacts] = field(default_factory=dict)
    report_history: dict[str, list[Observation]] = field(default_factory=dict)
    agreement: dict[str, object] | None = None
    # station -> when the request whose answer we hold was sent; dropped when a request for
    # the station fails, so its running days go back to "awaiting today's reports".
    fetched_at: dict[str, dt.datetime] = field(default_factory=dict)
    attempted_at: dict[str, dt.datetime] = field(default_factory=dict)  # station -> last try
    # station -> seconds from the service publishing a report to our decision on it.
    race: dict[str, deque[float]] = field(default_factory=dict)
    fetch_to_decision_us: deque[int] = field(default_factory=lambda: deque(maxlen=500))
    requests: deque[dt.datetime] = field(default_factory=lambda: deque(maxlen=5000))
    # (station, "max" | "min") -> its diurnal shape learnt from its own settled days.
    shapes: dict[tuple[str, str], DiurnalShape] = field(default_factory=dict)

    def in_hand(self, icao: str, day_start: dt.datetime) -> bool:
        """True once a request sent after ``day_start`` answered for this station."""
        fetched = self.fetched_at.get(icao)
        return fetched is not None and fetched >= day_start

    def record_race(self, icao: str, seconds: float) -> None:
        self.race.setdefault(icao, deque(maxlen=200)).append(seconds)

    def race_summary(self) -> dict[str, dict[str, float | int]]:
        """Per station: published -> decision p50/p90 in seconds over recent reports."""
        out: dict[str, dict[str, float | int]] = {}
        for icao, values in sorted(self.race.items()):
            if values:
                ordered = sorted(values)
                out[icao] = {
                    "p50_s": round(_rank(ordered, 0.5), 3),
                    "p90_s": round(_rank(ordered, 0.9), 3),
                    "reports": len(ordered),
                }
        return out

    def requests_per_hour(self, now: dt.datetime) -> int:
        since = now - dt.timedelta(hours=1)
        return sum(1 for t in self.requests if t >= since)

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

    def race_status(self) -> dict[str, object]:
        """Issue 10: events awaiting today's reports, published -> decision per station."""
        return {
            "awaiting_reports": sorted(
                e for e, why in self.stale.items() if why.startswith(AWAITING_REPORTS)
            ),
            "published_to_decision": self.race_summary(),
            "metar_requests_last_hour": self.requests_per_hour(dt.datetime.now(dt.UTC)),
        }


def _rank(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty list."""
    return ordered[max(0, min(len(ordered) - 1, int(q * len(ordered) + 0.999999) - 1))]
