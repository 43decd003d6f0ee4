"""Schema migrations for the weatheredge database, run by sqlite-utils' built-in ``Migrations``.

Rules for editing this file:

* Never change a migration that has shipped: databases in the field record it as applied by name
  and will not run it again. Add a new ``@migrations()`` function instead.
* Every table is created with explicit columns, types and keys (``STRICT``), so a write with a
  wrong type fails loudly instead of sqlite-utils sniffing a new column into existence.
* Times are ISO-8601 UTC text with milliseconds (``2026-11-25T14:03:07.412Z``); prices, sizes and
  ticks are exact decimal text (``"0.41"``), never floats. See ``db/README.md``.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from db.schema_core import (
    create_edges,
    create_events,
    create_forecast_probs,
    create_forecasts,
    create_markets,
    create_notifications,
    table,
)
from db.schema_trading import create_trading_tables

MIGRATION_SET = "weatheredge"

migrations = Migrations(MIGRATION_SET)

# Names of the application's tables, in creation order (parents before children).
TABLES = ("events", "markets", "forecasts", "forecast_probs", "edges", "notifications")


@migrations()
def m001_initial_schema(db: Database) -> None:
    create_events(db)
    create_markets(db)
    create_forecasts(db)
    create_forecast_probs(db)
    create_edges(db)
    create_notifications(db)


# --- the model (issue 4): observations, settlements, horizon snapshots, calibration ----------

MODEL_TABLES = (
    "observations",
    "extreme_changes",
    "settlements",
    "horizon_snapshots",
    "calibration_params",
)


@migrations()
def m002_model(db: Database) -> None:
    """Observations, settlement, scoring snapshots and EMOS parameters; edge and forecast kinds."""
    table(db, "observations").create(
        {
            "icao": str,
            "observed_at": str,
            "temp_c": float,  # tenths when tenths = 1, else the whole-degree body value
            "tenths": int,
            "kind": str,  # METAR | SPECI
            "raw": str,
            "received_at": str,
        },
        pk=("icao", "observed_at"),
        not_null=["temp_c", "tenths", "kind", "raw", "received_at"],
        strict=True,
    )
    table(db, "extreme_changes").create(
        {
            "id": int,
            "event_id": str,
            "station": str,
            "observed_at": str,  # the report that moved the running extreme
            "received_at": str,  # when our poll got it
            "old_value": int,  # NULL: the first report of the day
            "new_value": int,
            "latency_us": int,  # report in hand -> edges re-evaluated
            "dead_buckets": int,
        },
        pk="id",
        not_null=["event_id", "station", "observed_at", "received_at", "new_value"],
        strict=True,
    )
    table(db, "extreme_changes").create_index(["event_id"])
    table(db, "settlements").create(
        {
            "event_id": str,
            "station": str,
            "date": str,
            "extreme": str,
            "unit": str,
            "status": str,  # settled | no_data
            "observed_value": float,  # the extreme report in the market unit, before rounding
            "settled_value": int,
            "reports": int,
            "winning_market_id": str,
            "winning_label": str,
            "venue_market_id": str,  # NULL until the venue has resolved
            "agreement": int,  # 1 / 0; NULL while the venue has not resolved
            "settled_at": str,
            "checked_at": str,
        },
        pk="event_id",
        not_null=["station", "date", "extreme", "unit", "status", "settled_at"],
        strict=True,
    )
    table(db, "horizon_snapshots").create(
        {
            "event_id": str,
            "horizon_h": int,  # hours before the local day ends
            "market_id": str,
            "at": str,
            "prob": float,  # ours at that moment (NULL: not priced)
            "bid": str,
            "ask": str,
            "mid": float,
        },
        pk=("event_id", "horizon_h", "market_id"),
        not_null=["at"],
        strict=True,
    )
    table(db, "calibration_params").create(
        {
            "station": str,
            "extreme": str,
            "unit": str,
            "lead_days": int,
            "a": float,
            "b": float,
            "c": float,
            "d": float,
            "x_ref": float,
            "weights": str,  # JSON model -> weight
            "n": int,
            "crps": float,
            "crps_raw": float,
            "fitted_at": str,
        },
        pk=("station", "extreme", "unit", "lead_days"),
        not_null=["a", "b", "c", "d", "x_ref", "weights", "n", "fitted_at"],
        strict=True,
    )
    db.execute("ALTER TABLE edges ADD COLUMN kind TEXT NOT NULL DEFAULT 'bucket'")
    db.execute("ALTER TABLE forecasts ADD COLUMN kind TEXT NOT NULL DEFAULT 'forecast'")
    for column, sql_type in (
        ("lead_days", "INTEGER"),
        ("model_means", "TEXT"),
        ("spread", "REAL"),
        ("mu", "REAL"),
        ("sigma", "REAL"),
        ("observed_value", "INTEGER"),
    ):
        db.execute(f"ALTER TABLE forecasts ADD COLUMN {column} {sql_type}")


# --- trading (issue 5): write-ahead intents, fills, positions, limits, kill switch -----------

TRADING_TABLES = (
    "trade_episodes",
    "trade_intents",
    "trade_fills",
    "trade_fill_events",
    "positions",
    "risk_rejections",
    "trading_state",
)


@migrations()
def m003_trading(db: Database) -> None:
    """Money, prices and sizes are exact decimal text; times ISO-8601 UTC text."""
    create_trading_tables(db)


# --- restart idempotence (issue 13): the paper venue's memory survives a restart ------------

PAPER_TABLES = ("paper_levels", "paper_trades", "paper_orders", "paper_marks")


@migrations()
def m004_paper_venue(db: Database) -> None:
    """What paper orders took from each book level, and the paper trades themselves: a real
    venue remembers both across our restarts, so the paper venue must too."""
    table(db, "paper_levels").create(
        {
            "token_id": str,
            "side": str,  # BUY (took asks) | SELL (took bids)
            "price": str,
            "seen": str,  # the level's size when we took from it; a new size is new liquidity
            "taken": str,
            "updated_at": str,
        },
        pk=("token_id", "side", "price"),
        not_null=["seen", "taken", "updated_at"],
        strict=True,
    )
    table(db, "paper_trades").create(
        {
            "trade_id": str,
            "order_id": str,
            "token_id": str,
            "side": str,
            "price": str,
            "size": str,
            "status": str,
            "created_at": str,
        },
        pk="trade_id",
        not_null=["order_id", "token_id", "side", "price", "size", "status", "created_at"],
        strict=True,
    )


# --- settling reports (issue 16) ------------------------------------------------------------


@migrations()
def m005_settling_reports(db: Database) -> None:
    """Issue 16: which reports settle. The event's "hourly data" clause, each report's settling
    status under its station's rule, and the evidence behind each settlement."""
    table(db, "events").add_column("hourly_only", int)  # 1: NOAA "Show Hourly Data" view
    observations = table(db, "observations")
    observations.add_column("settling", str)  # counts | uncertain | excluded; NULL: not assessed
    observations.add_column("settling_reason", str)
    settlements = table(db, "settlements")
    settlements.add_column("certain", int)  # 1: every report involved certainly counts
    settlements.add_column("uncertain_reports", int)
    settlements.add_column("evidence", str)  # JSON: the reports that set or could change it


# --- the observation race (issue 10) ----------------------------------------------------------


@migrations()
def m006_observation_race(db: Database) -> None:
    """Issue 10: every report's observed -> published -> fetched -> applied -> decided times;
    each station's learnt diurnal shape."""
    table(db, "report_timings").create(
        {
            "station": str,
            "observed_at": str,
            "published_at": str,  # the service's receipt time (aviationweather receiptTime)
            "fetched_at": str,  # our request's answer in hand
            "applied_at": str,  # merged into the running extreme, event priced
            "decided_at": str,  # the engine re-evaluated the station's events' edges
            "kind": str,  # METAR | SPECI
        },
        pk=("station", "observed_at"),
        not_null=["fetched_at", "applied_at", "decided_at", "kind"],
        strict=True,
    )
    table(db, "report_timings").create_index(["published_at"])
    table(db, "diurnal_shapes").create(
        {
            "station": str,
            "extreme": str,  # max | min
            "hour": float,  # usual local hour of the day's extreme report
            "hour_sd": float,
            "amplitude_c": float,  # mean max - min of the day's reports
            "amplitude_cv": float,
            "still_open": str,  # JSON: P(a later report beats the running extreme), hours 0..24
            "days": int,  # settled days behind the fit
            "fitted_at": str,
        },
        pk=("station", "extreme"),
        not_null=["hour", "hour_sd", "amplitude_c", "amplitude_cv", "still_open", "days"],
        strict=True,
    )


# --- maker mode (issue 14) ---------------------------------------------------------------------


@migrations()
def m007_quotes(db: Database) -> None:
    """Issue 14: every quote action of maker mode, in order. ``place``: a quote accepted (its
    new order id); ``replace``: written before the old order (its id) is cancelled to move it,
    with the new price and size; ``cancel``: written before a quote is pulled; ``fill``: a fill
    of a resting quote (the fill's price and size); ``reject``: the venue refused a quote."""
    quotes = table(db, "quote_actions")
    quotes.create(
        {
            "id": int,
            "at": str,  # ISO-8601 UTC
            "event_id": str,
            "token_id": str,
            "side": str,  # BUY
            "outcome": str,  # YES | NO
            "action": str,  # place | replace | cancel | fill | reject
            "price_micros": int,
            "size_micros": int,
            "order_id": str,
            "reason": str,
        },
        pk="id",
        not_null=["at", "token_id", "side", "action"],
        strict=True,
    )
    quotes.create_index(["at"])
    quotes.create_index(["event_id", "at"])


# --- resting paper orders (issue 14) -------------------------------------------------------


@migrations()
def m008_paper_orders(db: Database) -> None:
    """Issue 14: the paper venue's resting orders and their queue positions (a restart keeps
    its place in the queue, as a real venue would), the role of each paper trade, and the mid
    at and after each paper maker fill (the backtest's adverse selection)."""
    table(db, "paper_orders").create(
        {
            "order_id": str,
            "token_id": str,
            "side": str,  # BUY | SELL
            "price": str,
            "size": str,
            "left_size": str,  # not yet filled
            "ahead": str,  # queue ahead of us at our level (docs/fill-model.md)
            "level": str,  # the level's displayed size as last seen
            "forced": str,  # queue ahead removed by a shrink, awaiting its print
            "forced_ns": int,
            "fills": int,
            "status": str,  # open | filled | cancelled
            "created_ms": int,
        },
        pk="order_id",
        not_null=["token_id", "side", "price", "size", "left_size", "ahead", "level", "status"],
        strict=True,
    )
    table(db, "paper_orders").create_index(["status"])
    table(db, "paper_trades").add_column("role", str)  # TAKER | MAKER; NULL: TAKER (m004)
    table(db, "paper_marks").create(
        {"trade_id": str, "horizon_s": int, "at": str, "mid": str},
        pk=("trade_id", "horizon_s"),
        not_null=["at", "mid"],
        strict=True,
    )


# --- maker rebates (issue 14) ---------------------------------------------------------------


@migrations()
def m009_quote_rebates(db: Database) -> None:
    """Issue 14: the estimated maker rebate of each quote fill (exact decimal text, pUSD;
    docs/strategy.md says why it is an estimate)."""
    table(db, "quote_actions").add_column("rebate", str)


def apply_migrations(db: Database) -> list[str]:
    """Apply pending migrations; return the names applied (empty when already up to date)."""
    pending = [m.name for m in migrations.pending(db)]
    migrations.apply(db)
    return pending


def pending_migrations(db: Database) -> list[str]:
    return [m.name for m in migrations.pending(db)]
