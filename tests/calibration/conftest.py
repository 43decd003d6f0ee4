"""A real JobContext (store, engine, HTTP session) pointed at the sandbox, without the daemon."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from weatheredge.config import parse_config
from weatheredge.context import JobContext
from weatheredge.engine import EdgeSignal, Engine
from weatheredge.health import Health
from weatheredge.model.market import TemperatureEvent
from weatheredge.polymarket.gamma_event import to_temperature_event
from weatheredge.polymarket.gamma_wire import decode_gamma_event
from weatheredge.sandbox import Sandbox, scenario
from weatheredge.store import EventSeen, Store

NY = ZoneInfo("America/New_York")

# The sandbox seeds KLGA's last six hourly reports from the real clock. Before 07:00 in New
# York they fall on yesterday's local day: today has none yet and yesterday has six more than a
# test adds. Tests that read either day are skipped then (with this reason) until the sandbox
# and the jobs run on one virtual clock.
needs_todays_seeded_reports = pytest.mark.skipif(
    dt.datetime.now(NY).hour < 7,
    reason="before 07:00 New York the sandbox's seeded reports fall on yesterday",
)


@pytest.fixture
async def box() -> AsyncIterator[Sandbox]:
    sandbox = Sandbox()
    await sandbox.start(play=False)
    try:
        yield sandbox
    finally:
        await sandbox.stop()


@pytest.fixture
async def ctx(box: Sandbox, tmp_path: Path) -> AsyncIterator[JobContext]:
    extra = "model: {settle_after: 1, observation_fast: 1}\n"
    settings = parse_config(box.config_yaml(str(tmp_path / "we.db"), extra=extra), env={}).settings
    store = Store.open(settings.database)
    signals: list[EdgeSignal] = []
    engine = Engine(min_edge=0.05, hysteresis=0.01, max_forecast_age=3600, emit=signals.append)
    engine.signals = signals  # type: ignore[attr-defined]
    async with aiohttp.ClientSession() as session:
        context = JobContext(
            settings=settings,
            session=session,
            store=store,
            engine=engine,
            stream=None,
            health=Health(),
            request_run=lambda name: None,
        )
        try:
            yield context
        finally:
            await store.close(grace_s=2)


def nyc_event(box: Sandbox, day: dt.date, event_id: int) -> tuple[dict[str, Any], TemperatureEvent]:
    """The sandbox's NYC daily-high event for ``day``: (Gamma JSON, parsed event)."""
    raw = scenario.gamma_event(scenario.event_specs()[0], day, event_id)
    box.venue.add_event(raw)
    return raw, to_temperature_event(decode_gamma_event(json.dumps(raw).encode()))


def remember(ctx: JobContext, event: TemperatureEvent) -> None:
    ctx.store.submit(EventSeen(event, dt.datetime.now(dt.UTC)))


def yesterday_nyc(
    box: Sandbox, ctx: JobContext, event_id: int
) -> tuple[dict[str, Any], TemperatureEvent, dt.datetime]:
    """Yesterday's NYC high event, stored: (Gamma JSON, event, 12:51 local that day)."""
    day = dt.datetime.now(NY).date() - dt.timedelta(days=1)
    raw, event = nyc_event(box, day, event_id)
    remember(ctx, event)
    return raw, event, dt.datetime.combine(day, dt.time(12, 51), tzinfo=NY)


def resolve_at_venue(box: Sandbox, raw: dict[str, Any], label: str) -> dict[str, Any]:
    """Close the event on the sandbox venue with ``label``'s bucket YES; returns that market."""
    winner = next(m for m in raw["markets"] if m["groupItemTitle"] == label)
    for market in raw["markets"]:
        market["closed"] = True
        market["outcomePrices"] = json.dumps(["1", "0"] if market is winner else ["0", "1"])
    box.venue.add_event(raw)
    return winner
