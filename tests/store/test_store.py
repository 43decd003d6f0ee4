from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

import db
from weatheredge.model.edge import Quote, Side
from weatheredge.model.market import TemperatureEvent
from weatheredge.store import (
    EdgeClosed,
    EdgeOpened,
    EdgeUpdated,
    EventSeen,
    ForecastSnapshot,
    NotificationResult,
    Store,
    StoreError,
    count_rows,
    new_edge_id,
    recent_edges,
)
from weatheredge.timestamps import utc_iso

from .conftest import T0


def rows(path: Path, table: str) -> list[dict]:
    database = sqlite_utils.Database(path)
    try:
        return list(database.table(table).rows)
    finally:
        database.close()


def opened(event: TemperatureEvent, edge_id: str, at: dt.datetime = T0) -> EdgeOpened:
    q = Quote(Side.NO, price=410_000, size=120_500_000, prob=0.52, edge=0.0978)
    return EdgeOpened.from_quote(
        edge_id, event, event.markets[1], q, forecast_id=7, latency_us=830, at=at
    )


async def wait_until(predicate, within_s: float = 5.0) -> None:
    # Polling: the counters are bumped by the writer thread, which has no event to await.
    async with asyncio.timeout(within_s):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


def test_utc_iso_has_milliseconds_and_z() -> None:
    assert utc_iso(T0) == "2026-11-25T14:03:07.412Z"
    est = dt.timezone(dt.timedelta(hours=-5))
    assert utc_iso(dt.datetime(2026, 11, 25, 9, 0, tzinfo=est)) == "2026-11-25T14:00:00.000Z"
    with pytest.raises(ValueError, match="naive"):
        EdgeClosed("x", "r", dt.datetime(2026, 11, 25))


async def test_event_upsert_keeps_first_seen(store: Store, db_path: Path, event) -> None:
    store.submit(EventSeen(event, T0))
    renamed = dataclasses.replace(event, title="Highest temperature in NYC on November 25")
    store.submit(EventSeen(renamed, T0 + dt.timedelta(minutes=1)))
    await store.flush()

    [ev] = rows(db_path, "events")
    assert ev == {
        "event_id": "ev1",
        "slug": "highest-temperature-in-nyc-on-november-25",
        "title": "Highest temperature in NYC on November 25",
        "city": "NYC",
        "date": "2026-11-25",
        "extreme": "high",
        "unit": "F",
        "source": "noaa_wrh",
        "rounding": "half_up",
        "station": "KLGA",
        "hourly_only": 0,
        "first_seen": "2026-11-25T14:03:07.412Z",
        "last_seen": "2026-11-25T14:04:07.412Z",
    }
    markets = {m["market_id"]: m for m in rows(db_path, "markets")}
    assert markets["m1"] | {"last_seen": None} == {
        "market_id": "m1",
        "event_id": "ev1",
        "condition_id": "0xcondm1",
        "label": "43°F or below",
        "bucket_lo": None,
        "bucket_hi": 43,
        "yes_token": "yesm1",
        "no_token": "nom1",
        "tick": "0.01",
        "min_size": "5",
        "fee_rate": 0.05,
        "neg_risk": 1,
        "accepting_orders": 1,
        "last_seen": None,
    }
    assert markets["m2"]["last_seen"] == "2026-11-25T14:04:07.412Z"


async def test_save_forecast_returns_its_id(store: Store, db_path: Path) -> None:
    snap = ForecastSnapshot(
        event_id="ev1",
        station="KLGA",
        date=dt.date(2026, 11, 25),
        issued_at=T0,
        members=(44.0, 45.0, 46.0),
        models=(("ecmwf_ifs025", 2), ("gfs_seamless", 1)),
        probs={"m1": 0.1, "m2": 0.9},
    )
    first = await store.save_forecast(snap)
    second = await store.save_forecast(snap)

    assert second == first + 1
    forecast = rows(db_path, "forecasts")[0]
    assert forecast == {
        "forecast_id": first,
        "event_id": "ev1",
        "station": "KLGA",
        "date": "2026-11-25",
        "issued_at": "2026-11-25T14:03:07.412Z",
        "members": 3,
        "models": '{"ecmwf_ifs025": 2, "gfs_seamless": 1}',
        "mean": 45.0,
        "stdev": 1.0,
        # m002_model: the model's view of the forecast (defaults for a plain snapshot)
        "kind": "forecast",
        "lead_days": None,
        "model_means": None,
        "spread": None,
        "mu": None,
        "sigma": None,
        "observed_value": None,
    }
    assert json.loads(forecast["models"]) == {"ecmwf_ifs025": 2, "gfs_seamless": 1}
    probs = {(r["forecast_id"], r["market_id"]): r["prob"] for r in rows(db_path, "forecast_probs")}
    assert probs[(first, "m1")] == 0.1
    assert probs[(second, "m2")] == 0.9


async def test_edge_open_update_close_rows_are_exact(store: Store, db_path: Path, event) -> None:
    edge_id = new_edge_id()
    store.submit(EventSeen(event, T0))
    store.submit(opened(event, edge_id))
    await store.flush()

    [row] = rows(db_path, "edges")
    assert row == {
        "edge_id": edge_id,
        "event_id": "ev1",
        "market_id": "m2",
        "city": "NYC",
        "date": "2026-11-25",
        "bucket": "44-45°F",
        "side": "NO",
        "token_id": "nom2",
        "status": "open",
        "opened_at": "2026-11-25T14:03:07.412Z",
        "updated_at": "2026-11-25T14:03:07.412Z",
        "closed_at": None,
        "open_price": "0.41",
        "last_price": "0.41",
        "open_size": "120.5",
        "last_size": "120.5",
        "prob": 0.52,
        "open_edge": 0.0978,
        "last_edge": 0.0978,
        "max_edge": 0.0978,
        "fee_rate": 0.05,
        "forecast_id": 7,
        "latency_us": 830,
        "close_reason": None,
        "notified": 0,
        "kind": "bucket",  # m002_model
    }

    t1, t2, t3 = (T0 + dt.timedelta(seconds=s) for s in (1, 2, 3))
    store.submit(
        EdgeUpdated.from_quote(edge_id, Quote(Side.NO, 380_000, 50_000_000, 0.55, 0.15), t1)
    )
    store.submit(EdgeUpdated(edge_id, "0.4", "7.25", 0.53, 0.11, t2))
    store.submit(EdgeClosed(edge_id, "edge below threshold", t3))
    await store.flush()

    [row] = rows(db_path, "edges")
    assert {k: row[k] for k in _LAST} == {
        "status": "closed",
        "updated_at": "2026-11-25T14:03:10.412Z",
        "closed_at": "2026-11-25T14:03:10.412Z",
        "open_price": "0.41",
        "last_price": "0.4",
        "open_size": "120.5",
        "last_size": "7.25",
        "prob": 0.53,
        "open_edge": 0.0978,
        "last_edge": 0.11,
        "max_edge": 0.15,
        "close_reason": "edge below threshold",
    }
    assert store.written == 5 and store.errors == 0


_LAST = (
    "status",
    "updated_at",
    "closed_at",
    "open_price",
    "last_price",
    "open_size",
    "last_size",
    "prob",
    "open_edge",
    "last_edge",
    "max_edge",
    "close_reason",
)


async def test_notification_result_marks_the_edge_notified(
    store: Store, db_path: Path, event
) -> None:
    edge_id = new_edge_id()
    store.submit(opened(event, edge_id))
    store.submit(NotificationResult(edge_id, "open", "t", "b", T0, ok=True, attempts=2))
    store.submit(NotificationResult(None, "open", "t", "b", T0, False, 4, "target 1 (json): x"))
    await store.flush()

    assert rows(db_path, "edges")[0]["notified"] == 1
    notes = rows(db_path, "notifications")
    assert [(n["edge_id"], n["ok"], n["attempts"], n["error"]) for n in notes] == [
        (edge_id, 1, 2, None),
        (None, 0, 4, "target 1 (json): x"),
    ]


async def test_close_drains_everything_submitted(db_path: Path, event) -> None:
    store = Store.open(db_path)
    ids = [new_edge_id() for _ in range(300)]
    for edge_id in ids:
        store.submit(opened(event, edge_id))
    for edge_id in ids:
        store.submit(EdgeClosed(edge_id, "done", T0))
    await store.close()

    assert count_rows(db_path, "edges") == 300
    assert {r["status"] for r in rows(db_path, "edges")} == {"closed"}
    assert store.written == 600 and store.lost == 0 and store.pending == 0


async def test_permanent_failure_is_counted_and_the_writer_keeps_going(
    store: Store, db_path: Path, event, caplog: pytest.LogCaptureFixture
) -> None:
    edge_id = new_edge_id()
    store.submit(opened(event, edge_id))
    store.submit(opened(event, edge_id))  # same primary key: a constraint violation
    store.submit(EdgeClosed("no-such-edge", "x", T0))
    store.submit(EdgeClosed(edge_id, "done", T0))
    await store.flush()

    assert store.errors == 2 and store.dropped == 2
    assert [type(r).__name__ for r, _ in store.dead_letters] == ["EdgeOpened", "EdgeClosed"]
    assert "IntegrityError" in store.dead_letters[0][1]
    assert rows(db_path, "edges")[0]["status"] == "closed"
    assert "store dropped EdgeOpened" in caplog.text


async def test_save_forecast_raises_a_permanent_failure(store: Store) -> None:
    bad = ForecastSnapshot("ev1", None, dt.date(2026, 11, 25), T0, (1.0,), {}, {"m1": "high"})  # type: ignore[dict-item]
    with pytest.raises(sqlite3.IntegrityError):
        await store.save_forecast(bad)
    assert store.errors == 1


async def test_locked_database_is_retried_until_it_clears(
    store: Store, db_path: Path, event, caplog: pytest.LogCaptureFixture
) -> None:
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # holds the write lock: the store's writes get SQLITE_BUSY
    try:
        store.submit(opened(event, new_edge_id()))
        store.submit(opened(event, new_edge_id()))
        await wait_until(lambda: store.errors >= 3)
        assert count_rows(db_path, "edges") == 0
    finally:
        other.execute("COMMIT")
        other.close()
    await store.flush()

    assert count_rows(db_path, "edges") == 2
    assert store.dropped == 0 and store.lost == 0
    assert "SQLITE_BUSY" in caplog.text


async def test_close_gives_up_on_a_persistent_failure_and_says_how_many(
    db_path: Path, event, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store.open(db_path, busy_timeout_s=0.02, retry_base_s=0.01, retry_max_s=0.05)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        for _ in range(3):
            store.submit(opened(event, new_edge_id()))
        pending = asyncio.ensure_future(
            store.save_forecast(
                ForecastSnapshot("ev1", None, dt.date(2026, 11, 25), T0, (1.0,), {}, {})
            )
        )
        await asyncio.sleep(0)  # let save_forecast enqueue before close starts
        async with asyncio.timeout(5):
            await store.close(grace_s=0.2)
    finally:
        other.execute("ROLLBACK")
        other.close()

    assert store.lost == 4
    with pytest.raises(StoreError):
        await pending
    assert "store closed with 4 record(s) not written" in caplog.text
    store.submit(opened(event, new_edge_id()))  # after close: counted, not raised
    assert store.rejected == 1 and store.lost == 4


async def test_read_helpers_use_a_separate_read_only_connection(
    store: Store, db_path: Path, event
) -> None:
    for i in range(3):
        store.submit(opened(event, f"e{i}", at=T0 + dt.timedelta(seconds=i)))
    await store.flush()

    assert [e.edge_id for e in recent_edges(db_path, limit=2)] == ["e2", "e1"]
    assert count_rows(db_path, "edges") == 3
    with pytest.raises(ValueError, match="no such table"):
        count_rows(db_path, "edges; DROP TABLE edges")
    with pytest.raises(sqlite3.OperationalError):
        count_rows(db_path.with_name("missing.db"), "edges")
    assert not db_path.with_name("missing.db").exists()


async def test_saved_query_summarises_edges(store: Store, db_path: Path, event) -> None:
    store.submit(opened(event, "a"))
    store.submit(opened(event, "b", at=T0 + dt.timedelta(seconds=10)))
    store.submit(EdgeClosed("a", "done", T0 + dt.timedelta(seconds=30)))
    await store.flush()

    database = sqlite_utils.Database(db_path)
    [summary] = database.query(db.saved_query("edges_by_city_day"), {"city": "NYC", "since": None})
    database.close()
    assert summary["episodes"] == 2 and summary["still_open"] == 1
    assert summary["avg_duration_s"] == 15.0  # a: 30 s closed, b: 0 s so far
    assert summary["best_edge"] == 0.0978


async def test_logging_is_quiet_on_success(store: Store, event, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="weatheredge.store")
    store.submit(opened(event, new_edge_id()))
    await store.flush()
    assert caplog.text == ""
