"""Fee and edge math, and edge episodes with hysteresis.

Weather markets charge takers ``fee = shares * rate * p * (1 - p)`` (rate read per market,
typically 0.05); makers pay nothing. Buying YES at ask ``a`` therefore costs ``a + rate*a*(1-a)``
per share and pays 1 with probability ``p``: edge = p - a - fee. Buying NO uses the NO token's own
ask and ``1 - p``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from weatheredge.model.prices import MICRO


class Side(enum.StrEnum):
    YES = "YES"
    NO = "NO"


def taker_fee_per_share(price: float, rate: float) -> float:
    return rate * price * (1.0 - price)


def taker_fee(shares: float, price: float, rate: float) -> float:
    """Fee in pUSD for a taker fill, rounded to 5 decimals with a 0.00001 minimum."""
    if shares <= 0 or rate <= 0:
        return 0.0
    return max(0.00001, round(shares * taker_fee_per_share(price, rate), 5))


def buy_edge(prob: float, ask_micros: int, fee_rate: float) -> float:
    """Expected value per share of lifting the ask, after the taker fee."""
    ask = ask_micros / MICRO
    return prob - ask - taker_fee_per_share(ask, fee_rate)


@dataclass(frozen=True, slots=True)
class Quote:
    """What the book offers right now on one side of one bucket."""

    side: Side
    price: int  # best ask, micro-units
    size: int  # size at that price, micro-units (shares * 1e6)
    prob: float  # our probability that this side pays out
    edge: float  # per share, after fee


def quote(side: Side, prob: float, ask: tuple[int, int] | None, fee_rate: float) -> Quote | None:
    if ask is None:
        return None
    price, size = ask
    return Quote(side, price, size, prob, buy_edge(prob, price, fee_rate))


class Change(enum.StrEnum):
    OPEN = "open"
    UPDATE = "update"
    CLOSE = "close"


@dataclass(frozen=True, slots=True)
class EpisodeEvent:
    change: Change
    key: str  # token id of the side being bought
    quote: Quote | None  # None on a close caused by a vanished ask or untrusted book
    reason: str = ""


@dataclass(slots=True)
class _Open:
    quote: Quote


class EpisodeTracker:
    """Turns a stream of quotes into open/update/close events, one episode per crossing.

    Opens when the edge reaches ``min_edge``; stays open until it falls below
    ``min_edge - hysteresis`` so a quote flickering around the threshold does not spam episodes.
    Updates are emitted only when price, size or probability actually changed.
    """

    def __init__(self, min_edge: float, hysteresis: float) -> None:
        self.min_edge = min_edge
        self.close_below = min_edge - hysteresis
        self._open: dict[str, _Open] = {}

    def is_open(self, key: str) -> bool:
        return key in self._open

    def open_keys(self) -> list[str]:
        return list(self._open)

    def observe(self, key: str, q: Quote | None) -> EpisodeEvent | None:
        current = self._open.get(key)
        if current is None:
            if q is not None and q.edge >= self.min_edge:
                self._open[key] = _Open(q)
                return EpisodeEvent(Change.OPEN, key, q)
            return None
        if q is None:
            return self.close(key, "no ask")
        if q.edge < self.close_below:
            del self._open[key]
            return EpisodeEvent(Change.CLOSE, key, q, "edge below threshold")
        old = current.quote
        if (old.price, old.size, old.prob) != (q.price, q.size, q.prob):
            current.quote = q
            return EpisodeEvent(Change.UPDATE, key, q)
        return None

    def retune(self, min_edge: float, hysteresis: float, reason: str) -> list[EpisodeEvent]:
        """New thresholds; closes (with ``reason``) every open episode whose last quote the new
        ones would close. Episodes the new threshold opens appear at their next observation."""
        self.min_edge = min_edge
        self.close_below = min_edge - hysteresis
        closing = [k for k, o in self._open.items() if o.quote.edge < self.close_below]
        return [EpisodeEvent(Change.CLOSE, k, self._open.pop(k).quote, reason) for k in closing]

    def close(self, key: str, reason: str) -> EpisodeEvent | None:
        if self._open.pop(key, None) is None:
            return None
        return EpisodeEvent(Change.CLOSE, key, None, reason)
