"""Simulated Polymarket venue: Gamma listing, CLOB REST books and the market WebSocket.

It speaks the documented wire shapes exactly and is never more forgiving than the real venue
(polymarket.md §1, §3, §4, §6), so the daemon cannot pass here and fail there:

- Gamma ``GET /events/keyset``: at most 100 events per page whatever ``limit`` says (``limit``
  outside 1..500 → 422), opaque ``next_cursor`` absent on the last page, ``offset`` → 422,
  unknown parameters ignored. ``clobTokenIds``/``outcomes``/``outcomePrices`` are JSON strings.
- CLOB ``POST /books``: more than 100 ids → 400 ``Payload exceeds the limit``; ``GET /book`` of
  an unknown or resolved token → 404 ``No orderbook exists for the requested token id``. Levels
  are strings, bids ascending and asks descending (best level last).
- WS ``/ws/market``: the first JSON frame must be ``type: market`` (no subscription within
  ``subscribe_timeout_s`` → closed); a second one, a duplicate subscribe or anything unparseable
  gets the text reply ``INVALID OPERATION``; text ``PING`` → text ``PONG``. The initial dump is
  ONE JSON array of ``book`` objects. Re-subscribing an asset on the same socket sends no new
  snapshot (nautilus #4635). YES/NO books are mirrored: a YES bid at p is a NO ask at 1 - p,
  and one ``price_change`` frame carries both entries.

Everything that mutates state is synchronous; frames are queued per client and written by one
writer task per socket, so frame order is the order of calls.

Modules: ``state`` (catalogue, mirrored books, fault switches), ``gamma`` (keyset and slug
handlers), ``clob`` (book handlers), ``market_ws`` (the market channel and its faults).
"""

from __future__ import annotations

from aiohttp import web

from weatheredge.sandbox.venue.clob import BOOKS_MAX, ClobApi
from weatheredge.sandbox.venue.gamma import LIMIT_MAX, PAGE_CAP, GammaApi
from weatheredge.sandbox.venue.market_ws import INVALID, MarketChannel
from weatheredge.sandbox.venue.state import JSON_STRING_FIELDS, Faults, Levels, TokenInfo


class Venue(GammaApi, ClobApi, MarketChannel):
    """State of the simulated venue, driven by the scenario author and inspected by tests."""


def create_venue_app(venue: Venue) -> web.Application:
    """The venue as an aiohttp app: Gamma, CLOB REST and ``/ws/market`` on one port."""
    app = web.Application()
    app.router.add_get("/events/keyset", venue.handle_events_keyset)
    app.router.add_get("/events/slug/{slug}", venue.handle_event_by_slug)
    app.router.add_post("/books", venue.handle_books)
    app.router.add_get("/book", venue.handle_book)
    app.router.add_get("/ws/market", venue.handle_market_ws)

    async def close_sockets(_app: web.Application) -> None:
        await venue.drop_connections()

    app.on_shutdown.append(close_sockets)
    return app


__all__ = [
    "BOOKS_MAX",
    "INVALID",
    "JSON_STRING_FIELDS",
    "LIMIT_MAX",
    "PAGE_CAP",
    "Faults",
    "Levels",
    "TokenInfo",
    "Venue",
    "create_venue_app",
]
