"""Issue 10 §4: each station's diurnal shape learnt from its own reports and settled days,
shrunk toward the global prior with little history, persisted, and used to price its days."""

from __future__ import annotations

import datetime as dt
import math
import sqlite3

from jobs import refit_calibration
from tests.calibration.conftest import NY, today_ny
from tests.calibration.test_live_observations import _today_event
from weatheredge.context import JobContext
from weatheredge.model.diurnal_fit import fit_shape, global_shape
from weatheredge.model.observations import Observation
from weatheredge.pricing.event import compute, station_for
from weatheredge.sandbox import Sandbox
from weatheredge.sandbox.weather import raw_metar
from weatheredge.store import EventSettled, ObservationsSeen


def _report(at: dt.datetime, temp_c: float) -> Observation:
    raw = raw_metar("KLGA", at, temp_c, temp_c - 5.0, "METAR", True)
    return Observation("KLGA", at, temp_c, True, "METAR", raw)


def _day(peak: float, rng: float, *, low_at: float | None = None) -> list[tuple[float, float]]:
    """Hourly (local hour, °C) reports: a curve peaking at ``peak``; an optional late low."""
    out = []
    for h in range(24):
        hour = h + 51 / 60
        d = (hour - peak) / 6
        temp = 10.0 - rng * min(d * d, 1.0)
        if low_at is not None and hour >= low_at:
            temp = 10.0 - rng - 3.0  # an evening front: the day's low comes late
        out.append((hour, temp))
    return out


def test_peak_hour_range_and_still_open_are_learnt_and_shrunk_toward_the_prior() -> None:
    prior = global_shape("max")
    many = fit_shape([_day(11.0, 4.0) for _ in range(90)], "max")
    # The 10:51 report is the day's max: 90 days weigh 0.9 against the prior's 15:00.
    assert math.isclose(many.hour, 0.9 * 10.85 + 0.1 * 15.0) and many.days == 90
    assert math.isclose(many.amplitude_c, 0.9 * 4.0 + 0.1 * 7.0, abs_tol=0.01)  # prior: 7 °C
    assert many.open_at(13.0) < 0.15 < prior.open_at(13.0)  # the peak is past at 13:00 here
    few = fit_shape([_day(11.0, 4.0) for _ in range(2)], "max")
    assert many.hour < few.hour < prior.hour  # two days barely move it
    assert few.open_at(13.0) > 0.5
    assert fit_shape([], "max") == prior
    # Lows: a station whose low usually comes with an evening front stays open all day.
    lows = fit_shape([_day(14.0, 6.0, low_at=21.0) for _ in range(60)], "min")
    assert lows.hour > 19 and lows.open_at(15.0) > 0.8 > global_shape("min").open_at(15.0)


async def settled_days(ctx: JobContext, back: range, received: dt.datetime) -> None:
    """KLGA's daily highs settled ``back`` days ago, with their hourly reports (an 11:00 peak),
    all recorded at ``received``."""
    today = today_ny(ctx)
    for n in back:
        day = today - dt.timedelta(days=n)
        reports = []
        for hour, temp in _day(11.0, 4.0):
            at = dt.datetime.combine(day, dt.time(int(hour), 51), tzinfo=NY).astimezone(dt.UTC)
            reports.append(_report(at, round(temp, 1)))
        ctx.store.submit(ObservationsSeen(tuple(reports), received))
        ctx.store.submit(
            EventSettled(
                f"ev{n}", "KLGA", day, "max", "F", "settled", 50.0, 50, 24, None, None, received
            )
        )
    await ctx.store.flush()


async def test_refit_learns_from_settled_days_persists_and_prices_with_it(
    box: Sandbox, ctx: JobContext
) -> None:
    today = today_ny(ctx)
    await settled_days(ctx, range(2, 32), ctx.engine.clock.now())

    await refit_calibration.run(ctx)

    high = ctx.live.shapes[("KLGA", "max")]
    assert high.days == 30  # 10:51 shrunk toward KLGA's climatological 15.8 h
    assert math.isclose(high.hour, 0.75 * 10.85 + 0.25 * 15.8)
    assert math.isclose(high.amplitude_c, 4.0 * 0.75 + 7.0 * 0.25, abs_tol=0.3)
    await ctx.store.flush()
    con = sqlite3.connect(ctx.store.path)
    try:
        rows = con.execute("SELECT station, extreme, days FROM diurnal_shapes").fetchall()
    finally:
        con.close()
    assert sorted(rows) == [("KLGA", "max", 30), ("KLGA", "min", 30)]

    # A restart loads the saved shapes before anything is priced.
    ctx.live.shapes.clear()
    await refit_calibration.run(ctx)
    assert ctx.live.shapes[("KLGA", "max")].days == 30

    # Today's NYC high is priced against KLGA's own curve: a 13:00-ish report means something
    # else when the station peaks before noon than when it peaks at 15:48.
    event, _ = _today_event(box, ctx)
    # Priced at 13:00: late in the evening both curves agree the high is in.
    now = dt.datetime.combine(today, dt.time(13), tzinfo=NY).astimezone(dt.UTC)
    at = max(now - dt.timedelta(minutes=5), dt.datetime.combine(today, dt.time(0), tzinfo=NY))
    ctx.live.add_observations([_report(at, 7.0)])
    ctx.live.fetched_at["KLGA"] = now
    station = station_for(ctx, "KLGA")
    prior = ctx.live.priors[event.event_id]
    learnt = compute(ctx, event, prior, station, now)
    ctx.live.shapes.clear()
    default = compute(ctx, event, prior, station, now)
    assert not isinstance(learnt, str) and not isinstance(default, str)
    assert learnt.probs != default.probs
