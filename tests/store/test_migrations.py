from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

import db
from db.migrations import apply_migrations, pending_migrations
from weatheredge.store import Store

EDGE_COLUMNS = {
    "edge_id": "TEXT",
    "event_id": "TEXT",
    "market_id": "TEXT",
    "city": "TEXT",
    "date": "TEXT",
    "bucket": "TEXT",
    "side": "TEXT",
    "token_id": "TEXT",
    "status": "TEXT",
    "opened_at": "TEXT",
    "updated_at": "TEXT",
    "closed_at": "TEXT",
    "open_price": "TEXT",
    "last_price": "TEXT",
    "open_size": "TEXT",
    "last_size": "TEXT",
    "prob": "REAL",
    "open_edge": "REAL",
    "last_edge": "REAL",
    "max_edge": "REAL",
    "fee_rate": "REAL",
    "forecast_id": "INTEGER",
    "latency_us": "INTEGER",
    "close_reason": "TEXT",
    "notified": "INTEGER",
    "kind": "TEXT",  # m002_model: "bucket" or "ladder"
}


def _schema(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
    conn.close()
    return rows


def test_migrations_apply_to_a_fresh_file(tmp_path: Path) -> None:
    database = sqlite_utils.Database(tmp_path / "fresh.db")
    every = [m.name for m in db.migrations.pending(sqlite_utils.Database(memory=True))]
    assert every[0] == "m001_initial_schema"  # later issues add their own (m002_, m003_, ...)
    assert pending_migrations(database) == every

    assert apply_migrations(database) == every

    assert set(db.TABLES) <= set(database.table_names())
    edges = database.table("edges")
    assert {c.name: c.type for c in edges.columns} == EDGE_COLUMNS
    assert edges.pks == ["edge_id"]
    index_columns = {tuple(i.columns) for i in edges.indexes}
    assert {("city", "date"), ("status",), ("opened_at",)} <= index_columns
    assert database.table("forecast_probs").pks == ["forecast_id", "market_id"]
    assert "AUTOINCREMENT" in database.table("forecasts").schema
    assert [fk.other_table for fk in database.table("markets").foreign_keys] == ["events"]
    assert all(database.table(t).schema.rstrip().endswith("STRICT") for t in db.TABLES)
    database.close()


def test_reapplying_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "again.db"
    database = sqlite_utils.Database(path)
    apply_migrations(database)
    before = _schema(path)

    assert apply_migrations(database) == []
    assert pending_migrations(database) == []
    assert database.table("_sqlite_migrations").count == len(
        db.migrations.pending(sqlite_utils.Database(memory=True))
    )
    database.close()
    assert _schema(path) == before


async def test_store_open_migrates_once_and_enables_wal(db_path: Path) -> None:
    first = Store.open(db_path)
    await first.close()
    second = Store.open(db_path)
    await second.close()

    database = sqlite_utils.Database(db_path)
    assert database.journal_mode == "wal"
    every = [m.name for m in db.migrations.pending(sqlite_utils.Database(memory=True))]
    assert [r["name"] for r in database.table("_sqlite_migrations").rows] == every
    database.close()


def test_saved_query_runs_against_the_schema(tmp_path: Path) -> None:
    database = sqlite_utils.Database(tmp_path / "q.db")
    apply_migrations(database)
    sql = db.saved_query("edges_by_city_day")
    assert list(database.query(sql, {"city": None, "since": None})) == []
    database.close()
