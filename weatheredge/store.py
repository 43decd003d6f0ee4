"""The single SQLite writer.

Every write goes through one dedicated thread fed by a queue. sqlite3 calls block (fsync, a busy
lock, a slow disk), so they must never run on the event loop; and one writer, rather than a pool,
means our own writes never contend for SQLite's single write lock. The hot path only calls
:meth:`Store.submit`, which enqueues and returns at once.

Failure policy, per record, in queue order:

* a transient error (locked/busy, disk full, I/O error, read-only file) keeps the record at the
  head of the queue and retries it with capped exponential backoff: order matters (an update must
  follow its open) and the condition usually clears. Nothing behind it is lost meanwhile.
* a permanent error (constraint violation, unknown edge, bad value) would fail forever, so the
  record is logged with the error, counted in ``dropped`` and kept in ``dead_letters``.
* on :meth:`Store.close` the writer drains the queue; if a transient error outlasts the close
  timeout it gives up and logs how many records were lost.

Every failed attempt is counted in ``errors``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import queue
import sqlite3
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from db.migrations import apply_migrations
from db.transaction import immediate
from weatheredge.model.calibration import EmosParams
from weatheredge.model.diurnal_fit import DiurnalShape
from weatheredge.model.edge import Quote, Side
from weatheredge.model.market import BucketMarket, TemperatureEvent
from weatheredge.model.observations import Observation
from weatheredge.model.prices import from_micros

logger = logging.getLogger(__name__)


class StoreError(Exception):
    """A write was given up on (store closed) or could not be queued."""


class MissingRowError(Exception):
    """An update or close named an edge that is not open in the database."""


def utc_iso(at: dt.datetime) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``: sorts as text, parses with fromisoformat."""
    _require_aware(at)
    return at.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_edge_id() -> str:
    return uuid.uuid4().hex


def _require_aware(at: dt.datetime) -> None:
    # A naive time would be stored as if it were UTC and silently shift every report by the
    # host's offset, so reject it where the record is made.
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: pass a timezone-aware (UTC) time")


# --- records ---------------------------------------------------------------------------------


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


# --- writes (run on the writer thread, each inside one transaction) -----------------------------

_UPSERT_EVENT = """
INSERT INTO events (event_id, slug, title, city, date, extreme, unit, source, rounding, station,
                    hourly_only, first_seen, last_seen)
VALUES (:event_id, :slug, :title, :city, :date, :extreme, :unit, :source, :rounding, :station,
        :hourly_only, :seen, :seen)
ON CONFLICT (event_id) DO UPDATE SET
    slug = excluded.slug, title = excluded.title, city = excluded.city, date = excluded.date,
    extreme = excluded.extreme, unit = excluded.unit, source = excluded.source,
    rounding = excluded.rounding, station = excluded.station, hourly_only = excluded.hourly_only,
    last_seen = excluded.last_seen
"""

_INSERT_FORECAST = """
INSERT INTO forecasts (event_id, station, date, issued_at, members, models, mean, stdev,
                       kind, lead_days, model_means, spread, mu, sigma, observed_value)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

_UPDATE_EDGE = """
UPDATE edges SET last_price = ?, last_size = ?, prob = ?, last_edge = ?,
                 max_edge = MAX(max_edge, ?), updated_at = ?
WHERE edge_id = ? AND status = 'open'
"""

_CLOSE_EDGE = """
UPDATE edges SET status = 'closed', closed_at = ?, updated_at = ?, close_reason = ?
WHERE edge_id = ? AND status = 'open'
"""


def _write_event(db: sqlite_utils.Database, rec: EventSeen) -> None:
    ev, seen = rec.event, utc_iso(rec.seen_at)
    rule = ev.rule
    db.execute(
        _UPSERT_EVENT,
        {
            "event_id": ev.event_id,
            "slug": ev.slug,
            "title": ev.title,
            "city": ev.city,
            "date": ev.date.isoformat(),
            "extreme": rule.extreme.value,
            "unit": rule.unit.value,
            "source": rule.source.value,
            "rounding": rule.rounding.value,
            "station": rule.station,
            "hourly_only": int(rule.hourly_only),
            "seen": seen,
        },
    )
    if ev.markets:
        db.table("markets").upsert_all(
            [_market_row(ev.event_id, m, seen) for m in ev.markets], pk="market_id"
        )


def _market_row(event_id: str, m: BucketMarket, seen: str) -> dict[str, Any]:
    return {
        "market_id": m.market_id,
        "event_id": event_id,
        "condition_id": m.condition_id,
        "label": m.label,
        "bucket_lo": m.bucket.lo,
        "bucket_hi": m.bucket.hi,
        "yes_token": m.yes_token,
        "no_token": m.no_token,
        "tick": from_micros(m.tick),
        "min_size": from_micros(m.min_size),
        "fee_rate": m.fee_rate,
        "neg_risk": int(m.neg_risk),
        "accepting_orders": int(m.accepting_orders),
        "last_seen": seen,
    }


def _write_forecast(db: sqlite_utils.Database, rec: ForecastSnapshot) -> int:
    members = rec.members
    mean = statistics.fmean(members) if members else None
    stdev = statistics.stdev(members) if len(members) > 1 else (0.0 if members else None)
    cursor = db.execute(
        _INSERT_FORECAST,
        [
            rec.event_id,
            rec.station,
            rec.date.isoformat(),
            utc_iso(rec.issued_at),
            len(members),
            json.dumps(dict(rec.models), sort_keys=True),
            mean,
            stdev,
            rec.kind,
            rec.lead_days,
            None if rec.model_means is None else json.dumps(dict(rec.model_means), sort_keys=True),
            rec.spread,
            rec.mu,
            rec.sigma,
            rec.observed_value,
        ],
    )
    forecast_id = cursor.lastrowid
    assert forecast_id is not None
    rows = [{"forecast_id": forecast_id, "market_id": k, "prob": p} for k, p in rec.probs.items()]
    if rows:
        db.table("forecast_probs").insert_all(rows)
    return forecast_id


def _write_edge_opened(db: sqlite_utils.Database, rec: EdgeOpened) -> None:
    ev, m, at = rec.event, rec.market, utc_iso(rec.at)
    db.table("edges").insert(
        {
            "edge_id": rec.edge_id,
            "event_id": ev.event_id,
            "market_id": m.market_id,
            "city": ev.city,
            "date": ev.date.isoformat(),
            "bucket": m.label,
            "side": rec.side.value,
            "token_id": m.yes_token if rec.side is Side.YES else m.no_token,
            "status": "open",
            "opened_at": at,
            "updated_at": at,
            "closed_at": None,
            "open_price": rec.price,
            "last_price": rec.price,
            "open_size": rec.size,
            "last_size": rec.size,
            "prob": rec.prob,
            "open_edge": rec.edge,
            "last_edge": rec.edge,
            "max_edge": rec.edge,
            "fee_rate": rec.fee_rate,
            "forecast_id": rec.forecast_id,
            "latency_us": rec.latency_us,
            "close_reason": None,
            "notified": 0,
            "kind": rec.kind,
        }
    )


def _write_edge_updated(db: sqlite_utils.Database, rec: EdgeUpdated) -> None:
    at = utc_iso(rec.at)
    params = [rec.price, rec.size, rec.prob, rec.edge, rec.edge, at, rec.edge_id]
    if db.execute(_UPDATE_EDGE, params).rowcount == 0:
        raise MissingRowError(f"no open edge {rec.edge_id}")


def _write_edge_closed(db: sqlite_utils.Database, rec: EdgeClosed) -> None:
    at = utc_iso(rec.at)
    if db.execute(_CLOSE_EDGE, [at, at, rec.reason, rec.edge_id]).rowcount == 0:
        raise MissingRowError(f"no open edge {rec.edge_id}")


def _close_open_edges(db: sqlite_utils.Database, reason: str) -> None:
    at = utc_iso(dt.datetime.now(dt.UTC))
    sql = (
        "UPDATE edges SET status = 'closed', closed_at = ?, updated_at = ?, close_reason = ? "
        "WHERE closed_at IS NULL"
    )
    with immediate(db.conn):
        closed = db.execute(sql, [at, at, reason]).rowcount
    if closed:
        logger.warning("closed %d edge(s) left open by a process that did not stop", closed)


def _write_notification(db: sqlite_utils.Database, rec: NotificationResult) -> None:
    db.table("notifications").insert(
        {
            "edge_id": rec.edge_id,
            "kind": rec.kind,
            "title": rec.title,
            "body": rec.body,
            "sent_at": utc_iso(rec.sent_at),
            "ok": int(rec.ok),
            "attempts": rec.attempts,
            "error": rec.error,
        }
    )
    if rec.ok and rec.edge_id:
        db.execute("UPDATE edges SET notified = 1 WHERE edge_id = ?", [rec.edge_id])


def _write_observations(db: sqlite_utils.Database, rec: ObservationsSeen) -> None:
    received = utc_iso(rec.received_at)
    rows = [
        {
            "icao": o.icao,
            "observed_at": utc_iso(o.observed_at),
            "temp_c": o.temp_c,
            "tenths": int(o.tenths),
            "kind": o.kind,
            "raw": o.raw,
            "received_at": received,
        }
        for o in rec.observations
    ]
    if rows:
        # A report seen again keeps its first receipt time: that is when it became usable.
        db.table("observations").insert_all(rows, pk=("icao", "observed_at"), ignore=True)


def _write_extreme_changed(db: sqlite_utils.Database, rec: ExtremeChanged) -> None:
    db.table("extreme_changes").insert(
        {
            "event_id": rec.event_id,
            "station": rec.station,
            "observed_at": utc_iso(rec.observed_at),
            "received_at": utc_iso(rec.received_at),
            "old_value": rec.old_value,
            "new_value": rec.new_value,
            "latency_us": rec.latency_us,
            "dead_buckets": rec.dead_buckets,
        }
    )


def _write_report_timed(db: sqlite_utils.Database, rec: ReportTimed) -> None:
    published = None if rec.published_at is None else utc_iso(rec.published_at)
    db.table("report_timings").insert(
        {
            "station": rec.station,
            "observed_at": utc_iso(rec.observed_at),
            "published_at": published,
            "fetched_at": utc_iso(rec.fetched_at),
            "applied_at": utc_iso(rec.applied_at),
            "decided_at": utc_iso(rec.decided_at),
            "kind": rec.kind,
        },
        pk=("station", "observed_at"),
        ignore=True,  # the first time a report reached us is the one that raced
    )


def _write_diurnal(db: sqlite_utils.Database, rec: DiurnalSaved) -> None:
    row = {"station": rec.station, **dataclasses.asdict(rec.shape)}
    row["still_open"] = json.dumps(list(rec.shape.still_open))
    row["fitted_at"] = utc_iso(rec.fitted_at)
    db.table("diurnal_shapes").upsert(row, pk=("station", "extreme"))


def _write_settled(db: sqlite_utils.Database, rec: EventSettled) -> None:
    db.table("settlements").upsert(
        {
            "event_id": rec.event_id,
            "station": rec.station,
            "date": rec.date.isoformat(),
            "extreme": rec.extreme,
            "unit": rec.unit,
            "status": rec.status,
            "observed_value": rec.observed_value,
            "settled_value": rec.settled_value,
            "reports": rec.reports,
            "winning_market_id": rec.winning_market_id,
            "winning_label": rec.winning_label,
            "settled_at": utc_iso(rec.settled_at),
            "certain": None if rec.certain is None else int(rec.certain),
            "uncertain_reports": rec.uncertain_reports,
            "evidence": rec.evidence,
        },
        pk="event_id",
    )


def _write_assessed(db: sqlite_utils.Database, rec: ReportsAssessed) -> None:
    db.conn.executemany(
        "UPDATE observations SET settling = ?, settling_reason = ? "
        "WHERE icao = ? AND observed_at = ?",
        [(status, reason or None, icao, utc_iso(at)) for icao, at, status, reason in rec.rows],
    )


def _write_venue_checked(db: sqlite_utils.Database, rec: VenueChecked) -> None:
    db.execute(
        "UPDATE settlements SET venue_market_id = ?, agreement = ?, checked_at = ? "
        "WHERE event_id = ?",
        [
            rec.venue_market_id,
            None if rec.agreement is None else int(rec.agreement),
            utc_iso(rec.checked_at),
            rec.event_id,
        ],
    )


def _write_horizon(db: sqlite_utils.Database, rec: HorizonSnapshot) -> None:
    at = utc_iso(rec.at)
    rows = [
        {
            "event_id": rec.event_id,
            "horizon_h": rec.horizon_h,
            "market_id": market_id,
            "at": at,
            "prob": prob,
            "bid": bid,
            "ask": ask,
            "mid": mid,
        }
        for market_id, prob, bid, ask, mid in rec.rows
    ]
    if rows:
        db.table("horizon_snapshots").insert_all(
            rows, pk=("event_id", "horizon_h", "market_id"), ignore=True
        )


def _write_calibration(db: sqlite_utils.Database, rec: CalibrationSaved) -> None:
    p = rec.params
    db.table("calibration_params").upsert(
        {
            "station": rec.station,
            "extreme": rec.extreme,
            "unit": rec.unit,
            "lead_days": rec.lead_days,
            "a": p.a,
            "b": p.b,
            "c": p.c,
            "d": p.d,
            "x_ref": p.x_ref,
            "weights": json.dumps(dict(p.weights), sort_keys=True),
            "n": p.n,
            "crps": p.crps,
            "crps_raw": p.crps_raw,
            "fitted_at": utc_iso(rec.fitted_at),
        },
        pk=("station", "extreme", "unit", "lead_days"),
    )


_WRITERS: dict[type, Callable[[sqlite_utils.Database, Any], Any]] = {
    EventSeen: _write_event,
    ForecastSnapshot: _write_forecast,
    EdgeOpened: _write_edge_opened,
    EdgeUpdated: _write_edge_updated,
    EdgeClosed: _write_edge_closed,
    NotificationResult: _write_notification,
    ObservationsSeen: _write_observations,
    ReportsAssessed: _write_assessed,
    ExtremeChanged: _write_extreme_changed,
    ReportTimed: _write_report_timed,
    DiurnalSaved: _write_diurnal,
    EventSettled: _write_settled,
    VenueChecked: _write_venue_checked,
    HorizonSnapshot: _write_horizon,
    CalibrationSaved: _write_calibration,
}

# Primary result codes that describe the database's condition rather than the record: retrying
# the same record later can succeed. Anything else (constraint, SQL error, ...) never will.
_TRANSIENT_CODES = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
    }
)


def is_transient(exc: BaseException) -> bool:
    if not isinstance(exc, sqlite3.Error):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return isinstance(exc, sqlite3.OperationalError)
    return (code & 0xFF) in _TRANSIENT_CODES


# --- queue items -----------------------------------------------------------------------------


class _GaveUp(Exception):
    """Close's deadline passed while a transient error persisted."""


def _settle(fut: asyncio.Future[Any], value: Any, exc: BaseException | None) -> None:
    if fut.done():  # the awaiting caller was cancelled
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(value)


@dataclass(slots=True)
class _Reply:
    """A queued item whose outcome an awaiting coroutine wants (save_forecast, flush, close)."""

    record: Record | None  # None: a barrier, resolved once everything before it is done
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]

    def resolve(self, value: Any = None) -> None:
        self._post(value, None)

    def fail(self, exc: BaseException) -> None:
        self._post(None, exc)

    def _post(self, value: Any, exc: BaseException | None) -> None:
        # The loop may already be closed if the caller went away; nobody is waiting then.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(_settle, self.future, value, exc)


@dataclass(slots=True)
class _Stop:
    reply: _Reply


# --- the store -------------------------------------------------------------------------------


class Store:
    """Owns the database file. Create with :meth:`Store.open`; finish with ``await close()``."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        path: Path,
        *,
        retry_base_s: float = 0.05,
        retry_max_s: float = 5.0,
    ) -> None:
        self.path = path
        self._db = db
        self._retry_base_s = retry_base_s
        self._retry_max_s = retry_max_s
        self._queue: queue.SimpleQueue[Record | _Reply | _Stop] = queue.SimpleQueue()
        self._wake = threading.Event()  # interrupts a retry backoff when close() starts
        self._deadline: float | None = None  # monotonic time close() gives up at
        self._gave_up = False
        self._closing = False
        self._closed: asyncio.Future[None] | None = None
        self.written = 0
        self.errors = 0  # failed write attempts, transient or permanent
        self.dropped = 0  # records abandoned after a permanent error
        self.lost = 0  # records never written because close gave up on them
        # Submitted after close began. A separate counter from `lost`: that one belongs to the
        # writer thread, and `+=` from two threads could lose an increment.
        self.rejected = 0
        self.dead_letters: collections.deque[tuple[Record, str]] = collections.deque(maxlen=100)
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        busy_timeout_s: float = 5.0,
        retry_base_s: float = 0.05,
        retry_max_s: float = 5.0,
        close_open_edges: str | None = None,
    ) -> Store:
        """Open (creating if needed) the database, enable WAL, apply migrations, start the writer.

        ``close_open_edges``: the daemon is starting, so an edge still open was left so by a
        process that died without closing it; close every such edge with this reason before
        anything of this run is written.

        Blocks briefly: call at startup. Raises if the file cannot be opened or migrated.
        """
        path = Path(path)
        # check_same_thread=False only to hand the connection over: after open() returns, the
        # writer thread is its sole user.
        conn = sqlite3.connect(str(path), timeout=busy_timeout_s, check_same_thread=False)
        try:
            db = sqlite_utils.Database(conn)
            db.enable_wal()
            # WAL + NORMAL: commits skip the fsync; a power cut may lose the last few commits
            # but cannot corrupt the file. Acceptable for an edge log, and much faster.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            applied = apply_migrations(db)
            if close_open_edges is not None:
                _close_open_edges(db, close_open_edges)
        except BaseException:
            conn.close()
            raise
        if applied:
            logger.info("migrated %s: %s", path, ", ".join(applied))
        return cls(db, path, retry_base_s=retry_base_s, retry_max_s=retry_max_s)

    # -- event-loop side ----------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Items queued and not yet written (approximate; for health reporting)."""
        return self._queue.qsize()

    def submit(self, record: Record) -> None:
        """Queue a record for writing. Never blocks and never raises: safe on the hot path."""
        if self._closing:
            self.rejected += 1
            logger.error("store is closed; %s not written", describe(record))
            return
        self._queue.put(record)

    async def save_forecast(self, snapshot: ForecastSnapshot) -> int:
        """Write a forecast through the writer and return its generated ``forecast_id``.

        Raises the write's error if it failed permanently, StoreError if the store closed first.
        """
        if self._closing:
            raise StoreError("store is closed")
        result = await self._request(snapshot)
        assert isinstance(result, int)
        return result

    async def flush(self) -> None:
        """Wait until everything submitted before this call has been written (or dropped)."""
        if self._closing:
            await self._wait_closed()
            return
        await self._request(None)

    async def close(self, grace_s: float = 10.0) -> None:
        """Write everything still queued, then close the database. Idempotent.

        If a transient error persists for ``grace_s`` seconds, gives up and logs what was lost.
        """
        if not self._closing:
            self._closing = True
            loop = asyncio.get_running_loop()
            self._closed = loop.create_future()
            self._deadline = time.monotonic() + grace_s
            self._queue.put(_Stop(_Reply(None, loop, self._closed)))
            self._wake.set()
        await self._wait_closed()

    def stats(self) -> dict[str, int]:
        return {
            "pending": self.pending,
            "written": self.written,
            "errors": self.errors,
            "dropped": self.dropped,
            "lost": self.lost,
            "rejected": self.rejected,
        }

    async def _wait_closed(self) -> None:
        assert self._closed is not None
        await asyncio.shield(self._closed)

    async def _request(self, record: Record | None) -> Any:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._queue.put(_Reply(record, loop, fut))
        return await fut

    # -- writer thread ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, _Stop):
                self._finish(item.reply)
                return
            try:
                self._handle(item)
            except Exception:  # a bug in here must not kill the only writer
                logger.exception("store writer: unexpected error")

    def _handle(self, item: Record | _Reply) -> None:
        reply = item if isinstance(item, _Reply) else None
        record = item.record if isinstance(item, _Reply) else item
        if record is None:
            assert reply is not None
            reply.resolve()
            return
        if self._gave_up:
            self._lose(record, reply)
            return
        try:
            result = self._write_with_retry(record)
        except _GaveUp:
            self._gave_up = True
            self._lose(record, reply)
        except Exception as exc:
            self._drop(record, exc)
            if reply is not None:
                reply.fail(exc)
        else:
            self.written += 1
            if reply is not None:
                reply.resolve(result)

    def _write_with_retry(self, record: Record) -> Any:
        attempt = 0
        while True:
            attempt += 1
            try:
                with immediate(self._db.conn):
                    return _WRITERS[type(record)](self._db, record)
            except Exception as exc:
                self.errors += 1
                if not is_transient(exc):
                    raise
                self._backoff(record, attempt, exc)

    def _backoff(self, record: Record, attempt: int, exc: BaseException) -> None:
        delay = min(self._retry_max_s, self._retry_base_s * 2 ** (attempt - 1))
        if self._deadline is not None:
            delay = min(delay, self._deadline - time.monotonic())
            if delay <= 0:
                raise _GaveUp from exc
        logger.warning(
            "store write failed (attempt %d) for %s: %s [%s]; retrying in %.2fs",
            attempt,
            describe(record),
            exc,
            getattr(exc, "sqlite_errorname", type(exc).__name__),
            delay,
        )
        self._wake.wait(delay)
        self._wake.clear()

    def _drop(self, record: Record, exc: Exception) -> None:
        self.dropped += 1
        self.dead_letters.append((record, repr(exc)))
        logger.error("store dropped %s after a permanent error: %r", describe(record), exc)

    def _lose(self, record: Record, reply: _Reply | None) -> None:
        self.lost += 1
        if reply is not None:
            reply.fail(StoreError(f"store closed before {describe(record)} was written"))

    def _finish(self, reply: _Reply) -> None:
        if self.lost:
            logger.error("store closed with %d record(s) not written", self.lost)
        try:
            self._db.close()
        except sqlite3.Error as exc:
            logger.warning("closing %s: %s", self.path, exc)
        logger.info("store closed: %s", self.stats())
        reply.resolve()


# --- read helpers for the CLI (separate read-only connection) -------------------------------


def _open_read_only(path: str | Path) -> sqlite_utils.Database:
    # mode=ro so a typo'd path fails instead of creating an empty database, and so the CLI can
    # never take the write lock the daemon's writer needs.
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    return sqlite_utils.Database(sqlite3.connect(uri, uri=True), recursive_triggers=False)


def recent_edges(path: str | Path, limit: int = 50) -> list[dict[str, Any]]:
    """The most recently opened edge episodes, newest first."""
    db = _open_read_only(path)
    try:
        sql = "SELECT * FROM edges ORDER BY opened_at DESC, edge_id LIMIT ?"
        return list(db.query(sql, [limit]))
    finally:
        db.close()


def count_rows(path: str | Path, table: str) -> int:
    """Row count of one table. Raises ValueError for a table that does not exist."""
    db = _open_read_only(path)
    try:
        if table not in db.table_names():
            raise ValueError(f"no such table: {table!r}")
        return db.table(table).count
    finally:
        db.close()


# --- model read helpers (issue 4; read-only connection, call from a thread) ---------------------


def _rows(path: str | Path, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    db = _open_read_only(path)
    try:
        return list(db.query(sql, params or []))
    finally:
        db.close()


def unsettled_events(path: str | Path, up_to: dt.date) -> list[dict[str, Any]]:
    """Events on or before ``up_to`` with a station and no settlement row yet."""
    return _rows(
        path,
        "SELECT e.* FROM events e LEFT JOIN settlements s USING (event_id) "
        "WHERE s.event_id IS NULL AND e.station IS NOT NULL AND e.date <= ? "
        "ORDER BY e.date",
        [up_to.isoformat()],
    )


def unchecked_settlements(path: str | Path, since: dt.date) -> list[dict[str, Any]]:
    """Settled events whose venue resolution is not known yet."""
    return _rows(
        path,
        "SELECT s.*, e.slug FROM settlements s JOIN events e USING (event_id) "
        "WHERE s.status = 'settled' AND s.venue_market_id IS NULL AND s.date >= ?",
        [since.isoformat()],
    )


def event_markets(path: str | Path, event_id: str) -> list[dict[str, Any]]:
    """An event's bucket markets, lowest bucket first (NULL lower edge = the bottom tail)."""
    return _rows(
        path,
        "SELECT * FROM markets WHERE event_id = ? "
        "ORDER BY bucket_lo IS NOT NULL, bucket_lo, bucket_hi IS NULL, bucket_hi",
        [event_id],
    )


def training_rows(path: str | Path, since: dt.date) -> list[dict[str, Any]]:
    """For each settled event and lead, the last ensemble forecast at that lead and the truth."""
    return _rows(
        path,
        """
        SELECT s.station, s.extreme, s.unit, s.date, s.observed_value, f.lead_days,
               f.model_means, f.spread
        FROM settlements s
        JOIN forecasts f ON f.event_id = s.event_id
        WHERE s.status = 'settled' AND s.observed_value IS NOT NULL AND s.date >= ?
          AND f.kind = 'forecast' AND f.lead_days IS NOT NULL AND f.model_means IS NOT NULL
          AND f.issued_at = (
              SELECT max(g.issued_at) FROM forecasts g
              WHERE g.event_id = f.event_id AND g.kind = 'forecast'
                AND g.lead_days = f.lead_days)
        ORDER BY s.date
        """,
        [since.isoformat()],
    )


def saved_diurnal(path: str | Path) -> list[dict[str, Any]]:
    return _rows(path, "SELECT * FROM diurnal_shapes")


def diurnal_training(path: str | Path, since: dt.date) -> list[dict[str, Any]]:
    """Reports of the stations' settled days since ``since`` (a day's UTC span covers the
    local one: the caller keeps each report's local day and only the settled ones)."""
    return _rows(
        path,
        """
        SELECT o.icao AS station, o.observed_at, o.temp_c, d.date
        FROM observations o
        JOIN (SELECT DISTINCT station, date FROM settlements
              WHERE status = 'settled' AND date >= ?) d ON d.station = o.icao
        WHERE o.observed_at >= date(d.date, '-1 day') AND o.observed_at < date(d.date, '+2 day')
        ORDER BY o.icao, o.observed_at
        """,
        [since.isoformat()],
    )


def saved_calibration(path: str | Path) -> list[dict[str, Any]]:
    return _rows(path, "SELECT * FROM calibration_params")


def scoring_rows(path: str | Path) -> list[dict[str, Any]]:
    """Per settled event, horizon and bucket: our probability, the mid, and whether it won."""
    return _rows(
        path,
        """
        SELECT s.event_id, s.date, e.city, s.extreme, s.winning_market_id, s.agreement,
               h.horizon_h, h.market_id, h.prob, h.mid, m.bucket_lo, m.bucket_hi, m.label
        FROM settlements s
        JOIN events e USING (event_id)
        JOIN horizon_snapshots h ON h.event_id = s.event_id
        JOIN markets m ON m.market_id = h.market_id
        WHERE s.status = 'settled' AND s.winning_market_id IS NOT NULL
        ORDER BY s.event_id, h.horizon_h, m.bucket_lo IS NOT NULL, m.bucket_lo
        """,
    )


def settlement_summary(path: str | Path) -> dict[str, int]:
    """Counts of settled events and of agreement with the venue's own resolution."""
    rows = _rows(
        path,
        "SELECT count(*) AS settled, sum(agreement = 1) AS agree, sum(agreement = 0) AS disagree,"
        " sum(agreement IS NULL) AS unknown FROM settlements WHERE status = 'settled'",
    )
    return {k: int(v or 0) for k, v in rows[0].items()}
