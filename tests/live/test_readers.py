"""The live market state has one writer (the Engine and its edge and ladder parts); every other
module reads it through ``MarketState``'s methods, never a table, and the hot path imports
neither the feed nor anything that composes it. Read from the source with ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRITERS = {
    "weatheredge/engine.py",
    "weatheredge/frames.py",
    "weatheredge/edges.py",
    "weatheredge/ladders.py",
}
TABLES = {"events", "tokens", "books", "pricing", "rejected", "last_trades", "venue_winners"}
PRIVATE = {f"_{name}" for name in TABLES}
HOT_PATH_MAY_NOT_IMPORT = ("weatheredge.feed", "weatheredge.trading", "weatheredge.store", "jobs")


def _sources() -> dict[str, ast.AST]:
    found = {}
    for package in ("weatheredge", "jobs"):
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel not in WRITERS and not rel.startswith("weatheredge/live/"):
                found[rel] = ast.parse(path.read_text(encoding="utf-8"))
    return found


def _names_engine(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in ("engine", "_engine")
    return isinstance(node, ast.Attribute) and node.attr in ("engine", "_engine")


def test_no_reader_touches_the_state_tables() -> None:
    offences = []
    for rel, tree in _sources().items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            own = isinstance(node.value, ast.Name) and node.value.id == "self"
            if node.attr in PRIVATE and not own:
                offences.append(f"{rel}:{node.lineno}: .{node.attr}")
            elif (node.attr in TABLES or node.attr == "tracker") and _names_engine(node.value):
                offences.append(f"{rel}:{node.lineno}: engine.{node.attr}")
    assert offences == []


def test_the_hot_path_imports_no_feed_trading_store_or_jobs() -> None:
    offences = []
    for rel in sorted(WRITERS | {"weatheredge/live/state.py", "weatheredge/live/__init__.py"}):
        tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            offences += [f"{rel}: {n}" for n in names if n.startswith(HOT_PATH_MAY_NOT_IMPORT)]
    assert offences == []
