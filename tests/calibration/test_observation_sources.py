"""Each live station is read from its resolution source's feed; aviationweather has a backup.

Real sandbox servers on 127.0.0.1: aviationweather failing while the NWS API fills in, both
relaying one report (which came first, do they agree), and the Hong Kong Observatory / CWA
open-data feeds pricing cities no METAR settles.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from zoneinfo import ZoneInfo

import msgspec

from jobs import poll_observations
from tests.calibration.conftest import NY, any_hour, nyc_event
from weatheredge.context import JobContext
from weatheredge.engine import Pricing
from weatheredge.model.live import EventPrior
from weatheredge.model.market import TemperatureEvent
from weatheredge.model.probability import Normal, probabilities_from_cdf
from weatheredge.polymarket.gamma_event import to_temperature_event
from weatheredge.polymarket.gamma_wire import decode_gamma_event
from weatheredge.sandbox import Sandbox, scenario

CWA_RULES = (
    "This market will resolve to the temperature range that contains the highest temperature "
    "recorded by the Central Weather Administration at its Taipei station (46692) in degrees "
    "Celsius on {day}, available at {url}. It measures temperatures in Celsius to one decimal "
    "place."
)


def _priced(ctx: JobContext, event: TemperatureEvent, mu: float, sigma: float) -> None:
    ctx.engine.set_events([*ctx.engine.events.values(), event])
    prior = Normal(mu, sigma)
    now, mono = ctx.engine.clock.now(), ctx.engine.clock.monotonic()
    ctx.live.priors[event.event_id] = EventPrior(
        prior.cdf, sigma, None, mono, now, mu=mu, sigma=sigma
    )
    probs = probabilities_from_cdf(prior.cdf, event.buckets, event.rule.rounding)
    by_market = {m.market_id: p for m, p in zip(event.markets, probs, strict=True)}
    ctx.engine.set_pricing(event.event_id, Pricing(by_market, None, mono))


def _nyc_today(box: Sandbox, ctx: JobContext) -> tuple[TemperatureEvent, dt.datetime]:
    now = ctx.engine.clock.now()
    _, event = nyc_event(box, now.astimezone(NY).date(), 330000)
    _priced(ctx, event, 46.0, 2.5)
    start = dt.datetime.combine(now.astimezone(NY).date(), dt.time(0), tzinfo=NY)
    return event, max(start + dt.timedelta(seconds=30), now - dt.timedelta(minutes=20))


def _weather(ctx: JobContext, **changes: object) -> None:
    weather = msgspec.structs.replace(ctx.settings.weather, **changes)
    ctx.settings = msgspec.structs.replace(ctx.settings, weather=weather)


@any_hour
async def test_aviationweather_down_the_nws_api_fills_in(box: Sandbox, ctx: JobContext) -> None:
    event, at = _nyc_today(box, ctx)
    box.weather.add_metar("KLGA", at, 12.0, receipt_delay=dt.timedelta(0))  # 54 °F
    box.weather.inject_error("/api/data/metar", 503, "upstream timeout")

    await poll_observations.run(ctx)

    assert ctx.live.extremes[event.event_id] == 54  # from the NWS relay
    ledger = ctx.live.sources
    assert ledger.first_source("KLGA", at.replace(microsecond=0)) == "nws"
    sources = ledger.status()
    assert set(sources["first"]) == {"nws"} and sources["fallbacks"] == 1
    assert sources["failures"] == {"aviationweather": 1}
    note = ctx.health.notes["observations:aviationweather"]
    assert "HTTP 503" in note and "NWS API filling in for 1 station" in note
    nws_calls = [q for path, q in box.weather.requests if path == "/stations/KLGA/observations"]
    assert len(nws_calls) == 1 and "start" in nws_calls[0]

    # aviationweather back: the duplicate is not applied twice, the fallback is not asked.
    ctx.live.attempted_at.clear()  # poll again now
    await poll_observations.run(ctx)
    sources = ctx.live.sources.status()
    # Routine polls ask aviationweather for the last 2 h: each report it relays again is a
    # duplicate of NWS's, none is applied twice, none is new.
    assert set(sources["first"]) == {"nws"} and 1 <= sources["both"] <= sources["first"]["nws"]
    assert sources["fallbacks"] == 1 and sources["disagreements"] == 0
    assert "observations:aviationweather" not in ctx.health.notes


@any_hour
async def test_lagging_aviationweather_asks_nws_only_for_the_lagging_station(
    box: Sandbox, ctx: JobContext
) -> None:
    _weather(ctx, metar_lag=60.0)
    event, at = _nyc_today(box, ctx)
    # aviationweather's newest report is older than metar_lag; NWS already relays a new one.
    box.weather.add_metar("KLGA", at, 12.0, receipt_delay=dt.timedelta(hours=1))
    box.weather.feeds.nws_delay = -dt.timedelta(hours=1)
    await poll_observations.run(ctx)
    assert ctx.live.extremes[event.event_id] == 54
    assert ctx.live.sources.first_source("KLGA", at.replace(microsecond=0)) == "nws"
    assert ctx.live.sources.fallbacks == 1
    assert "observations:aviationweather" not in ctx.health.notes  # slow, not failing


@any_hour
async def test_both_sources_first_arrival_and_disagreement(box: Sandbox, ctx: JobContext) -> None:
    _weather(ctx, second_source="always")
    event, at = _nyc_today(box, ctx)
    early = at - dt.timedelta(minutes=1)
    box.weather.add_metar("KLGA", early, 10.0, receipt_delay=dt.timedelta(0))  # 50 °F
    box.weather.add_metar("KLGA", at, 12.0, receipt_delay=dt.timedelta(0))  # 54 °F
    box.weather.feeds.nws_values[("KLGA", at.replace(microsecond=0))] = 13.0  # 55 °F

    await poll_observations.run(ctx)

    ledger = ctx.live.sources
    sources = ledger.status()
    # Same visibility: every report of the local day came from the primary first. (Early in the
    # day NWS alone relays some of yesterday's: aviationweather is asked back to midnight only.)
    start = dt.datetime.combine(at.astimezone(NY).date(), dt.time(0), tzinfo=NY)
    today = [
        dt.datetime.fromtimestamp(r["obsTime"], dt.UTC)
        for r in box.weather.recorded_metars(["KLGA"], 24)
        if r["obsTime"] >= start.timestamp()
    ]
    assert len(today) >= 2
    assert {ledger.first_source("KLGA", t) for t in today} == {"aviationweather"}
    assert sources["both"] == sources["first"]["aviationweather"] >= len(today)
    assert sources["disagreements"] == 1
    assert "aviationweather 12 °C, nws 13 °C" in sources["recent_disagreements"][0]
    assert ctx.live.extremes[event.event_id] == 54  # the primary's value holds
    assert set(sources["lead_p50_s"]) == {"aviationweather"}


def _live_official(
    box: Sandbox, ctx: JobContext, spec: scenario.EventSpec, event_id: int, temp_c: float
) -> TemperatureEvent:
    """Today's (station-local) event of ``spec``, priced, with one reading in the feed."""
    zone = ZoneInfo(spec.tz)
    now = ctx.engine.clock.now()
    raw = scenario.gamma_event(spec, now.astimezone(zone).date(), event_id)
    event = to_temperature_event(decode_gamma_event(json.dumps(raw).encode()))
    _priced(ctx, event, 21.0, 1.0)
    local_midnight = dt.datetime.combine(now.astimezone(zone).date(), dt.time(0), tzinfo=zone)
    when = max(local_midnight + dt.timedelta(seconds=30), now - dt.timedelta(minutes=5))
    assert event.rule.station is not None
    box.weather.feeds.add_reading(event.rule.station, when, temp_c)
    return event


async def test_hong_kong_is_priced_from_the_observatory_feed(box: Sandbox, ctx: JobContext) -> None:
    # Floor rule: 23.9 settles in the 23°C bucket.
    event = _live_official(box, ctx, scenario.event_specs()[3], 340000, 23.9)
    assert event.rule.station == "HKO"

    await poll_observations.run(ctx)

    assert ctx.live.extremes[event.event_id] == 23
    assert event.event_id not in ctx.live.stale
    probs = ctx.engine.pricing[event.event_id].probs
    by_label = {m.label: probs[m.market_id] for m in event.markets}
    assert by_label["22°C"] == 0.0 and by_label["23°C"] > 0
    assert ctx.live.sources.status()["first"] == {"hko": 1}
    assert not [k for k in ctx.health.notes if "HKO" in k or "hko" in k]


async def test_taipei_cwa_rules_are_priced_from_the_cwa_feed(box: Sandbox, ctx: JobContext) -> None:
    spec = dataclasses.replace(
        scenario.event_specs()[3],
        slug_city="taipei",
        title_city="Taipei",
        question_city="Taipei",
        tz="Asia/Taipei",
        rules=CWA_RULES,
        url="https://www.cwa.gov.tw/V8/E/W/OBS_Station.html?ID=46692",
    )
    event = _live_official(box, ctx, spec, 350000, 19.6)
    assert event.rule.station == "466920"

    await poll_observations.run(ctx)

    assert ctx.live.extremes[event.event_id] == math.floor(19.6)
    assert ctx.live.sources.status()["first"] == {"cwa": 1}
    (call,) = [q for path, q in box.weather.requests if path.endswith("O-A0003-001")]
    assert call["StationId"] == "466920" and call["Authorization"] == "sandbox-cwa-key"
