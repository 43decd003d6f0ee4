"""What a scheduled job gets to work with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from weatheredge.config import Settings
from weatheredge.engine import Engine
from weatheredge.health import Health
from weatheredge.polymarket.stream import MarketStream
from weatheredge.store import Store


@dataclass(slots=True)
class JobContext:
    settings: Settings
    session: aiohttp.ClientSession
    store: Store
    engine: Engine
    stream: MarketStream | None
    health: Health
    request_run: Callable[[str], None]  # run a job now (e.g. forecasts for new events)
    discovery: dict[str, object] = field(default_factory=dict)  # last discovery summary
