"""Replay speed benchmark (prints figures; not a test).

A synthetic tape of the whole temperature universe (``weatheredge tape synth``: 30 cities,
180 events, 3,600 tokens) replayed through :class:`weatheredge.replay.driver.Replay` — tape
read (zstd + JSON), virtual clock, ``Engine.on_frame`` with books and edge decisions, store
writes. The synthetic tape's Gamma and forecast URLs are not the real adapters' (the jobs find
no answer there), so the catalogue is seeded before the first record from the synthetic Gamma
listing (which names the tokens the frames trade), every bucket priced at the fair probability
the synthetic books are quoted around: every frame hits a synced book and a priced edge
evaluation, and, as on a real day, edges are rare.

Figures: frames/s through the replay in its steady state (from the ``--warm`` share of the
frames to the last record; start-up — store, first job runs and snapshots — apart) and over the
whole run (CPU and wall), its speed-up over real time and the share of a day's duration a day's
replay takes (by the process's CPU time, "on one core", which a busy shared box distorts less;
wall figures beside them); each stage alone, in µs per frame: reading the tape, decoding the
frames, ``Engine.on_frame``; then the whole replay per frame: steady state (and what the driver
adds beyond reading and the engine), the timer jobs and samples, start-up.

    python benchmarks/replay.py [--hours 1] [--warm 0.2] [--rate 50] [--cities 30]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from weatheredge.engine import Engine, Pricing
from weatheredge.polymarket import gamma_wire, wire
from weatheredge.polymarket.gamma_event import to_temperature_event
from weatheredge.replay.driver import Replay, tape_records
from weatheredge.replay.settings import replay_settings
from weatheredge.sandbox.synth_tape import FAIR_CENTS, gamma_events, synthesize
from weatheredge.tape.reader import FrameRecord, read_tape

START = "2026-11-01"


def _seed(engine: Engine, listing: list[dict[str, Any]]) -> None:
    """Catalogue from the synthetic Gamma listing, every bucket priced fair."""
    events = [to_temperature_event(msgspec.convert(e, gamma_wire.GammaEvent)) for e in listing]
    engine.set_events(events)
    engine.on_connected()
    now = engine.clock.monotonic()
    for event in events:
        probs = {m.market_id: FAIR_CENTS[i] / 100 for i, m in enumerate(event.markets)}
        engine.set_pricing(event.event_id, Pricing(probs, None, now))


def _seeded(
    replay: Replay, listing: list[dict[str, Any]], records: Iterator[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    _seed(replay.engine, listing)  # runs at the first record: the engine exists by then
    yield from records


class Marks:
    """CPU (process and main thread) and wall clock when the replay reaches its ``start``-th
    frame and when it has read the last record: the steady state between them, start-up
    (store, first job runs, first snapshots) before, and the close after, apart. ``split``:
    main-thread CPU inside the replay by part (``instrument``: reading the records and
    ``Engine.on_frame`` timed per call, which adds a little; the timer jobs always, being
    once a virtual second)."""

    def __init__(self, start: int, *, instrument: bool = False) -> None:
        self.start = start
        self.instrument = instrument
        self.frames = 0
        self.split = {"read": 0.0, "engine": 0.0, "timers": 0.0}
        self.at: dict[str, tuple[float, float, float, int, dict[str, float]]] = {}

    def mark(self, name: str) -> None:
        clocks = (time.process_time(), time.thread_time(), time.perf_counter())
        self.at[name] = (*clocks, self.frames, dict(self.split))

    def watch(self, replay: Replay, records: Iterator[Any]) -> Iterator[Any]:
        self.mark("open")
        for rec in self._timed(records) if self.instrument else records:
            if type(rec) is FrameRecord or rec.get("kind") == "frame":
                self.frames += 1
                if self.frames == 1 and self.instrument:
                    self._time_engine(replay)
                if self.frames == self.start:
                    self.mark("steady")
            yield rec
        self.mark("end")

    def _timed(self, records: Iterator[Any]) -> Iterator[Any]:
        it, clock, split = iter(records), time.thread_time, self.split
        while True:
            t0 = clock()
            try:
                rec = next(it)
            except StopIteration:
                return
            split["read"] += clock() - t0
            yield rec

    def _time_engine(self, replay: Replay) -> None:
        on_frame, clock, split = replay.engine.on_frame, time.thread_time, self.split

        def timed(data: str | bytes, recv_ns: int) -> None:
            t0 = clock()
            on_frame(data, recv_ns)
            split["engine"] += clock() - t0

        replay.engine.on_frame = timed  # type: ignore[method-assign]

    def per_frame(self, a: str, b: str) -> tuple[float, float, float]:
        (p0, t0, w0, f0, _), (p1, t1, w1, f1, _) = self.at[a], self.at[b]
        n = max(1, f1 - f0)
        return (p1 - p0) / n * 1e6, (t1 - t0) / n * 1e6, (w1 - w0) / n * 1e6

    def part(self, name: str, a: str = "steady", b: str = "end") -> float:
        """µs per frame of one part of the split between two marks."""
        (*_, f0, s0), (*_, f1, s1) = self.at[a], self.at[b]
        return (s1[name] - s0[name]) / max(1, f1 - f0) * 1e6


async def _replay(
    tape: Path, db: Path, listing: list[dict[str, Any]], marks: Marks
) -> tuple[Replay, float, float]:
    replay = Replay(replay_settings(None, {"weather.max_forecast_age": "31000000"}, str(db)))
    timers = replay._timers

    async def timed(wall: int) -> None:  # the timer jobs' and samples' share, apart
        t0 = time.thread_time()
        await timers(wall)
        marks.split["timers"] += time.thread_time() - t0

    replay._timers = timed  # type: ignore[method-assign]
    wall = time.perf_counter()
    records = _seeded(replay, listing, tape_records(tape))
    await replay.run(marks.watch(replay, records))
    return replay, time.perf_counter() - wall, marks.split["timers"]


def _clock_cost() -> float:
    """Seconds per ``time.thread_time()`` call (a system call, not a vDSO read)."""
    t0 = time.perf_counter()
    for _ in range(100_000):
        time.thread_time()
    return (time.perf_counter() - t0) / 100_000


def _stages(tape: Path, listing: list[dict[str, Any]]) -> dict[str, float]:
    """CPU seconds of each stage alone over the whole tape."""
    t0 = time.process_time()
    n = sum(1 for _ in tape_records(tape))
    read_s = time.process_time() - t0
    frames = [(r["raw"], r["mono_ns"]) for r in read_tape(tape) if r["kind"] == "frame"]
    decode = wire.decode_fast
    t0 = time.process_time()
    for raw, _ in frames:
        decode(raw)
    decode_s = time.process_time() - t0
    engine = Engine(min_edge=0.05, hysteresis=0.01, max_forecast_age=3.1e7, emit=lambda s: None)
    _seed(engine, listing)
    on_frame = engine.on_frame
    t0 = time.process_time()
    for raw, mono in frames:
        on_frame(raw, mono)
    engine_s = time.process_time() - t0
    synced = sum(b.synced for b in engine.books.values())
    return {"records": n, "frames": len(frames), "read_s": read_s, "decode_s": decode_s,
            "engine_s": engine_s, "synced": synced}  # fmt: skip


def _report(
    label: str, run: tuple[Replay, float, float], marks: Marks, stages: dict[str, float]
) -> None:
    replay, elapsed, timer_cpu = run
    result = replay.result
    frames = result.counts.get("frame", 0)
    span_s = result.span_ns / 1e9
    speedup, on_core = span_s / elapsed, span_s / result.cpu_s
    cpu, main_cpu, wall = marks.per_frame("steady", "end")
    read_s = stages["read_s"]
    beyond = main_cpu - (read_s + stages["engine_s"]) * 1e6 / stages["frames"]
    start_cpu = marks.at["steady"][0] - marks.at["open"][0]
    print(f"replay {label}:")
    print(
        f"  steady state (frame {marks.start:,} to the end): {1e6 / cpu:,.0f} frames/s (CPU), "
        f"{1e6 / main_cpu:,.0f} (main thread CPU), {1e6 / wall:,.0f} (wall)   (target >= 300,000)"
    )
    print(
        f"  whole run: {frames / result.cpu_s:,.0f} frames/s (CPU), "
        f"{frames / elapsed:,.0f} frames/s (wall); speed-up over real time {on_core:,.0f}x on one "
        f"core ({speedup:,.0f}x wall): a day in {100 / on_core:.3f} % of its duration   (< 1 %)"
    )
    print(
        f"  per frame (CPU): steady {cpu:.2f} us (main thread {main_cpu:.2f}; beyond read + "
        f"on_frame {beyond:.2f}), of which timer jobs and samples {timer_cpu * 1e6 / frames:.2f} "
        f"({timer_cpu * 1e3 / (span_s / 60):.1f} ms per virtual minute); start-up "
        f"{start_cpu:.2f} s; whole run {result.cpu_s * 1e6 / frames:.2f} us"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--rate", type=float, default=50.0, help="market frames per second")
    ap.add_argument("--cities", type=int, default=30)
    ap.add_argument(
        "--warm", type=float, default=0.2, help="share of the frames counted as start-up"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tape = Path(tmp) / "tape"
        synth = synthesize(
            tape, days=args.hours / 24, cities=args.cities, frames_per_s=args.rate, start=START
        )
        listing = gamma_events(args.cities, dt.date.fromisoformat(START))
        start = max(1, int(synth["records"]["frame"] * args.warm))
        stages = _stages(tape, listing)
        plain = Marks(start)
        from_tape = asyncio.run(_replay(tape, Path(tmp) / "a.db", listing, plain))
        split = Marks(start, instrument=True)
        asyncio.run(_replay(tape, Path(tmp) / "c.db", listing, split))
    engine = from_tape[0].engine
    n, f = stages["records"], stages["frames"]
    print(
        f"tape: {args.hours:g} h, {args.cities} cities, {synth['tokens']:,} tokens, "
        f"{f:,} frames, {n:,} records, {synth['compressed_bytes'] / 1e6:.1f} MB"
    )
    print(
        f"books synced at the end: {sum(b.synced for b in engine.books.values()):,}"
        f" of {len(engine.books):,}; desyncs {engine.counters['desyncs']}, "
        f"bad frames {sum(engine.bad_frames.values())}, edge changes "
        f"{sum(v for k, v in engine.counters.items() if k.startswith('edges_'))}"
    )
    _report("from the tape (zstd JSONL)", from_tape, plain, stages)
    _, main_cpu, _ = split.per_frame("steady", "end")
    parts = {k: split.part(k) for k in ("read", "engine", "timers")}
    # Each timed call costs two clock reads (~0.7 us each on this box); one lands inside the
    # part timed, one outside: both are taken off, per record read and per frame.
    clock = _clock_cost() * 1e6  # us
    per_frame_calls = n / f + 1
    parts["read"] -= clock * n / f
    parts["engine"] -= clock
    loop = main_cpu - sum(parts.values()) - 2 * clock * per_frame_calls
    print(
        "inside a replay, steady state, main-thread CPU per frame (a second run, "
        f"each read and on_frame timed; the timing, {2 * clock * per_frame_calls:.2f} us, "
        "taken off):"
    )
    print(
        f"  {main_cpu - 2 * clock * per_frame_calls:.2f} us = read {parts['read']:.2f} + "
        f"Engine.on_frame {parts['engine']:.2f} + timer jobs and samples {parts['timers']:.2f}"
        f" + the replay loop {loop:.2f}"
    )
    print("stages alone (CPU), per frame:")
    us = 1e6 / f
    rows = [
        ("read tape (zstd + JSON, all records)", "read_s",
         f"{n / stages['read_s']:,.0f} records/s"),
        ("decode frame (wire structs)", "decode_s", f"{f / stages['decode_s']:,.0f} frames/s"),
        ("Engine.on_frame (decode+book+edge)", "engine_s",
         f"{f / stages['engine_s']:,.0f} frames/s; {stages['synced']:,} books synced"),
    ]  # fmt: skip
    for name, key, note in rows:
        print(f"  {name:<38} {stages[key] * us:6.2f} us   ({note})")


if __name__ == "__main__":
    main()
