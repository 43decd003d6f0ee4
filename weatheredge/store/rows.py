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
