"""The simulated weather services, really served on 127.0.0.1, plus a settable clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from weatheredge.model.market import Station
from weatheredge.sandbox.weather import WeatherState
from weatheredge.sandbox.weather_http import create_weather_app

# 15:00 UTC on a November Wednesday: 10:00 in New York (EST), 15:00 in London (GMT).
NOW = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC)

KLGA = Station("KLGA", 40.777242, -73.872606, 6.3, "America/New_York")
EGLC = Station("EGLC", 51.5053, 0.05528, 5.8, "Europe/London")


class SettableClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(NOW)


@pytest.fixture
def state(clock: SettableClock) -> WeatherState:
    return WeatherState(seed=7, clock=clock)


@pytest.fixture
async def server(state: WeatherState) -> AsyncIterator[TestServer]:
    srv = TestServer(create_weather_app(state), host="127.0.0.1", port=0)
    await srv.start_server()
    yield srv
    await srv.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
        yield s
