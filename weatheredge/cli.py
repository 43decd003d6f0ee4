"""The ``weatheredge`` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from weatheredge.config import ConfigError, LoadedConfig, load_config

DEFAULT_CONFIG = "config.yaml"
EXIT_CONFIG = 2

EPILOG = """examples:
  weatheredge run -c config.yaml          watch every temperature market (dry run by default)
  weatheredge check-config -c config.yaml  validate the config; exit 2 naming every bad key
  weatheredge demo --duration 30          the whole loop against the built-in offline sandbox
  weatheredge sandbox                     only the simulated servers, printing their URLs
  weatheredge edges --db weatheredge.db   the latest edge episodes (add --json for tools)
"""


def _config_path(arg: str | None) -> str | None:
    if arg is not None:
        return arg
    return DEFAULT_CONFIG if Path(DEFAULT_CONFIG).exists() else None


def _load(arg: str | None) -> LoadedConfig:
    try:
        return load_config(_config_path(arg))
    except ConfigError as err:
        print("invalid configuration:", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def setup_logging(loaded: LoadedConfig | None, level: str = "INFO") -> None:
    from weatheredge.notify import install_redaction, url_secrets

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if loaded is not None:
        secrets = set(loaded.secrets) | set(loaded.settings.notify.urls)
        for url in loaded.settings.notify.urls:
            secrets.update(url_secrets(url))
        install_redaction(secrets)
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
    else:
        log.warning("MODE %s: order placement is not implemented in this version", mode.upper())


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

    setup_logging(None, args.log_level)
    return asyncio.run(run_demo(duration=args.duration, db_path=args.db))


def cmd_sandbox(args: argparse.Namespace) -> int:
    from weatheredge.sandbox.demo import run_sandbox_forever

    setup_logging(None, args.log_level)
    return asyncio.run(
        run_sandbox_forever(args.host, args.port, write_config=args.write_config, db=args.db)
    )


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="weatheredge",
        description="Real-time edges on Polymarket daily-temperature markets.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help_,
            description=help_,
            epilog=EPILOG,
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
