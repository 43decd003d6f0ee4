"""The recorder: ``record(...)`` only appends to a bounded in-memory queue; a writer thread
encodes, compresses (one zstd frame per flush) and appends to hourly segments.

Why a thread and not an asyncio task: compression and file writes must never share a turn of
the event loop with a frame; zstd releases the GIL while compressing. A full queue drops the
record and counts it (``dropped``) — a slow disk costs tape, never a decision.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any, BinaryIO

import zstandard

from weatheredge.ratelog import RateLimitedLog
from weatheredge.tape.reader import repair_tail, segments
from weatheredge.tape.records import encode

logger = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.5  # each flush ends a complete zstd frame: a kill loses at most this
RETENTION_INTERVAL_S = 60.0


def segment_path(root: Path, wall_ns: int, part: int = 0) -> Path:
    """``root/YYYY-MM-DD/HH.jsonl.zst`` (UTC); ``HH.N.jsonl.zst`` for a later process."""
    t = dt.datetime.fromtimestamp(wall_ns / 1e9, dt.UTC)
    name = f"{t:%H}.jsonl.zst" if part == 0 else f"{t:%H}.{part}.jsonl.zst"
    return root / f"{t:%Y-%m-%d}" / name


class Recorder:
    """Thread-safe, non-blocking tape recorder. ``start()`` it, ``close()`` it."""

    def __init__(
        self,
        root: str | Path,
        *,
        keep_days: float = 30,
        max_disk_mb: float = 20_000,
        queue_size: int = 100_000,
        flush_interval_s: float = FLUSH_INTERVAL_S,
        level: int = 3,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.root = Path(root)
        self.keep_days = keep_days
        self.max_disk_bytes = int(max_disk_mb * 1024 * 1024)
        self.queue_size = queue_size
        self.flush_interval_s = flush_interval_s
        self._queue: collections.deque[tuple[int, int, str, Any]] = collections.deque()
        self._compressor = zstandard.ZstdCompressor(level=level)
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._file: BinaryIO | None = None
        self._path: Path | None = None
        self._hour: str | None = None
        self._last_retention = 0.0
        self.session = uuid.uuid4().hex[:12]
        self.meta = dict(meta or {})
        self.recorded = 0
        self.dropped = 0
        self._dropped_reported = 0
        self.written_bytes = 0
        self.flushes = 0
        self.deleted_segments = 0
        self.write_errors = 0
        self.last_error = ""
        self.repaired: list[str] = []
        self._last_body: dict[tuple[Any, Any], bytes] = {}
        self._log = RateLimitedLog(logger)  # a full disk fails every flush: one line per 30 s

    # ------------------------------------------------------------------ hot path

    def record(self, kind: str, fields: Any = None, mono_ns: int | None = None) -> None:
        """Queue one record; never blocks, never does I/O. ``mono_ns`` defaults to now."""
        if len(self._queue) >= self.queue_size:
            self.dropped += 1
            return
        self._queue.append(
            (time.time_ns(), time.perf_counter_ns() if mono_ns is None else mono_ns, kind, fields)
        )

    def frame(self, shard: int, epoch: int, raw: str | bytes, mono_ns: int) -> None:
        """A market-channel frame as received (``mono_ns`` read before parsing). Its wall time
        is that same reading plus the wall-minus-monotonic offset the writer samples at each
        flush: one clock call less per frame, and the instant of the read, not of this call."""
        if len(self._queue) >= self.queue_size:
            self.dropped += 1
            return
        self._queue.append((0, mono_ns, "frame", (shard, epoch, raw)))

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Recorder:
        self.root.mkdir(parents=True, exist_ok=True)
        latest = segments(self.root)
        if latest and repair_tail(latest[-1]):  # a crash tore it: keep it readable by DuckDB
            self.repaired.append(str(latest[-1]))
        info = {"session": self.session, "pid": os.getpid(), **self.meta}
        self.record("session", info)
        self._thread = threading.Thread(target=self._run, name="tape-writer", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout_s: float = 2.0) -> None:
        """Write what is queued (bounded by ``timeout_s``), then close the segment."""
        if self._thread is None:
            return
        self.record("session_end", {"session": self.session, "dropped": self.dropped})
        self._stop = True
        self._wake.set()
        self._thread.join(timeout_s)
        self._thread = None

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            stopping = self._stop
            try:
                self.flush()
            except Exception as err:  # a tape failure must not end the writer
                self.write_errors += 1
                self.last_error = f"{type(err).__name__}: {err}"
                self._log(type(err).__name__, "tape: write failed: %s", self.last_error)
                self._close_file()
            if stopping:
                self._close_file()
                return

    # ------------------------------------------------------------------ writer thread

    def flush(self) -> int:
        """Drain the queue into one compressed frame per segment touched; returns records."""
        queue = self._queue
        if self.dropped != self._dropped_reported:
            lost = self.dropped - self._dropped_reported
            self._dropped_reported = self.dropped
            item = (time.time_ns(), time.perf_counter_ns(), "tape_dropped", {"count": lost})
            queue.appendleft(item)
        n = len(queue)
        lines: list[bytes] = []
        popped = written = 0  # records taken from the queue / whose lines reached the file
        offset = time.time_ns() - time.perf_counter_ns()
        try:
            for i in range(n):
                wall, mono, kind, fields = queue.popleft()
                popped += 1
                if not wall:
                    wall = mono + offset
                if i & 255 == 255:
                    time.sleep(0)  # let the event loop take the GIL between batches
                if _hour_key(wall) != self._hour or self._file is None:
                    if lines:
                        self._write(lines)
                        written = popped - 1
                    lines = [self._open(wall, mono)]
                if kind == "http":
                    fields = self._dedup(fields)
                lines.append(encode(wall, mono, kind, fields))
            if lines:
                self._write(lines)
                written = popped
        finally:
            self.dropped += popped - written  # a failed write loses them: counted as drops
            self.recorded += written
        if popped:
            self.flushes += 1
        self._retention()
        return n

    def record_at(self, wall_ns: int, mono_ns: int, kind: str, fields: Any = None) -> None:
        """Queue a record with given clocks (imports, synthetic tapes); unbounded."""
        self._queue.append((wall_ns, mono_ns, kind, fields))

    def _dedup(self, fields: dict[str, Any]) -> dict[str, Any]:
        # Forecasts and Gamma pages often repeat unchanged between polls: within a segment a
        # repeated body is stored once (segments stay self-contained for a reader).
        body = fields.get("body")
        if not isinstance(body, bytes | str):
            return fields
        raw = body.encode() if isinstance(body, str) else body
        digest = hashlib.blake2b(raw, digest_size=16).digest()
        key = (fields.get("method"), fields.get("url"))
        if self._last_body.get(key) == digest:
            return {**fields, "body": None, "body_same": True}
        self._last_body[key] = digest
        return fields

    def _write(self, lines: list[bytes]) -> None:
        data = self._compressor.compress(b"".join(lines))
        assert self._file is not None
        self._file.write(data)
        self._file.flush()  # in the page cache: survives a kill of this process
        self.written_bytes += len(data)

    def _open(self, wall_ns: int, mono_ns: int) -> bytes:
        """Open the segment for ``wall_ns``'s hour; returns its first line."""
        self._close_file()
        part = 0
        while (path := segment_path(self.root, wall_ns, part)).exists():
            part += 1  # never append after another process's (possibly torn) tail
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "ab")  # kept open across flushes
        self._path, self._hour = path, _hour_key(wall_ns)
        self._last_body = {}
        # Each segment opens with its session, so one segment alone tells whose clock it holds.
        head = {"session": self.session, "segment": str(path.relative_to(self.root))}
        return encode(wall_ns, mono_ns, "segment", head)

    def _close_file(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            finally:
                self._file, self._hour = None, None

    def _retention(self) -> None:
        now = time.monotonic()
        if now - self._last_retention < RETENTION_INTERVAL_S and not self._stop:
            return
        self._last_retention = now
        self.deleted_segments += enforce_retention(
            self.root, self.keep_days, self.max_disk_bytes, keep=self._path
        )

    # ------------------------------------------------------------------ reporting

    def status(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "dir": str(self.root),
            "session": self.session,
            "recorded": self.recorded,
            "queued": len(self._queue),
            "dropped": self.dropped,
            "written_bytes": self.written_bytes,
            "segment": str(self._path) if self._path else None,
            "deleted_segments": self.deleted_segments,
            "write_errors": self.write_errors,
            "last_error": self.last_error,
            "repaired_torn_tails": list(self.repaired),
        }

    def metrics_text(self) -> str:
        rows = [
            ("weatheredge_tape_records_total", "counter", "Tape records written.", self.recorded),
            (
                "weatheredge_tape_dropped_total",
                "counter",
                "Tape records dropped because the writer fell behind (queue full).",
                self.dropped,
            ),
            (
                "weatheredge_tape_queued",
                "gauge",
                "Tape records waiting for the writer.",
                len(self._queue),
            ),
            (
                "weatheredge_tape_written_bytes_total",
                "counter",
                "Compressed tape bytes.",
                self.written_bytes,
            ),
            (
                "weatheredge_tape_write_errors_total",
                "counter",
                "Failed tape writes.",
                self.write_errors,
            ),
        ]
        out = []
        for name, kind, text, value in rows:
            out += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", f"{name} {value}"]
        return "\n".join(out) + "\n"


def _hour_key(wall_ns: int) -> str:
    return time.strftime("%Y-%m-%d %H", time.gmtime(wall_ns // 1_000_000_000))


def enforce_retention(
    root: Path,
    keep_days: float,
    max_disk_bytes: int,
    *,
    keep: Path | None = None,
    now: float | None = None,
) -> int:
    """Delete segments older than ``keep_days`` (by their UTC hour), then the oldest ones until
    the tape fits ``max_disk_bytes``; ``keep`` (the open segment) is never deleted."""
    now = time.time() if now is None else now
    cutoff = now - keep_days * 86400
    deleted = 0
    files = segments(root)
    sizes: list[tuple[Path, int]] = []
    for path in files:
        if path == keep:
            sizes.append((path, path.stat().st_size))
            continue
        try:
            hour = dt.datetime.strptime(f"{path.parent.name} {path.name[:2]}", "%Y-%m-%d %H")
            end = hour.replace(tzinfo=dt.UTC).timestamp() + 3600
            if end < cutoff:
                path.unlink()
                deleted += 1
                continue
            sizes.append((path, path.stat().st_size))
        except (ValueError, OSError):
            continue
    total = sum(s for _, s in sizes)
    for path, size in sizes:  # oldest first
        if total <= max_disk_bytes:
            break
        if path == keep:
            continue
        try:
            path.unlink()
        except OSError:
            continue
        total -= size
        deleted += 1
    for day in root.iterdir() if root.exists() else []:
        if day.is_dir() and not any(day.iterdir()):
            day.rmdir()
    if deleted:
        logger.info("tape: deleted %d old segments (keep_days, max_disk_mb)", deleted)
    return deleted
