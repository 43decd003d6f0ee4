"""Gamma listing: ``GET /events/keyset`` (keyset pagination) and ``GET /events/slug/{slug}``.

At most ``PAGE_CAP`` events per page whatever ``limit`` says (``limit`` outside
1..``LIMIT_MAX`` → 422), opaque ``next_cursor`` absent on the last page, ``offset`` → 422,
unknown parameters ignored.
"""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web

from weatheredge.sandbox.replies import error_reply, json_reply
from weatheredge.sandbox.venue.state import VenueState

PAGE_CAP = 100  # Gamma keyset: observed maximum events per page
LIMIT_MAX = 500  # Gamma keyset: the OpenAPI bound on ``limit``


class GammaApi(VenueState):
    """The Gamma HTTP handlers over the venue's events catalogue."""

    async def handle_events_keyset(self, request: web.Request) -> web.Response:
        self.requests[request.path] += 1
        query = request.query
        if "offset" in query:
            return error_reply(
                422, "offset is not supported by keyset pagination; use after_cursor"
            )
        try:
            limit = int(query.get("limit", "20"))
            after = (
                int(base64.urlsafe_b64decode(query["after_cursor"]).decode())
                if ("after_cursor" in query)
                else -1
            )
        except (ValueError, UnicodeDecodeError):
            return error_reply(422, "invalid limit or after_cursor")
        if not 1 <= limit <= LIMIT_MAX:
            return error_reply(422, f"limit must be between 1 and {LIMIT_MAX}")
        matching = [
            (seq, event)
            for seq, event in sorted(self._events.values(), key=lambda item: item[0])
            if seq > after and _matches(event, query)
        ]
        page = matching[: min(limit, PAGE_CAP)]
        body: dict[str, Any] = {"events": [event for _seq, event in page]}
        if len(matching) > len(page):
            body["next_cursor"] = base64.urlsafe_b64encode(str(page[-1][0]).encode()).decode()
        return json_reply(body)

    async def handle_event_by_slug(self, request: web.Request) -> web.Response:
        self.requests[request.path] += 1
        found = self._events.get(request.match_info["slug"])
        if found is None:
            return error_reply(404, "not found")
        return json_reply(found[1])


def _matches(event: dict[str, Any], query: Any) -> bool:
    if "tag_slug" in query:
        slugs = {t.get("slug") for t in event.get("tags") or []}
        if query["tag_slug"] not in slugs:
            return False
    if "closed" in query:
        want = query["closed"].lower() == "true"
        if bool(event.get("closed")) != want:
            return False
    return True
