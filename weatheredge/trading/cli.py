"""``weatheredge arm | disarm | halt | resume | trades | pnl`` and ``demo --mode paper``."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from weatheredge.cli_common import _load
from weatheredge.config import Settings
from weatheredge.trading import ledger_files as L

AddFn = Callable[..., argparse.ArgumentParser]


def _settings(args: argparse.Namespace) -> Settings:
    return _load(getattr(args, "config", None)).settings


def _db(args: argparse.Namespace) -> str:
    return getattr(args, "db", None) or _settings(args).database


def cmd_arm(args: argparse.Namespace) -> int:
    from weatheredge.cli_common import again

    s = _settings(args)
    db = args.db or s.database
    L.write_state(db, "armed", "1")
    print(f"ARMED: in live mode this daemon ({db}) will place real orders.")
    if s.mode.value != "live":
        print(f"(the config's mode is {s.mode.value}: nothing real happens until mode: live)")
    print(f"Disarm with: {again(args, 'disarm')}   Stop at once with: {again(args, 'halt')}")
    return 0


def cmd_disarm(args: argparse.Namespace) -> int:
    s = _settings(args)
    L.write_state(args.db or s.database, "armed", "0")
    note = " (config armed: true still arms it)" if s.armed else ""
    print(f"disarmed{note}; takes effect at the next start (use halt to stop a running daemon)")
    return 0


def _daemon_call(s: Settings, path: str, body: dict[str, Any]) -> dict[str, Any]:
    host = "127.0.0.1" if s.web.host in ("0.0.0.0", "::", "") else s.web.host
    req = urllib.request.Request(
        f"http://{host}:{s.web.port}{path}",
        data=json.dumps(body).encode(),
        # The daemon refuses writes without it (a page on another origin cannot add it).
        headers={"Content-Type": "application/json", "X-Weatheredge": "1"},
        method="POST",
    )
    token = s.web.token
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=5) as resp:  # loopback: the daemon's own port
        return json.loads(resp.read() or b"{}")


def cmd_halt(args: argparse.Namespace) -> int:
    from weatheredge.cli_common import again

    s = _settings(args)
    db = args.db or s.database
    reason = args.reason or "weatheredge halt"
    try:
        answer = _daemon_call(s, "/api/v1/trading/halt", {"reason": reason, "cancel": args.cancel})
        print(f"HALTED: no new orders. {answer.get('cancelled', 0)} open order(s) cancelled.")
        print(f"resume with: {again(args, 'resume')}")
        return 0
    except urllib.error.HTTPError as err:
        # Something answered and refused: a daemon may be running on, so never say "halted".
        L.write_state(db, "halted", reason)
        print(
            f"the daemon refused the halt (HTTP {err.code}): a running daemon is NOT halted; "
            f"stop it. The halt is recorded in {db} for its next start.",
            file=sys.stderr,
        )
        return 1
    except (OSError, ValueError) as err:
        from weatheredge.failures import describe

        L.write_state(db, "halted", reason)
        print(f"daemon not reachable ({describe(err)}); halt recorded in {db}:")
        print(f"it will start halted. Resume with: {again(args, 'resume')}")
        return 0


def cmd_resume(args: argparse.Namespace) -> int:
    s = _settings(args)
    try:
        _daemon_call(s, "/api/v1/trading/resume", {})
        print("resumed: new orders allowed (automatic halts, e.g. a stale feed, still apply)")
    except (OSError, urllib.error.URLError, ValueError):
        db = args.db or s.database
        L.write_state(db, "halted", "")
        print(f"daemon not reachable; the recorded halt in {db} is cleared")
    return 0


def trades_rows(db: str, limit: int = 50) -> list[dict[str, Any]]:
    return L.query(
        db,
        "SELECT i.created_at, i.mode, i.kind, i.city, i.date, i.bucket, i.outcome, i.side, "
        "i.price, i.size, i.filled_size, i.fees, i.status, coalesce(i.error, '') AS note "
        "FROM trade_intents i ORDER BY i.created_at DESC LIMIT ?",
        [limit],
    )


def pnl_rows(db: str) -> list[dict[str, Any]]:
    """Per event: realised PnL (sales, fees and the venue's resolution payouts) and fees
    (exact), the part of it realised at resolution, open shares and their cost."""
    rows = L.query(db, "SELECT * FROM positions ORDER BY city, date, bucket")
    settled: dict[str, Decimal] = {}
    for f in L.query(db, "SELECT token_id, realized_pnl FROM trade_fills WHERE side = 'SETTLE'"):
        settled[f["token_id"]] = settled.get(f["token_id"], Decimal(0)) + Decimal(f["realized_pnl"])
    by_event: dict[str, dict[str, Any]] = {}
    for r in rows:
        key = f"{r['city']} {r['date']} ({r['event_id']})"
        zero = Decimal(0)
        e = by_event.setdefault(
            key, {"event": key, "realized": zero, "fees": zero, "settled": zero, "open_cost": zero}
        )
        e["realized"] += Decimal(r["realized_pnl"])
        e["fees"] += Decimal(r["fees"])
        e["settled"] += settled.get(r["token_id"], Decimal(0))
        e["open_cost"] += Decimal(r["shares"]) * Decimal(r["avg_price"])
    return list(by_event.values())


def format_pnl(db: str) -> str:
    events = pnl_rows(db)
    if not events:
        return "no trades yet"
    lines = [f"{'event':<40} {'realised':>12} {'fees':>10} {'at resolution':>14} {'open cost':>10}"]
    for e in events:
        lines.append(
            f"{e['event']:<40} {_n(e['realized']):>12} {_n(e['fees']):>10} "
            f"{_n(e['settled']):>14} {_n(e['open_cost']):>10}"
        )
    total = sum((e["realized"] for e in events), Decimal(0))
    lines.append(f"{'TOTAL realised PnL (pUSD)':<40} {_n(total):>12}")
    return "\n".join(lines)


def _n(d: Decimal) -> str:
    return format(d.normalize(), "f") if d else "0"


def cmd_trades(args: argparse.Namespace) -> int:
    db = _db(args)
    if not Path(db).exists():
        print(f"no database at {db}", file=sys.stderr)
        return 1
    rows = trades_rows(db, args.limit)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no orders yet")
        return 0
    cols = list(rows[0])
    table = [cols] + [[str(r[c] if r[c] is not None else "") for c in cols] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    return 0


def cmd_pnl(args: argparse.Namespace) -> int:
    db = _db(args)
    if not Path(db).exists():
        print(f"no database at {db}", file=sys.stderr)
        return 1
    if args.json:
        rows = [{k: str(v) for k, v in e.items()} for e in pnl_rows(db)]
        print(json.dumps(rows, indent=2))
    else:
        print(format_pnl(db))
    return 0


EXAMPLES = {
    "arm": """examples:
  weatheredge arm -c config.yaml      record the arming in the config's database
then, with mode: live and keys set, `weatheredge run -c config.yaml` places real orders.
undo: weatheredge disarm -c config.yaml      read docs/going-live.md first
""",
    "disarm": """examples:
  weatheredge disarm -c config.yaml   no real order after the next start
to stop a running daemon now: weatheredge halt -c config.yaml
""",
    "halt": """examples:
  weatheredge halt -c config.yaml                       no new orders, now
  weatheredge halt -c config.yaml --reason "storm" --cancel   and cancel open orders
daemon not running: the halt is recorded and it starts halted. undo: weatheredge resume
""",
    "resume": """examples:
  weatheredge resume -c config.yaml   release a manual halt (automatic halts still apply)
check with: weatheredge status -c config.yaml
""",
    "trades": """examples:
  weatheredge trades -c config.yaml           orders, fills and why any was rejected
  weatheredge trades --db p.db --limit 10     e.g. after weatheredge demo --mode paper --db p.db
  weatheredge trades --json | head            for tools
""",
    "pnl": """examples:
  weatheredge pnl -c config.yaml      realised PnL, fees and open cost per event
  weatheredge pnl --db p.db --json    e.g. after weatheredge demo --mode paper --db p.db
""",
}


def add_commands(add: AddFn) -> None:
    def common(p: argparse.ArgumentParser, db: bool = True) -> None:
        p.add_argument("-c", "--config", help="YAML config (default ./config.yaml if present)")
        if db:
            p.add_argument("--db", help="SQLite file (default: the config's database)")

    arm_help = "allow live mode to place real orders (recorded in the database)"
    common(add("arm", cmd_arm, arm_help, EXAMPLES["arm"]))
    disarm_help = "withdraw the arming recorded by `weatheredge arm`"
    common(add("disarm", cmd_disarm, disarm_help, EXAMPLES["disarm"]))
    halt_help = "kill switch: stop new orders now (the running daemon)"
    p = add("halt", cmd_halt, halt_help, EXAMPLES["halt"])
    common(p)
    p.add_argument("--reason", default="", help="why (shown in /status and notifications)")
    p.add_argument(
        "--cancel",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also cancel open orders (default: trading.cancel_on_halt)",
    )
    common(add("resume", cmd_resume, "release a manual halt", EXAMPLES["resume"]))
    p = add("trades", cmd_trades, "orders and their fills, newest first", EXAMPLES["trades"])
    common(p)
    p.add_argument("--limit", type=int, default=50, help="newest N orders (default 50)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    pnl_help = "realised PnL (resolution payouts included) and fees per event"
    p = add("pnl", cmd_pnl, pnl_help, EXAMPLES["pnl"])
    common(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
