"""Write transactions shared by every connection that writes the database."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator


@contextlib.contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction that takes the write lock up front.

    A deferred ``BEGIN`` that reads before it writes fails at once with SQLITE_BUSY when another
    connection (the trading ledger) committed in between; ``BEGIN IMMEDIATE`` instead waits for
    the lock through the busy timeout.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
