"""Settlement agreement as a figure: per city and source, with every disagreement listed."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest

from db.readonly import connect_read_only
from jobs import settle_events
from tests.calibration.conftest import any_hour, past_nyc, resolve_at_venue
from tests.calibration.test_settlement_and_scoring import _rows
from weatheredge.calibration_report import build_report, format_report
from weatheredge.cli import main
from weatheredge.context import JobContext
from weatheredge.sandbox import Sandbox
from weatheredge.webui import queries


def _settlement(path) -> sqlite3.Row:
    [row] = _rows(path, "SELECT * FROM settlements")
    return row


@any_hour
async def test_disagreement_is_counted_and_listed_with_its_reports(
    box: Sandbox, ctx: JobContext, capsys: pytest.CaptureFixture[str]
) -> None:
    raw, _, noon = past_nyc(box, ctx, 340000)
    day = noon.date()
    box.weather.add_metar("KLGA", noon, 7.2)  # routine, SLP: 44.96 °F -> 45
    # An auxiliary METAR without SLP at 13:05: 8.3 °C = 46.94 -> 47, but the hourly view
    # probably hides it (P 0.25): we settle 45 and mark the settlement uncertain.
    box.weather.add_metar("KLGA", noon + dt.timedelta(minutes=14), 8.3, slp=False)
    await ctx.store.flush()

    await settle_events.run(ctx)
    await ctx.store.flush()
    row = _settlement(ctx.store.path)
    assert (row["settled_value"], row["winning_label"]) == (45, "44-45°F")
    assert (row["certain"], row["uncertain_reports"]) == (0, 1)
    evidence = json.loads(row["evidence"])
    assert [(e["status"], e["values"]) for e in evidence] == [("counts", [45]), ("uncertain", [47])]

    # The venue resolves 46-47°F (the table did show the auxiliary report after all).
    resolve_at_venue(box, raw, "46-47°F")
    await settle_events.run(ctx)
    await ctx.store.flush()

    agreement = ctx.live.agreement
    assert agreement is not None
    assert agreement["by_city"] == [
        {
            "city": "NYC",
            "source": "noaa_wrh",
            "settled": 1,
            "checked": 1,
            "agree": 0,
            "disagree": 1,
            "uncertain": 1,
            "agreement": 0.0,
        }
    ]
    [d] = agreement["disagreements"]
    assert (d["date"], d["settled_value"], d["venue_label"]) == (day.isoformat(), 45, "46-47°F")
    assert len(d["reports"]) == 2
    assert ctx.live.status()["settlement_agreement"] is agreement

    report = build_report(ctx.store.path)
    assert report.agreement["agreement"] == 0.0
    text = format_report(report)
    assert (
        f"DISAGREE {day.isoformat()} NYC (noaa_wrh, KLGA): ours 45 (44-45°F), venue 46-47°F" in text
    )
    assert "uncertain 47 (routine report without sea-level pressure" in text

    assert main(["calibration", "--db", str(ctx.store.path)]) == 0
    assert "settlement vs venue: 0/1 = 0.0%" in capsys.readouterr().out

    with connect_read_only(ctx.store.path) as conn:
        [saved] = queries.run(conn, queries.load("settlement_agreement")).dicts()
    assert (saved["city"], saved["checked"], saved["agree"], saved["uncertain"]) == ("NYC", 1, 0, 1)
