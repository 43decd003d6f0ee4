"""Observation race (issue 10 §3): from a report published by the weather service to an order.

    .venv/bin/python benchmarks/observation_race.py [--stations 12] [--compress 6] [--mode paper]

The daemon runs in-process (paper mode by default) against the sandbox: Gamma, the market
WebSocket, Open-Meteo and aviationweather on 127.0.0.1. Each station has a running local day
(US airports: it is afternoon or evening there for most of the UTC day) with an event whose
running-max bucket is offered at a NO ask of 0.50. Its history (12 h of hourly routine reports
at the station's own minute, each published ``delay`` after it was observed) teaches the
daemon the station's schedule. Then each station files a new routine report at its minute
(observed at :MM:00, 4 °C warmer: the running-max bucket dies) that becomes visible on the
weather service at its ``receiptTime`` = observation + the station's usual delay ± 15 %.
The daemon has to notice, fetch, re-price and send the NO order.

Time compression: publication delays (realistically 1-3 min) are divided by ``--compress``
(default 6: 10-30 s) so that one round fits in ~1.5 minutes; observation times stay on real
minute marks. The delay's scale does not change what is measured (how soon after publication
the fast poll finds a report), only how long the run takes; ``--compress 1`` runs it real-time.

Printed: p50/p90 of "published in the sandbox -> order acknowledged" (paper: the paper
gateway's answer; ``--mode live`` sends through the real SDK to the sandbox exchange with
throwaway keys) and of "fetch answered -> order sent"; the METAR requests made; and, from the
pure scheduler over a simulated full universe (55 stations, 6 h), the requests per hour.
Targets: p50 < 5 s, p90 < 10 s, fetch -> order sent < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jobs.poll_observations as poll_job
from weatheredge.config import parse_config
from weatheredge.daemon import DAEMON
from weatheredge.model.observations import Observation
from weatheredge.model.report_schedule import (
    PollTiming,
    learn_schedule,
    next_poll,
)
from weatheredge.runtime import make_app, serve
from weatheredge.sandbox import Sandbox, scenario
from weatheredge.weather.stations import resolve_station

STATIONS = [
    "KLGA", "KORD", "KDAL", "KMIA", "KATL", "KSEA", "KHOU", "KAUS", "KLAX", "KSFO", "KBOS",
    "KPHX", "KDEN", "KMSP", "KDTW", "KPHL",
]  # fmt: skip
CONFIG = """\
mode: {mode}
armed: true
trading:
  take_profit: false
  day_timezone: UTC
  max_open_orders: 100
  max_total_usd: 100000
  max_city_date_usd: 10000
  max_event_usd: 10000
  daily_loss_limit_usd: 100000
"""


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.4999) - 1))]


@dataclasses.dataclass
class Race:
    icao: str
    no_token: str
    observed: dt.datetime
    published: dt.datetime
    fetched_ns: int | None = None
    sent_ns: int | None = None
    acked: dt.datetime | None = None


def _install(box: Sandbox, icaos: list[str], now: dt.datetime, compress: float) -> list[Race]:
    base = scenario.event_specs()[0]  # NYC highest, °F ladder 37 or below .. 56 or higher
    rng = random.Random(7)
    races = []
    first_slot = (now + dt.timedelta(seconds=50)).replace(second=0, microsecond=0)
    first_slot += dt.timedelta(minutes=1)
    for n, icao in enumerate(icaos):
        station = resolve_station(icao)
        assert station is not None, icao
        spec = dataclasses.replace(
            base,
            slug_city=icao.lower(),
            title_city=icao,
            question_city=icao,
            lat=station.latitude,
            lon=station.longitude,
            tz=station.timezone,
            url=f"https://www.weather.gov/wrh/timeseries?site={icao.lower()}",
            station_name=f"{icao} Airport Station",
        )
        today = now.astimezone(_zone(station.timezone)).date()
        box.weather.set_daily(spec.lat, spec.lon, today, 8.5, 1.0, "max")
        raw = scenario.gamma_event(spec, today, 480000 + n)
        box.venue.add_event(raw)
        q = scenario.Quoted(spec, raw, scenario.fair_probs(spec))
        labels = [m["groupItemTitle"] for m in raw["markets"]]
        for i in range(len(labels)):
            yes, _ = q.tokens(i)
            box.venue.set_book(yes, [("0.01", "500")], [("0.99", "500")])
        # The running max so far is 46 °F (8 °C); the new report's 54 °F kills its bucket.
        yes, no = q.tokens(labels.index("46-47°F"))
        box.venue.set_book(no, [("0.45", "500")], [("0.50", "500")], mirror=False)
        slot = first_slot + dt.timedelta(minutes=n % 2)
        delay = rng.uniform(60, 180) / compress
        for hours in range(12, 0, -1):
            at = slot - dt.timedelta(hours=hours)
            jitter = delay * rng.uniform(-0.15, 0.15)
            box.weather.add_metar(icao, at, 8.0, receipt_delay=dt.timedelta(seconds=delay + jitter))
        receipt = dt.timedelta(seconds=round(delay * rng.uniform(0.85, 1.15)))
        record = box.weather.add_metar(icao, slot, 12.0, receipt_delay=receipt)
        published = dt.datetime.fromisoformat(record["receiptTime"]).replace(tzinfo=dt.UTC)
        races.append(Race(icao, no, slot, published))
    return races


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _instrument(daemon: Any, races: list[Race]) -> None:
    """Timestamps at the fetch's answer and at the order's send/answer (benchmark only)."""
    by_station = {r.icao: r for r in races}
    by_token = {r.no_token: r for r in races}
    real_fetch = poll_job.fetch_reports

    async def fetch(*args: Any, **kwargs: Any) -> list[Observation]:
        reports = await real_fetch(*args, **kwargs)
        got = time.perf_counter_ns()
        for obs in reports:
            race = by_station.get(obs.icao)
            if race is not None and race.fetched_ns is None and obs.observed_at == race.observed:
                race.fetched_ns = got
        return reports

    poll_job.fetch_reports = fetch  # type: ignore[assignment]
    gateway = daemon.trading.trader.gateway
    real_place = gateway.place

    async def place(request: Any) -> Any:
        race = by_token.get(request.token_id)
        sent = time.perf_counter_ns()
        result = await real_place(request)
        if race is not None and race.sent_ns is None:
            race.sent_ns, race.acked = sent, dt.datetime.now(dt.UTC)
        return result

    gateway.place = place


async def run(args: argparse.Namespace) -> dict[str, Any]:
    box = Sandbox()
    box.exchange.settle_s = 0.02
    await box.start(play=False)
    tmp = tempfile.mkdtemp(prefix="race-")
    env: dict[str, str] = {}
    if args.mode == "live":
        from eth_account import Account

        account = Account.create()
        env = {"WEATHEREDGE_PRIVATE_KEY": account.key.hex(), "WEATHEREDGE_WALLET": account.address}
        os.environ.update(env)  # throwaway keys for the sandbox exchange only
    try:
        now = dt.datetime.now(dt.UTC)
        races = _install(box, STATIONS[: args.stations], now, args.compress)
        text = box.config_yaml(f"{tmp}/race.db", extra=CONFIG.format(mode=args.mode))
        app = make_app(parse_config(text, env=env))
        runner = await serve(app, asyncio.Event())
        daemon = app[DAEMON]
        try:
            for _ in range(200):
                if daemon.trading is not None and daemon.ctx is not None:
                    break
                await asyncio.sleep(0.05)
            else:
                raise SystemExit(f"trading did not start: {daemon.health.notes.get('trading')}")
            await daemon.trading.trader.ready()
            _instrument(daemon, races)
            requests_before = len(box.weather.requests)
            last = max(r.published for r in races)
            deadline = (last - dt.datetime.now(dt.UTC)).total_seconds() + 30
            end = time.monotonic() + deadline
            while time.monotonic() < end and any(r.acked is None for r in races):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            metar_requests = sum(
                1 for path, _ in box.weather.requests[requests_before:] if "metar" in path
            )
            race_status = daemon.ctx.live.race_summary()
        finally:
            await runner.cleanup()
    finally:
        await box.stop()
    done = [r for r in races if r.acked is not None and r.fetched_ns and r.sent_ns]
    return {
        "races": races,
        "done": done,
        "to_ack": [(r.acked - r.published).total_seconds() for r in done],  # type: ignore[operator]
        "fetch_to_send_ms": [(r.sent_ns - r.fetched_ns) / 1e6 for r in done],  # type: ignore[operator]
        "first_ms": _first_per_fetch(done),
        "metar_requests": metar_requests,
        "race_status": race_status,
    }


def _fmt(values: list[float], unit: str, digits: int) -> str:
    return f"p50 {_pct(values, 0.5):.{digits}f} {unit}, p90 {_pct(values, 0.9):.{digits}f} {unit}"


def _first_per_fetch(done: list[Race]) -> list[float]:
    """Fetch -> the first order it caused: the rest queue behind its write-ahead commits."""
    first: dict[int, int] = {}
    for r in done:
        assert r.fetched_ns is not None and r.sent_ns is not None
        first[r.fetched_ns] = min(first.get(r.fetched_ns, r.sent_ns), r.sent_ns)
    return [(sent - fetched) / 1e6 for fetched, sent in first.items()]


def simulate_request_rate(stations: int = 55, hours: int = 6, seed: int = 3) -> float:
    """Requests per hour the scheduler makes for a full universe (pure, simulated clock).

    US stations file at :51 (delay ~2 min), others at :20/:50 or :00/:30 (1-3 min); each
    report is published at the station's delay ± 15 %; one request covers every station due.
    """
    rng = random.Random(seed)
    timing = PollTiming()
    start = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    specs = []
    for i in range(stations):
        minutes = (51,) if i < 12 else ((20, 50) if i % 2 else (0, 30))
        specs.append((f"S{i:02d}", minutes, rng.uniform(60, 180)))
    published: dict[str, list[Observation]] = {}
    history: dict[str, list[Observation]] = {}
    for icao, minutes, delay in specs:
        reports = []
        for h in range(-12, hours + 1):
            for m in minutes:
                at = start + dt.timedelta(hours=h, minutes=m)
                pub = at + dt.timedelta(seconds=delay * rng.uniform(0.85, 1.15))
                reports.append(Observation(icao, at, 10.0, True, "METAR", "", published_at=pub))
        published[icao] = reports
        history[icao] = [o for o in reports if o.published_at and o.published_at <= start]  # type: ignore[operator]
    last_fetch: dict[str, dt.datetime] = {icao: start for icao, _, _ in specs}
    requests = 0
    for second in range(hours * 3600):
        now = start + dt.timedelta(seconds=second)
        due = []
        for icao, _, _ in specs:
            held = history[icao]
            last = max(o.observed_at for o in held)
            schedule = learn_schedule(held[-24:])
            when = next_poll(
                schedule, now, last_fetch=last_fetch[icao], last_report=last, timing=timing
            )
            if when <= now:
                due.append(icao)
        if not due:
            continue
        requests += 1
        for icao in due:
            last_fetch[icao] = now
            seen = {o.observed_at for o in history[icao]}
            history[icao] += [
                o
                for o in published[icao]
                if o.published_at <= now and o.observed_at not in seen  # type: ignore[operator]
            ]
    return requests / hours


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, default=12)
    parser.add_argument("--compress", type=float, default=6.0)
    parser.add_argument("--mode", choices=("paper", "live"), default="paper")
    parser.add_argument("--universe", type=int, default=55)
    args = parser.parse_args(argv)
    out = asyncio.run(run(args))
    n = len(out["races"])
    print(f"observation race, {args.mode} mode, {n} stations, delays /{args.compress:g}")
    print(f"  reports raced to an order: {len(out['done'])} / {n}")
    if out["done"]:
        ack, send, first = out["to_ack"], out["fetch_to_send_ms"], out["first_ms"]
        print(f"  published -> order acknowledged: {_fmt(ack, 's', 2)}")
        print(f"  fetch -> order sent:             {_fmt(send, 'ms', 1)}")
        print(
            f"    first order of each fetch:     {_fmt(first, 'ms', 1)} ({len(first)} fetches;"
            " later orders of a fetch wait for the earlier ones' write-ahead commits)"
        )
    decisions = [v["p50_s"] for v in out["race_status"].values()]
    if decisions:
        print(f"  published -> decision, per-station p50s: {_fmt(decisions, 's', 2)}")
    print(f"  METAR requests during the race: {out['metar_requests']}")
    with contextlib.suppress(KeyboardInterrupt):
        rate = simulate_request_rate(args.universe)
        print(
            f"  scheduler, {args.universe} stations simulated 6 h: {rate:.0f} requests/hour "
            f"({rate / 60:.1f}/min; aviationweather allows 100/min)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
