"""``weatheredge reload``: ask the running daemon to reload its config file.

The daemon re-reads its own file (never a path sent over HTTP). The local copy of ``-c CONFIG``
only says where the daemon listens; when that copy is invalid its ``web:`` section is still
read leniently, so the daemon can be asked and can show "config rejected" on its status page.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import yaml

from weatheredge.config import ConfigError, Settings, WebSettings, load_config
from weatheredge.config_validate import validate_struct

EXIT_REJECTED = 2
EXIT_UNREACHABLE = 3

RELOAD_EXAMPLES = """examples:
  weatheredge reload -c /etc/weatheredge/config.yaml   validate the edited file and apply it
  kill -HUP $(pidof weatheredge)                        the same, by signal
exit status: 0 applied (or nothing to apply), 2 rejected (every bad key listed), 1 refused
(HTTP error, e.g. a web.token the daemon does not have yet), 3 not reachable
"""


def _daemon_settings(path: str | None) -> tuple[Any, list[str]]:
    """Settings to find the daemon with, and the local file's problems (empty when valid)."""
    try:
        return load_config(path).settings, []
    except ConfigError as err:
        return Settings(web=_lenient_web(path)), list(err.problems)


def _lenient_web(path: str | None) -> WebSettings:
    from weatheredge.config_secrets import make_loader  # the same !secret / !env resolution

    if path is None:
        return WebSettings()
    import os

    loader = make_loader(Path(path), os.environ, set(), [])
    try:
        raw = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=loader) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return WebSettings()
    web = raw.get("web") if isinstance(raw, dict) else None
    if not isinstance(web, dict) or validate_struct(web, WebSettings):
        return WebSettings()
    return msgspec.convert(web, WebSettings)


def _listening(database: str) -> tuple[str, int] | None:
    """Where the daemon holding ``database`` listens, from its lock file (see runtime)."""
    try:
        _pid, host, port = Path(f"{database}.lock").read_text().split()
        return host, int(port)
    except (OSError, ValueError):
        return None


def _call(settings: Settings) -> dict[str, Any]:
    from weatheredge.trading.cli import _daemon_call

    try:
        return _daemon_call(settings, "/api/v1/reload", {})
    except urllib.error.HTTPError:
        raise
    except OSError:
        # An edited web.host/port: the daemon still listens where it started.
        found = _listening(settings.database)
        if found is None or found == (settings.web.host, settings.web.port):
            raise
        web = msgspec.structs.replace(settings.web, host=found[0], port=found[1])
        return _daemon_call(msgspec.structs.replace(settings, web=web), "/api/v1/reload", {})


def cmd_reload(args: argparse.Namespace) -> int:
    from weatheredge.cli_common import _config_path
    from weatheredge.failures import describe

    path = _config_path(args.config)
    settings, local_problems = _daemon_settings(path)
    try:
        answer = _call(settings)
    except urllib.error.HTTPError as err:  # 422: rejected, with the reasons in the body
        try:
            answer = json.loads(err.read() or b"{}")
        except ValueError:
            answer = {}
        if err.code != 422:  # e.g. 401: web.token in the file differs from the daemon's
            print(f"the daemon refused: HTTP {err.code} {answer.get('error', '')}", file=sys.stderr)
            return 1
    except (OSError, ValueError) as err:
        where = f"{settings.web.host}:{settings.web.port}"
        print(f"weatheredge is not answering at {where}: {describe(err)}", file=sys.stderr)
        if local_problems:
            _print_problems(local_problems)
            return EXIT_REJECTED
        return EXIT_UNREACHABLE
    if args.json:
        print(json.dumps(answer, indent=2))
    return _report(answer)


def _report(answer: dict[str, Any]) -> int:
    result = answer.get("result")
    if result != "applied" and result != "unchanged":
        _print_problems(answer.get("problems") or [str(answer.get("error", result))])
        return EXIT_REJECTED
    print(f"config {result}: version {answer.get('version')}")
    for line in answer.get("changed", []):
        print(f"  applied: {line}")
    for line in answer.get("needs_restart", []):
        print(f"  needs a restart (not applied): {line}")
    return 0


def _print_problems(problems: list[str]) -> None:
    print("config rejected; the daemon keeps running on its previous config:", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)


def add_command(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add("reload", cmd_reload, "validate the daemon's config file and apply it live",
            RELOAD_EXAMPLES)  # fmt: skip
    p.add_argument("-c", "--config", help="config naming the daemon's web host/port/token")
    p.add_argument("--json", action="store_true", help="also print the daemon's JSON answer")
