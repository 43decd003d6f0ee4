"""Chaos harness: the simulated venue on a real loopback port (restartable), the real engine and
the real feed, and an edge sink that checks every decision as it is made."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.polymarket.factories import f_labels, make_event
from weatheredge.engine import EdgeSignal, Engine, Pricing
from weatheredge.feed.config import FeedConfig
from weatheredge.feed.manager import FeedManager
from weatheredge.feed.shard import POLLING
from weatheredge.model.edge import Change
from weatheredge.model.market import TemperatureEvent
from weatheredge.model.prices import to_micros
from weatheredge.polymarket.gamma_event import to_temperature_event
from weatheredge.polymarket.gamma_wire import decode_gamma_event
from weatheredge.sandbox.venue import Venue, create_venue_app

CITIES = ["NYC", "Miami", "Chicago", "Denver", "Austin", "Seattle", "Dallas", "Atlanta"]
EDGE_BUCKET = 1  # YES of this bucket is cheap (ask 0.44) against p = 0.60: an edge
FAST = dict(
    heartbeat_s=0.1,
    pong_timeout_beats=3,
    backoff_base_s=0.05,
    backoff_cap_s=0.3,
    stable_after_s=5.0,
    connect_stagger_s=0.02,
    stale_after_s=0.4,
    watchdog_interval_s=0.15,
    sync_timeout_s=1.0,
    confirm_delay_s=0.05,
    proactive_reconnect_s=0.0,
    poll_after_s=0.4,
    poll_interval_s=0.1,
    tick_s=0.02,
    desync_reconnect_gap_s=0.1,
    max_tokens_per_connection=50,
    open_timeout_s=2.0,
    close_timeout_s=0.2,
)
# Worst case from a drop to the next socket: backoff cap + gate + handshake, with slack.
RECONNECT_BOUND_S = 0.3 + 0.5


async def eventually(condition: Callable[[], bool], within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@dataclass
class Harness:
    venue: Venue
    port: int
    runner: web.AppRunner
    engine: Engine
    feed: FeedManager
    events: list[TemperatureEvent]
    raw_events: list[dict[str, Any]]
    signals: list[EdgeSignal] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    open_ids: dict[str, str] = field(default_factory=dict)  # token -> open episode id
    edge_ids: set[str] = field(default_factory=set)
    task: asyncio.Task[None] | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/market"

    @property
    def tokens(self) -> list[str]:
        return [t for e in self.events for t in e.token_ids()]

    @property
    def bucket_signals(self) -> list[EdgeSignal]:
        """Per-bucket edge decisions (ladder arbitrage signals have their own kind)."""
        return [s for s in self.signals if s.kind == "bucket"]

    def yes(self, event: int, bucket: int) -> str:
        return self.events[event].markets[bucket].yes_token

    # -- the edge sink: every decision is checked when it is made -------------------------

    def sink(self, sig: EdgeSignal) -> None:
        self.signals.append(sig)
        token = sig.market.yes_token if sig.side.value == "YES" else sig.market.no_token
        if sig.change is Change.OPEN:
            if token in self.open_ids:
                self.violations.append(f"second open episode for {token[:8]}")
            if sig.edge_id in self.edge_ids:
                self.violations.append(f"episode id {sig.edge_id} reused")
            self.open_ids[token] = sig.edge_id
            self.edge_ids.add(sig.edge_id)
        elif sig.change is Change.UPDATE:
            if self.open_ids.get(token) != sig.edge_id:
                self.violations.append(f"update outside its episode for {token[:8]}")
        else:
            if self.open_ids.pop(token, None) != sig.edge_id:
                self.violations.append(f"close without an open episode for {token[:8]}")
        if sig.change in (Change.OPEN, Change.UPDATE) and sig.kind == "bucket":
            book = self.engine.books[token]
            shard = self.feed._shard_of.get(token)
            if not book.synced:
                self.violations.append(f"edge {sig.change} from an unsynced book")
            elif book.crossed():
                self.violations.append(f"edge {sig.change} from a crossed book")
            elif shard is not None and not (shard.stream.connected or shard.mode == POLLING):
                self.violations.append(f"edge {sig.change} while its socket is down")
            elif sig.quote is None or sig.quote.price != book.ask_px:
                self.violations.append(f"edge {sig.change} quote differs from the book")

    # -- checks ---------------------------------------------------------------------------

    def venue_book(self, token: str) -> tuple[dict[int, int], dict[int, int]]:
        wire = self.venue.book(token)
        return tuple(  # type: ignore[return-value]
            {to_micros(lv["price"]): to_micros(lv["size"]) for lv in wire[side]}
            for side in ("bids", "asks")
        )

    def books_equal(self) -> list[str]:
        """Tokens whose local book differs from the venue's (or is not synced)."""
        bad = []
        for token in self.tokens:
            book = self.engine.books[token]
            if not book.synced or (book.bids, book.asks) != self.venue_book(token):
                bad.append(token)
        return bad

    def all_live(self) -> bool:
        return all(s.mode == "live" for s in self.feed.active_shards)

    def resubscribed_once(self, since: int, expected: set[str] | None = None) -> list[str]:
        """Problems with the subscriptions sent on sockets opened after ``since``: each of the
        ``expected`` tokens (default: all) exactly once, across every new socket."""
        seen: dict[str, int] = {}
        for client in self.venue.history[since:]:
            if client.closed:
                continue
            for token in client.subscribed_ids:
                seen[token] = seen.get(token, 0) + 1
        problems = [f"{t[:8]} x{n}" for t, n in seen.items() if n != 1]
        missing = (set(self.tokens) if expected is None else expected) - set(seen)
        if missing:
            problems.append(f"{len(missing)} tokens not resubscribed")
        return problems

    async def settle(self, within: float = 5.0) -> None:
        await eventually(lambda: self.all_live() and not self.books_equal(), within)

    def add_event(self, i: int) -> list[str]:
        """List a new event at the venue and subscribe it, as discovery would."""
        raw = seed_event(self.venue, i)
        self.raw_events.append(raw)
        self.events.append(to_event(raw))
        added, _ = self.engine.set_events(self.events)
        self.engine.set_pricing(self.events[-1].event_id, pricing_for(self.events[-1]))
        self.feed.subscribe(added)
        return added

    async def restart_venue(self, down_s: float) -> None:
        """A real server restart: the port closes (connections refused), then reopens."""
        await self.runner.cleanup()
        await asyncio.sleep(down_s)
        self.runner = await _serve(self.venue, self.port)


async def _serve(venue: Venue, port: int = 0) -> web.AppRunner:
    runner = web.AppRunner(create_venue_app(venue), shutdown_timeout=0.2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def seed_event(venue: Venue, i: int) -> dict[str, Any]:
    raw = make_event(CITIES[i], event_id=str(300000 + i), labels=f_labels())
    venue.add_event(raw)
    for market in raw["markets"]:
        yes = json.loads(market["clobTokenIds"])[0]
        venue.set_book(yes, bids=[("0.38", "120"), ("0.40", "55.5")], asks=[("0.44", "80")])
    return raw


def seed_venue(venue: Venue, n_events: int) -> list[dict[str, Any]]:
    return [seed_event(venue, i) for i in range(n_events)]


def to_event(raw: dict[str, Any]) -> TemperatureEvent:
    return to_temperature_event(decode_gamma_event(json.dumps(raw).encode()))


def pricing_for(event: TemperatureEvent) -> Pricing:
    probs = {m.market_id: (0.60 if i == EDGE_BUCKET else 0.42) for i, m in enumerate(event.markets)}
    return Pricing(probs=probs, forecast_id=1, issued_mono=time.monotonic())


@contextlib.asynccontextmanager
async def harness(
    n_events: int = 6, *, start: bool = True, **overrides: Any
) -> AsyncIterator[Harness]:
    venue = Venue(subscribe_timeout_s=2.0)
    raws = seed_venue(venue, n_events)
    runner = await _serve(venue)
    port = runner.addresses[0][1]
    events = [to_event(r) for r in raws]
    box: list[Harness] = []
    engine = Engine(
        min_edge=0.05,
        hysteresis=0.01,
        max_forecast_age=3600,
        emit=lambda s: box[0].sink(s),
        on_desync=lambda token, reason: box[0].feed.on_desync(token, reason),
        on_resolved=lambda tokens: box[0].feed.unsubscribe(tokens),
    )
    base = FeedConfig(
        ws_url=f"ws://127.0.0.1:{port}/ws/market", clob_url=f"http://127.0.0.1:{port}"
    )
    config = replace(base, **{**FAST, **overrides})
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
        feed = FeedManager(engine, config, session=session, rng=random.Random(3))
        h = Harness(venue, port, runner, engine, feed, events, raws)
        box.append(h)
        added, _ = engine.set_events(events)
        for event in events:
            engine.set_pricing(event.event_id, pricing_for(event))
        feed.subscribe(added)
        if start:
            h.task = asyncio.create_task(feed.run())
        try:
            yield h
        finally:
            if h.task is not None:
                h.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await h.task
            await h.runner.cleanup()


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with harness() as hh:
        await hh.settle()
        yield hh
