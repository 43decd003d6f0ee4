"""What a scheduled job gets to work with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

from weatheredge.config import Settings
from weatheredge.engine import Engine
from weatheredge.feed.manager import FeedManager
from weatheredge.health import Health
from weatheredge.model.live import LiveState
from weatheredge.store import Store


async def _apply_now(job: str, key: str) -> None:
    return None


@dataclass(slots=True)
class JobContext:
    settings: Settings
    session: aiohttp.ClientSession
    store: Store
    engine: Engine
    stream: FeedManager | None  # the market feed (shards of market-channel sockets)
    health: Health
    request_run: Callable[[str], None]  # run a job now (e.g. forecasts for new events)
    discovery: dict[str, object] = field(default_factory=dict)  # last discovery summary
    live: LiveState = field(default_factory=LiveState)  # model state the model jobs share
    # Discovery's memory, so an unchanged catalogue costs nothing (issue 13, idle cost): the
    # events last handed to the engine, and event_id -> (event as last stored, when).
    indexed_events: list[object] = field(default_factory=list)
    stored_events: dict[str, tuple[object, float]] = field(default_factory=dict)
    # Awaited just before a job applies a result it computed across awaits (job, key): live it
    # tapes the instant (``applied``); a replay holds the job there until its tape reaches it.
    applying: Callable[[str, str], Awaitable[None]] = _apply_now
