"""The SQL of each record: one function per record type, run on the writer thread inside one
transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import statistics
from collections.abc import Callable
from typing import Any

import sqlite_utils

from db.transaction import immediate
from weatheredge.model.edge import Side
from weatheredge.model.market import BucketMarket
from weatheredge.model.prices import from_micros
from weatheredge.store.records import (
    CalibrationSaved,
    DiurnalSaved,
    EdgeClosed,
    EdgeOpened,
    EdgeUpdated,
    EventSeen,
    EventSettled,
    ExtremeChanged,
    ForecastSnapshot,
    HorizonSnapshot,
    NotificationResult,
    ObservationsSeen,
    ReportsAssessed,
    ReportTimed,
    VenueChecked,
)
from weatheredge.timestamps import utc_iso

# The writer's logger: these functions run on its thread, as part of its writes.
logger = logging.getLogger("weatheredge.store")


class MissingRowError(Exception):
    """An update or close named an edge that is not open in the database."""


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


def close_left_open(db: sqlite_utils.Database, reason: str) -> None:
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


WRITERS: dict[type, Callable[[sqlite_utils.Database, Any], Any]] = {
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
