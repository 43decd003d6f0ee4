"""Read helpers for the CLI, the jobs and the reports: each opens its own read-only connection,
so call them from a thread; none can take the writer's lock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlite_utils

from db.readonly import connect_read_only
from weatheredge.store.rows import (
    CalibrationRow,
    DiurnalReport,
    DiurnalShapeRow,
    EdgeRow,
    EventRow,
    MarketRow,
    PendingVenueCheck,
    ScoringRow,
    TrainingRow,
)
from weatheredge.timestamps import utc_iso


def _open_read_only(path: str | Path) -> sqlite_utils.Database:
    conn = connect_read_only(path, named_rows=False)
    return sqlite_utils.Database(conn, recursive_triggers=False)


def recent_edges(path: str | Path, limit: int = 50) -> list[EdgeRow]:
    """The most recently opened edge episodes, newest first."""
    sql = "SELECT * FROM edges ORDER BY opened_at DESC, edge_id LIMIT ?"
    return [EdgeRow.from_row(r) for r in _rows(path, sql, [limit])]


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


def unsettled_events(path: str | Path, up_to: dt.date) -> list[EventRow]:
    """Events on or before ``up_to`` with a station and no settlement row yet."""
    rows = _rows(
        path,
        "SELECT e.* FROM events e LEFT JOIN settlements s USING (event_id) "
        "WHERE s.event_id IS NULL AND e.station IS NOT NULL AND e.date <= ? "
        "ORDER BY e.date",
        [up_to.isoformat()],
    )
    return [EventRow.from_row(r) for r in rows]


def unchecked_settlements(path: str | Path, since: dt.date) -> list[PendingVenueCheck]:
    """Settled events whose venue resolution is not known yet."""
    rows = _rows(
        path,
        "SELECT s.*, e.slug FROM settlements s JOIN events e USING (event_id) "
        "WHERE s.status = 'settled' AND s.venue_market_id IS NULL AND s.date >= ?",
        [since.isoformat()],
    )
    return [PendingVenueCheck.from_row(r) for r in rows]


def event_markets(path: str | Path, event_id: str) -> list[MarketRow]:
    """An event's bucket markets, lowest bucket first (NULL lower edge = the bottom tail)."""
    rows = _rows(
        path,
        "SELECT * FROM markets WHERE event_id = ? "
        "ORDER BY bucket_lo IS NOT NULL, bucket_lo, bucket_hi IS NULL, bucket_hi",
        [event_id],
    )
    return [MarketRow.from_row(r) for r in rows]


def training_rows(
    path: str | Path, since: dt.date, until: dt.datetime | None = None
) -> list[TrainingRow]:
    """For each settled event and lead, the last ensemble forecast at that lead and the truth;
    with ``until``, only what was known then (settled and issued by then: a replay's refit at
    virtual time t never sees a later settlement or forecast)."""
    cut = utc_iso(until) if until is not None else "9999"
    rows = _rows(
        path,
        """
        SELECT s.station, s.extreme, s.unit, s.date, s.observed_value, f.lead_days,
               f.model_means, f.spread
        FROM settlements s
        JOIN forecasts f ON f.event_id = s.event_id
        WHERE s.status = 'settled' AND s.observed_value IS NOT NULL AND s.date >= ?
          AND s.settled_at <= ?
          AND f.kind = 'forecast' AND f.lead_days IS NOT NULL AND f.model_means IS NOT NULL
          AND f.issued_at = (
              SELECT max(g.issued_at) FROM forecasts g
              WHERE g.event_id = f.event_id AND g.kind = 'forecast'
                AND g.lead_days = f.lead_days AND g.issued_at <= ?)
        ORDER BY s.date
        """,
        [since.isoformat(), cut, cut],
    )
    return [TrainingRow.from_row(r) for r in rows]


def saved_diurnal(path: str | Path) -> list[DiurnalShapeRow]:
    return [DiurnalShapeRow.from_row(r) for r in _rows(path, "SELECT * FROM diurnal_shapes")]


def diurnal_training(
    path: str | Path, since: dt.date, until: dt.datetime | None = None
) -> list[DiurnalReport]:
    """Reports of the stations' settled days since ``since`` (a day's UTC span covers the
    local one: the caller keeps each report's local day and only the settled ones); with
    ``until``, only days settled and reports observed by then."""
    cut = utc_iso(until) if until is not None else "9999"
    rows = _rows(
        path,
        """
        SELECT o.icao AS station, o.observed_at, o.temp_c, d.date
        FROM observations o
        JOIN (SELECT DISTINCT station, date FROM settlements
              WHERE status = 'settled' AND date >= ? AND settled_at <= ?) d ON d.station = o.icao
        WHERE o.observed_at >= date(d.date, '-1 day') AND o.observed_at < date(d.date, '+2 day')
          AND o.observed_at <= ?
        ORDER BY o.icao, o.observed_at
        """,
        [since.isoformat(), cut, cut],
    )
    return [DiurnalReport.from_row(r) for r in rows]


def saved_calibration(path: str | Path) -> list[CalibrationRow]:
    return [CalibrationRow.from_row(r) for r in _rows(path, "SELECT * FROM calibration_params")]


def scoring_rows(path: str | Path) -> list[ScoringRow]:
    """Per settled event, horizon and bucket: our probability, the mid, and whether it won."""
    rows = _rows(
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
    return [ScoringRow.from_row(r) for r in rows]


def settlement_summary(path: str | Path) -> dict[str, int]:
    """Counts of settled events and of agreement with the venue's own resolution."""
    rows = _rows(
        path,
        "SELECT count(*) AS settled, sum(agreement = 1) AS agree, sum(agreement = 0) AS disagree,"
        " sum(agreement IS NULL) AS unknown FROM settlements WHERE status = 'settled'",
    )
    return {k: int(v or 0) for k, v in rows[0].items()}
