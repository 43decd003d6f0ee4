"""The ``weatheredge`` command line."""

from __future__ import annotations

import argparse
import asyncio
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
    pass

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
}


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
    from weatheredge.read_cli import add_commands as read_commands
    from weatheredge.trading.cli import add_commands as trading_commands

    read_commands(add)  # edges, calibration, query, status
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
