"""The first schema (m001) and the helper every migration creates tables with.

Split from :mod:`db.migrations` (which keeps the ordered list of migrations): these bodies are
what shipped, unchanged.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.db import Table


def table(db: Database, name: str) -> Table:
    table = db[name]
    assert isinstance(table, Table), f"{name} is a view"
    return table


def create_events(db: Database) -> None:
    events = table(db, "events")
    events.create(
        {
            "event_id": str,
            "slug": str,
            "title": str,
            "city": str,
            "date": str,
            "extreme": str,
            "unit": str,
            "source": str,
            "rounding": str,
            "station": str,
            "first_seen": str,
            "last_seen": str,
        },
        pk="event_id",
        # station stays nullable: sources such as the Hong Kong Observatory have no ICAO code.
        not_null=[
            "slug",
            "title",
            "city",
            "date",
            "extreme",
            "unit",
            "source",
            "rounding",
            "first_seen",
            "last_seen",
        ],
        strict=True,
    )
    events.create_index(["city", "date"])


def create_markets(db: Database) -> None:
    markets = table(db, "markets")
    markets.create(
        {
            "market_id": str,
            "event_id": str,
            "condition_id": str,
            "label": str,
            "bucket_lo": int,
            "bucket_hi": int,
            "yes_token": str,
            "no_token": str,
            "tick": str,
            "min_size": str,
            "fee_rate": float,
            "neg_risk": int,
            "accepting_orders": int,
            "last_seen": str,
        },
        pk="market_id",
        foreign_keys=[("event_id", "events", "event_id")],
        # bucket_lo / bucket_hi stay nullable: NULL is an open tail ("43°F or below").
        not_null=[
            "event_id",
            "condition_id",
            "label",
            "yes_token",
            "no_token",
            "tick",
            "min_size",
            "fee_rate",
            "neg_risk",
            "accepting_orders",
            "last_seen",
        ],
        strict=True,
    )
    markets.create_index(["event_id"])


def create_forecasts(db: Database) -> None:
    # Raw DDL because sqlite-utils' create() has no public AUTOINCREMENT switch, and a plain
    # INTEGER PRIMARY KEY may hand out a deleted id again: edges.forecast_id must never come to
    # point at a different forecast after old forecasts are pruned.
    db.execute(
        "CREATE TABLE [forecasts] (\n"
        "   [forecast_id] INTEGER PRIMARY KEY AUTOINCREMENT,\n"
        "   [event_id] TEXT NOT NULL,\n"
        "   [station] TEXT,\n"
        "   [date] TEXT NOT NULL,\n"
        "   [issued_at] TEXT NOT NULL,\n"
        "   [members] INTEGER NOT NULL,\n"
        "   [models] TEXT NOT NULL,\n"
        "   [mean] REAL,\n"
        "   [stdev] REAL\n"
        ") STRICT"
    )
    table(db, "forecasts").create_index(["event_id", "issued_at"])


def create_forecast_probs(db: Database) -> None:
    table(db, "forecast_probs").create(
        {"forecast_id": int, "market_id": str, "prob": float},
        pk=("forecast_id", "market_id"),
        foreign_keys=[("forecast_id", "forecasts", "forecast_id")],
        not_null=["forecast_id", "market_id", "prob"],
        strict=True,
    )


def create_edges(db: Database) -> None:
    edges = table(db, "edges")
    edges.create(
        {
            "edge_id": str,
            "event_id": str,
            "market_id": str,
            "city": str,
            "date": str,
            "bucket": str,
            "side": str,
            "token_id": str,
            "status": str,
            "opened_at": str,
            "updated_at": str,
            "closed_at": str,
            "open_price": str,
            "last_price": str,
            "open_size": str,
            "last_size": str,
            "prob": float,
            "open_edge": float,
            "last_edge": float,
            "max_edge": float,
            "fee_rate": float,
            "forecast_id": int,
            "latency_us": int,
            "close_reason": str,
            "notified": int,
        },
        pk="edge_id",
        # closed_at / close_reason are NULL while open; forecast_id and latency_us are NULL when
        # the decision had no forecast row or no receive timestamp.
        not_null=[
            "event_id",
            "market_id",
            "city",
            "date",
            "bucket",
            "side",
            "token_id",
            "status",
            "opened_at",
            "updated_at",
            "open_price",
            "last_price",
            "open_size",
            "last_size",
            "prob",
            "open_edge",
            "last_edge",
            "max_edge",
            "fee_rate",
            "notified",
        ],
        defaults={"status": "open", "notified": 0},
        strict=True,
    )
    edges.create_index(["city", "date"])
    edges.create_index(["status"])
    edges.create_index(["opened_at"])


def create_notifications(db: Database) -> None:
    notifications = table(db, "notifications")
    notifications.create(
        {
            "id": int,
            "edge_id": str,
            "kind": str,
            "title": str,
            "body": str,
            "sent_at": str,
            "ok": int,
            "attempts": int,
            "error": str,
        },
        pk="id",
        not_null=["kind", "title", "body", "sent_at", "ok", "attempts"],
        strict=True,
    )
    notifications.create_index(["edge_id"])
