"""``weatheredge replay TAPE`` and ``weatheredge backtest TAPE``."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from weatheredge.errors import ConfigError
from weatheredge.replay.driver import Replay, ReplayResult, parse_time, tape_records
from weatheredge.replay.parity import differences, edge_rows, trade_rows
from weatheredge.replay.settings import parse_sets, replay_settings

AddFn = Callable[..., argparse.ArgumentParser]

EPILOG = """examples:
  weatheredge demo --mode paper --record tape/  record a sandbox run (config: see docs/tape.md)
  weatheredge replay tape/ --config c.yaml --check     same decisions as live? (exit 1 if not)
  weatheredge replay tape/ --config c.yaml --set min_edge=0.08 --db what-if.db
  weatheredge backtest tape/ --config c.yaml --set min_edge=0.03,0.05,0.08
"""


BACKTEST_EPILOG = """examples:
  weatheredge backtest tape/ -c c.yaml --set min_edge=0.03,0.05,0.08
  weatheredge backtest tape/ -c c.yaml --from 2026-11-23 --to 2026-11-30 --set min_edge=0.05,0.08
"""


def run_replay(
    tape: str,
    *,
    config: str | None,
    overrides: dict[str, str],
    db: str,
    speed: float | None = None,
    start: str | None = None,
    end: str | None = None,
) -> ReplayResult:
    settings = replay_settings(config, overrides, db)
    replay = Replay(settings, speed=speed, start_ns=parse_time(start), end_ns=parse_time(end))
    return asyncio.run(replay.run(tape_records(tape)))


def _speed(text: str) -> float | None:
    return None if text == "max" else float(text)


def _summary(result: ReplayResult) -> str:
    edges = edge_rows(result.decisions)
    trades = trade_rows(result.decisions)
    frames = result.counts.get("frame", 0)
    rate = frames / result.cpu_s if result.cpu_s else 0.0
    lines = [
        f"replayed {sum(result.counts.values())} records ({frames} frames) over "
        f"{result.span_ns / 1e9:.1f} s of tape in {result.cpu_s:.2f} s CPU ({rate:,.0f} frames/s)",
        f"edges: {sum(1 for r in edges if r[1] == 'open')} opened, "
        f"{sum(1 for r in edges if r[1] == 'close')} closed; "
        f"intents: {sum(1 for r in trades if r[0] == 'intent')}, "
        f"fills: {sum(1 for r in trades if r[0] == 'fill')}",
    ]
    jobs = sorted(k for k in result.counts if k.startswith("job "))
    if jobs:
        lines.append("jobs run: " + ", ".join(f"{k[4:]} x{result.counts[k]}" for k in jobs))
    return "\n".join(lines)


def cmd_replay(args: argparse.Namespace) -> int:
    sets = parse_sets(args.set or [])
    if any(len(v) > 1 for v in sets.values()):
        raise ConfigError(["replay takes one value per --set key (backtest sweeps several)"])
    overrides = {k: v[0] for k, v in sets.items()}
    with tempfile.TemporaryDirectory(prefix="weatheredge-replay-") as tmp:
        db = args.db or str(Path(tmp) / "replay.db")
        result = run_replay(
            args.tape, config=args.config, overrides=overrides, db=db,
            speed=_speed(args.speed), start=args.start, end=args.end,
        )  # fmt: skip
    print(_summary(result))
    if args.db:
        print(f"database: {args.db} (weatheredge edges --db {args.db})")
    if not args.check:
        return 0
    diff = differences(result.taped, result.decisions)
    if not diff:
        print(f"parity: OK ({len(edge_rows(result.taped))} edge changes, "
              f"{len(trade_rows(result.taped))} trade rows equal the tape's)")  # fmt: skip
        return 0
    print(f"parity: {len(diff)} difference(s)")
    for line in diff[:50]:
        print(f"  {line}")
    return 1


def _pnl(result: ReplayResult) -> dict[str, Any]:
    fees = realised = 0.0
    fills = 0
    for d in result.decisions:
        if d.kind == "fill":
            f = d.record.get("data", {}).get("fill", {})
            fills += 1
            fees += float(f.get("fee") or 0)
            realised += float(f.get("realized_pnl") or 0)
    edges = sum(1 for r in edge_rows(result.decisions) if r[1] == "open")
    return {"edges": edges, "trades": fills, "fees": fees, "realised": realised}


def cmd_backtest(args: argparse.Namespace) -> int:
    sets = parse_sets(args.set or [])
    keys = list(sets)
    print(f"{'combination':<40} {'edges':>6} {'trades':>6} {'fees':>10} {'realised PnL':>13}")
    for values in itertools.product(*(sets[k] for k in keys)):
        overrides = dict(zip(keys, values, strict=True))
        with tempfile.TemporaryDirectory(prefix="weatheredge-backtest-") as tmp:
            result = run_replay(
                args.tape, config=args.config, overrides=overrides,
                db=str(Path(tmp) / "bt.db"), start=args.start, end=args.end,
            )  # fmt: skip
        row = _pnl(result)
        name = ", ".join(f"{k}={v}" for k, v in overrides.items()) or "(config)"
        print(
            f"{name:<40} {row['edges']:>6} {row['trades']:>6} {row['fees']:>10.4f} "
            f"{row['realised']:>13.4f}"
        )
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("tape", help="tape directory or one segment file")
    p.add_argument("-c", "--config", help="the config the tape was recorded with (thresholds…)")
    p.add_argument("--from", dest="start", metavar="T", help="start (ISO time, UTC)")
    p.add_argument("--to", dest="end", metavar="T", help="end (ISO time, UTC)")
    p.add_argument(
        "--set", action="append", metavar="KEY=VALUE",
        help="override a setting (dotted key, e.g. min_edge=0.08, model.ladder_min_edge=0.1)",
    )  # fmt: skip


def add_commands(add: AddFn) -> None:
    p = add("replay", cmd_replay, "run a tape through the same decision code, offline", EPILOG)
    _common(p)
    p.add_argument("--db", help="write the replay's database here (same tables as live)")
    p.add_argument("--speed", default="max", help="max (default) or N times real time")
    p.add_argument("--check", action="store_true", help="compare with the tape; exit 1 on any")
    b = add("backtest", cmd_backtest, "one replay per --set combination: PnL", BACKTEST_EPILOG)
    _common(b)
