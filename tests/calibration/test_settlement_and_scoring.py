"""Settlement from the station's reports, the venue cross-check, scoring and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from jobs import settle_events
from tests.calibration.conftest import (
    NY,
    any_hour,
    nyc_event,
    past_nyc,
    remember,
    resolve_at_venue,
    today_ny,
)
from weatheredge.calibration_report import build_report, format_report
from weatheredge.cli import main
from weatheredge.context import JobContext
from weatheredge.sandbox import Sandbox
from weatheredge.store import HorizonSnapshot


def _rows(db: Path, sql: str) -> list[sqlite3.Row]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@any_hour
async def test_settles_from_reports_and_agrees_with_the_venue(
    box: Sandbox, ctx: JobContext, capsys: pytest.CaptureFixture[str]
) -> None:
    raw, event, noon = past_nyc(box, ctx, 310000)
    box.weather.add_metar("KLGA", noon, 7.2)  # 44.96 °F -> 45
    box.weather.add_metar("KLGA", noon + dt.timedelta(hours=3), 8.3, "SPECI")  # 46.94 -> 47
    box.weather.add_metar("KLGA", noon + dt.timedelta(hours=5), 8.0)  # 46.4 -> 46
    box.weather.add_metar("KLGA", noon + dt.timedelta(hours=12), 20.0)  # next local day
    await ctx.store.flush()

    await settle_events.run(ctx)
    await ctx.store.flush()
    [row] = _rows(ctx.store.path, "SELECT * FROM settlements")
    assert (row["status"], row["settled_value"], row["winning_label"]) == ("settled", 47, "46-47°F")
    assert row["reports"] == 3 and row["agreement"] is None  # the venue has not resolved yet

    winner = resolve_at_venue(box, raw, "46-47°F")
    await settle_events.run(ctx)
    await ctx.store.flush()
    [row] = _rows(ctx.store.path, "SELECT * FROM settlements")
    assert (row["venue_market_id"], row["agreement"]) == (winner["id"], 1)

    # Scoring: ours vs the market at one horizon, then the CLI table and its plot.
    at = ctx.engine.clock.now()
    rows = []
    for market in event.markets:
        won = market.label == "46-47°F"
        rows.append((market.market_id, 0.6 if won else 0.04, "0.1", "0.2", 0.3 if won else 0.07))
    ctx.store.submit(HorizonSnapshot(event.event_id, 6, at, tuple(rows)))
    await ctx.store.flush()
    report = build_report(ctx.store.path)
    [h] = report.horizons
    assert h.ours is not None and h.market is not None and h.both == 1
    assert h.ours.brier < h.market.brier
    assert "brier_ours" in format_report(report)

    png = ctx.store.path.parent / "rel.png"
    assert main(["calibration", "--db", str(ctx.store.path), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "venue agrees 1" in out and "6h" in out
    assert png.stat().st_size > 1000


async def test_no_settled_data_draws_no_chart(
    ctx: JobContext, capsys: pytest.CaptureFixture[str]
) -> None:
    png = ctx.store.path.parent / "rel.png"
    assert main(["calibration", "--db", str(ctx.store.path), "--plot", str(png)]) == 1
    assert "no settled data yet: no reliability diagram drawn" in capsys.readouterr().err
    assert not png.exists()


@any_hour
async def test_a_day_without_reports_is_not_settled_early(box: Sandbox, ctx: JobContext) -> None:
    # Not yesterday: early in New York's day the sandbox's seeded reports fall on it.
    day = today_ny(ctx) - dt.timedelta(days=2)
    _, event = nyc_event(box, day, 310001)
    remember(ctx, event)
    await ctx.store.flush()
    await settle_events.run(ctx)
    await ctx.store.flush()
    assert _rows(ctx.store.path, "SELECT * FROM settlements") == []


@any_hour
async def test_market_resolved_frames_cross_check_settlement_before_gamma(
    box: Sandbox, ctx: JobContext
) -> None:
    day = today_ny(ctx) - dt.timedelta(days=1)
    _, event = nyc_event(box, day, 320000)
    remember(ctx, event)
    ctx.engine.set_events([event])
    noon = dt.datetime.combine(day, dt.time(12, 51), tzinfo=NY)
    box.weather.add_metar("KLGA", noon, 8.3)  # 46.94 °F -> 47: bucket 46-47°F
    await ctx.store.flush()
    await settle_events.run(ctx)
    await ctx.store.flush()

    # The venue resolves a different bucket YES over the market channel; Gamma still shows
    # the event open, so only the stream can tell us.
    other = next(m for m in event.markets if m.label == "48-49°F")
    frame = {
        "event_type": "market_resolved",
        "id": other.market_id,
        "market": other.condition_id,
        "assets_ids": [other.yes_token, other.no_token],
        "winning_asset_id": other.yes_token,
        "winning_outcome": "Yes",
        "timestamp": "1795723200000",
    }
    ctx.engine.on_frame(json.dumps(frame), 0)
    assert ctx.engine.venue_winners == {event.event_id: other.market_id}
    await settle_events.run(ctx)
    await ctx.store.flush()
    [row] = _rows(ctx.store.path, "SELECT * FROM settlements")
    assert row["winning_label"] == "46-47°F"
    assert (row["venue_market_id"], row["agreement"]) == (other.market_id, 0)


def test_last_trade_is_kept_exactly_and_mirrored_from_no(box: Sandbox, ctx: JobContext) -> None:
    _, event = nyc_event(box, dt.date(2030, 1, 2), 330000)
    ctx.engine.set_events([event])
    market = event.markets[3]
    trade = {
        "event_type": "last_trade_price",
        "market": market.condition_id,
        "asset_id": market.no_token,
        "price": "0.58",
        "size": "10",
        "side": "BUY",
        "timestamp": "1795620301000",
    }
    ctx.engine.on_frame(json.dumps(trade), 0)
    assert ctx.engine.last_trades[market.yes_token] == "0.42"
    ctx.engine.on_frame(json.dumps({**trade, "asset_id": market.yes_token, "price": "0.4"}), 0)
    assert ctx.engine.last_trades[market.yes_token] == "0.4"
