"""The one way to open the database read-only (CLI, status page, reports, Home Assistant)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect_read_only(
    path: str | Path, *, timeout: float = 5.0, named_rows: bool = True
) -> sqlite3.Connection:
    """A read-only connection: never creates a file, never takes the writer's lock.

    ``mode=ro`` so a typo'd path fails instead of creating an empty database, and so a reader
    can never take the write lock the daemon's writer needs. ``named_rows``: rows are
    :class:`sqlite3.Row` (index or name); off for callers that wrap the connection themselves.
    """
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout)
    if named_rows:
        conn.row_factory = sqlite3.Row
    return conn
