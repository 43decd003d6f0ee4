"""The typed records jobs and the engine submit to the store (one per kind of fact)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from weatheredge.model.calibration import EmosParams
from weatheredge.model.diurnal_fit import DiurnalShape
from weatheredge.model.edge import Quote, Side
from weatheredge.model.market import BucketMarket, TemperatureEvent
from weatheredge.model.observations import Observation
from weatheredge.model.prices import from_micros
from weatheredge.timestamps import require_aware as _require_aware


def new_edge_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class EventSeen:
    """Upsert an event and its markets; ``first_seen`` is kept, ``last_seen`` moves."""

    event: TemperatureEvent
    seen_at: dt.datetime

    def __post_init__(self) -> None:
        _require_aware(self.seen_at)


@dataclass(frozen=True, slots=True)
class ForecastSnapshot:
    event_id: str
    station: str | None
    date: dt.date
    issued_at: dt.datetime
    members: tuple[float, ...]
    models: Mapping[str, int] | tuple[tuple[str, int], ...]  # model -> member count
    probs: Mapping[str, float]  # market_id -> probability that YES pays
    # The model's view (issue 4): "forecast" (ensemble refresh) or "observed" (re-priced on a
    # new running extreme), lead in local days, per-model means, pooled spread, EMOS mu/sigma.
    kind: str = "forecast"
    lead_days: int | None = None
    model_means: Mapping[str, float] | None = None
    spread: float | None = None
    mu: float | None = None
    sigma: float | None = None
    observed_value: int | None = None  # the running extreme conditioned on, if any

    def __post_init__(self) -> None:
        _require_aware(self.issued_at)


@dataclass(frozen=True, slots=True)
class EdgeOpened:
    edge_id: str
    event: TemperatureEvent
    market: BucketMarket
    side: Side
    price: str  # exact decimal, e.g. "0.41"
    size: str  # shares, exact decimal
    prob: float
    edge: float
    fee_rate: float
    forecast_id: int | None
    latency_us: int | None  # frame receipt to decision
    at: dt.datetime
    kind: str = "bucket"  # "bucket" (model edge) or "ladder" (model-free, whole event)

    def __post_init__(self) -> None:
        _require_aware(self.at)

    @classmethod
    def from_quote(
        cls,
        edge_id: str,
        event: TemperatureEvent,
        market: BucketMarket,
        q: Quote,
        *,
        forecast_id: int | None,
        latency_us: int | None,
        at: dt.datetime,
        kind: str = "bucket",
    ) -> EdgeOpened:
        return cls(
            edge_id=edge_id,
            event=event,
            market=market,
            side=q.side,
            price=from_micros(q.price),
            size=from_micros(q.size),
            prob=q.prob,
            edge=q.edge,
            fee_rate=market.fee_rate,
            forecast_id=forecast_id,
            latency_us=latency_us,
            at=at,
            kind=kind,
        )


@dataclass(frozen=True, slots=True)
class EdgeUpdated:
    edge_id: str
    price: str
    size: str
    prob: float
    edge: float
    at: dt.datetime

    def __post_init__(self) -> None:
        _require_aware(self.at)

    @classmethod
    def from_quote(cls, edge_id: str, q: Quote, at: dt.datetime) -> EdgeUpdated:
        return cls(edge_id, from_micros(q.price), from_micros(q.size), q.prob, q.edge, at)


@dataclass(frozen=True, slots=True)
class EdgeClosed:
    edge_id: str
    reason: str
    at: dt.datetime

    def __post_init__(self) -> None:
        _require_aware(self.at)


@dataclass(frozen=True, slots=True)
class NotificationResult:
    edge_id: str | None
    kind: str  # "open", "close", ...
    title: str
    body: str
    sent_at: dt.datetime
    ok: bool
    attempts: int
    error: str | None = None  # already redacted by the notifier: never a URL or token

    def __post_init__(self) -> None:
        _require_aware(self.sent_at)


# --- model records (issue 4): observations, extremes, settlements, snapshots, parameters --------


@dataclass(frozen=True, slots=True)
class ObservationsSeen:
    """Station reports as polled (upserted by station and observation time)."""

    observations: tuple[Observation, ...]
    received_at: dt.datetime

    def __post_init__(self) -> None:
        _require_aware(self.received_at)


@dataclass(frozen=True, slots=True)
class ExtremeChanged:
    """A report moved an event's running extreme; edges were re-evaluated ``latency_us`` later."""

    event_id: str
    station: str
    observed_at: dt.datetime
    received_at: dt.datetime
    old_value: int | None
    new_value: int
    latency_us: int | None
    dead_buckets: int

    def __post_init__(self) -> None:
        _require_aware(self.observed_at)
        _require_aware(self.received_at)


@dataclass(frozen=True, slots=True)
class EventSettled:
    event_id: str
    station: str
    date: dt.date
    extreme: str
    unit: str
    status: str  # "settled" | "no_data"
    observed_value: float | None
    settled_value: int | None
    reports: int
    winning_market_id: str | None
    winning_label: str | None
    settled_at: dt.datetime
    certain: bool | None = None  # every report involved certainly counts (issue 16)
    uncertain_reports: int = 0
    evidence: str | None = None  # JSON list of the reports that set or could change the value

    def __post_init__(self) -> None:
        _require_aware(self.settled_at)


@dataclass(frozen=True, slots=True)
class ReportsAssessed:
    """Each report's settling status under its station's rule: (icao, observed_at, status,
    reason). Stored on the report, so an uncertain one stays marked."""

    rows: tuple[tuple[str, dt.datetime, str, str], ...]


@dataclass(frozen=True, slots=True)
class VenueChecked:
    """The venue's own resolution of a settled event and whether it matches ours."""

    event_id: str
    venue_market_id: str | None
    agreement: bool | None
    checked_at: dt.datetime

    def __post_init__(self) -> None:
        _require_aware(self.checked_at)


@dataclass(frozen=True, slots=True)
class HorizonSnapshot:
    """Our probability and the book's mid for every bucket, a fixed time before the day ends."""

    event_id: str
    horizon_h: int
    at: dt.datetime
    rows: tuple[tuple[str, float | None, str | None, str | None, float | None], ...]
    # (market_id, our prob, best bid, best ask, mid)

    def __post_init__(self) -> None:
        _require_aware(self.at)


@dataclass(frozen=True, slots=True)
class CalibrationSaved:
    station: str
    extreme: str
    unit: str
    lead_days: int
    params: EmosParams
    fitted_at: dt.datetime

    def __post_init__(self) -> None:
        _require_aware(self.fitted_at)


@dataclass(frozen=True, slots=True)
class ReportTimed:
    """One report's path (issue 10): observed, published by the service, fetched by us,
    applied to the running extreme, decided on (edges re-evaluated). ``published_at`` is None
    when the source gives no publication time."""

    station: str
    observed_at: dt.datetime
    published_at: dt.datetime | None
    fetched_at: dt.datetime
    applied_at: dt.datetime
    decided_at: dt.datetime
    kind: str

    def __post_init__(self) -> None:
        for at in (self.observed_at, self.fetched_at, self.applied_at, self.decided_at):
            _require_aware(at)


@dataclass(frozen=True, slots=True)
class DiurnalSaved:
    """A station's learnt diurnal shape (issue 10 §4), one row per station and extreme."""

    station: str
    shape: DiurnalShape
    fitted_at: dt.datetime

    def __post_init__(self) -> None:
        _require_aware(self.fitted_at)


ModelRecord = (
    ReportTimed
    | DiurnalSaved
    | ObservationsSeen
    | ReportsAssessed
    | ExtremeChanged
    | EventSettled
    | VenueChecked
    | HorizonSnapshot
    | CalibrationSaved
)


Record = (
    EventSeen
    | ForecastSnapshot
    | EdgeOpened
    | EdgeUpdated
    | EdgeClosed
    | NotificationResult
    | ModelRecord
)


def describe(record: Record) -> str:
    """Short identification of a record for logs (never the whole event tree)."""
    name = type(record).__name__
    match record:
        case EventSeen():
            return f"{name}({record.event.event_id})"
        case ForecastSnapshot():
            return f"{name}({record.event_id} {record.issued_at.isoformat()})"
        case EdgeOpened() | EdgeUpdated() | EdgeClosed():
            return f"{name}({record.edge_id})"
        case NotificationResult():
            return f"{name}({record.edge_id} {record.kind})"
    return name
