"""The feed's watchdog: books quiet for ``stale_after`` (and snapshots missing ``sync_timeout``
after connecting) are compared with REST ``POST /books``; a confirmed difference marks them stale
and reconnects their socket. Also the proactive reconnects, one socket at a time."""

from __future__ import annotations

import asyncio
import logging
import time

from weatheredge.feed.shard import LIVE, SYNCING, FeedHost, Shard
from weatheredge.model.book import OrderBook
from weatheredge.model.prices import to_micros
from weatheredge.polymarket.clob import ClobError
from weatheredge.polymarket.wire import RestBook

logger = logging.getLogger(__name__)

WATCHDOG_MAX_TOKENS = 500  # REST-checked per shard per watchdog round (5 calls)


def _rest_levels(rest: RestBook) -> tuple[dict[int, int], dict[int, int]]:
    bids = {to_micros(lv.price): to_micros(lv.size) for lv in rest.bids}
    asks = {to_micros(lv.price): to_micros(lv.size) for lv in rest.asks}
    return {p: s for p, s in bids.items() if s}, {p: s for p, s in asks.items() if s}


def same_book(book: OrderBook, rest: RestBook) -> bool:
    """True when the local book holds exactly the REST snapshot's levels."""
    try:
        bids, asks = _rest_levels(rest)
    except ValueError:
        return True  # an unreadable REST body proves nothing about our book
    return book.bids == bids and book.asks == asks


def _active(feed: FeedHost) -> list[Shard]:
    return [s for s in feed.shards if s.tokens]


class Watchdog:
    def __init__(self, feed: FeedHost) -> None:
        self.feed = feed
        self.stale_events = 0
        self.stale_books = 0
        self.checks = 0

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.feed.config.watchdog_interval_s)
            for shard in list(self.feed.shards):
                if shard.tokens and shard.stream.connected and shard.mode in (SYNCING, LIVE):
                    try:
                        await self.check_shard(shard)
                    except ClobError as err:
                        logger.debug("watchdog REST check failed for %s: %s", shard.name, err)

    async def check_shard(self, shard: Shard) -> bool:
        """REST-check quiet books and missing snapshots; reconnect on a confirmed difference.

        Returns True when it forced a reconnect.
        """
        cfg = self.feed.config
        market = self.feed.engine.market
        started = time.perf_counter_ns()
        stale_ns = int(cfg.stale_after_s * 1e9)
        connected_for = time.monotonic() - (shard.stream.connected_since or time.monotonic())
        quiet, missing = [], []
        for token in shard.tokens:
            book = market.book(token)
            if book is None:
                continue
            if book.ws:
                if started - book.seen_ns >= stale_ns:
                    quiet.append(token)
            elif connected_for >= cfg.sync_timeout_s and token not in shard.no_book:
                missing.append(token)
        quiet, missing = quiet[:WATCHDOG_MAX_TOKENS], missing[:WATCHDOG_MAX_TOKENS]
        if not quiet and not missing:
            return False
        self.checks += 1
        differ, snapshot_missing = await self._compare(quiet, missing, started, shard)
        if differ:
            await asyncio.sleep(cfg.confirm_delay_s)  # let in-flight deltas land, then recheck
            again = time.perf_counter_ns()
            differ, _ = await self._compare(differ, [], again, shard)
        if not differ and not snapshot_missing:
            return False
        if not shard.stream.connected:
            return False
        self.stale_events += 1
        self.stale_books += len(differ) + len(snapshot_missing)
        self.feed.engine.mark_stale(differ, "differs from REST /books while the feed was quiet")
        if self.feed.tape is not None:
            self.feed.tape.record(
                "stale", {"shard": shard.index, "differ": differ, "missing": snapshot_missing}
            )
        self.feed.engine.mark_stale(snapshot_missing, "no snapshot on this connection")
        shard.stale_reconnects += 1
        logger.warning(
            "feed %s: %d quiet books differ from REST /books, %d snapshots missing; reconnecting",
            shard.name,
            len(differ),
            len(snapshot_missing),
        )
        await shard.stream.reconnect("stale books (REST /books differs)")
        return True

    async def _compare(
        self, quiet: list[str], missing: list[str], started: int, shard: Shard
    ) -> tuple[list[str], list[str]]:
        rest = {b.asset_id: b for b in await self.feed.poller.fetch([*quiet, *missing])}
        book_of = self.feed.engine.market.book
        differ = []
        for token in quiet:
            book, snap = book_of(token), rest.get(token)
            if book is None or snap is None or not book.ws or book.seen_ns > started:
                continue  # gone, unknown to REST, or it moved meanwhile: alive
            if same_book(book, snap):
                book.seen_ns = started  # verified fresh: next check after another stale_after
            else:
                differ.append(token)
        snapshot_missing = []
        for token in missing:
            book = book_of(token)
            if book is not None and book.ws:
                continue
            if token in rest:
                snapshot_missing.append(token)
            else:
                shard.no_book.add(token)  # resolved or unknown: no snapshot will ever come
        return differ, snapshot_missing

    async def proactive(self) -> None:
        interval = self.feed.config.proactive_reconnect_s
        while True:
            live = [s for s in _active(self.feed) if s.stream.connected]
            await asyncio.sleep(
                max(interval / max(1, len(live)), self.feed.config.connect_stagger_s)
            )
            now = time.monotonic()
            due = [
                s
                for s in _active(self.feed)
                if s.stream.connected_since is not None
                and now - s.stream.connected_since >= interval
            ]
            if due:
                shard = min(due, key=lambda s: s.stream.connected_since or now)
                shard.proactive_reconnects += 1
                logger.info("feed %s: scheduled reconnect", shard.name)
                await shard.stream.reconnect("scheduled reconnect")
