"""The sandbox market's taker flow: other traders hitting the books, seeded and repeatable.

Every ``interval_s`` one trader sends a marketable order on a bucket of one of the events (the
likelier buckets trade more, the tails a little), on its YES or its NO token, selling more often
than buying, of a size drawn from a long-tailed mix: mostly a share of the top level, sometimes
enough to sweep through it into the next one. The order is matched by the exchange
(``Exchange.sweep``): each price it takes loses that size from the book (``price_change``) and
prints a ``last_trade_price``; resting orders of ours it reaches are filled in price-time
priority. The bucket's fair book is put back ``refill_s`` later, as market makers would.

The scripted edge buckets (``moves.play``) are left alone so their edges open and close as
scripted. The random draws depend only on the seed, so two runs with the same seed send the
same orders in the same order.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from weatheredge.sandbox.moves import scripted_buckets
from weatheredge.sandbox.scenario import Quoted, fair_levels
from weatheredge.sandbox.venue import Venue

FLOW_INTERVAL_S = 1.5
REFILL_S = 4.0
SEED = 14
# Each bucket's share of the flow: its probability, but at least this, because the unlikely
# tails trade too (NO buyers at 0.97, and sellers getting out).
MIN_WEIGHT = 0.04

Sweep = Callable[[str, str, Decimal], list[tuple[str, Decimal]]]


@dataclass(frozen=True, slots=True)
class Take:
    event: int  # index into the quoted events
    bucket: int
    outcome: str  # YES | NO
    side: str  # the taker's: BUY | SELL
    size: Decimal  # wanted; capped by the book's depth when sent


class TakerFlow:
    def __init__(
        self,
        venue: Venue,
        quoted: list[Quoted],
        sweep: Sweep,
        *,
        seed: int = SEED,
        refill_s: float = REFILL_S,
    ) -> None:
        self.venue = venue
        self.quoted = quoted
        self._sweep = sweep
        self.refill_s = refill_s
        self._rng = random.Random(seed)
        skip = scripted_buckets(quoted)
        self.buckets = [
            (e, i) for e, q in enumerate(quoted) for i in range(len(q.probs)) if (e, i) not in skip
        ]
        self.weights = [max(quoted[e].probs[i], MIN_WEIGHT) for e, i in self.buckets]
        self.sent: list[tuple[Take, list[tuple[str, Decimal]]]] = []  # what traded, in order
        self._refills: set[asyncio.TimerHandle] = set()

    def draw(self) -> Take:
        """The next trader's order (pure: depends only on the seed and the draws so far)."""
        rng = self._rng
        event, bucket = rng.choices(self.buckets, self.weights)[0]
        outcome = "YES" if rng.random() < 0.5 else "NO"
        side = "SELL" if rng.random() < 0.7 else "BUY"
        kind = rng.random()
        if kind < 0.6:
            size = rng.randint(5, 60)  # a share of the top level
        elif kind < 0.88:
            size = rng.randint(60, 200)  # about the top level: sometimes clears it
        else:
            size = rng.randint(200, 500)  # a sweep into the second level
        return Take(event, bucket, outcome, side, Decimal(size))

    def step(self) -> tuple[Take, list[tuple[str, Decimal]]]:
        """Draw one order and send it; the bucket's refill is the caller's (``run``)."""
        take = self.draw()
        yes, no = self.quoted[take.event].tokens(take.bucket)
        token = yes if take.outcome == "YES" else no
        book = self.venue.book(token)
        levels = book["bids"] if take.side == "SELL" else book["asks"]
        depth = sum((Decimal(lv["size"]) for lv in levels), Decimal(0))
        # Never the whole side: a book emptied on one side is not what these markets show.
        size = min(take.size, (depth * Decimal("0.9")).to_integral_value())
        prints = self._sweep(token, take.side, size) if size > 0 else []
        self.sent.append((take, prints))
        return take, prints

    def refill(self, event: int, bucket: int) -> None:
        """Put a bucket's fair book back: only the levels that differ change."""
        q = self.quoted[event]
        yes, _ = q.tokens(bucket)
        bids, asks = fair_levels(q, q.probs[bucket])
        try:
            book = self.venue.book(yes)
        except ValueError:
            return  # resolved meanwhile: its book is gone
        for side, now, target in (("BUY", book["bids"], bids), ("SELL", book["asks"], asks)):
            current = {Decimal(lv["price"]): lv["size"] for lv in now}
            wanted = {Decimal(p): (p, s) for p, s in target}
            for price, (text, size) in wanted.items():
                if Decimal(current.get(price, "0")) != Decimal(size):
                    self.venue.set_level(yes, side, text, size)

    async def run(self, interval_s: float = FLOW_INTERVAL_S, *, first_after_s: float = 1.0) -> None:
        """Send one order every ``interval_s`` forever (cancel to stop)."""
        loop = asyncio.get_running_loop()
        try:
            await asyncio.sleep(first_after_s)
            while True:
                take, prints = self.step()
                if prints:
                    self._refills = {h for h in self._refills if h.when() > loop.time()}
                    self._refills.add(loop.call_later(self.refill_s, self._refill_later, take))
                await asyncio.sleep(interval_s)
        finally:
            for handle in self._refills:
                handle.cancel()
            self._refills.clear()

    def _refill_later(self, take: Take) -> None:
        with contextlib.suppress(ValueError):
            self.refill(take.event, take.bucket)
