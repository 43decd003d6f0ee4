"""A real JobContext (store, engine, HTTP session) pointed at the sandbox, without the daemon."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from weatheredge.clock import SYSTEM, Clock, VirtualClock
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
T = TypeVar("T")

# Every test here runs on one virtual clock shared by the sandbox and the jobs, on a fixed date
# that is not today, so nothing may read the machine's clock unnoticed. 15:00 New York: the
# sandbox's six seeded hourly reports (09:51-14:51) all fall on the local day of "today".
DAY = dt.date(2026, 11, 25)
AFTERNOON = dt.time(15, 0)
# Hours the machine's clock used to make tests fail at: before 07:00 New York some or all of the
# seeded reports fell on yesterday's local day. Tests reading today's or yesterday's reports
# are run at each (``@any_hour``).
HOURS = (dt.time(2, 0), dt.time(6, 59), AFTERNOON)
_AT_HOURS = pytest.mark.parametrize(
    "clock", HOURS, indirect=True, ids=[f"{t:%H%M}NY" for t in HOURS]
)


def any_hour(test: T) -> T:
    """Run ``test`` with the clock at each of ``HOURS``."""
    return pytest.mark.usefixtures("clock")(_AT_HOURS(test))


def clock_at(day: dt.date, at: dt.time) -> VirtualClock:
    """A clock standing still at ``at`` New York time on ``day``."""
    wall = dt.datetime.combine(day, at, tzinfo=NY)
    return VirtualClock(wall_ns=int(wall.timestamp()) * 1_000_000_000, mono_ns=10**12)


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> VirtualClock:
    return clock_at(DAY, getattr(request, "param", AFTERNOON))


def _clock(request: pytest.FixtureRequest) -> Clock:
    """The ``clock`` fixture where the test can see one (every test here). Tests elsewhere that
    borrow ``box``/``ctx`` (replay, tape) run a real daemon against the sandbox: the machine's."""
    try:
        return request.getfixturevalue("clock")
    except pytest.FixtureLookupError:
        return SYSTEM


@pytest.fixture
async def box(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    sandbox = Sandbox(clock=_clock(request))
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
    engine = Engine(
        min_edge=0.05, hysteresis=0.01, max_forecast_age=3600, emit=signals.append, clock=box.clock
    )
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


def today_ny(ctx: JobContext) -> dt.date:
    """New York's local date on the jobs' clock."""
    return ctx.engine.clock.now().astimezone(NY).date()


def nyc_event(box: Sandbox, day: dt.date, event_id: int) -> tuple[dict[str, Any], TemperatureEvent]:
    """The sandbox's NYC daily-high event for ``day``: (Gamma JSON, parsed event)."""
    raw = scenario.gamma_event(scenario.event_specs()[0], day, event_id)
    box.venue.add_event(raw)
    return raw, to_temperature_event(decode_gamma_event(json.dumps(raw).encode()))


def remember(ctx: JobContext, event: TemperatureEvent) -> None:
    ctx.store.submit(EventSeen(event, ctx.engine.clock.now()))


def past_nyc(
    box: Sandbox, ctx: JobContext, event_id: int
) -> tuple[dict[str, Any], TemperatureEvent, dt.datetime]:
    """A past day's NYC high event, stored: (Gamma JSON, event, 12:51 local that day).

    The day before yesterday: the sandbox seeds the last six hours' reports, which fall on
    yesterday early in New York's day; none falls on this day at any hour."""
    day = today_ny(ctx) - dt.timedelta(days=2)
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
