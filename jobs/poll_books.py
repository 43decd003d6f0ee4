"""Poll order books over REST (every few seconds, only while the WebSocket is disabled).

``POST /books`` in batches of 100; each snapshot replaces the local book and is evaluated like a
streamed one, at degraded latency. A 429 is not retried here: the next run comes soon enough.
"""

from __future__ import annotations

import time

from weatheredge.context import JobContext
from weatheredge.polymarket.clob import fetch_books


async def run(ctx: JobContext) -> None:
    tokens = list(ctx.engine.tokens)
    if not tokens:
        return
    books = await fetch_books(ctx.session, ctx.settings.polymarket.clob_url, tokens)
    ctx.engine.on_rest_books(books, time.perf_counter_ns())
