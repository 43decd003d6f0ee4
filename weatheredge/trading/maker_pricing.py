"""Maker mode's reads for one token's quote: its book, fair value, exposure and limits turned
into the pure policy's inputs (:func:`~weatheredge.model.quoting.desired_quote`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from weatheredge.config import TradingSettings
from weatheredge.engine import TokenRef
from weatheredge.model.book import OrderBook
from weatheredge.model.quoting import Held, NoQuote, Quote, desired_quote, hedges
from weatheredge.trading.decisions import Decider
from weatheredge.trading.holdings import Holdings
from weatheredge.trading.risk import ZERO, Exposure, Limits
from weatheredge.trading.view import MarketView

_M = Decimal(1_000_000)


@functools.lru_cache(maxsize=64)
def _decimal(value: float) -> Decimal:
    return Decimal(str(value))


@functools.lru_cache(maxsize=4096)
def units(micros: int) -> Decimal:
    """Micro-units as an exact Decimal (ticks, sizes and book prices repeat: cached)."""
    return Decimal(micros) / _M


@functools.lru_cache(maxsize=4096)
def _fair(p: float) -> Decimal:
    return Decimal(round(p, 6)).quantize(Decimal("0.000001"))


def tick_of(ref: TokenRef | None, book: Any) -> Decimal:
    if book is not None:
        return units(book.tick)
    return units(ref.market.tick if ref is not None else 10_000)


class QuotePricer:
    def __init__(
        self,
        view: MarketView,
        decider: Decider,
        holdings: Holdings,
        settings: Callable[[], TradingSettings],
    ) -> None:
        self.view = view
        self._decider = decider
        self._holdings = holdings
        self._settings = settings
        self._limits_of: tuple[Limits | None, Limits] = (None, decider.limits)

    def desired(
        self, ref: TokenRef, token: str, current: Quote | None, held: list[Held],
        exposure: Exposure | None = None,
    ) -> Quote | NoQuote:  # fmt: skip
        return self.desired_at(ref, token, self.view.book(token), current, held, exposure)

    def desired_at(
        self, ref: TokenRef, token: str, book: OrderBook | None, current: Quote | None,
        held: list[Held], exposure: Exposure | None = None,
    ) -> Quote | NoQuote:  # fmt: skip
        """:meth:`desired` on the token's book as already read (the maker reads it once)."""
        if book is None or not book.synced:
            return NoQuote("book_not_synced")
        if book.crossed():
            return NoQuote("book_crossed")
        if not ref.market.accepting_orders:
            return NoQuote("not_accepting_orders")
        p = self.view.prob(token)
        if p is None:
            return NoQuote("no_fair_value")
        ask = book.best_ask()
        s = self._settings()
        return desired_quote(
            fair=_fair(p),
            margin=_decimal(s.maker.margin),
            tick=units(book.tick),
            bids=book.bids,
            best_ask=None if ask is None else units(ask[0]),
            own=current,
            exposure=self._decider.exposure(ref) if exposure is None else exposure,
            limits=self.limits(),
            event_limit=_decimal(s.maker.event_limit_usd or s.max_event_usd),
            hedging=hedges(ref.market.market_id, ref.side.value, held),
            min_size=units(ref.market.min_size),
        )

    def limits(self) -> Limits:
        """The trader's limits for quotes: no taker min_edge (the margin is the edge) and no
        offered depth (a bid takes none); rebuilt only when the limits change."""
        limits = self._decider.limits
        if self._limits_of[0] is not limits:
            self._limits_of = (limits, replace(limits, min_edge=ZERO, min_depth=ZERO))
        return self._limits_of[1]

    def held(self, event_id: str) -> list[Held]:
        out = []
        for pos in self._holdings.held():
            ref = self.view.ref(pos.token_id)
            if ref is not None and ref.event.event_id == event_id and pos.shares > 0:
                out.append(Held(ref.market.market_id, ref.side.value))
        return out

    def book_mark(self, token: str) -> tuple[Any, ...] | None:
        book = self.view.book(token)
        if book is None:
            return None
        bid = book.bid_px
        return (id(book), book.updated_ms, book.synced, bid, book.bids.get(bid), book.ask_px)
