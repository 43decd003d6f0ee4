"""Saved queries (``db/queries/*.sql``): parse their headers, check what they need, run them.

Each file starts with a comment header the tools read::

    -- title: Hit rate of edges after settlement
    -- A paragraph describing what it answers ...
    -- requires: edges(event_id, market_id, side)
    -- requires: settlements(event_id, winning_market_id)

``requires`` names the tables (and columns) the query reads. Some of them arrive with later
migrations (settlement in m002, trading in m003); against a database that lacks them the query
is not run and the caller gets a clear reason instead of a bare SQLite error.

Named parameters (``:city``, ``:since``) default to NULL, which every saved query reads as
"all"; the empty string means the same, because that is what Datasette's forms send.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from db import QUERIES_DIR

# Where the tables that are not in m001 come from, for the "not there yet" message.
TABLE_ORIGIN = {
    "settlements": "migration m002 (settlement, issue 4)",
    "positions": "migration m003 (trading, issue 5)",
    "trade_fills": "migration m003 (trading, issue 5)",
    "trade_intents": "migration m003 (trading, issue 5)",
}

_REQUIRES = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:\(([^)]*)\))?\s*$")
_STRINGS = re.compile(r"'(?:[^']|'')*'")
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@dataclass(frozen=True, slots=True)
class SavedQuery:
    name: str
    title: str
    description: str
    sql: str
    params: tuple[str, ...]
    requires: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


class QueryUnavailable(Exception):
    """The database lacks a table or column the query needs (or the query does not exist)."""


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def parse(name: str, sql: str) -> SavedQuery:
    title = name.replace("_", " ")
    description: list[str] = []
    requires: dict[str, tuple[str, ...]] = {}
    in_description = True
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        text = line[2:].strip()
        if text.startswith("title:"):
            title = text.removeprefix("title:").strip()
        elif text.startswith("requires:"):
            in_description = False
            match = _REQUIRES.match(text.removeprefix("requires:"))
            if match is None:
                raise ValueError(f"{name}: bad requires line: {line!r}")
            cols = tuple(c.strip() for c in (match.group(2) or "").split(",") if c.strip())
            requires[match.group(1)] = tuple(dict.fromkeys(requires.get(match.group(1), ()) + cols))
        elif not text:
            in_description = False if description else in_description
        elif in_description:
            description.append(text)
    body = _STRINGS.sub("''", _strip_comments(sql))
    params = tuple(dict.fromkeys(_PARAM.findall(body)))
    return SavedQuery(name, title, " ".join(description), sql, params, requires)


def names(directory: Path = QUERIES_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.sql"))


def load(name: str, directory: Path = QUERIES_DIR) -> SavedQuery:
    path = directory / f"{name}.sql"
    if not re.fullmatch(r"[A-Za-z0-9_]+", name) or not path.is_file():
        known = ", ".join(names(directory))
        raise QueryUnavailable(f"no saved query {name!r} (known: {known})")
    return parse(name, path.read_text(encoding="utf-8"))


def all_queries(directory: Path = QUERIES_DIR) -> list[SavedQuery]:
    return [load(n, directory) for n in names(directory)]


def missing(conn: sqlite3.Connection, query: SavedQuery) -> list[str]:
    """Why the query cannot run on this database (empty when it can)."""
    reasons = []
    for table, cols in query.requires.items():
        found = {row[1] for row in conn.execute(f"PRAGMA table_info([{table}])")}
        if not found:
            origin = TABLE_ORIGIN.get(table)
            where = f"; it arrives with {origin}" if origin else ""
            reasons.append(f"needs table {table}, which this database does not have yet{where}")
            continue
        lacking = [c for c in cols if c not in found]
        if lacking:
            reasons.append(f"needs column(s) {', '.join(lacking)} in table {table}")
    return reasons


@dataclass(frozen=True, slots=True)
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


def run(
    conn: sqlite3.Connection, query: SavedQuery, params: Mapping[str, Any] | None = None
) -> Result:
    """Run a saved query. Raises QueryUnavailable if the database lacks what it needs."""
    reasons = missing(conn, query)
    if reasons:
        raise QueryUnavailable(f"{query.name}: " + "; ".join(reasons))
    params = dict(params or {})
    unknown = sorted(set(params) - set(query.params))
    if unknown:
        accepted = ", ".join(query.params) or "none"
        raise QueryUnavailable(
            f"{query.name}: unknown parameter(s) {', '.join(unknown)} (accepted: {accepted})"
        )
    bound = {p: params.get(p) for p in query.params}
    cursor = conn.execute(query.sql, bound)
    columns = [d[0] for d in cursor.description or ()]
    return Result(columns, [tuple(r) for r in cursor.fetchall()])


# --- output ----------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value == value else "NaN"
    return str(value)


def format_table(result: Result) -> str:
    if not result.rows:
        return "(no rows)"
    out = [result.columns, *[[_cell(v) for v in row] for row in result.rows]]
    widths = [max(len(r[i]) for r in out) for i in range(len(result.columns))]
    numeric = [
        all(isinstance(row[i], int | float) or row[i] is None for row in result.rows)
        for i in range(len(result.columns))
    ]
    lines = []
    for n, row in enumerate(out):
        cells = [
            c.rjust(w) if numeric[i] and n else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_csv(result: Result) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(result.columns)
    writer.writerows(result.rows)
    return buf.getvalue()


def format_json(result: Result) -> str:
    return json.dumps(result.dicts(), indent=2, default=str, ensure_ascii=False)
