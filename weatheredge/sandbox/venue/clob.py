"""CLOB REST books: ``POST /books`` and ``GET /book``.

More than ``BOOKS_MAX`` ids → 400 ``Payload exceeds the limit``; ``GET /book`` of an unknown or
resolved token → 404 ``No orderbook exists for the requested token id``. Levels are strings,
bids ascending and asks descending (best level last).
"""

from __future__ import annotations

import json

from aiohttp import web

from weatheredge.sandbox.replies import error_reply, json_reply
from weatheredge.sandbox.venue.state import VenueState

BOOKS_MAX = 100  # CLOB POST /books: ids per call


class ClobApi(VenueState):
    """The CLOB book handlers over the venue's books."""

    async def handle_books(self, request: web.Request) -> web.Response:
        self.requests[request.path] += 1
        if self.faults.rate_limit_books > 0:
            self.faults.rate_limit_books -= 1
            headers = {"Retry-After": str(self.faults.retry_after_s)}
            return error_reply(429, "Too Many Requests", headers=headers)
        try:
            items = json.loads(await request.read())
        except ValueError:
            return error_reply(400, "Invalid payload")
        if not isinstance(items, list):
            return error_reply(400, "Invalid payload")
        if len(items) > BOOKS_MAX:
            return error_reply(400, "Payload exceeds the limit")
        if not all(isinstance(i, dict) and isinstance(i.get("token_id"), str) for i in items):
            return error_reply(400, "Invalid payload")
        tokens = [i["token_id"] for i in items]
        return json_reply([self._rest_book(self._books[t]) for t in tokens if t in self._books])

    async def handle_book(self, request: web.Request) -> web.Response:
        self.requests[request.path] += 1
        token = request.query.get("token_id")
        if not token:
            return error_reply(400, "Invalid payload")
        if token not in self._books:
            return error_reply(404, "No orderbook exists for the requested token id")
        return json_reply(self._rest_book(self._books[token]))
