"""The trading ledger: write-ahead order intents, fills, positions, limits hit, kill-switch state.

It deliberately has its own SQLite connection and its own single thread, rather than going
through :class:`weatheredge.store.Store`'s queue: an intent must be *committed* before its order
is sent, and that commit must neither wait behind a backlog of edge records nor be lost with a
queue on a crash. The connection runs with ``synchronous=FULL`` so a committed intent survives a
crash of the process (and of the machine). Each call is one short transaction, so the edge
writer and this one only ever contend for milliseconds (``busy_timeout`` covers that).

Nothing secret is ever written here: no key, no API secret, no order signature.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from db.migrations import PAPER_TABLES, apply_migrations
from db.transaction import immediate
from weatheredge.clock import SYSTEM, Clock
from weatheredge.timestamps import utc_iso

T = TypeVar("T")

# Intent lifecycle. "pending" is committed before anything is sent; "sending" is committed right
# before the request goes out, so after a crash "pending" means never sent and "sending" means
# maybe sent: reconcile against the venue.
PENDING, SENDING = "pending", "sending"
OPEN, PARTIAL, FILLED = "open", "partial", "filled"
REJECTED, CANCELLED, FAILED, ABANDONED, UNKNOWN = (
    "rejected",
    "cancelled",
    "failed",
    "abandoned",
    "unknown",
)
DRY_RUN = "dry_run"
WORKING = (PENDING, SENDING, OPEN, UNKNOWN)  # may still become (more) filled
UNRESOLVED = (PENDING, SENDING, UNKNOWN)


_clock: Clock = SYSTEM  # the ledger's timestamps; a replay points it at its virtual clock


def use_clock(clock: Clock) -> None:
    """Stamp ledger rows from ``clock`` (the trader's); module-wide because rows are stamped
    by dataclass defaults too."""
    global _clock
    _clock = clock


def now_iso() -> str:
    """The ledger's clock as the stored text (one formatter: ``weatheredge.timestamps``)."""
    return utc_iso(_clock.now())


@dataclass(slots=True)
class Intent:
    intent_key: str
    episode_id: str
    kind: str
    mode: str
    token_id: str
    side: str
    price: str
    size: str
    status: str
    market_id: str | None = None
    event_id: str | None = None
    city: str | None = None
    date: str | None = None
    bucket: str | None = None
    outcome: str | None = None
    prob: float | None = None
    edge: float | None = None
    reason: str | None = None
    limits: str | None = None
    venue_order_id: str | None = None
    filled_size: str = "0"
    fees: str = "0"
    error: str | None = None
    attempts: int = 0
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Intent:
        return cls(**row)


class Ledger:
    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.path = path
        self._conn = conn
        self._db = sqlite_utils.Database(conn)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trading-ledger")
        # Optional tape: record(kind, fields) gets each intent, update, fill and rejection, so a
        # replay can be compared with what was decided (weatheredge.tape; never blocks).
        self.tape: Callable[[str, dict[str, Any]], None] | None = None

    def _tape(self, kind: str, fields: dict[str, Any]) -> None:
        if self.tape is not None:
            self.tape(kind, {"data": fields})

    def note(self, kind: str, fields: dict[str, Any]) -> None:
        """A trading moment that writes no row but a replay must place exactly (the paper
        venue reading the books: ``paper_match``), on the tape only."""
        self._tape(kind, fields)

    @classmethod
    def open(cls, path: str | Path, *, busy_timeout_s: float = 5.0) -> Ledger:
        path = Path(path)
        conn = sqlite3.connect(str(path), timeout=busy_timeout_s, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        db = sqlite_utils.Database(conn)
        db.enable_wal()
        conn.execute("PRAGMA synchronous=FULL")
        apply_migrations(db)
        return cls(conn, path)

    async def close(self) -> None:
        await self._run(self._conn.close)
        self._pool.shutdown(wait=True)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fn, *args)

    def _tx(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with immediate(self._conn):
            return fn(self._conn)

    async def transact(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn`` in one immediate transaction on the ledger's thread (the quote log's writes)."""
        return await self._run(self._tx, fn)

    # -- intents ---------------------------------------------------------------------------

    async def insert_intent(self, intent: Intent) -> bool:
        """Commit a new intent. False if that key already exists (the order was never twice)."""
        row = asdict(intent)
        self._tape("intent", row)
        cols = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        sql = f"INSERT OR IGNORE INTO trade_intents ({cols}) VALUES ({marks})"
        return await self._run(self._tx, lambda c: c.execute(sql, row).rowcount == 1)

    async def update_intent(self, key: str, **fields: Any) -> None:
        fields["updated_at"] = now_iso()
        self._tape("intent_update", {"intent_key": key, **fields})
        sets = ", ".join(f"{k} = :{k}" for k in fields)
        sql = f"UPDATE trade_intents SET {sets} WHERE intent_key = :_key"
        await self._run(self._tx, lambda c: c.execute(sql, {**fields, "_key": key}))

    async def intent(self, key: str) -> Intent | None:
        rows = await self.intents(where="intent_key = ?", params=[key])
        return rows[0] if rows else None

    async def intents(self, where: str = "1", params: list[Any] | None = None) -> list[Intent]:
        sql = f"SELECT * FROM trade_intents WHERE {where} ORDER BY created_at, intent_key"

        def read(c: sqlite3.Connection) -> list[Intent]:
            return [Intent.from_row(dict(r)) for r in c.execute(sql, params or [])]

        return await self._run(self._tx, read)

    # -- fills and positions -------------------------------------------------------------------

    async def fill_event_seen(self, trade_id: str, status: str) -> bool:
        """Record (trade id, status); False when it was already recorded (a duplicate)."""
        sql = "INSERT OR IGNORE INTO trade_fill_events VALUES (?, ?, ?)"
        return await self._run(
            self._tx, lambda c: c.execute(sql, [trade_id, status, now_iso()]).rowcount == 1
        )

    async def fill_event_known(self, trade_id: str, status: str) -> bool:
        """Whether (trade id, status) was already recorded: a duplicate."""
        sql = "SELECT 1 FROM trade_fill_events WHERE trade_id = ? AND status = ?"
        return await self._run(
            self._tx, lambda c: c.execute(sql, [trade_id, status]).fetchone() is not None
        )

    async def save_fill(
        self,
        fill: dict[str, Any],
        position: dict[str, Any] | None,
        intent_update: tuple[str, dict[str, Any]] | None,
        event: tuple[str, str] | None = None,
    ) -> None:
        """A fill, the position it changed, its intent's fill state and the (trade id, status)
        event that brought it, in one transaction: a crash leaves all or none, so the event is
        never marked seen without its fill (a restart would then skip it as a duplicate)."""
        self._tape("fill", {"fill": fill, "intent_update": intent_update})

        def write(c: sqlite3.Connection) -> None:
            if event is not None:
                c.execute(
                    "INSERT OR IGNORE INTO trade_fill_events VALUES (?, ?, ?)", [*event, now_iso()]
                )
            cols = ", ".join(fill)
            marks = ", ".join(f":{k}" for k in fill)
            c.execute(f"INSERT OR REPLACE INTO trade_fills ({cols}) VALUES ({marks})", fill)
            if position is not None:
                cols = ", ".join(position)
                marks = ", ".join(f":{k}" for k in position)
                c.execute(f"INSERT OR REPLACE INTO positions ({cols}) VALUES ({marks})", position)
            if intent_update is not None:
                key, fields = intent_update
                fields = {**fields, "updated_at": now_iso()}
                sets = ", ".join(f"{k} = :{k}" for k in fields)
                c.execute(
                    f"UPDATE trade_intents SET {sets} WHERE intent_key = :_key",
                    {**fields, "_key": key},
                )

        await self._run(self._tx, write)

    async def save_settlement(
        self, fill: dict[str, Any], position: dict[str, Any], episode: dict[str, Any]
    ) -> bool:
        """A resolution settlement: its fill row, the emptied position and its (closed)
        episode, in one transaction. False, writing nothing, when that fill id is already
        recorded: a position is settled once, whatever repeats the resolution."""

        def write(c: sqlite3.Connection) -> bool:
            cols = ", ".join(fill)
            marks = ", ".join(f":{k}" for k in fill)
            sql = f"INSERT OR IGNORE INTO trade_fills ({cols}) VALUES ({marks})"
            if c.execute(sql, fill).rowcount != 1:
                return False
            cols = ", ".join(position)
            marks = ", ".join(f":{k}" for k in position)
            c.execute(f"INSERT OR REPLACE INTO positions ({cols}) VALUES ({marks})", position)
            cols = ", ".join(episode)
            marks = ", ".join(f":{k}" for k in episode)
            c.execute(f"INSERT OR IGNORE INTO trade_episodes ({cols}) VALUES ({marks})", episode)
            return True

        done = await self._run(self._tx, write)
        if done:  # on the tape too: a replay's parity and backtest see the payout
            self._tape("fill", {"fill": fill, "intent_update": None})
        return done

    async def venue_winners(self, event_ids: list[str]) -> dict[str, str]:
        """event_id -> the market the venue resolved YES, as the settlement job recorded it
        (``settlements.venue_market_id``, from market_resolved frames or Gamma)."""
        if not event_ids:
            return {}
        marks = ", ".join("?" for _ in event_ids)
        sql = (
            "SELECT event_id, venue_market_id FROM settlements "
            f"WHERE venue_market_id IS NOT NULL AND event_id IN ({marks})"
        )

        def read(c: sqlite3.Connection) -> dict[str, str]:
            return {str(r[0]): str(r[1]) for r in c.execute(sql, event_ids)}

        return await self._run(self._tx, read)

    async def fills(self) -> list[dict[str, Any]]:
        return await self._run(
            self._tx,
            lambda c: [dict(r) for r in c.execute("SELECT * FROM trade_fills ORDER BY matched_at")],
        )

    async def positions(self) -> list[dict[str, Any]]:
        return await self._run(
            self._tx, lambda c: [dict(r) for r in c.execute("SELECT * FROM positions")]
        )

    # -- limits, episodes, state ---------------------------------------------------------------

    async def rejection(
        self, episode_id: str | None, token_id: str | None, side: str, limit: str, detail: str
    ) -> None:
        sql = (
            "INSERT INTO risk_rejections (at, episode_id, token_id, side, limit_name, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        row = [now_iso(), episode_id, token_id, side, limit, detail]
        self._tape(
            "rejection",
            dict(
                zip(("at", "episode_id", "token_id", "side", "limit", "detail"), row, strict=True)
            ),
        )
        await self._run(self._tx, lambda c: c.execute(sql, row))

    async def open_episode(self, row: dict[str, Any]) -> None:
        row = {"status": "open", "opened_at": now_iso(), **row}
        cols = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        sql = f"INSERT OR IGNORE INTO trade_episodes ({cols}) VALUES ({marks})"
        await self._run(self._tx, lambda c: c.execute(sql, row))

    async def close_episode(self, episode_id: str, reason: str) -> None:
        sql = (
            "UPDATE trade_episodes SET status = 'closed', closed_at = ?, reason = "
            "coalesce(reason || '; ', '') || ? WHERE episode_id = ? AND status = 'open'"
        )
        await self._run(self._tx, lambda c: c.execute(sql, [now_iso(), reason, episode_id]))

    async def close_open_episodes(self, reason: str) -> int:
        """Close every episode still open: no process watches them any more (a stop, or a
        crash found at the next start). Returns how many."""
        sql = (
            "UPDATE trade_episodes SET status = 'closed', closed_at = ?, reason = "
            "coalesce(reason || '; ', '') || ? WHERE status = 'open'"
        )
        return await self._run(self._tx, lambda c: c.execute(sql, [now_iso(), reason]).rowcount)

    # -- the paper venue's memory --------------------------------------------------------------

    async def paper_state(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(levels paper orders took from, paper trades), as ``save_paper_rows`` wrote them."""

        def read(c: sqlite3.Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            levels = [dict(r) for r in c.execute("SELECT * FROM paper_levels")]
            trades = [dict(r) for r in c.execute("SELECT * FROM paper_trades ORDER BY rowid")]
            return levels, trades

        return await self._run(self._tx, read)

    async def save_paper_rows(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        """Rows of the paper venue's tables, upserted in order, in one transaction: a paper
        order's takes, trades and resting remainder are all known after a crash, or none."""

        def write(c: sqlite3.Connection) -> None:
            for table, rows in tables.items():
                if table not in PAPER_TABLES:
                    raise ValueError(f"not a paper venue table: {table}")
                for row in rows:
                    cols = ", ".join(row)
                    marks = ", ".join(f":{k}" for k in row)
                    c.execute(f"INSERT OR REPLACE INTO {table} ({cols}) VALUES ({marks})", row)

        await self._run(self._tx, write)

    async def paper_orders(self) -> list[dict[str, Any]]:
        """The paper venue's resting orders, oldest first."""
        sql = "SELECT * FROM paper_orders WHERE status = 'open' ORDER BY created_ms, rowid"
        return await self._run(self._tx, lambda c: [dict(r) for r in c.execute(sql)])

    async def set_state(self, key: str, value: str) -> None:
        await self._run(self._tx, lambda c: put_state(c, key, value))

    async def state(self, key: str) -> str | None:
        return await self._run(self._tx, lambda c: get_state(c, key))


def put_state(c: sqlite3.Connection, key: str, value: str) -> None:
    c.execute(
        "INSERT INTO trading_state (key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [key, value, now_iso()],
    )


def get_state(c: sqlite3.Connection, key: str) -> str | None:
    row = c.execute("SELECT value FROM trading_state WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def limits_json(checks: dict[str, str]) -> str:
    return json.dumps(checks, sort_keys=True)


def dec(text: str | None) -> Decimal:
    return Decimal(text or "0")
