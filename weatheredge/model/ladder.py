"""Model-free arbitrage across one neg-risk event's bucket ladder.

Exactly one bucket of a neg-risk event resolves YES, so a full set of YES shares pays exactly 1:

* **buy the ladder**: lifting the best YES ask on every bucket costs ``sum(ask + fee(ask))`` per
  set; below 1 the difference is locked in.
* **sell the ladder**: hitting the best YES bid on every bucket (equivalently, buying every NO,
  which pays ``N - 1``) brings in ``sum(bid - fee(bid))``; above 1 the excess is locked in.

The executable size is the smallest top-of-book size across the legs (one set per share).
Prices are exact micro-units; no probability model is involved. Pure, stdlib only: this runs
whenever a book of the event changes.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from weatheredge.model.edge import taker_fee_per_share
from weatheredge.model.prices import MICRO


class LadderSide(enum.StrEnum):
    BUY = "buy_yes"  # lift every YES ask
    SELL = "sell_yes"  # hit every YES bid (buy every NO)


@dataclass(frozen=True, slots=True)
class LadderLeg:
    """Top of one bucket's YES book: ``(price, size)`` in micro-units, or None when empty."""

    bid: tuple[int, int] | None
    ask: tuple[int, int] | None
    fee_rate: float


@dataclass(frozen=True, slots=True)
class LadderQuote:
    side: LadderSide
    total: int  # sum of the legs' prices, micro-units (before fees)
    fees: float  # per set
    edge: float  # locked-in value per set, after fees
    size: int  # executable sets (shares per leg), micro-units


def ladder_quotes(legs: Sequence[LadderLeg]) -> list[LadderQuote]:
    """Quotes for both directions; a direction is left out when any leg lacks a level."""
    out: list[LadderQuote] = []
    if len(legs) < 2:
        return out
    asks = [leg.ask for leg in legs]
    if all(a is not None for a in asks):
        total = sum(a[0] for a in asks)  # type: ignore[index]
        fees = sum(
            taker_fee_per_share(a[0] / MICRO, leg.fee_rate)  # type: ignore[index]
            for a, leg in zip(asks, legs, strict=True)
        )
        size = min(a[1] for a in asks)  # type: ignore[index]
        out.append(LadderQuote(LadderSide.BUY, total, fees, 1.0 - total / MICRO - fees, size))
    bids = [leg.bid for leg in legs]
    if all(b is not None for b in bids):
        total = sum(b[0] for b in bids)  # type: ignore[index]
        fees = sum(
            taker_fee_per_share(b[0] / MICRO, leg.fee_rate)  # type: ignore[index]
            for b, leg in zip(bids, legs, strict=True)
        )
        size = min(b[1] for b in bids)  # type: ignore[index]
        out.append(LadderQuote(LadderSide.SELL, total, fees, total / MICRO - 1.0 - fees, size))
    return out


def best_ladder(legs: Sequence[LadderLeg]) -> LadderQuote | None:
    """The more valuable of the two directions, or None when neither side is complete."""
    quotes = ladder_quotes(legs)
    return max(quotes, key=lambda q: q.edge) if quotes else None
