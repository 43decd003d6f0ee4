"""A new report moves the running max: dead buckets at 0, edges re-evaluated in the same tick."""

from __future__ import annotations

import datetime as dt
import sqlite3

from jobs import poll_observations
from tests.calibration.conftest import NY, any_hour, nyc_event
from weatheredge.context import JobContext
from weatheredge.engine import Pricing
from weatheredge.model.edge import Change, Side
from weatheredge.model.live import EventPrior
from weatheredge.model.prices import to_micros
from weatheredge.model.probability import Normal, probabilities_from_cdf
from weatheredge.sandbox import Sandbox


def _today_event(box: Sandbox, ctx: JobContext):
    now, mono = ctx.engine.clock.now(), ctx.engine.clock.monotonic()
    _, event = nyc_event(box, now.astimezone(NY).date(), 320000)
    ctx.engine.set_events([event])
    prior = Normal(46.0, 2.5)
    ctx.live.priors[event.event_id] = EventPrior(
        prior.cdf, 2.5, None, mono, now, mu=46.0, sigma=2.5
    )
    probs = probabilities_from_cdf(prior.cdf, event.buckets, event.rule.rounding)
    by_market = {m.market_id: p for m, p in zip(event.markets, probs, strict=True)}
    ctx.engine.set_pricing(event.event_id, Pricing(by_market, None, mono))
    for market in event.markets:  # NO asks at 0.70 everywhere: an edge only where YES is dead
        for token, ask in ((market.yes_token, "0.30"), (market.no_token, "0.70")):
            ctx.engine.books[token].replace([], [(to_micros(ask), to_micros("50"))], 1)
    return event, now


def _report_time(now: dt.datetime) -> dt.datetime:
    start = dt.datetime.combine(now.astimezone(NY).date(), dt.time(0), tzinfo=NY)
    return max(start + dt.timedelta(seconds=30), now - dt.timedelta(minutes=20))


@any_hour
async def test_new_running_max_kills_buckets_and_opens_the_dead_bucket_edge_at_once(
    box: Sandbox, ctx: JobContext
) -> None:
    event, now = _today_event(box, ctx)
    signals = ctx.engine.signals  # type: ignore[attr-defined]
    signals.clear()
    box.weather.add_metar("KLGA", _report_time(now), 12.0, receipt_delay=dt.timedelta(0))  # 54 °F

    await poll_observations.run(ctx)

    assert ctx.live.extremes[event.event_id] == 54
    probs = ctx.engine.pricing[event.event_id].probs
    by_label = {m.label: probs[m.market_id] for m in event.markets}
    dead = [label for label, p in by_label.items() if p == 0.0]
    assert "52-53°F" in dead and "37°F or below" in dead and "54-55°F" not in dead
    assert abs(sum(probs.values()) - 1) < 1e-9
    opened = [s for s in signals if s.change is Change.OPEN and s.kind == "bucket"]
    assert {s.market.label for s in opened if s.side is Side.NO} >= {"46-47°F", "48-49°F"}
    assert all(s.latency_us is not None and s.latency_us < 100_000 for s in opened)
    assert list(ctx.live.latencies_us)

    await ctx.store.flush()
    con = sqlite3.connect(ctx.store.path)
    try:
        [(new, lat, n_dead)] = con.execute(
            "SELECT new_value, latency_us, dead_buckets FROM extreme_changes"
        ).fetchall()
        kinds = {k for (k,) in con.execute("SELECT kind FROM forecasts")}
    finally:
        con.close()
    assert new == 54 and lat is not None and n_dead == 9
    assert kinds == {"observed"}

    # The same report again changes nothing: no new decision, no new row.
    before = len(signals)
    ctx.live.attempted_at.clear()
    await poll_observations.run(ctx)
    assert len(signals) == before


@any_hour
async def test_clock_skew_marks_the_event_stale_with_a_reason(
    box: Sandbox, ctx: JobContext
) -> None:
    event, now = _today_event(box, ctx)
    future = now + dt.timedelta(minutes=40)
    box.weather.add_metar("KLGA", future, 9.0, receipt_delay=dt.timedelta(minutes=-45))

    await poll_observations.run(ctx)

    assert event.event_id not in ctx.engine.pricing
    assert "clock skew" in ctx.live.stale[event.event_id]
    assert any("clock skew" in why for why in ctx.health.notes.values())
