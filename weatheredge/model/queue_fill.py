"""Where a resting paper order stands in its level's queue, and what the market's prints fill.

A paper order is invisible to the venue, so it can only be filled by what the venue shows: the
displayed size of its level (``price_change``) and the trades printed there
(``last_trade_price``). The model is conservative: when the feed cannot tell which of two
things happened, it assumes the one that fills us later. See ``docs/fill-model.md``.

Rules (prices and sizes in micro-units; "through" means better for the taker than our price):

1. Joining: the size ahead of us is the level's displayed size when we were placed; orders
   that join later are behind us.
2. A print at our price, by a taker on the other side, takes the queue ahead first, then us,
   up to its size.
3. A print through our price fills us up to its size (the whole queue at our price, ahead of
   the taker's better price, must have gone), and nothing is ahead of us any more.
4. The level shrinking without a print is assumed to be cancels *behind* us: the queue ahead
   only shrinks when the displayed size falls below it (it can never exceed what is shown).
   The amount so removed is remembered (``forced``): a print at our price arriving after its
   own shrink is matched against it first, so one trade never advances us twice, whichever
   order the venue sends the two messages in. The venue sends a match's print and its level
   change together, so that memory lasts ``PAIR_WINDOW_NS``; after it, a shrink is settled as
   cancels ahead and a later print at our price is a new trade.
5. Nothing else fills: not a book that crosses our price without a print (a paper order never
   takes), not a print on the complementary token (the venue may or may not have matched
   through us), not a print by a taker on our own side.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

PAIR_WINDOW_NS = 2_000_000_000  # a print and its level change arrive well within this


@dataclass(frozen=True, slots=True)
class QueueSlot:
    buying: bool  # a resting bid (BUY) or ask (SELL)
    price: int
    left: int  # our unfilled size
    ahead: int  # size ahead of us at our level
    level: int  # the level's displayed size as last seen
    forced: int = 0  # ahead removed by rule 4, not yet matched by a print (rule 4)
    forced_ns: int = 0  # when ``forced`` last grew (monotonic ns)


def join(buying: bool, price: int, size: int, level_size: int) -> QueueSlot:
    """A new resting order at the back of its level (rule 1)."""
    return QueueSlot(buying, price, size, max(0, level_size), max(0, level_size))


def _pending(slot: QueueSlot, now_ns: int) -> int:
    return slot.forced if now_ns - slot.forced_ns <= PAIR_WINDOW_NS else 0


def on_level(slot: QueueSlot, size: int, now_ns: int = 0) -> QueueSlot:
    """The level now shows ``size`` (0: gone) at ``now_ns``. Growth is behind us; a shrink below
    the queue ahead removes from it (rule 4)."""
    size = max(0, size)
    if size == slot.level:
        return slot
    if size >= slot.ahead:
        return replace(slot, level=size)
    forced = _pending(slot, now_ns) + slot.ahead - size
    return replace(slot, level=size, ahead=size, forced=forced, forced_ns=now_ns)


def on_print(
    slot: QueueSlot, price: int, size: int, taker_buying: bool, now_ns: int = 0
) -> tuple[QueueSlot, int]:
    """A trade printed on our token at ``now_ns``. Returns the slot after it and the size it
    filled of us."""
    if size <= 0 or slot.left <= 0 or taker_buying == slot.buying:
        return slot, 0  # rule 5: a taker on our side trades with the other side of the book
    through = price < slot.price if slot.buying else price > slot.price
    if through:  # rule 3
        fill = min(size, slot.left)
        return replace(slot, left=slot.left - fill, ahead=0, forced=0), fill
    if price != slot.price:
        return slot, 0  # at a worse price for the taker: not at or through ours
    pending = _pending(slot, now_ns)
    already = min(pending, size)  # rule 4: this print's shrink was already applied
    ahead = slot.ahead + already
    taken = min(ahead, size)
    fill = min(size - taken, slot.left)
    return replace(slot, left=slot.left - fill, ahead=ahead - taken, forced=pending - already), fill
