"""Size and time of ``GET /api/v1/state`` with 10,000 live events (prints figures; not a test).

The real daemon runs against the built-in sandbox until its events are priced and their
books synced; then its catalogue is widened in place to ``--events`` events (clones of the
priced ones with fresh ids and tokens, ``--buckets`` markets each, books and probabilities
copied), the shape the issue-13 scale run had (10,000 events, ~40,000 tokens). Then
``--requests`` sequential GETs of the state document are timed over loopback, and the first
SSE update is sized.

    python benchmarks/state_size.py [--events 10000] [--buckets 2] [--requests 10]

Run it against another checkout with ``PYTHONPATH=/path/to/checkout`` to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from weatheredge.config import parse_config
from weatheredge.daemon import DAEMON
from weatheredge.runtime import make_app, serve
from weatheredge.sandbox import Sandbox


def widen(engine: object, n_events: int, n_buckets: int) -> int:
    """Clone the engine's priced events up to ``n_events``; returns the token count."""
    originals = [e for e in engine.events.values() if e.event_id in engine.pricing]
    events = []
    for i in range(n_events):
        src = originals[i % len(originals)]
        pricing = engine.pricing[src.event_id]
        markets, probs = [], {}
        for j, m in enumerate(src.markets[:n_buckets]):
            mid = f"{m.market_id}-{i}"
            markets.append(
                dataclasses.replace(
                    m,
                    market_id=mid,
                    yes_token=f"{m.yes_token}{i:05d}",
                    no_token=f"{m.no_token}{i:05d}",
                )
            )
            probs[mid] = pricing.probs.get(m.market_id, 1.0 / (j + 2))
        ev = dataclasses.replace(
            src, event_id=f"{src.event_id}-{i}", slug=f"{src.slug}-{i}", markets=tuple(markets)
        )
        events.append((ev, src, dataclasses.replace(pricing, probs=probs)))
    engine.set_events([e for e, _, _ in events])
    for ev, src, pricing in events:
        for m, sm in zip(ev.markets, src.markets, strict=False):
            engine.books[m.yes_token] = copy.copy(engine_books_of(engine, sm.yes_token))
            engine.books[m.no_token] = copy.copy(engine_books_of(engine, sm.no_token))
        engine.pricing[ev.event_id] = pricing
    return len(engine.tokens)


_ORIGINAL_BOOKS: dict[str, object] = {}


def engine_books_of(engine: object, token: str) -> object:
    return _ORIGINAL_BOOKS.setdefault(token, engine.books.get(token))


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--buckets", type=int, default=2)
    ap.add_argument("--requests", type=int, default=10)
    args = ap.parse_args()
    box = Sandbox(first_edge_after_s=3600.0)
    await box.start()
    db = Path(tempfile.mkdtemp(prefix="we-bench-")) / "we.db"
    extra = "jobs: {discovery_interval: 3600, forecast_interval: 3600}\n"
    app = make_app(parse_config(box.config_yaml(str(db), extra=extra), env={}))
    runner = await serve(app, asyncio.Event())
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        daemon = app[DAEMON]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while loop.time() < deadline:
            engine = daemon.engine
            if engine is not None and len(engine.pricing) >= 3 and engine.status()["books_synced"]:
                break
            await asyncio.sleep(0.1)
        else:
            raise SystemExit("the daemon did not price the sandbox's events within 30 s")
        for token in list(engine.books):
            engine_books_of(engine, token)
        tokens = widen(engine, args.events, args.buckets)
        await asyncio.sleep(2.0)  # let the page's background pushes settle on the new catalogue
        async with aiohttp.ClientSession() as http:
            times, size, shown = [], 0, 0
            for _ in range(args.requests):
                t0 = time.perf_counter()
                async with http.get(f"{base}/api/v1/state") as resp:
                    body = await resp.read()
                times.append(time.perf_counter() - t0)
                size = len(body)
            # Distinct pages, so no request is answered from the per-update cache.
            fresh = []
            for i in range(args.requests):
                t0 = time.perf_counter()
                async with http.get(f"{base}/api/v1/state?events_offset={i * 100}") as resp:
                    await resp.read()
                fresh.append(time.perf_counter() - t0)
            doc = json.loads(body)
            shown = len(doc.get("events", []))
            total = doc.get("events_total", shown)
            async with http.get(f"{base}/api/v1/stream") as resp:
                buf = b""
                async for chunk in resp.content.iter_any():  # lines can exceed readline's cap
                    buf += chunk
                    start = buf.find(b"data: ")
                    if start >= 0 and buf.find(b"\n\n", start) > 0:
                        sse = buf.find(b"\n\n", start) - start
                        break
        print(f"catalogue: {len(engine.events):,} events, {tokens:,} tokens")
        print(
            f"GET /api/v1/state: {size:,} bytes ({size / 1e6:.2f} MB), events in document "
            f"{shown:,} of {total:,}"
        )
        print(
            f"  per request over {args.requests}: median {statistics.median(times) * 1000:.0f} ms, "
            f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
        )
        print(
            f"  distinct pages (built each time): median {statistics.median(fresh) * 1000:.0f} ms,"
            f" max {max(fresh) * 1000:.0f} ms"
        )
        print(f"first SSE update: {sse:,} bytes")
    finally:
        await runner.cleanup()
        await box.stop()


if __name__ == "__main__":
    asyncio.run(main())
