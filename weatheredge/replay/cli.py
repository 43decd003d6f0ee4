"""``weatheredge replay TAPE`` and ``weatheredge backtest TAPE``."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path

from weatheredge.config import Mode, load_config
from weatheredge.config_trading import Strategy
from weatheredge.errors import ConfigError
from weatheredge.replay.driver import Replay, ReplayResult, parse_time, tape_records
from weatheredge.replay.parity import differences, edge_rows, trade_rows
from weatheredge.replay.scoreboard import (
    METRICS,
    TABLES,
    CombinationResult,
    RunData,
    format_metric,
    score,
)
from weatheredge.replay.settings import parse_sets, replay_settings, with_overrides

AddFn = Callable[..., argparse.ArgumentParser]
MAKER_KEYS = "trading.maker."

EPILOG = """examples:
  weatheredge demo --mode paper --record tape/  record a sandbox run (config: see docs/tape.md)
  weatheredge replay tape/ --config c.yaml --check     same decisions as live? (exit 1 if not)
  weatheredge replay tape/ --config c.yaml --set min_edge=0.08 --db what-if.db
  weatheredge backtest tape/ --config c.yaml --set min_edge=0.03,0.05,0.08
"""


BACKTEST_EPILOG = """examples:
  weatheredge backtest tape/ -c c.yaml --set min_edge=0.03,0.05,0.08
  weatheredge backtest tape/ -c c.yaml --from 2026-11-23 --to 2026-11-30 --set min_edge=0.05,0.08
  weatheredge backtest tape/ -c c.yaml --set min_edge=0.05,0.08 --set trading.max_order_usd=10,50
  weatheredge backtest tape/ -c c.yaml --set min_edge=0.05,0.08 --plot pnl.png
columns: docs/tape.md#backtest (PnL at the venue's resolution, drawdown, hit rate, Brier/log loss)
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
    sample_s: float | None = None,
    venue: str = "paper",
) -> ReplayResult:
    settings = replay_settings(config, overrides, db)
    replay = Replay(
        settings, speed=speed, start_ns=parse_time(start), end_ns=parse_time(end),
        sample_s=sample_s, venue=venue,
    )  # fmt: skip
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
            speed=_speed(args.speed), start=args.start, end=args.end, venue=args.venue,
        )  # fmt: skip
    print(_summary(result))
    if args.db:
        print(f"database: {args.db} (weatheredge edges --db {args.db})")
    if not args.check:
        return 0
    diff = differences(result.taped, result.decisions)
    diff += [f"tape venue: {m}" for m in result.venue_mismatches]
    if not diff:
        print(f"parity: OK ({len(edge_rows(result.taped))} edge changes, "
              f"{len(trade_rows(result.taped))} trade rows equal the tape's)")  # fmt: skip
        return 0
    print(f"parity: {len(diff)} difference(s)")
    for line in diff[:50]:
        print(f"  {line}")
    return 1


def run_combination(
    tape: str,
    *,
    config: str | None,
    overrides: dict[str, str],
    start: str | None,
    end: str | None,
    sample_s: float | None = None,
) -> CombinationResult:
    """One replay (its database in a temporary directory) and its scoreboard row."""
    with tempfile.TemporaryDirectory(prefix="weatheredge-backtest-") as tmp:
        db = str(Path(tmp) / "bt.db")
        result = run_replay(
            tape, config=config, overrides=overrides, db=db, start=start, end=end,
            sample_s=sample_s,
        )  # fmt: skip
        run = RunData(overrides, result.decisions, result.positions, result.samples,
                      result.resolutions, result.end_wall_ns, db)  # fmt: skip
        scored = score(run)  # while the database exists: a metric may read it
    scored.extra.update(cpu_s=result.cpu_s, records=sum(result.counts.values()),
                        missing=dict(result.missing))  # fmt: skip
    return scored


def applicable(config: str | None, overrides: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The overrides that change what runs, and those that do not: the taker strategy reads
    none of ``trading.maker.*``, so a sweep over them replays the taker once."""
    strategy = with_overrides(load_config(config).settings, overrides).trading.strategy
    if strategy is not Strategy.TAKER:
        return overrides, []
    ignored = [k for k in overrides if k.startswith(MAKER_KEYS)]
    return {k: v for k, v in overrides.items() if k not in ignored}, ignored


DRY_RUN_NOTE = (
    "mode dry_run: the trader only records intents, so trades, fees and PnL are 0; "
    "add --set mode=paper to trade them on paper"
)


def dry_run(config: str | None, overrides: dict[str, str]) -> bool:
    """Whether a combination runs in dry run (the default mode): it places no paper orders."""
    return with_overrides(load_config(config).settings, overrides).mode is Mode.DRY_RUN


def cmd_backtest(args: argparse.Namespace) -> int:
    sets = parse_sets(args.set or [])
    keys = list(sets)
    results, notes, seen, dry = [], [], set(), 0
    for values in itertools.product(*(sets[k] for k in keys)):
        overrides, ignored = applicable(args.config, dict(zip(keys, values, strict=True)))
        if tuple(overrides.items()) in seen:
            continue  # the same replay as a combination already run
        seen.add(tuple(overrides.items()))
        result = run_combination(
            args.tape, config=args.config, overrides=overrides, start=args.start, end=args.end,
            sample_s=args.sample_every,
        )  # fmt: skip
        results.append(result)
        if ignored:
            notes.append(f"{result.name}: {', '.join(ignored)} do not apply to the taker "
                         "strategy; replayed once")  # fmt: skip
        dry += dry_run(args.config, overrides)
    print(render_scoreboard(results))
    if dry:
        notes.append(f"{dry} of {len(results)} combinations in {DRY_RUN_NOTE}")
    if notes:
        print("\n" + "\n".join(notes))
    if args.plot:
        from weatheredge.replay.plot import plot_pnl

        plot_pnl(results, args.plot)
        print(f"\ncumulative PnL per combination: {args.plot}")
    return 0


def quotes(results: list[CombinationResult]) -> bool:
    """Whether some combination ran the maker strategy (placed a quote, or was set to)."""
    return any(
        (r.metrics.get("quotes_placed") or 0) > 0
        or r.overrides.get("trading.strategy") in ("maker", "both")
        for r in results
    )


def render_table(results: list[CombinationResult], columns: list[str]) -> list[str]:
    width = max([len("combination"), *(len(r.name) for r in results)])
    heads = [(name, max(len(METRICS[name].header), 8)) for name in columns]
    lines = [f"{'combination':<{width}} " + " ".join(f"{METRICS[n].header:>{w}}" for n, w in heads)]
    for r in results:
        cells = " ".join(f"{format_metric(n, r.metrics.get(n)):>{w}}" for n, w in heads)
        lines.append(f"{r.name:<{width}} {cells}")
    return lines


def render_scoreboard(results: list[CombinationResult]) -> str:
    """The table (one row per combination, one column per registered metric); the maker
    table when some combination quotes; then each combination's scores by lead and city and
    its PnL by city."""
    lines = render_table(results, TABLES["main"])
    if quotes(results):
        lines += [
            "",
            "maker (quotes; adverse = mid move against a filled quote, docs/fill-model.md)",
        ]
        lines += render_table(results, TABLES["maker"])
    for r in results:
        lines.append(
            f"\n{r.name}: replayed {r.extra.get('records', 0)} records in "
            f"{r.extra.get('cpu_s', 0.0):.2f} s CPU"
        )
        for by in ("horizon", "city"):
            for group, s in r.scores.get(by, {}).items():
                lines.append(
                    f"  {by:<7} {group:<14} n={s['n']:<6} Brier ours {s['brier']:.4f} "
                    f"mkt {s['brier_mkt']:.4f}  log loss ours {s['log_loss']:.4f} "
                    f"mkt {s['log_loss_mkt']:.4f}"
                )
        if not r.scores.get("all"):
            lines.append("  scores: no sampled bucket has a resolution on the tape")
        for city, pnl in r.pnl_by_city.items():
            lines.append(f"  pnl     {city:<14} {pnl:+.4f}")
        for what, n in sorted(r.extra.get("missing", {}).items()):
            lines.append(f"  not on the tape: {what} (x{n}; answered as a timeout)")
    return "\n".join(lines)


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
    p.add_argument(
        "--venue", choices=("paper", "tape"), default="paper",
        help="paper: orders fill against the tape's books; tape: the venue's recorded answers "
        "and user-channel fills (a tape recorded while trading for real)",
    )  # fmt: skip
    b = add("backtest", cmd_backtest, "one replay per --set combination: scoreboard",
            BACKTEST_EPILOG)  # fmt: skip
    _common(b)
    b.add_argument("--plot", metavar="FILE.png", help="draw cumulative PnL per combination")
    b.add_argument(
        "--sample-every", type=float, metavar="S",
        help="seconds between the probability/mid samples scored (default model.snapshot_interval)",
    )  # fmt: skip
