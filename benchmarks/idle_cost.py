"""Idle cost at scale: the daemon's CPU use while nothing happens, at 100 and 10,000 events.

For each size the built-in sandbox (venue + weather, on 127.0.0.1, in this process) serves that
many synthetic two-bucket events (4 tokens each, the shape of issue 13's 40,088-token run) with
fair, edge-free books and no scripted moves. The daemon runs in a fresh child process
(``run_daemon``'s composition: web app, scheduler jobs, sharded feed, status-page broadcaster,
store) with the default timers; once every token is subscribed, every shard live and every event
priced, the child lets it sit idle and reports its own process CPU time (all threads,
``time.process_time``) per wall second. Nobody is connected to the status page.

Only ``feed.connect_stagger`` is lowered (0.01 s) so that 200 shards open in seconds rather
than ~100 s; everything else is the shipped default, so a discovery round (every 60 s) falls
inside each idle window.

    python benchmarks/idle_cost.py [--sizes 100 10000] [--idle 60]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

READY_TIMEOUT_S = 120.0
SETTLE_S = 5.0  # after readiness: let the first job round's tails finish


def _synthetic_events(n: int, now: dt.datetime) -> list[dict]:
    from weatheredge.sandbox import scenario

    nyc = scenario.event_specs()[0]
    day = scenario.local_tomorrow(nyc.tz, now)
    events = []
    for i in range(n):
        lo = 45 + i % 3
        labels = (f"{lo}°F or below", f"{lo + 1}°F or higher")
        spec = dataclasses.replace(
            nyc,
            slug_city=f"bench-{i}",
            title_city=f"Bench {i}",
            question_city=f"Bench {i}",
            labels=labels,
        )
        events.append(scenario.gamma_event(spec, day, 400000 + i))
    return events


async def _parent(size: int, idle_s: float) -> dict:
    from weatheredge.sandbox import Sandbox

    sandbox = Sandbox()
    await sandbox.start(play=False)
    now = dt.datetime.now(dt.UTC)
    tokens = sum(2 * len(q.event["markets"]) for q in sandbox.quoted)
    for event in _synthetic_events(size, now):
        sandbox.venue.add_event(event)
        for market in event["markets"]:
            yes = json.loads(market["clobTokenIds"])[0]
            # So wide that no price is an edge on either side: nothing to record or notify.
            sandbox.venue.set_book(yes, bids=[("0.01", "100")], asks=[("0.99", "100")])
        tokens += 2 * len(event["markets"])
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(
            sandbox.config_yaml(
                str(Path(tmp) / "bench.db"),
                extra="feed:\n  connect_stagger: 0.01\nlogging:\n  level: WARNING\n",
            )
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--child",
            str(config),
            "--tokens",
            str(tokens),
            "--events",
            str(size),
            "--idle",
            str(idle_s),
            stdout=subprocess.PIPE,
        )
        out, _ = await proc.communicate()
    await sandbox.stop()
    result = json.loads(out.decode().strip().splitlines()[-1])
    result["events"] = size
    return result


async def _child(config: str, tokens: int, events: int, idle_s: float) -> dict:
    import logging

    from weatheredge.config import load_config
    from weatheredge.daemon import DAEMON
    from weatheredge.runtime import make_app, serve

    logging.basicConfig(level=logging.ERROR)
    loaded = load_config(config)
    app = make_app(loaded)
    runner = await serve(app, asyncio.Event())
    daemon = app[DAEMON]
    started = time.monotonic()
    ready_s = None
    try:
        while time.monotonic() - started < READY_TIMEOUT_S:
            await asyncio.sleep(0.5)
            stream, engine = daemon.stream, daemon.engine
            if stream is None or engine is None:
                continue
            if (
                len(stream.subscriptions) >= tokens
                and all(s.mode == "live" for s in stream.shards if s.tokens)
                and len(engine.pricing) >= events
            ):
                ready_s = time.monotonic() - started
                break
        else:
            s = daemon.stream.status() if daemon.stream else {}
            n = len(daemon.engine.pricing) if daemon.engine else 0
            print(
                f"not ready: {s.get('mode')} {s.get('subscriptions')} priced={n}", file=sys.stderr
            )
        await asyncio.sleep(SETTLE_S)
        profile = _profiler()
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.sleep(idle_s)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        if profile is not None:
            profile()
        assert daemon.stream is not None
        return {
            "tokens": len(daemon.stream.subscriptions),
            "ready_s": None if ready_s is None else round(ready_s, 1),
            "idle_wall_s": round(wall, 1),
            "cpu_s": round(cpu, 2),
            "cpu_per_wall_s": round(cpu / wall, 4),
        }
    finally:
        await runner.cleanup()


def _profiler() -> Callable[[], None] | None:
    """With IDLE_COST_PROFILE=tottime|cumtime: profile the idle window's main thread."""
    order = os.environ.get("IDLE_COST_PROFILE")
    if not order:
        return None
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()

    def report() -> None:
        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats(order).print_stats(40)

    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000])
    ap.add_argument("--idle", type=float, default=60.0, help="idle window per size, seconds")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--tokens", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--events", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_child(args.child, args.tokens, args.events, args.idle))))
        return
    print(f"idle cost (daemon process CPU s per wall s, idle window {args.idle:g} s)")
    for size in args.sizes:
        r = asyncio.run(_parent(size, args.idle))
        ready = "never ready" if r["ready_s"] is None else f"ready after {r['ready_s']} s"
        print(
            f"  {r['events']:>6} events {r['tokens']:>6} tokens: "
            f"{r['cpu_per_wall_s']:.3f} CPU s / s ({r['cpu_s']} s over {r['idle_wall_s']} s; "
            f"{ready})",
            flush=True,
        )


if __name__ == "__main__":
    main()
