"""A live day against the sandbox: only a report the resolution table will show kills a bucket.

NYC resolves on NOAA's hourly view ("Show Hourly Data"): routine rows carry a sea-level pressure,
SPECIs show too, an auxiliary METAR without SLP does not. The off-minute report above a bucket
shades it; the routine one at the same level kills it (issue 16).
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from jobs import poll_observations
from tests.calibration.conftest import NY, any_hour
from tests.calibration.test_live_observations import _today_event
from weatheredge.context import JobContext
from weatheredge.model.observations import observation_from_report
from weatheredge.observing.settling import learn_facts
from weatheredge.sandbox import Sandbox
from weatheredge.store import ObservationsSeen


def _times(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(now.astimezone(NY).date(), dt.time(0), tzinfo=NY)
    first = max(start + dt.timedelta(seconds=30), now - dt.timedelta(minutes=20))
    return first, first + dt.timedelta(minutes=1)


def _by_label(ctx: JobContext, event) -> dict[str, float]:
    probs = ctx.engine.pricing[event.event_id].probs
    return {m.label: probs[m.market_id] for m in event.markets}


@any_hour
async def test_off_minute_report_shades_a_bucket_a_routine_one_kills_it(
    box: Sandbox, ctx: JobContext
) -> None:
    event, now = _today_event(box, ctx)
    assert event.rule.hourly_only
    off_minute, routine = _times(now)
    # 12.8 °C = 55.04 °F -> 55: if it counted, every bucket up to 52-53°F would be dead.
    box.weather.add_metar("KLGA", off_minute, 12.8, slp=False, receipt_delay=dt.timedelta(0))

    await poll_observations.run(ctx)

    shaded = _by_label(ctx, event)
    # The scenario's own routine reports (7.0 °C = 44.6 -> 45 °F) already killed <= 42-43°F.
    assert shaded["42-43°F"] == 0.0
    alive = ["44-45°F", "46-47°F", "48-49°F", "50-51°F", "52-53°F", "54-55°F", "56°F or higher"]
    assert all(shaded[label] > 0.0 for label in alive), shaded
    assert 0.0 < shaded["52-53°F"] < 0.9
    assert abs(sum(shaded.values()) - 1) < 1e-9

    # The routine report (with SLP) at the same level is one the table shows: now they die.
    box.weather.add_metar("KLGA", routine, 12.8, receipt_delay=dt.timedelta(0))
    ctx.live.attempted_at.clear()  # poll again now
    await poll_observations.run(ctx)

    killed = _by_label(ctx, event)
    assert killed["52-53°F"] == 0.0 and killed["37°F or below"] == 0.0
    assert killed["54-55°F"] > 0.0
    assert ctx.live.extremes[event.event_id] == 55

    await ctx.store.flush()
    con = sqlite3.connect(ctx.store.path)
    try:
        marks = con.execute(
            "SELECT observed_at, settling, settling_reason FROM observations ORDER BY observed_at"
        ).fetchall()
        dead = con.execute("SELECT dead_buckets FROM extreme_changes ORDER BY id").fetchall()
    finally:
        con.close()

    # Picked by time: the scenario's own routine reports may come later in the hour.
    def minute(t: dt.datetime) -> dt.datetime:
        return t.astimezone(dt.UTC).replace(second=0, microsecond=0)

    at = {minute(dt.datetime.fromisoformat(m[0])): m for m in marks}
    ours = [at[minute(off_minute)], at[minute(routine)]]
    assert [m[1] for m in ours] == ["uncertain", "counts"]
    assert "sea-level pressure" in ours[0][2] and ours[1][2] is None
    rest = [m for m in marks if m not in ours]
    assert {m[1] for m in rest} == {"counts"}  # the scenario's routine reports
    assert dead[-1] == (9,)  # nine buckets below 54-55°F
    assert "KLGA" in ctx.live.status()["stations"]  # type: ignore[operator]


async def test_station_schedule_is_learnt_from_its_stored_reports(ctx: JobContext) -> None:
    """A restarted daemon knows a station's routine minutes from the reports it stored."""
    top = ctx.engine.clock.now().replace(minute=0, second=0, microsecond=0)
    stored = []
    for h in range(1, 21):
        for minute in (0, 30) if h != 5 else (0, 24, 30):  # one :24 off-minute report
            at = top - dt.timedelta(hours=h) + dt.timedelta(minutes=minute)
            raw = f"UUWW {at:%d%H%M}Z 32002MPS 9999 OVC005 M03/M04 Q1027 NOSIG"
            obs = observation_from_report("UUWW", at, raw)
            assert obs is not None
            stored.append(obs)
    ctx.store.submit(ObservationsSeen(tuple(stored), top))
    await ctx.store.flush()
    assert "UUWW" not in ctx.live.station_facts

    await learn_facts(ctx, ["UUWW", "KLGA"])

    assert ctx.live.station_facts["KLGA"].pattern == "unknown"  # nothing stored for it
    facts = ctx.live.station_facts["UUWW"]
    assert (facts.pattern, facts.routine_minutes, facts.hours) == ("half-hourly", (0, 30), 20)
    shown = ctx.live.status()["stations"]["UUWW"]  # type: ignore[index]
    assert shown["routine_minutes"] == [0, 30] and shown["excluded_minutes"] == [24, 50]
