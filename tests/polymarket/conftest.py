from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from weatheredge.sandbox.venue import Venue, create_venue_app


@dataclass
class VenueServer:
    venue: Venue
    server: TestServer

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/ws/market"


@pytest.fixture
async def venue_server() -> AsyncIterator[VenueServer]:
    venue = Venue(subscribe_timeout_s=0.5)
    server = TestServer(create_venue_app(venue), host="127.0.0.1")
    await server.start_server()
    try:
        yield VenueServer(venue, server)
    finally:
        await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as s:
        yield s
