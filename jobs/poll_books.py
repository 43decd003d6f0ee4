"""Poll order books over REST once, now.

Not scheduled any more: the feed (``weatheredge.feed.manager.FeedManager``) runs its own polling
loop for every shard in ``polling`` mode (WebSocket disabled, or down longer than
``feed.poll_after``), rate-limited and honouring 429 ``Retry-After``. This job stays for manual
use: it forces one round for the polling shards, or, with no feed, one plain REST round.
"""

from __future__ import annotations

from weatheredge.context import JobContext
from weatheredge.polymarket.clob import fetch_books


async def run(ctx: JobContext) -> None:
    if ctx.stream is not None:
        await ctx.stream.polling.poll_once()
        return
    tokens = list(ctx.engine.tokens)
    if not tokens:
        return
    books = await fetch_books(ctx.session, ctx.settings.polymarket.clob_url, tokens)
    ctx.engine.on_rest_books(books, ctx.engine.clock.perf_ns())
