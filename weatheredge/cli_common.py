"""What every command module needs: the config loaded (or a worded exit) and logging set up.

Its own module so the trading commands can use it without importing the top-level CLI back.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path

from weatheredge.config import ConfigError, LoadedConfig, load_config

DEFAULT_CONFIG = "config.yaml"
EXIT_CONFIG = 2


def _config_path(arg: str | None) -> str | None:
    if arg is not None:
        return arg
    return DEFAULT_CONFIG if Path(DEFAULT_CONFIG).exists() else None


# Secret values of the config loaded by this command, masked in a crash's traceback (main).
_LOADED_SECRETS: set[str] = set()


def _load(arg: str | None, *, runnable: bool = False, port: bool = False) -> LoadedConfig:
    """The config, or exit 2 naming every problem; ``runnable`` also checks it against this
    machine (writable database and log file; ``port``: the web port is free)."""
    try:
        loaded = load_config(_config_path(arg))
        if runnable:
            from weatheredge.config_checks import runtime_problems

            problems = runtime_problems(loaded.settings, check_port=port)
            if problems:
                raise ConfigError(problems)
    except ConfigError as err:
        print("invalid configuration:", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None
    _LOADED_SECRETS.update(loaded.secrets, loaded.settings.notify.urls)
    return loaded


def again(args: argparse.Namespace, command: str, *, db: bool = True) -> str:
    """``weatheredge COMMAND`` with the ``-c``/``--db`` this invocation was given, to paste."""
    parts = ["weatheredge", *command.split()]
    if getattr(args, "config", None):
        parts += ["-c", args.config]
    if db and getattr(args, "db", None):
        parts += ["--db", args.db]
    return shlex.join(parts)


def setup_logging(loaded: LoadedConfig | None, level: str = "INFO") -> None:
    from weatheredge.redact import install_redaction, secret_strings

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
