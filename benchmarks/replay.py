"""Replay speed benchmark (prints figures; not a test).

A synthetic tape of the whole temperature universe (``weatheredge tape synth``: 30 cities,
~3,600 tokens) replayed through :class:`weatheredge.replay.driver.Replay` — tape read
(zstd + JSON), virtual clock, ``Engine.on_frame`` with books and edge decisions, store writes.
The synthetic tape's Gamma and forecast URLs are not the real adapters' (the jobs find no
answer there), so the catalogue is seeded from its first Gamma page and every bucket gets a
fixed probability: the frames then hit real books and real edge evaluation.

    python benchmarks/replay.py [--hours 0.5] [--rate 50] [--cities 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from weatheredge.engine import Pricing
from weatheredge.polymarket.gamma_event import to_temperature_event
from weatheredge.polymarket.wire import decode_gamma_event
from weatheredge.replay.driver import Replay
from weatheredge.replay.settings import replay_settings
from weatheredge.sandbox.synth_tape import synthesize
from weatheredge.tape.reader import read_tape


def _seeded(replay: Replay, records: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    seeded = False
    for rec in records:
        if not seeded and rec["kind"] == "http" and rec.get("source") == "gamma":
            events = [to_temperature_event(decode_gamma_event(json.dumps(e))) for e in
                      json.loads(rec["body"])]  # fmt: skip
            replay.engine.set_events(events)
            replay.engine.on_connected()
            now = replay.clock.monotonic()
            for event in events:
                probs = {m.market_id: 1.0 / len(event.markets) for m in event.markets}
                replay.engine.set_pricing(event.event_id, Pricing(probs, None, now))
            seeded = True
        yield rec


async def _replay(tape: Path, db: Path) -> tuple[dict[str, int], float, float, int]:
    replay = Replay(replay_settings(None, {"weather.max_forecast_age": "31000000"}, str(db)))
    wall = time.perf_counter()
    result = await replay.run(_seeded(replay, read_tape(tape)))
    elapsed = time.perf_counter() - wall
    return dict(result.counts), result.cpu_s, elapsed, result.span_ns


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=0.5)
    ap.add_argument("--rate", type=float, default=50.0, help="market frames per second")
    ap.add_argument("--cities", type=int, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tape = Path(tmp) / "tape"
        synthesize(tape, days=args.hours / 24, cities=args.cities, frames_per_s=args.rate)
        t0 = time.process_time()
        n = sum(1 for _ in read_tape(tape))
        read_s = time.process_time() - t0
        counts, cpu_s, elapsed, span_ns = asyncio.run(_replay(tape, Path(tmp) / "r.db"))
    frames = counts.get("frame", 0)
    print(f"tape: {args.hours:g} h, {args.cities} cities, {frames:,} frames, {n:,} records")
    print(f"read only (zstd + JSON): {n / read_s:,.0f} records/s")
    print(f"replay: {frames / cpu_s:,.0f} frames/s (CPU), {frames / elapsed:,.0f} frames/s (wall)")
    print(f"speed-up over real time: {span_ns / 1e9 / elapsed:,.0f}x "
          f"(a day in {86400 / (span_ns / 1e9 / elapsed):,.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
