"""The ``weatheredge`` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from weatheredge.cli_common import (
    _LOADED_SECRETS,
    DEFAULT_CONFIG,
    EXIT_CONFIG,
    _load,
    again,
    setup_logging,
)
from weatheredge.config import LoadedConfig

if TYPE_CHECKING:
    from weatheredge.store.rows import EdgeRow

EPILOG = """examples:
  weatheredge demo --duration 30          the whole loop against the built-in offline sandbox
  weatheredge demo --mode paper           a sandbox day traded on paper, with its PnL
  weatheredge demo --record tape/         the demo, keeping its tape (weatheredge tape info tape/)
  weatheredge run -c config.yaml          watch every temperature market (dry run by default)
  weatheredge status -c config.yaml       ask the running daemon how it is doing
  weatheredge edges -c config.yaml        the latest edge episodes (add --json for tools)
  weatheredge trades -c config.yaml       orders and fills;  weatheredge pnl: PnL per event
  weatheredge halt -c config.yaml         kill switch: no new orders;  weatheredge resume
  weatheredge arm -c config.yaml          allow live orders (read docs/going-live.md);  disarm

every command has its own examples: weatheredge COMMAND --help
"""

EXAMPLES = {
    "run": """examples:
  weatheredge run -c config.yaml                     dry run: record and notify edges only
  weatheredge --log-level DEBUG run -c config.yaml   tracebacks of failing jobs too
  weatheredge sandbox --write-config sb.yaml & weatheredge run -c sb.yaml   all offline

while it runs: weatheredge status -c config.yaml; stop new orders at once: weatheredge halt
exit status: 0 after a clean stop, 2 invalid config or the web port busy
""",
    "check-config": """examples:
  weatheredge check-config -c config.yaml   prints the effective settings, exit 0
  weatheredge check-config -c bad.yaml      lists every bad key by path, exit 2
""",
    "demo": """examples:
  weatheredge demo                           30 s of the whole loop, offline, dry run
  weatheredge demo --duration 60 --db d.db   keep the database; then: weatheredge edges --db d.db
  weatheredge demo --mode paper              trade the sandbox day on paper; prints PnL
  weatheredge demo --mode paper --db p.db    keep it; then: weatheredge trades --db p.db
                                             and: weatheredge pnl --db p.db
""",
    "sandbox": """examples:
  weatheredge sandbox                           simulated venue and weather; prints the URLs
  weatheredge sandbox --write-config sb.yaml    and a config pointing at them; then in another
                                                shell: weatheredge run -c sb.yaml
  weatheredge sandbox --port 9000               fixed ports from 9000 up
""",
    "edges": """examples:
  weatheredge edges -c config.yaml              the 50 latest edge episodes as a table
  weatheredge edges --db weatheredge.db --limit 10
  weatheredge edges --json | jq '.[0]'          for tools (also fine piped into head)
""",
    "calibration": """examples:
  weatheredge calibration -c config.yaml           Brier and log loss: ours vs the market
  weatheredge calibration --db we.db --plot rel.png   and the reliability diagram
""",
}

QUERY_EXAMPLES = """examples:
  weatheredge query --list                            what can be asked, and what each needs
  weatheredge query edges_by_city_day                 table of edge episodes per city and day
  weatheredge query edges_by_city_day -p city=NYC -p since=2026-11-01
  weatheredge query latency_percentiles --csv > latency.csv
  weatheredge query pnl_by_week --db /var/lib/weatheredge/weatheredge.db --json

The same queries are Datasette canned queries:
  datasette weatheredge.db -m db/metadata.yml --plugins-dir db/datasette
"""

STATUS_EXAMPLES = """examples:
  weatheredge status                      summary from the daemon of ./config.yaml
  weatheredge status -c /etc/weatheredge/config.yaml --json
  weatheredge status --url http://127.0.0.1:8787   a daemon on another port
exit status: 0 healthy, degraded or starting; 1 unhealthy or halted (reasons printed);
             3 daemon not reachable
"""


def cmd_run(args: argparse.Namespace) -> int:
    from weatheredge.errors import StartupError
    from weatheredge.preflight import preflight
    from weatheredge.runtime import run_daemon

    loaded = _load(args.config, runnable=True)
    try:
        sock = preflight(loaded.settings)  # before anything is migrated, fetched or traded
    except StartupError as err:
        print(f"weatheredge: {err}", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(loaded, args.log_level)
    _banner(loaded, args)
    asyncio.run(run_daemon(loaded, sock=sock))
    return 0


def _banner(loaded: LoadedConfig, args: argparse.Namespace) -> None:
    mode = loaded.settings.mode.value
    log = logging.getLogger("weatheredge")
    if mode == "dry_run":
        log.warning("DRY RUN: edges are recorded and notified; no order is ever placed")
    elif mode == "paper":
        log.warning("PAPER TRADING: fills simulated against the live book; no real order")
    else:
        from weatheredge.trading.setup import is_armed

        if is_armed(loaded.settings):
            log.warning("*" * 72)
            log.warning("LIVE TRADING IS ARMED: REAL ORDERS WITH REAL MONEY")
            log.warning("stop at once: %s   (see docs/going-live.md)", again(args, "halt"))
            log.warning("*" * 72)
        else:
            log.warning("LIVE MODE, NOT ARMED: no order will be placed (weatheredge arm)")


def cmd_check_config(args: argparse.Namespace) -> int:
    loaded = _load(args.config, runnable=True, port=True)
    s = loaded.settings
    where = loaded.path or "(built-in defaults)"
    print(f"{where}: valid")
    print(f"  mode={s.mode.value} min_edge={s.min_edge} database={s.database}")
    print(f"  websocket enabled={s.websocket.enabled} heartbeat={s.websocket.heartbeat_interval}s")
    print(f"  notify: {len(s.notify.urls)} url(s); web: http://{s.web.host}:{s.web.port}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from weatheredge.sandbox.demo import run_demo

    if getattr(args, "mode", "dry_run") == "paper":
        from weatheredge.trading.demo import cmd_paper_demo

        return cmd_paper_demo(args)

    setup_logging(None, args.log_level)
    return asyncio.run(run_demo(duration=args.duration, db_path=args.db, record=args.record))


def cmd_sandbox(args: argparse.Namespace) -> int:
    from weatheredge.sandbox.demo import run_sandbox_forever

    setup_logging(None, args.log_level)
    # The config resolves a relative path beside itself; the one typed here means the cwd.
    db = str(Path(args.db).absolute()) if args.db else "sandbox.db"
    return asyncio.run(
        run_sandbox_forever(args.host, args.port, write_config=args.write_config, db=db)
    )


def cmd_calibration(args: argparse.Namespace) -> int:
    from weatheredge.calibration_report import (
        build_report,
        format_report,
        has_settled_data,
        plot_reliability,
    )

    db = args.db or _load(args.config).settings.database
    if not Path(db).exists():
        print(f"no database at {db} (run the daemon, or pass --db)", file=sys.stderr)
        return 1
    report = build_report(db)
    print(format_report(report))
    if args.plot and not has_settled_data(report):
        print(
            f"no settled data yet: no reliability diagram drawn ({args.plot} not written); "
            "events are scored once the settlement job has settled them",
            file=sys.stderr,
        )
        return 1
    if args.plot:
        plot_reliability(report, args.plot)
        print(f"reliability diagram written to {args.plot}")
    return 0


def cmd_edges(args: argparse.Namespace) -> int:
    from weatheredge.store import recent_edges

    db = args.db or _load(args.config).settings.database
    if not Path(db).exists():
        print(f"no database at {db}", file=sys.stderr)
        return 1
    rows = recent_edges(db, limit=args.limit)
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2, default=str))
        return 0
    print(format_edges_table(rows))
    return 0


def format_edges_table(rows: list[EdgeRow]) -> str:
    if not rows:
        return "no edges recorded yet"
    cols = [
        "opened_at",
        "city",
        "date",
        "bucket",
        "side",
        "open_price",
        "prob",
        "open_edge",
        "open_size",
        "status",
        "latency_us",
    ]
    out = [cols]
    for row in rows:
        cells = []
        values = row.as_dict()
        for c in cols:
            v = values[c]
            cells.append(f"{v:.3f}" if isinstance(v, float) else ("" if v is None else str(v)))
        out.append(cells)
    widths = [max(len(r[i]) for r in out) for i in range(len(cols))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in out)


def cmd_query(args: argparse.Namespace) -> int:
    from db.readonly import connect_read_only
    from weatheredge.webui import queries

    if args.list or not args.name:
        for q in queries.all_queries():
            needs = ", ".join(q.requires)
            params = " ".join(f"-p {p}=…" for p in q.params)
            print(f"{q.name}\n    {q.title}. {q.description}\n    reads: {needs}  {params}")
        return 0
    try:
        query = queries.load(args.name)
    except queries.QueryUnavailable as err:
        print(err, file=sys.stderr)
        return EXIT_CONFIG
    params = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"-p {item}: expected NAME=VALUE", file=sys.stderr)
            return EXIT_CONFIG
        params[key.lstrip(":")] = value
    db = args.db or _load(args.config).settings.database
    if not Path(db).exists():
        print(f"no database at {db} (run the daemon, or pass --db)", file=sys.stderr)
        return 1
    try:
        with connect_read_only(db) as conn:
            result = queries.run(conn, query, params)
    except queries.QueryUnavailable as err:
        print(err, file=sys.stderr)
        return 1
    if args.json:
        print(queries.format_json(result))
    elif args.csv:
        print(queries.format_csv(result), end="")
    else:
        print(queries.format_table(result))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from weatheredge.webui.client import exit_code, fetch_status, format_status

    if args.url:
        url, token = args.url.rstrip("/"), None
    else:
        s = _load(args.config).settings
        host = "127.0.0.1" if s.web.host in ("0.0.0.0", "::", "") else s.web.host
        url, token = f"http://{host}:{s.web.port}", s.web.token
    try:
        doc = fetch_status(url, token=token, timeout=args.timeout)
    except OSError as err:
        print(f"weatheredge is not answering at {url}: {err}", file=sys.stderr)
        print(f"is it running? start it with: {again(args, 'run')}", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(format_status(doc, url, again(args, "resume", db=False)))
    return exit_code(doc)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="weatheredge",
        description="Real-time edges on Polymarket daily-temperature markets.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help_: str, epilog: str = ""
    ) -> argparse.ArgumentParser:
        epilog = epilog or EXAMPLES[name]
        p = sub.add_parser(
            name,
            help=help_,
            description=help_,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(func=func)
        return p

    p = add("run", cmd_run, "run the daemon")
    p.add_argument("-c", "--config", help=f"YAML config (default ./{DEFAULT_CONFIG} if present)")
    p = add("check-config", cmd_check_config, "validate a config file (exit 2 if invalid)")
    p.add_argument("-c", "--config", help=f"YAML config (default ./{DEFAULT_CONFIG} if present)")
    p = add("demo", cmd_demo, "run the whole loop offline against the built-in sandbox")
    p.add_argument("--duration", type=float, default=30.0, help="seconds to run (default 30)")
    p.add_argument("--db", default=None, help="SQLite file (default: a temporary file)")
    p.add_argument("--mode", choices=["dry_run", "paper"], default="dry_run",
                   help="paper: trade the sandbox day on paper and print its PnL")  # fmt: skip
    p.add_argument("--record", metavar="DIR", help="keep the run's tape in DIR (docs/tape.md)")
    p = add("sandbox", cmd_sandbox, "run only the simulated venue and weather servers")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="first port (default: any free)")
    p.add_argument("--write-config", metavar="PATH", help="write a config pointing at it")
    p.add_argument("--db", help="database path put in that config (default: sandbox.db beside it)")
    p = add("edges", cmd_edges, "list recorded edge episodes")
    p.add_argument("--db", help="SQLite file (default: the config's database)")
    p.add_argument("-c", "--config", help="config to read the database path from")
    p.add_argument("--limit", type=int, default=50, help="newest N episodes (default 50)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p = add("calibration", cmd_calibration, "score settled events: ours vs the market")
    p.add_argument("--db", help="SQLite file (default: the config's database)")
    p.add_argument("-c", "--config", help="config to read the database path from")
    p.add_argument("--plot", metavar="FILE.png", help="also draw the reliability diagram")
    p = add("query", cmd_query, "run a saved query from db/queries/ and print the result",
            QUERY_EXAMPLES)  # fmt: skip
    p.add_argument("name", nargs="?", help="saved query name (see --list)")
    p.add_argument("--list", action="store_true", help="list the saved queries")
    p.add_argument("--db", help="SQLite file (default: the config's database)")
    p.add_argument("-c", "--config", help="config to read the database path from")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="bind a named parameter, e.g. -p city=NYC (repeatable)")  # fmt: skip
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print a JSON array of objects")
    fmt.add_argument("--csv", action="store_true", help="print CSV with a header row")
    p = add("status", cmd_status, "ask the running daemon for its status", STATUS_EXAMPLES)
    p.add_argument("-c", "--config", help="config naming the daemon's web host/port/token")
    p.add_argument("--url", help="daemon base URL instead (e.g. http://127.0.0.1:8787)")
    p.add_argument("--json", action="store_true", help="print the raw /status JSON")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    from weatheredge.trading.cli import add_commands as trading_commands

    trading_commands(add)  # arm, disarm, halt, resume, trades, pnl (issue 5)
    from weatheredge.reload_cli import add_command as reload_command

    reload_command(add)  # reload the running daemon's config (issue 15)

    from weatheredge.tape.cli import add_commands as tape_commands

    tape_commands(add)  # tape info, repair, synth (issue 9)
    from weatheredge.replay.cli import add_commands as replay_commands

    replay_commands(add)  # replay, replay --check, backtest (issue 9)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `weatheredge edges | head`: the reader left. Point stdout at /dev/null so the final
        # flush at exit does not fail again, and exit as a process killed by SIGPIPE would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13
    except Exception:
        # Python's own traceback printer would show secrets that exception texts carry (a URL
        # from !env): print it through the same masking as the logs.
        import traceback

        from weatheredge.redact import install_redaction, secret_strings

        redactor = install_redaction(secret_strings(_LOADED_SECRETS))
        print(redactor.redact(traceback.format_exc()), end="", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
