"""Tape cost benchmark (prints figures; not a test).

1. The hot-path cost of ``Recorder.frame`` (the only tape work on the event loop).
2. The writer thread: records/s it encodes, compresses and writes on one core.
3. Bytes per recorded day of the whole temperature universe (30 cities, 3,600 tokens): one
   synthetic hour (``weatheredge tape synth``: market frames at the given rate, Gamma pages
   every 60 s with every price moved, ensembles every 10 min per city and extreme, METAR polls
   every 60 s per city) through the real writer, times 24, with each source's share measured by
   compressing its lines of each flush on their own.

    python benchmarks/tape_size.py [--rates 20 100] [--hours 1]
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
from pathlib import Path

import msgspec
import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from weatheredge.sandbox.synth_tape import _markets, _price_change, synthesize
from weatheredge.tape import Recorder
from weatheredge.tape.reader import segments, split_frames


def hot_path(n: int = 1_000_000) -> float:
    rec = Recorder(tempfile.mkdtemp(), queue_size=n + 1)
    frame = '{"event_type":"price_change"}'
    record = rec.frame
    start = time.thread_time_ns()  # CPU time of this thread: steadier on a shared machine
    for _ in range(n // 1000):
        for j in range(1000):
            record(0, 1, frame, j)
        rec._queue.clear()  # the writer drains it every 0.5 s: it stays small (little GC work)
    return (time.thread_time_ns() - start) / n


def with_engine(n: int = 100_000) -> tuple[float, float]:
    """Engine.on_frame frames per CPU-second on the feed benchmark's traffic, without and with
    the tape (best of 3 each, interleaved)."""
    import feed_throughput as ft

    dump, texts = ft.build_traffic(n)
    best = [0.0, 0.0]
    for _ in range(3):
        for taped in (0, 1):
            engine, _signals = ft.make_engine()
            on_frame = engine.on_frame
            if taped:
                rec = Recorder(tempfile.mkdtemp(), queue_size=2 * n)
                inner = on_frame

                def on_frame(raw: str, recv_ns: int, inner=inner, frame=rec.frame) -> None:
                    frame(0, 1, raw, recv_ns)
                    inner(raw, recv_ns)

                drained = rec._queue

            for text in dump:
                on_frame(text, time.perf_counter_ns())
            start = time.thread_time()
            for i, text in enumerate(texts):
                on_frame(text, time.perf_counter_ns())
                if taped and i % 1000 == 999:
                    drained.clear()  # the writer drains every 0.5 s: the queue stays small
            best[taped] = max(best[taped], n / (time.thread_time() - start))
    return best[0], best[1]


def writer(n: int = 300_000) -> tuple[float, float]:
    rng = random.Random(1)
    markets = _markets(30)
    texts = [_price_change(markets[rng.randrange(len(markets))], rng, 0, i) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        rec = Recorder(tmp, queue_size=n + 1)
        for i, t in enumerate(texts):
            rec.frame(0, 1, t, i)
        start = time.perf_counter()
        rec.flush()
        took = time.perf_counter() - start
        size = sum(p.stat().st_size for p in segments(tmp))
    return n / took, size / n


def shares(root: Path) -> dict[str, int]:
    """Compressed bytes per source: each flush's lines of one source compressed together."""
    cctx = zstandard.ZstdCompressor(level=3)
    decode = msgspec.json.Decoder().decode
    out: collections.Counter[str] = collections.Counter()
    for seg in segments(root):
        for chunk in split_frames(seg.read_bytes()).chunks:
            groups: dict[str, list[bytes]] = collections.defaultdict(list)
            for line in chunk.splitlines():
                r = decode(line)
                key = r["kind"] if r["kind"] != "http" else f"http {r['source']}"
                groups[key].append(line + b"\n")
            for key, lines in groups.items():
                out[key] += len(cctx.compress(b"".join(lines)))
    return dict(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", type=float, nargs="+", default=[20.0, 100.0])
    parser.add_argument("--hours", type=float, default=1.0)
    args = parser.parse_args()
    print(f"record() on the event loop: {hot_path():.0f} ns per frame (queue append only)")
    bare, taped = with_engine()
    print(
        f"Engine.on_frame: {bare:,.0f} frames/s; with the tape's frame() first: {taped:,.0f} "
        f"frames/s ({100 * (bare - taped) / bare:.1f} % slower)"
    )
    rate, per = writer()
    print(f"writer thread: {rate:,.0f} frames/s encoded+compressed+written, {per:.0f} B/frame")
    for fps in args.rates:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            stats = synthesize(Path(tmp), days=args.hours / 24, cities=30, frames_per_s=fps)
            took = time.perf_counter() - started
            parts = shares(Path(tmp))
        scale = 24 / args.hours
        total = stats["compressed_bytes"] * scale
        print(
            f"\n{fps:g} market frames/s, {stats['tokens']} tokens, {args.hours:g} h synthesized "
            f"in {took:.0f} s: {total / 1e6:,.0f} MB per day, {30 * total / 1e9:.1f} GB per 30 days"
        )
        whole = sum(parts.values())
        for key, size in sorted(parts.items(), key=lambda kv: -kv[1]):
            raw = stats["raw_bytes"].get(key, 0) * scale
            print(
                f"  {key:<26} {size * scale / 1e6:8.1f} MB/day  {100 * size / whole:5.1f} %"
                + (f"  (raw {raw / 1e6:,.0f} MB/day)" if raw else "")
            )


if __name__ == "__main__":
    main()
