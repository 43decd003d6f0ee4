"""Typed rows the store's read helpers hand to callers outside the store.

Each is built from the query's columns by field name, so a column added by a later migration
(``SELECT *``) is ignored rather than breaking the constructor.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self


class _FromRow:
    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls)})  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class TrainingRow(_FromRow):
    """A settled event's last ensemble forecast at one lead, and the observed truth."""

    station: str
    extreme: str
    unit: str
    date: str
    observed_value: float
    lead_days: int
    model_means: str | None  # JSON object model -> mean, as stored
    spread: float | None


@dataclass(frozen=True, slots=True)
class CalibrationRow(_FromRow):
    """Saved EMOS parameters of one (station, extreme, unit, lead)."""

    station: str
    extreme: str
    unit: str
    lead_days: int
    a: float
    b: float
    c: float
    d: float
    x_ref: float
    weights: str  # JSON object, as stored
    n: int
    crps: float | None
    crps_raw: float | None


@dataclass(frozen=True, slots=True)
class DiurnalReport(_FromRow):
    """One report of a station around a settled day (``date``: the settled local day)."""

    station: str
    observed_at: str
    temp_c: float | None
    date: str


@dataclass(frozen=True, slots=True)
class ScoringRow(_FromRow):
    """Per settled event, horizon and bucket: our probability, the mid, and the winner."""

    event_id: str
    date: str
    city: str
    extreme: str
    winning_market_id: str
    agreement: int | None
    horizon_h: int
    market_id: str
    prob: float | None
    mid: float | None
    bucket_lo: float | None
    bucket_hi: float | None
    label: str | None


@dataclass(frozen=True, slots=True)
class EdgeRow(_FromRow):
    """One edge episode as stored (``edges``), for the CLI, the status page's API and reports."""

    edge_id: str
    event_id: str
    market_id: str
    city: str
    date: str
    bucket: str
    side: str
    token_id: str
    status: str  # open | closed
    opened_at: str
    updated_at: str
    closed_at: str | None
    open_price: str  # exact decimal text
    last_price: str
    open_size: str
    last_size: str
    prob: float
    open_edge: float
    last_edge: float
    max_edge: float
    fee_rate: float
    forecast_id: int | None
    latency_us: int | None
    close_reason: str | None
    notified: int
    kind: str  # bucket | ladder

    def as_dict(self) -> dict[str, Any]:
        """Column -> value, in the table's order (what the JSON API serves)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class EventRow(_FromRow):
    """A discovered event as stored (``events``): what settlement needs to read its day."""

    event_id: str
    slug: str
    city: str
    date: str  # the local day, ISO
    extreme: str  # high | low
    unit: str
    source: str
    rounding: str
    station: str | None
    hourly_only: int | None  # 1: the NOAA "Show Hourly Data" view; NULL: decided by source


@dataclass(frozen=True, slots=True)
class MarketRow(_FromRow):
    """One bucket market of an event (``markets``); NULL bounds are open tails."""

    market_id: str
    label: str
    bucket_lo: int | None
    bucket_hi: int | None


@dataclass(frozen=True, slots=True)
class PendingVenueCheck(_FromRow):
    """A settled event whose venue resolution is not known yet, and what we settled it on."""

    event_id: str
    slug: str
    winning_market_id: str | None
    winning_label: str | None


@dataclass(frozen=True, slots=True)
class DiurnalShapeRow(_FromRow):
    """A station's saved diurnal shape (``diurnal_shapes``)."""

    station: str
    extreme: str  # max | min
    hour: float
    hour_sd: float
    amplitude_c: float
    amplitude_cv: float
    still_open: str  # JSON list, hours 0..24, as stored
    days: int
