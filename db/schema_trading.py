"""The trading tables (migration m003, issue 5): what shipped, unchanged, moved out of
:mod:`db.migrations` (which keeps the ordered list of migrations)."""

from __future__ import annotations

from sqlite_utils import Database

from db.schema_core import table


def create_trading_tables(db: Database) -> None:
    """Money, prices and sizes are exact decimal text; times ISO-8601 UTC text."""
    table(db, "trade_episodes").create(
        {
            "episode_id": str,
            "kind": str,  # entry | exit | take_profit
            "edge_id": str,  # the edge episode an entry acts on; NULL for exits
            "token_id": str,
            "event_id": str,
            "outcome": str,  # YES | NO
            "status": str,  # open | closed
            "opened_at": str,
            "closed_at": str,
            "reason": str,
            "prob": float,
            "price": str,
        },
        pk="episode_id",
        not_null=["kind", "token_id", "event_id", "outcome", "status", "opened_at"],
        strict=True,
    )
    intents = table(db, "trade_intents")
    intents.create(
        {
            "intent_key": str,  # deterministic: <episode>:<kind>:<side>
            "episode_id": str,
            "kind": str,  # entry | exit | orphan (found at the venue, not ours)
            "mode": str,  # dry_run | paper | live
            "token_id": str,
            "market_id": str,
            "event_id": str,
            "city": str,
            "date": str,
            "bucket": str,
            "outcome": str,
            "side": str,  # BUY | SELL
            "price": str,
            "size": str,
            "prob": float,
            "edge": float,
            "reason": str,
            "limits": str,  # JSON: every limit checked and its headroom
            "status": str,
            "venue_order_id": str,
            "filled_size": str,
            "fees": str,
            "error": str,
            "attempts": int,
            "created_at": str,
            "updated_at": str,
        },
        pk="intent_key",
        not_null=[
            "episode_id",
            "kind",
            "mode",
            "token_id",
            "side",
            "price",
            "size",
            "status",
            "filled_size",
            "fees",
            "attempts",
            "created_at",
            "updated_at",
        ],
        defaults={"filled_size": "0", "fees": "0", "attempts": 0},
        strict=True,
    )
    intents.create_index(["status"])
    intents.create_index(["token_id"])
    intents.create_index(["venue_order_id"], unique=True)
    fills = table(db, "trade_fills")
    fills.create(
        {
            "trade_id": str,
            "intent_key": str,
            "venue_order_id": str,
            "token_id": str,
            "side": str,
            "price": str,
            "size": str,
            "fee": str,
            "realized_pnl": str,  # what this fill realised (sells) or paid in fees (buys)
            "status": str,  # MATCHED | MINED | CONFIRMED | RETRYING | FAILED
            "matched_at": str,
            "updated_at": str,
        },
        pk="trade_id",
        not_null=["token_id", "side", "price", "size", "fee", "realized_pnl", "status"],
        strict=True,
    )
    fills.create_index(["matched_at"])
    table(db, "trade_fill_events").create(
        {"trade_id": str, "status": str, "received_at": str},
        pk=("trade_id", "status"),
        not_null=["received_at"],
        strict=True,
    )
    table(db, "positions").create(
        {
            "token_id": str,
            "event_id": str,
            "market_id": str,
            "city": str,
            "date": str,
            "bucket": str,
            "outcome": str,
            "shares": str,
            "avg_price": str,
            "fees": str,
            "realized_pnl": str,
            "updated_at": str,
        },
        pk="token_id",
        not_null=["shares", "avg_price", "fees", "realized_pnl", "updated_at"],
        strict=True,
    )
    table(db, "risk_rejections").create(
        {
            "id": int,
            "at": str,
            "episode_id": str,
            "token_id": str,
            "side": str,
            "limit_name": str,
            "detail": str,
        },
        pk="id",
        not_null=["at", "limit_name"],
        strict=True,
    )
    table(db, "trading_state").create(
        {"key": str, "value": str, "updated_at": str},
        pk="key",
        not_null=["value", "updated_at"],
        strict=True,
    )
