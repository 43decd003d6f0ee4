"""What the status page measures and reads beside the daemon's memory: the message rate meter
and, off the loop, the database's open-edge start times and recent decision latencies."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import statistics
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from db.readonly import connect_read_only
from weatheredge.timestamps import utc_iso

logger = logging.getLogger(__name__)

LATENCY_WINDOW_S = 24 * 3600


def percentiles(values: list[int], ps: tuple[float, ...] = (0.5, 0.9, 0.99)) -> dict[str, Any]:
    """Nearest-rank percentiles, the same definition as db/queries/latency_percentiles.sql."""
    if not values:
        return {"samples": 0, **{f"p{round(p * 100)}_us": None for p in ps}}
    ordered = sorted(values)
    n = len(ordered)
    out: dict[str, Any] = {"samples": n}
    for p in ps:
        rank = max(1, -(-int(p * n * 1000) // 1000))  # ceil(p·n) without float surprises
        out[f"p{round(p * 100)}_us"] = ordered[min(rank, n) - 1]
    out["mean_us"] = round(statistics.fmean(ordered), 1)
    return out


@dataclass
class RateMeter:
    """Messages per second over a sliding window of (monotonic time, counter) samples."""

    window_s: float = 10.0
    samples: deque[tuple[float, int]] = field(default_factory=deque)

    def observe(self, count: int, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self.samples.append((now, count))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window_s:
            self.samples.popleft()
        t0, c0 = self.samples[0]
        return round((count - c0) / (now - t0), 2) if now > t0 else 0.0


class History:
    """Reads from the database on a worker thread: open-edge start times, recent latencies."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.opened_at: dict[str, str] = {}  # token_id -> opened_at of the open episode
        self.latencies: list[int] = []
        self.error: str | None = None

    def refresh(self) -> None:
        """Blocking: call with asyncio.to_thread."""
        if not self.path.exists():
            return
        since = utc_iso(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=LATENCY_WINDOW_S))
        try:
            conn = connect_read_only(self.path, timeout=1.0, named_rows=False)
            try:
                self.opened_at = dict(
                    conn.execute(
                        "SELECT token_id, MAX(opened_at) FROM edges WHERE status = 'open' "
                        "GROUP BY token_id"
                    ).fetchall()
                )
                self.latencies = [
                    r[0]
                    for r in conn.execute(
                        "SELECT latency_us FROM edges WHERE opened_at >= ? "
                        "AND latency_us IS NOT NULL ORDER BY opened_at DESC LIMIT 5000",
                        [since],
                    )
                ]
            finally:
                conn.close()
            self.error = None
        except sqlite3.Error as err:
            if self.error is None:
                logger.warning("status page: cannot read %s: %s", self.path, err)
            self.error = str(err)
