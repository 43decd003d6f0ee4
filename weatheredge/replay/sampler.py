"""Our probability and the market's mid, sampled together on the replay's virtual clock.

Every ``model.snapshot_interval`` virtual seconds (the market snapshot job's cadence) each bucket
whose YES book is synced with a bid and an ask contributes one pair (our P(YES), the mid) to
running sums per (market, lead). Brier score and log loss are then exact from the sums once the
outcome is known (``p² - 2op + o`` and ``-(o·log p + (1-o)·log(1-p))`` are linear in the sums),
so a week of the whole universe costs a few numbers per bucket, not a list of samples.
Lead is the event's local day minus the local day at the sample: 0 (the running day), 1, 2+;
samples after the event's day has ended are not taken (reports, not forecasts, decide them).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from weatheredge.model.prices import MICRO

EPS = 1e-3  # probabilities are clipped to [EPS, 1-EPS] for log loss (the finest tick)
LEADS = ("running day", "1 day", "2+ days")


def lead_name(days: int) -> str:
    return LEADS[min(max(days, 0), 2)]


@dataclass(slots=True)
class Sums:
    """Running sums of one forecaster's probabilities: n, Σp, Σp², Σlog p, Σlog(1-p)."""

    n: int = 0
    p: float = 0.0
    p2: float = 0.0
    log_p: float = 0.0
    log_q: float = 0.0

    def add(self, p: float) -> None:
        c = min(max(p, EPS), 1 - EPS)
        self.n += 1
        self.p += p
        self.p2 += p * p
        self.log_p += math.log(c)
        self.log_q += math.log(1 - c)

    def brier(self, outcome: int) -> float:
        """Σ (p - o)² over the samples."""
        return self.p2 - 2 * outcome * self.p + outcome * self.n

    def log_loss(self, outcome: int) -> float:
        return -(self.log_p if outcome else self.log_q)


@dataclass(slots=True)
class Cell:
    ours: Sums = field(default_factory=Sums)
    market: Sums = field(default_factory=Sums)


@dataclass(slots=True)
class Samples:
    """(market id, lead name) -> the two forecasters' sums; market id -> (event id, city)."""

    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    markets: dict[str, tuple[str, str]] = field(default_factory=dict)
    yes_tokens: dict[str, str] = field(default_factory=dict)  # YES token -> market id
    no_tokens: dict[str, str] = field(default_factory=dict)  # NO token -> market id


class Sampler:
    def __init__(self, engine: Any, zone_of: Any, interval_ns: int) -> None:
        self._engine = engine
        self._zone_of = zone_of  # station ICAO -> IANA zone or None
        self.interval_ns = max(1, interval_ns)
        self.next_ns = 0
        self.samples = Samples()
        self._zones: dict[str, ZoneInfo | None] = {}

    def due(self, wall_ns: int) -> bool:
        return wall_ns >= self.next_ns

    def sample(self, wall_ns: int, *, counted: bool = True) -> None:
        """One sample of every priced bucket (``counted=False``: a warm-up's, skipped)."""
        self.next_ns = wall_ns + self.interval_ns
        if not counted:
            return
        market_state = self._engine.market
        now = dt.datetime.fromtimestamp(wall_ns / 1e9, dt.UTC)
        out = self.samples
        today: dict[ZoneInfo, dt.date] = {}  # per zone, not per event: ~30 zones, ~180 events
        for event in list(market_state.events().values()):
            zone = self._zone(event.rule.station)
            if zone is None:
                continue
            local = today.get(zone)
            if local is None:
                local = today[zone] = now.astimezone(zone).date()
            lead = (event.date - local).days
            if lead < 0:
                continue
            pricing = market_state.pricing(event.event_id)
            if pricing is None:
                continue
            name = lead_name(lead)
            for market in event.markets:
                prob = pricing.probs.get(market.market_id)
                if prob is None:
                    continue
                bid, ask = market_state.best(market.yes_token)
                if not bid or not ask:
                    continue
                key = (market.market_id, name)
                cell = out.cells.get(key)
                if cell is None:
                    cell = out.cells[key] = Cell()
                    out.markets[market.market_id] = (event.event_id, event.city)
                    out.yes_tokens[market.yes_token] = market.market_id
                    out.no_tokens[market.no_token] = market.market_id
                cell.ours.add(float(prob))
                cell.market.add((bid[0] + ask[0]) / 2 / MICRO)

    def remember_catalogue(self) -> None:
        """Every market the replay knew (not only the sampled ones): a fill's city."""
        out = self.samples
        for event in list(self._engine.market.events().values()):
            for market in event.markets:
                out.markets.setdefault(market.market_id, (event.event_id, event.city))
                out.yes_tokens.setdefault(market.yes_token, market.market_id)
                out.no_tokens.setdefault(market.no_token, market.market_id)

    def _zone(self, icao: str | None) -> ZoneInfo | None:
        if icao is None:
            return None
        if icao not in self._zones:
            name = self._zone_of(icao)
            self._zones[icao] = ZoneInfo(name) if name else None
        return self._zones[icao]
