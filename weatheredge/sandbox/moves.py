"""The scripted moves of the sandbox's day: on a fixed cycle a careless seller dumps YES on NYC's
most likely bucket and a careless buyer bids up an unlikely London bucket, then both return to
fair, reported the way the venue reports a swept book (level deltas)."""

from __future__ import annotations

import asyncio

from weatheredge.sandbox.scenario import Quoted
from weatheredge.sandbox.venue import Venue

CYCLE_S = 20.0


async def play(
    venue: Venue, quoted: list[Quoted], *, cycle_s: float = CYCLE_S, first_edge_after_s: float = 2.0
) -> None:
    """Loop the scripted moves forever (cancel to stop).

    The market, not a lone order, moves: NYC's likeliest bucket is repriced far below our
    probability (a YES edge) and an unlikely London bucket far above it (a NO edge), then both
    return to fair. Repricing is done the way the venue reports a swept book: level deltas.
    """
    nyc, london = quoted[0], quoted[2]
    (_, modal), (_, unlikely) = scripted_buckets(quoted)
    await asyncio.sleep(first_edge_after_s)
    while True:
        reprice(venue, nyc, modal, nyc.probs[modal] - 0.2)
        yes, _ = nyc.tokens(modal)
        venue.last_trade(yes, nyc.price(nyc.probs[modal] - 0.15), "25", "SELL")
        await asyncio.sleep(1.5)
        reprice(venue, london, unlikely, london.probs[unlikely] + 0.3)
        await asyncio.sleep(5.0)
        reprice(venue, nyc, modal, nyc.probs[modal])
        await asyncio.sleep(1.5)
        reprice(venue, london, unlikely, london.probs[unlikely])
        await asyncio.sleep(max(0.0, cycle_s - 8.0))


def scripted_buckets(quoted: list[Quoted]) -> tuple[tuple[int, int], tuple[int, int]]:
    """(event, bucket) of ``play``'s two moving buckets: NYC's likeliest, London's unlikeliest
    inner one."""
    nyc, london = quoted[0], quoted[2]
    modal = max(range(len(nyc.probs)), key=nyc.probs.__getitem__)
    unlikely = min(range(1, len(london.probs) - 1), key=london.probs.__getitem__)
    return (0, modal), (2, unlikely)


def reprice(venue: Venue, q: Quoted, index: int, p: float) -> None:
    """Move a bucket's quotes to centre on ``p`` through price_change deltas, asks first when
    falling and bids first when rising, so the book is never crossed in between."""
    yes, _ = q.tokens(index)
    book = venue.book(yes)
    old_bids = [lv["price"] for lv in book["bids"]]
    old_asks = [lv["price"] for lv in book["asks"]]
    new_bids = [(q.price(p - 0.05), "400"), (q.price(p - 0.03), "150")]
    new_asks = [(q.price(p + 0.05), "400"), (q.price(p + 0.03), "150")]
    falling = bool(old_bids) and float(new_asks[1][0]) < float(old_bids[-1])
    steps: list[tuple[str, list[str], list[tuple[str, str]]]] = [
        ("BUY", old_bids, new_bids),
        ("SELL", old_asks, new_asks),
    ]
    if not falling:
        steps.reverse()
    for side, old, new in steps:
        for price in old:
            venue.set_level(yes, side, price, "0")
        for price, size in new:
            venue.set_level(yes, side, price, size)
