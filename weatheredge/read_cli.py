"""The commands that read what the daemon recorded or reports: ``edges``, ``calibration``,
``query`` and ``status``. They open the database read-only or ask the running daemon; none
starts anything."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from weatheredge.cli_common import EXIT_CONFIG, _load, again

if TYPE_CHECKING:
    from weatheredge.store.rows import EdgeRow

EDGES_EXAMPLES = """examples:
  weatheredge edges -c config.yaml              the 50 latest edge episodes as a table
  weatheredge edges --db weatheredge.db --limit 10
  weatheredge edges --json | jq '.[0]'          for tools (also fine piped into head)
"""

CALIBRATION_EXAMPLES = """examples:
  weatheredge calibration -c config.yaml           Brier and log loss: ours vs the market
  weatheredge calibration --db we.db --plot rel.png   and the reliability diagram
"""

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


Add = Callable[..., argparse.ArgumentParser]


def add_commands(add: Add) -> None:
    """Register the read commands on the top-level parser's ``add``."""
    p = add("edges", cmd_edges, "list recorded edge episodes", EDGES_EXAMPLES)
    p.add_argument("--db", help="SQLite file (default: the config's database)")
    p.add_argument("-c", "--config", help="config to read the database path from")
    p.add_argument("--limit", type=int, default=50, help="newest N episodes (default 50)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p = add("calibration", cmd_calibration, "score settled events: ours vs the market",
            CALIBRATION_EXAMPLES)  # fmt: skip
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
