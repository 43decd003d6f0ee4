"""Time from a config edit to the new ``min_edge`` in force (prints figures; not a test).

The real daemon runs against the built-in sandbox from a config file until its books are synced
and an edge is open. Then ``min_edge`` is flipped between two values ``--rounds`` times, each
by one of three paths, and the time from the edit (the file write, or the request for
``POST /api/v1/reload``) to the engine holding the new threshold is measured:

- ``watch``: ``reload.watch: true``, the edit alone (watchfiles, debounced 50 ms);
- ``http``:  the edit, then ``POST /api/v1/reload`` (what ``weatheredge reload`` sends);
- ``apply``: inside that, only the diff and hand-over to the owners (load excluded).

    python benchmarks/reload_latency.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from weatheredge.config import load_config
from weatheredge.daemon import DAEMON
from weatheredge.reload import diff, effective
from weatheredge.reloader import apply
from weatheredge.runtime import make_app, serve
from weatheredge.sandbox import Sandbox
from weatheredge.schedule import job_specs


async def _until(condition, within: float = 10.0) -> None:
    deadline = time.perf_counter() + within
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the new threshold never came into force")
        await asyncio.sleep(0.001)


def _ms(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, int(0.95 * len(xs)))]
    return f"median {statistics.median(xs):7.1f} ms   p95 {p95:7.1f} ms   max {xs[-1]:7.1f} ms"


async def main(rounds: int) -> None:
    box = Sandbox(first_edge_after_s=0.5, cycle_s=8.0)
    await box.start()
    tmp = Path(tempfile.mkdtemp())
    cfg = tmp / "config.yaml"
    base = box.config_yaml(str(tmp / "we.db"), extra="reload: {watch: true}\n")
    cfg.write_text(base)
    app = make_app(load_config(cfg))
    runner = await serve(app, asyncio.Event())
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/v1/reload"
    daemon = app[DAEMON]
    engine = daemon.engine
    try:
        await _until(lambda: bool(engine.tracker.open_keys()), within=30)
        await asyncio.sleep(0.5)  # the watcher is up
        watch, http, applied = [], [], []
        for i in range(rounds):
            value = 0.5 if i % 2 == 0 else 0.05
            t0 = time.perf_counter()
            cfg.write_text(base + f"min_edge: {value}\n")
            await _until(lambda v=value: engine.min_edge == v)
            watch.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.2)  # let the watcher's burst end
        cfg.write_text(base.replace("watch: true", "watch: false"))
        await _until(lambda: not daemon.settings.reload.watch)
        base = base.replace("watch: true", "watch: false")
        async with aiohttp.ClientSession() as session:
            for i in range(rounds):
                value = 0.5 if i % 2 == 0 else 0.05
                t0 = time.perf_counter()
                cfg.write_text(base + f"min_edge: {value}\n")
                async with session.post(url, json={}, headers={"X-Weatheredge": "1"}) as resp:
                    assert (await resp.json())["result"] == "applied"
                http.append((time.perf_counter() - t0) * 1000)
                assert engine.min_edge == value
        for i in range(rounds):
            value = 0.5 if i % 2 == 0 else 0.05
            cfg.write_text(base + f"min_edge: {value}\n")
            new, old = load_config(cfg), daemon.loaded
            t0 = time.perf_counter()
            d = diff(old.settings, new.settings)
            kept = type(old)(effective(old.settings, new.settings, d), new.secrets, old.path)
            apply(daemon, kept, d, app, job_specs)
            applied.append((time.perf_counter() - t0) * 1000)
        open_now = len(engine.tracker.open_keys())
        print(f"daemon: {len(engine.books)} books, {len(engine.events)} events, {open_now} open")
        print(f"edit -> in force, file watch    ({rounds} edits): {_ms(watch)}")
        print(f"edit -> in force, POST reload   ({rounds} edits): {_ms(http)}")
        print(f"diff + apply to owners only     ({rounds} edits): {_ms(applied)}")
        status = daemon.reloader.status()
        print(f"config version now {status['version']}; venue connections {box.venue.connections}")
    finally:
        await runner.cleanup()
        await box.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    logging.basicConfig(level=logging.ERROR)  # one line per reload would bury the figures
    asyncio.run(main(parser.parse_args().rounds))
