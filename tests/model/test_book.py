"""Local order book in micro-units (polymarket.md §0 item 5, §1.6-1.7)."""

from __future__ import annotations

import pytest

from weatheredge.model.book import OrderBook
from weatheredge.model.prices import to_micros


def lv(levels: list[tuple[str, str]]) -> list[tuple[int, int]]:
    return [(to_micros(p), to_micros(s)) for p, s in levels]


# The polymarket.md §1.6 example: bids ascending (best last), asks descending (best last).
BIDS = lv([("0.38", "120"), ("0.40", "55.5")])
ASKS = lv([("0.47", "300"), ("0.44", "80")])


@pytest.fixture
def book() -> OrderBook:
    b = OrderBook()
    b.replace(BIDS, ASKS, 1_795_620_218_049)
    return b


def test_new_book_is_empty_and_unsynced() -> None:
    b = OrderBook()
    assert b.best_bid() is None and b.best_ask() is None
    assert not b.synced
    assert not b.crossed()
    assert b.tick == 10_000
    assert b.updated_ms == 0


def test_best_levels_in_venue_order(book: OrderBook) -> None:
    assert book.best_bid() == (to_micros("0.40"), to_micros("55.5"))
    assert book.best_ask() == (to_micros("0.44"), to_micros("80"))
    assert book.synced
    assert book.updated_ms == 1_795_620_218_049


@pytest.mark.parametrize("order", ["asc", "desc", "mixed"])
def test_best_levels_independent_of_order(order: str) -> None:
    bids = lv([("0.10", "1"), ("0.35", "2"), ("0.20", "3"), ("0.34", "4")])
    asks = lv([("0.90", "1"), ("0.36", "2"), ("0.50", "3"), ("0.37", "4")])
    if order == "asc":
        bids, asks = sorted(bids), sorted(asks)
    elif order == "desc":
        bids, asks = sorted(bids, reverse=True), sorted(asks, reverse=True)
    b = OrderBook()
    b.replace(bids, asks, 1)
    assert b.best_bid() == (350_000, 2_000_000)
    assert b.best_ask() == (360_000, 2_000_000)


def test_replace_drops_zero_size_levels() -> None:
    b = OrderBook()
    b.replace(lv([("0.40", "0"), ("0.39", "5")]), lv([("0.41", "0"), ("0.45", "7")]), 1)
    assert b.best_bid() == (390_000, 5_000_000)
    assert b.best_ask() == (450_000, 7_000_000)
    assert 400_000 not in b.bids and 410_000 not in b.asks


def test_set_level_adds_updates_and_removes(book: OrderBook) -> None:
    book.set_level(True, to_micros("0.41"), to_micros("25"), 1_795_620_219_311)
    assert book.best_bid() == (410_000, 25_000_000)
    assert book.updated_ms == 1_795_620_219_311
    book.set_level(True, to_micros("0.41"), to_micros("30"), 2_000_000_000_000)
    assert book.best_bid() == (410_000, 30_000_000)  # size is the new total, not a delta
    book.set_level(True, to_micros("0.41"), to_micros("0"), 2_000_000_000_001)
    assert book.best_bid() == (400_000, 55_500_000)
    assert book.updated_ms == 2_000_000_000_001


def test_size_zero_removes_ask(book: OrderBook) -> None:
    book.set_level(False, to_micros("0.44"), to_micros("0"), 5)
    assert book.best_ask() == (470_000, 300_000_000)
    book.set_level(False, to_micros("0.47"), 0, 6)
    assert book.best_ask() is None
    assert book.asks == {}


def test_removing_missing_level_is_harmless(book: OrderBook) -> None:
    book.set_level(True, to_micros("0.01"), 0, 7)
    book.set_level(False, to_micros("0.99"), 0, 7)
    assert book.best_bid() == (400_000, 55_500_000)
    assert book.best_ask() == (440_000, 80_000_000)


def test_set_level_on_each_side_only(book: OrderBook) -> None:
    book.set_level(False, to_micros("0.42"), to_micros("10"), 8)
    assert book.best_ask() == (420_000, 10_000_000)
    assert book.best_bid() == (400_000, 55_500_000)
    assert 420_000 not in book.bids


def test_replace_resets_previous_levels(book: OrderBook) -> None:
    book.set_level(True, to_micros("0.43"), to_micros("9"), 9)
    book.replace(lv([("0.20", "1")]), lv([("0.80", "2")]), 10)
    assert book.bids == {200_000: 1_000_000}
    assert book.asks == {800_000: 2_000_000}
    assert book.best_bid() == (200_000, 1_000_000)
    assert book.updated_ms == 10


def test_replace_with_empty_sides() -> None:
    b = OrderBook()
    b.replace([], [], 3)
    assert b.synced
    assert b.best_bid() is None and b.best_ask() is None
    assert not b.crossed()


def test_replace_accepts_generators() -> None:
    b = OrderBook()
    b.replace(((p, s) for p, s in BIDS), iter(ASKS), 4)
    assert b.best_bid() == (400_000, 55_500_000)
    assert b.best_ask() == (440_000, 80_000_000)


def test_not_crossed(book: OrderBook) -> None:
    assert not book.crossed()


def test_crossed_and_locked(book: OrderBook) -> None:
    book.set_level(True, to_micros("0.44"), to_micros("1"), 11)  # locked: bid == ask
    assert book.crossed()
    book.set_level(True, to_micros("0.44"), 0, 12)
    assert not book.crossed()
    book.set_level(True, to_micros("0.46"), to_micros("1"), 13)  # crossed: bid > ask
    assert book.crossed()


def test_one_sided_book_is_not_crossed() -> None:
    b = OrderBook()
    b.replace(lv([("0.5", "1")]), [], 1)
    assert not b.crossed()
    b.replace([], lv([("0.5", "1")]), 2)
    assert not b.crossed()


def test_unsync_clears(book: OrderBook) -> None:
    book.unsync()
    assert not book.synced
    assert book.bids == {} and book.asks == {}
    assert book.best_bid() is None and book.best_ask() is None
    assert not book.crossed()
    # a new snapshot brings it back
    book.replace(BIDS, ASKS, 20)
    assert book.synced
    assert book.best_bid() == (400_000, 55_500_000)


def test_custom_tick() -> None:
    assert OrderBook(tick=1_000).tick == 1_000
