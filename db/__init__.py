"""The weatheredge SQLite schema: migrations (sqlite-utils ``Migrations``) and saved queries.

Depends on sqlite-utils only, so the CLI and ad-hoc scripts can migrate or inspect a database
without importing the daemon.
"""

from __future__ import annotations

from pathlib import Path

from db.migrations import (
    MIGRATION_SET,
    TABLES,
    apply_migrations,
    migrations,
    pending_migrations,
)

QUERIES_DIR = Path(__file__).parent / "queries"


def saved_query(name: str) -> str:
    """Text of ``db/queries/<name>.sql``."""
    return (QUERIES_DIR / f"{name}.sql").read_text(encoding="utf-8")


__all__ = [
    "MIGRATION_SET",
    "QUERIES_DIR",
    "TABLES",
    "apply_migrations",
    "migrations",
    "pending_migrations",
    "saved_query",
]
