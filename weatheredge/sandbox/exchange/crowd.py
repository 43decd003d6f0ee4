"""Other traders' taker orders: the sandbox market's flow, matched like the venue matches it.

``sweep`` is someone else's marketable order (FAK): it takes the book best price first, level
after level, and at each price the resting orders in price-time priority. Our resting orders
are not on the displayed book, but they hold their place in its queue: the size that was
displayed at their price when they were placed is ahead of them (``Order.ahead``; others who
join later are behind, others' cancels can only shrink it). So the flow reaches one of our
orders only after everything ahead of it at its price, and every better price, has traded —
never sooner than the venue would.

The venue's book is mirrored, and so is its matching: a taker selling YES at ``x`` also meets
a resting NO bid at ``1 − x`` (both buyers' money mints the pair), so our orders on the other
token are matched at their complementary price.

Each price traded prints one ``last_trade_price`` (the taker's side, the taker's token) after
its level's ``price_change``, as the venue reports a swept book; our orders' fills are MAKER
trades on the user channel.
"""

from __future__ import annotations

from decimal import Decimal

from weatheredge.sandbox.exchange.markets import MarketsApi
from weatheredge.sandbox.exchange.state import ZERO, Order, decimal_text
from weatheredge.sandbox.exchange.trades import TradesApi

Print = tuple[str, Decimal]  # (price as printed, size traded there)


class CrowdApi(MarketsApi, TradesApi):
    """The flow's entry point into the order venue."""

    def sweep(self, token: str, side: str, size: Decimal) -> list[Print]:
        """Someone's taker order for ``size`` on ``token`` (``side`` is the taker's): fills
        what it reaches, best price first, and kills the rest. Returns one print per price."""
        meta = self._token_meta(token)
        if meta is None or size <= 0:
            return []
        selling = side == "SELL"
        book = self.venue.book(token)
        shown = {
            Decimal(lv["price"]): (lv["price"], Decimal(lv["size"]))
            for lv in (book["bids"] if selling else book["asks"])
        }
        ours = self._meeting(token, side, meta["tokens"])
        prices = sorted(set(shown) | set(ours), reverse=selling)
        tick = meta["tick"]
        prints: list[Print] = []
        left = size
        for price in prices:
            if left <= 0:
                break
            text, displayed = shown.get(price, (decimal_text(price.quantize(tick)), ZERO))
            others, mine = ZERO, ZERO
            queue = ours.get(price, [])
            for order in queue:  # placement order: time priority among ours
                ahead = min(order.ahead, displayed)
                take = min(max(ZERO, ahead - others), left)
                others, left = others + take, left - take
                if left <= 0:
                    break
                got = min(order.remaining, left)
                self.fill_resting(order.id, got)
                mine, left = mine + got, left - got
            rest = min(displayed - others, left)
            others, left = others + rest, left - rest
            for order in queue:
                order.ahead = max(ZERO, min(order.ahead, displayed) - others)
            if others > 0:
                self.venue.set_level(
                    token, "BUY" if selling else "SELL", text, decimal_text(displayed - others)
                )
            if others + mine > 0:
                self.venue.last_trade(token, text, decimal_text(others + mine), side)
                prints.append((text, others + mine))
        return prints

    def _meeting(self, token: str, side: str, pair: list[str]) -> dict[Decimal, list[Order]]:
        """Our resting orders a taker on ``token`` meets, by price in ``token``'s terms: the
        opposite side of the same token, or the same side of its complement at ``1 − price``."""
        other = next((t for t in pair if t != token), None)
        out: dict[Decimal, list[Order]] = {}
        for order in self.open_orders():
            if order.asset_id == token and order.side != side:
                price = order.price
            elif order.asset_id == other and order.side == side:
                price = 1 - order.price
            else:
                continue
            out.setdefault(price, []).append(order)
        return out
