"""A ledger file read or written from another process: the CLI's ``arm``, ``halt``,
``trades`` and ``pnl`` open short-lived connections of their own, never the daemon's."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlite_utils

from db.migrations import apply_migrations
from db.readonly import connect_read_only
from weatheredge.trading.ledger import get_state, put_state


def write_state(path: str | Path, key: str, value: str) -> None:
    """Set a state flag from another process (``weatheredge arm`` / ``halt``)."""
    conn = sqlite3.connect(str(path), timeout=5.0)
    try:
        apply_migrations(sqlite_utils.Database(conn))
        with conn:
            put_state(conn, key, value)
    finally:
        conn.close()


def read_state(path: str | Path, key: str) -> str | None:
    if not Path(path).exists():
        return None
    conn = connect_read_only(path, named_rows=False)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'trading_state'").fetchone():
            return None
        return get_state(conn, key)
    finally:
        conn.close()


def query(path: str | Path, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    conn = connect_read_only(path)
    try:
        return [dict(r) for r in conn.execute(sql, params or [])]
    finally:
        conn.close()
