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
import logging
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from db.migrations import apply_migrations
from db.transaction import immediate
from weatheredge.store.records import ForecastSnapshot, Record, describe
from weatheredge.store.sql import WRITERS, close_left_open

logger = logging.getLogger("weatheredge.store")


class StoreError(Exception):
    """A write was given up on (store closed) or could not be queued."""


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
                close_left_open(db, close_open_edges)
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
                    return WRITERS[type(record)](self._db, record)
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
