"""``weatheredge tape info|repair|synth``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from weatheredge.tape.info import render, scan
from weatheredge.tape.reader import repair_tail, segments

AddFn = Callable[..., argparse.ArgumentParser]

EPILOG = """examples:
  weatheredge tape info tape/                  span, counts per source, blind windows, gaps
  weatheredge tape info tape/2026-12-01/14.jsonl.zst --json
  weatheredge tape repair tape/                cut torn tails left by a crash (DuckDB-ready)
  weatheredge tape synth /tmp/synth --days 2   a synthetic multi-day tape of many cities
  weatheredge demo --record tape/              record a sandbox run

Read it without weatheredge (docs/tape.md):
  duckdb -c "SELECT kind, count(*) FROM read_json('tape/*/*.jsonl.zst',
             format='newline_delimited', union_by_name=true) GROUP BY kind"
"""


def cmd_info(args: argparse.Namespace) -> int:
    if not segments(args.path):
        print(f"{args.path}: no tape segments (*/HH.jsonl.zst) found")
        return 1
    info = scan(args.path, gap_s=args.gap)
    print(json.dumps(info.as_dict(), indent=2) if args.json else render(info))
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    cut = [str(p) for p in segments(args.path) if repair_tail(p)]
    print(f"{len(cut)} torn tail(s) cut" + "".join(f"\n  {p}" for p in cut))
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from weatheredge.sandbox.synth_tape import synthesize

    stats = synthesize(
        Path(args.path),
        days=args.days,
        cities=args.cities,
        frames_per_s=args.rate,
        start=args.start,
        seed=args.seed,
    )
    print(json.dumps(stats, indent=2))
    return 0


def add_commands(add: AddFn) -> None:
    p = add("tape", lambda _a: 2, "inspect, repair or synthesize a recorded tape", EPILOG)
    sub = p.add_subparsers(dest="tape_command", required=True, help="what to do with the tape")
    info = sub.add_parser("info", help="span, counts per source, blind windows, gaps, drops")
    info.add_argument("path", help="tape directory or one segment file")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.add_argument("--gap", type=float, default=60.0, help="seconds without records = gap")
    info.set_defaults(func=cmd_info)
    repair = sub.add_parser("repair", help="truncate torn tails so any zstd reader opens them")
    repair.add_argument("path", help="tape directory or one segment file")
    repair.set_defaults(func=cmd_repair)
    synth = sub.add_parser("synth", help="write a synthetic multi-day tape of many cities")
    synth.add_argument("path", help="directory to write the tape into")
    synth.add_argument("--days", type=float, default=1.0, help="how many days (default 1)")
    synth.add_argument("--cities", type=int, default=30, help="30 cities = ~3,600 tokens")
    synth.add_argument("--rate", type=float, default=20.0, help="market frames per second")
    synth.add_argument("--start", default="2026-11-01", help="start, UTC (a day or an ISO time)")
    synth.add_argument("--seed", type=int, default=1, help="random seed (same seed, same tape)")
    synth.set_defaults(func=cmd_synth)
