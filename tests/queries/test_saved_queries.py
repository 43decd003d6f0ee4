"""Every saved query in db/queries/ runs on a demo database recorded from the sandbox.

Queries over tables that later migrations add (settlements: m002; positions, fills: m003) are
skipped with the reason while the demo database lacks them, and are also run against those
tables created as docs/schema.md describes them, so their SQL is exercised today.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from db.readonly import connect_read_only
from weatheredge.webui import queries

ALL = queries.names()


def test_every_query_has_a_title_description_and_requirements() -> None:
    assert len(ALL) >= 6
    for q in queries.all_queries():
        assert q.title and q.title != q.name.replace("_", " "), q.name
        assert len(q.description) > 40, q.name
        assert q.requires, q.name


@pytest.mark.parametrize("name", ALL)
def test_saved_query_runs_on_the_demo_database(demo_db: Path, name: str) -> None:
    query = queries.load(name)
    with connect_read_only(demo_db) as conn:
        reasons = queries.missing(conn, query)
        if reasons:
            pytest.skip(f"{name}: " + "; ".join(reasons))
        result = queries.run(conn, query)
        filtered = queries.run(conn, query, {p: "" for p in query.params})  # Datasette's blanks
    assert result.columns
    assert result.rows == filtered.rows
    if name in {"edges_by_city_day", "latency_percentiles"}:
        assert result.rows, f"{name} found nothing in the demo database"


def test_edges_by_city_day_filters(demo_db: Path) -> None:
    with connect_read_only(demo_db) as conn:
        nyc = queries.run(conn, queries.load("edges_by_city_day"), {"city": "NYC"}).dicts()
    assert nyc and {r["city"] for r in nyc} == {"NYC"}
    assert all(r["episodes"] >= 1 and r["best_edge"] >= 0.05 for r in nyc)


def test_latency_percentiles_are_ordered(demo_db: Path) -> None:
    with connect_read_only(demo_db) as conn:
        rows = queries.run(conn, queries.load("latency_percentiles")).dicts()
    for r in rows:
        assert 0 < r["p50_us"] <= r["p90_us"] <= r["p99_us"] <= r["max_us"]
        assert r["samples"] >= 1


def test_missing_table_or_column_is_reported_clearly(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE edges (event_id TEXT, market_id TEXT)")
    with connect_read_only(db) as conn:
        with pytest.raises(queries.QueryUnavailable, match=r"needs table settlements.*m002"):
            queries.run(conn, queries.load("hit_rate_after_settlement"))
        with pytest.raises(queries.QueryUnavailable, match=r"needs column.*latency_us"):
            queries.run(conn, queries.load("latency_percentiles"))


# --- the queries over later migrations' tables, against the schema documented for them -------

# Created only where the migration has not (yet): the columns docs/schema.md documents.
FUTURE_TABLES = """
CREATE TABLE IF NOT EXISTS settlements (
    event_id TEXT PRIMARY KEY, station TEXT NOT NULL, date TEXT NOT NULL, extreme TEXT NOT NULL,
    unit TEXT NOT NULL, status TEXT NOT NULL, winning_market_id TEXT, settled_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
    token_id TEXT PRIMARY KEY, event_id TEXT, market_id TEXT, city TEXT, date TEXT, bucket TEXT,
    outcome TEXT, shares TEXT NOT NULL, avg_price TEXT NOT NULL, fees TEXT NOT NULL,
    realized_pnl TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trade_fills (
    trade_id TEXT PRIMARY KEY, intent_key TEXT, venue_order_id TEXT, token_id TEXT NOT NULL,
    side TEXT NOT NULL, price TEXT NOT NULL, size TEXT NOT NULL, fee TEXT NOT NULL,
    realized_pnl TEXT NOT NULL, status TEXT NOT NULL, matched_at TEXT, updated_at TEXT);
"""


@pytest.fixture
def with_trading(demo_db: Path, tmp_path: Path) -> Path:
    db = tmp_path / "weatheredge.db"
    src = sqlite3.connect(demo_db)
    dst = sqlite3.connect(db)
    src.backup(dst)
    src.close()
    conn = dst
    conn.executescript(FUTURE_TABLES)
    edges = conn.execute(
        "SELECT event_id, market_id, side FROM edges ORDER BY opened_at"
    ).fetchall()
    for event_id, market_id, side in edges:
        # Settle each edge's event so that its first edge paid: YES on its bucket, else NO.
        winner = market_id if side == "YES" else "another-bucket"
        conn.execute(
            "INSERT INTO settlements (event_id, station, date, extreme, unit, status, "
            "winning_market_id, settled_at) VALUES (?, 'KLGA', '2030-01-01', 'high', 'F', "
            "'settled', ?, '2030-01-01T00:00:00.000Z') ON CONFLICT (event_id) DO NOTHING",
            (event_id, winner),
        )
    event_id, yes1, yes2 = conn.execute(
        "SELECT m.event_id, m.yes_token, m.no_token FROM markets m "
        "JOIN events e USING (event_id) WHERE e.city = 'NYC' ORDER BY m.market_id LIMIT 1"
    ).fetchone()
    conn.executemany(
        "INSERT INTO positions (token_id, event_id, market_id, city, date, bucket, outcome, "
        "shares, avg_price, fees, realized_pnl, updated_at) "
        "VALUES (?, ?, 'm1', 'NYC', '2030-01-01', 'b', 'YES', ?, ?, ?, ?, '2030-01-01')",
        [(yes1, event_id, "10", "0.30", "0.1", "4.5"), (yes2, event_id, "0", "0", "0.05", "-1.25")],
    )
    conn.executemany(
        "INSERT INTO trade_fills (trade_id, token_id, side, price, size, fee, realized_pnl, "
        "status, matched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                "a",
                yes1,
                "BUY",
                "0.30",
                "10",
                "0.105",
                "-0.105",
                "CONFIRMED",
                "2030-01-02T12:00:00Z",
            ),
            ("b", yes1, "SELL", "0.50", "4", "0.05", "0.75", "MINED", "2030-01-03T12:00:00Z"),
            ("c", yes1, "BUY", "0.50", "4", "0.05", "-0.05", "FAILED", "2030-01-03T13:00:00Z"),
        ],
    )
    conn.commit()
    conn.close()
    return db


def test_trading_queries_against_the_documented_schema(with_trading: Path) -> None:
    with connect_read_only(with_trading) as conn:
        [event] = queries.run(conn, queries.load("pnl_by_event")).dicts()
        [week] = queries.run(conn, queries.load("pnl_by_week")).dicts()
        fees = queries.run(conn, queries.load("fees_paid")).dicts()
        hits = queries.run(conn, queries.load("hit_rate_after_settlement")).dicts()
    assert event["city"] == "NYC" and event["positions"] == 2
    assert event["realised_pnl"] == 3.25 and event["fees"] == 0.15
    assert event["open_shares"] == 10 and event["open_cost"] == 3.0
    assert week["week_of"] == "2029-12-31"  # the Monday of 2030-01-02 and 2030-01-03
    assert week["fills"] == 2 and week["realised_pnl"] == 0.645 and week["fees"] == 0.155
    assert [(f["day"], f["city"], f["fills"]) for f in fees] == [
        ("2030-01-03", "NYC", 1),  # newest first; the failed fill is not counted
        ("2030-01-02", "NYC", 1),
    ]
    assert fees[1]["notional"] == 3.0 and fees[1]["fees"] == 0.105 and fees[1]["fee_share"] == 0.035
    assert hits and all(0 <= h["hit_rate"] <= 1 for h in hits)
    assert sum(h["hits"] for h in hits) >= 1


# --- the CLI and Datasette -----------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "weatheredge", *args], capture_output=True, text=True, timeout=60
    )


def test_query_command_prints_table_json_and_csv(demo_db: Path) -> None:
    table = _cli("query", "edges_by_city_day", "--db", str(demo_db))
    assert table.returncode == 0, table.stderr
    assert "episodes" in table.stdout and "NYC" in table.stdout
    as_json = _cli("query", "edges_by_city_day", "--db", str(demo_db), "--json", "-p", "city=NYC")
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)
    assert rows and {r["city"] for r in rows} == {"NYC"}
    as_csv = _cli("query", "latency_percentiles", "--db", str(demo_db), "--csv")
    assert as_csv.returncode == 0, as_csv.stderr
    assert as_csv.stdout.splitlines()[0] == "day,samples,p50_us,p90_us,p99_us,max_us"


def test_query_command_explains_what_is_missing(demo_db: Path, tmp_path: Path) -> None:
    listing = _cli("query", "--list")
    assert listing.returncode == 0 and "hit_rate_after_settlement" in listing.stdout
    unknown = _cli("query", "nope", "--db", str(demo_db))
    assert unknown.returncode == 2 and "no saved query 'nope'" in unknown.stderr
    nodb = _cli("query", "edges_by_city_day", "--db", str(tmp_path / "absent.db"))
    assert nodb.returncode == 1 and "no database" in nodb.stderr
    assert not (tmp_path / "absent.db").exists()
    with connect_read_only(demo_db) as conn:
        lacking = queries.missing(conn, queries.load("pnl_by_week"))
    if lacking:
        out = _cli("query", "pnl_by_week", "--db", str(demo_db))
        assert out.returncode == 1 and "needs table positions" in out.stderr


async def test_datasette_serves_the_canned_queries(demo_db: Path, tmp_path: Path) -> None:
    """The documented command: any file name gets the canned queries (here not weatheredge.db)."""
    datasette_app = pytest.importorskip("datasette.app")
    db_dir = Path(queries.QUERIES_DIR).parent
    meta = yaml.safe_load((db_dir / "metadata.yml").read_text())
    renamed = tmp_path / "my-edges.db"
    shutil.copy(demo_db, renamed)
    ds = datasette_app.Datasette(
        [str(renamed)], metadata=meta, plugins_dir=str(db_dir / "datasette")
    )
    ran = 0
    with connect_read_only(demo_db) as conn:
        available = {q.name for q in queries.all_queries() if not queries.missing(conn, q)}
    for name in ALL:
        resp = await ds.client.get(f"/my-edges/{name}.json?_shape=objects")
        if name not in available:
            continue  # a table from a later migration: Datasette shows SQLite's error
        assert resp.status_code == 200, (name, resp.text)
        assert "rows" in resp.json()
        ran += 1
    assert ran >= 2
    resp = await ds.client.get("/my-edges/edges_by_city_day.json?_shape=objects&city=NYC")
    assert {r["city"] for r in resp.json()["rows"]} == {"NYC"}
