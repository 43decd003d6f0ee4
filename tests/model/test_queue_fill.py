"""The conservative queue model for resting paper orders (docs/fill-model.md)."""

from __future__ import annotations

from weatheredge.model.queue_fill import PAIR_WINDOW_NS, join, on_level, on_print

P = 440_000  # 0.44
S = 1_000_000  # one share


def test_joins_behind_the_displayed_size() -> None:
    slot = join(True, P, 10 * S, 100 * S)
    assert (slot.ahead, slot.left, slot.level) == (100 * S, 10 * S, 100 * S)


def test_print_at_our_price_takes_the_queue_ahead_first_then_us() -> None:
    slot = join(True, P, 10 * S, 30 * S)
    slot, fill = on_print(slot, P, 25 * S, taker_buying=False)
    assert fill == 0 and slot.ahead == 5 * S
    slot, fill = on_print(slot, P, 8 * S, taker_buying=False)
    assert fill == 3 * S and slot.ahead == 0 and slot.left == 7 * S
    slot, fill = on_print(slot, P, 50 * S, taker_buying=False)
    assert fill == 7 * S and slot.left == 0


def test_print_through_our_price_fills_us_up_to_its_size() -> None:
    slot = join(True, P, 10 * S, 500 * S)
    slot, fill = on_print(slot, P - 10_000, 4 * S, taker_buying=False)
    assert fill == 4 * S and slot.ahead == 0 and slot.left == 6 * S
    ask = join(False, P, 10 * S, 500 * S)
    ask, fill = on_print(ask, P + 10_000, 40 * S, taker_buying=True)
    assert fill == 10 * S and ask.left == 0


def test_print_at_a_worse_price_or_by_a_taker_on_our_side_fills_nothing() -> None:
    slot = join(True, P, 10 * S, 0)
    assert on_print(slot, P + 10_000, 50 * S, taker_buying=False)[1] == 0
    assert on_print(slot, P, 50 * S, taker_buying=True)[1] == 0  # lifted an ask, not our bid


def test_level_growth_joins_behind_us() -> None:
    slot = on_level(join(True, P, 10 * S, 30 * S), 80 * S)
    assert slot.ahead == 30 * S
    slot, fill = on_print(slot, P, 35 * S, taker_buying=False)
    assert fill == 5 * S


def test_a_shrink_is_cancels_behind_us_until_the_level_is_smaller_than_the_queue_ahead() -> None:
    slot = join(True, P, 10 * S, 30 * S)
    slot = on_level(on_level(slot, 80 * S), 40 * S)  # 50 joined behind, 40 of it cancelled
    assert slot.ahead == 30 * S
    slot = on_level(slot, 12 * S)  # at least 18 of those ahead must have gone
    assert slot.ahead == 12 * S
    slot = on_level(slot, 0, now_ns=1)
    assert slot.ahead == 0
    # A print right after the shrink may be the trade that emptied the level: no fill...
    assert on_print(slot, P, 3 * S, taker_buying=False, now_ns=2)[1] == 0
    # ...but once the pairing window is over, the shrink was cancels and a print is ours.
    later = 1 + PAIR_WINDOW_NS + 1
    assert on_print(slot, P, 3 * S, taker_buying=False, now_ns=later)[1] == 3 * S


def test_one_trade_advances_us_once_whichever_message_comes_first() -> None:
    # Level of 50, 40 ahead of us, a 30-share trade: 10 ahead remain, no fill, either order.
    start = on_level(join(True, P, 10 * S, 40 * S), 50 * S)
    shrink_first, fill_a = on_print(on_level(start, 20 * S), P, 30 * S, taker_buying=False)
    printed, fill_b = on_print(start, P, 30 * S, taker_buying=False)
    print_first = on_level(printed, 20 * S)
    assert fill_a == fill_b == 0
    assert shrink_first.ahead == print_first.ahead == 10 * S
    # ...and a trade bigger than the queue ahead fills us by the same amount either way.
    big_a = on_print(on_level(start, 5 * S), P, 45 * S, taker_buying=False)[1]
    big_b = on_print(start, P, 45 * S, taker_buying=False)[1]
    assert big_a == big_b == 5 * S


def test_a_filled_order_takes_nothing_more() -> None:
    slot, fill = on_print(join(True, P, 2 * S, 0), P, 5 * S, taker_buying=False)
    assert fill == 2 * S
    assert on_print(slot, P, 5 * S, taker_buying=False)[1] == 0
