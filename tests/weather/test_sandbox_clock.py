"""The sandbox seeds and serves on the clock it is given, never the machine's: a test hands the
same clock to the sandbox and to the jobs, and both agree on the day and the hour."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import aiohttp

from weatheredge.clock import SYSTEM, VirtualClock
from weatheredge.sandbox import Sandbox, scenario

NY = ZoneInfo("America/New_York")
# 02:00 in New York on a summer day far from the machine's: the hour at which the seeded reports
# straddle the local midnight, the date at which a stray read of the machine's clock shows.
NOW = dt.datetime(2026, 7, 4, 2, 0, tzinfo=NY)


async def test_reports_forecasts_events_and_books_follow_the_sandbox_clock() -> None:
    clock = VirtualClock(wall_ns=int(NOW.timestamp()) * 1_000_000_000)
    box = Sandbox(clock=clock)
    urls = await box.start(play=False)
    try:
        async with aiohttp.ClientSession() as http:
            metar = f"{urls.metar_url}?ids=KLGA&hours=7&format=json"
            async with http.get(metar) as resp:
                seeded = sorted(r["obsTime"] for r in await resp.json())
            forecast = (
                f"{urls.forecast_url}?latitude=40.78&longitude=-73.87&timezone=America/New_York"
                "&daily=temperature_2m_max&forecast_days=2"
            )
            async with http.get(forecast) as resp:
                days = (await resp.json())["daily"]["time"]
            nyc = box.quoted[0]
            async with http.get(f"{urls.gamma_url}/events/slug/{nyc.event['slug']}") as resp:
                assert resp.status == 200
            token, _ = nyc.tokens(0)
            async with http.get(f"{urls.clob_url}/book", params={"token_id": token}) as resp:
                stamped_ms = int((await resp.json())["timestamp"])
    finally:
        await box.stop()

    # The last six hourly reports before the clock's now, at :51 (20:51 .. 01:51 local).
    top = NOW.astimezone(dt.UTC).replace(minute=51)
    assert seeded == [int((top - dt.timedelta(hours=h)).timestamp()) for h in range(6, 0, -1)]
    assert days == ["2026-07-04", "2026-07-05"]  # the forecasts' "today" is the clock's
    assert nyc.event["eventDate"] == "2026-07-05"  # the scripted day is the clock's tomorrow
    # Frame and book stamps: the clock's, plus the 1 ms a step the venue's sequencer adds.
    assert 0 <= stamped_ms - NOW.timestamp() * 1000 < 60_000


async def test_the_default_is_the_machine_clock() -> None:
    box = Sandbox()
    assert box.clock is SYSTEM
    await box.start(play=False)
    try:
        day = scenario.local_tomorrow("America/New_York", dt.datetime.now(dt.UTC))
        assert box.quoted[0].event["eventDate"] in {day.isoformat(), str(day - dt.timedelta(1))}
    finally:
        await box.stop()
