"""The ``weatheredge`` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from weatheredge.config import ConfigError, LoadedConfig, load_config

DEFAULT_CONFIG = "config.yaml"
EXIT_CONFIG = 2

EPILOG = """examples:
  weatheredge run -c config.yaml          watch every temperature market (dry run by default)
  weatheredge check-config -c config.yaml  validate the config; exit 2 naming every bad key
  weatheredge demo --duration 30          the whole loop against the built-in offline sandbox
  weatheredge sandbox                     only the simulated servers, printing their URLs
  weatheredge demo --record tape/         the same, keeping its tape (weatheredge tape info tape/)
  weatheredge edges --db weatheredge.db   the latest edge episodes (add --json for tools)
  weatheredge calibration --plot rel.png  Brier/log loss of ours vs the market; reliability plot
  weatheredge status                      ask the running daemon how it is doing
  weatheredge query --list                the saved queries (db/queries/); run one by name
"""

QUERY_EXAMPLES = """examples:
  weatheredge query --list                            what can be asked, and what each needs
  weatheredge query edges_by_city_day                 table of edge episodes per city and day
  weatheredge query edges_by_city_day -p city=NYC -p since=2026-11-01
  weatheredge query latency_percentiles --csv > latency.csv
  weatheredge query pnl_by_week --db /var/lib/weatheredge/weatheredge.db --json

The same queries are Datasette canned queries: datasette weatheredge.db -m db/metadata.yml
"""

STATUS_EXAMPLES = """examples:
  weatheredge status                      summary from the daemon of ./config.yaml
  weatheredge status -c /etc/weatheredge/config.yaml --json
  weatheredge status --url http://127.0.0.1:8787   a daemon on another port
exit status: 0 healthy, 1 unhealthy (reasons printed), 3 daemon not reachable
"""


def _config_path(arg: str | None) -> str | None:
    if arg is not None:
        return arg
    return DEFAULT_CONFIG if Path(DEFAULT_CONFIG).exists() else None


# Secret values of the config loaded by this command, masked in a crash's traceback (main).
_LOADED_SECRETS: set[str] = set()


def _load(arg: str | None) -> LoadedConfig:
    try:
        loaded = load_config(_config_path(arg))
    except ConfigError as err:
        print("invalid configuration:", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None
    _LOADED_SECRETS.update(loaded.secrets, loaded.settings.notify.urls)
    return loaded


def setup_logging(loaded: LoadedConfig | None, level: str = "INFO") -> None:
    from weatheredge.notify import install_redaction, secret_strings

    formatter = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    log_file = loaded.settings.logging if loaded is not None else None
    if log_file is not None and log_file.file:
        # Rotating log file (config `logging:`), besides stderr; redacted like every handler.
        from logging.handlers import RotatingFileHandler

        Path(log_file.file).expanduser().parent.mkdir(parents=True, exist_ok=True)
        rotating = RotatingFileHandler(
            Path(log_file.file).expanduser(),
            maxBytes=log_file.max_bytes,
            backupCount=log_file.backup_count,
            encoding="utf-8",
        )
        rotating.setFormatter(formatter)
        rotating.setLevel(log_file.level.upper())
        handler.setLevel(level)
        root.addHandler(rotating)
        root.setLevel(
            min(logging.getLevelName(level), logging.getLevelName(log_file.level.upper()))
        )
    if loaded is not None:
        install_redaction(secret_strings(loaded.secrets, loaded.settings.notify.urls))
    # Routine chatter (every access line, every job run) would bury what matters.
    for name in ("aiohttp.access", "apscheduler", "apprise"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


def cmd_run(args: argparse.Namespace) -> int:
    from weatheredge.runtime import run_daemon

    loaded = _load(args.config)
    setup_logging(loaded, args.log_level)
    _banner(loaded)
    asyncio.run(run_daemon(loaded))
    return 0


def _banner(loaded: LoadedConfig) -> None:
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
            log.warning("stop at once: weatheredge halt   (see docs/going-live.md)")
            log.warning("*" * 72)
        else:
            log.warning("LIVE MODE, NOT ARMED: no order will be placed (weatheredge arm)")


def cmd_check_config(args: argparse.Namespace) -> int:
    loaded = _load(args.config)
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
        from weatheredge.trading.cli import cmd_paper_demo

        return cmd_paper_demo(args)

    setup_logging(None, args.log_level)
    return asyncio.run(run_demo(duration=args.duration, db_path=args.db, record=args.record))


def cmd_sandbox(args: argparse.Namespace) -> int:
    from weatheredge.sandbox.demo import run_sandbox_forever

    setup_logging(None, args.log_level)
    return asyncio.run(
        run_sandbox_forever(args.host, args.port, write_config=args.write_config, db=args.db)
    )


def cmd_calibration(args: argparse.Namespace) -> int:
    from weatheredge.calibration_report import build_report, format_report, plot_reliability

    db = args.db or _load(args.config).settings.database
    if not Path(db).exists():
        print(f"no database at {db} (run the daemon, or pass --db)", file=sys.stderr)
        return 1
    report = build_report(db)
    print(format_report(report))
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
        print(json.dumps(rows, indent=2, default=str))
        return 0
    print(format_edges_table(rows))
    return 0


def format_edges_table(rows: list[dict]) -> str:
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
        for c in cols:
            v = row.get(c)
            cells.append(f"{v:.3f}" if isinstance(v, float) else ("" if v is None else str(v)))
        out.append(cells)
    widths = [max(len(r[i]) for r in out) for i in range(len(cols))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in out)


def cmd_query(args: argparse.Namespace) -> int:
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
        with queries.connect_read_only(db) as conn:
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
    from weatheredge.webui.client import fetch_status, format_status

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
        print("is it running? start it with: weatheredge run -c config.yaml", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(format_status(doc, url))
    return 0 if doc.get("healthy", True) else 1


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
        name: str, func: Callable[[argparse.Namespace], int], help_: str, epilog: str = EPILOG
    ) -> argparse.ArgumentParser:
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
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="first port (default: any free)")
    p.add_argument("--write-config", metavar="PATH", help="write a config pointing at it")
    p.add_argument("--db", default="sandbox.db", help="database path put in that config")
    p = add("edges", cmd_edges, "list recorded edge episodes")
    p.add_argument("--db", help="SQLite file (default: the config's database)")
    p.add_argument("-c", "--config", help="config to read the database path from")
    p.add_argument("--limit", type=int, default=50)
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
    from weatheredge.tape.cli import add_commands as tape_commands

    tape_commands(add)  # tape info, repair, synth (issue 9)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except Exception:
        # Python's own traceback printer would show secrets that exception texts carry (a URL
        # from !env): print it through the same masking as the logs.
        import traceback

        from weatheredge.notify import install_redaction, secret_strings

        redactor = install_redaction(secret_strings(_LOADED_SECRETS))
        print(redactor.redact(traceback.format_exc()), end="", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
