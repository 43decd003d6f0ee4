"""Market metadata the order venue serves and validates against, read from the ``Venue``:
``GET /time``, ``GET /markets-by-token/{token}`` and ``GET /clob-markets/{condition_id}``."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from aiohttp import web

from weatheredge.sandbox.exchange.state import ExchangeState
from weatheredge.sandbox.replies import error_reply


class MarketsApi(ExchangeState):
    """Token metadata and the public market endpoints."""

    def _token_meta(self, token: str) -> dict[str, Any] | None:
        """tick, min size, neg-risk, condition id and outcome of a token, from the venue.

        The tick is the current one, so a ``tick_size_change`` applies to orders at once, as
        on the venue.
        """
        info = self.venue.token_info(token)
        if info is None:
            return None
        market = info.gamma_market
        ids = market.get("positionIds") or json.loads(market.get("clobTokenIds") or "[]")
        outcomes = json.loads(market.get("outcomes") or '["Yes", "No"]')
        index = ids.index(token) if token in ids else 0
        return {
            "market": info.market,
            "tick": Decimal(info.tick),
            "min_size": Decimal(info.min_order_size),
            "neg_risk": info.neg_risk,
            "tokens": ids,
            "outcomes": outcomes,
            "outcome": outcomes[index] if index < len(outcomes) else "Yes",
            "fee": market.get("feeSchedule") or {},
        }

    def _displayed(self, token: str, side: str, price: Decimal) -> Decimal:
        """The size the public book shows at ``price`` on ``side``'s side of ``token``."""
        book = self.venue.book(token)
        for level in book["bids"] if side == "BUY" else book["asks"]:
            if Decimal(level["price"]) == price:
                return Decimal(level["size"])
        return Decimal(0)

    async def handle_time(self, request: web.Request) -> web.Response:
        self.requests["GET /time"] += 1
        return web.json_response(int(time.time()))

    async def handle_market_by_token(self, request: web.Request) -> web.Response:
        self.requests["GET /markets-by-token"] += 1
        token = request.match_info["token"]
        meta = self._token_meta(token)
        if meta is None:
            return error_reply(404, "market not found")
        ids = meta["tokens"] or [token]
        return web.json_response(
            {
                "condition_id": meta["market"],
                "primary_token_id": ids[0],
                "secondary_token_id": ids[1] if len(ids) > 1 else "",
            }
        )

    async def handle_clob_market(self, request: web.Request) -> web.Response:
        self.requests["GET /clob-markets"] += 1
        tokens = self.venue.market_tokens(request.match_info["condition_id"])
        meta = self._token_meta(tokens[0]) if tokens else None
        if meta is None:
            return error_reply(404, "market not found")
        fee = meta["fee"]
        body: dict[str, Any] = {
            "t": [{"t": t, "o": o} for t, o in zip(meta["tokens"], meta["outcomes"], strict=False)],
            "mts": float(meta["tick"]),
            "mos": float(meta["min_size"]),
            "nr": meta["neg_risk"],
        }
        if fee:
            body["fd"] = {
                "r": float(fee.get("rate", 0)),
                "e": fee.get("exponent", 1),
                "to": bool(fee.get("takerOnly", True)),
            }
        return web.json_response(body)
