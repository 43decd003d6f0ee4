"""Taker fee, buy edge and edge episodes with hysteresis (polymarket.md §0 item 9, §5.5)."""

from __future__ import annotations

import pytest

from weatheredge.model.edge import (
    Change,
    EpisodeEvent,
    EpisodeTracker,
    Quote,
    Side,
    buy_edge,
    quote,
    taker_fee,
    taker_fee_per_share,
)
from weatheredge.model.prices import to_micros

# --- fees ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shares", "price", "rate", "expected"),
    [
        (100, 0.5, 0.05, 1.25),  # polymarket.md §5.5
        (100, 0.1, 0.05, 0.45),
        (100, 0.9, 0.05, 0.45),  # symmetric in p and 1-p
        (5, 0.42, 0.05, 0.0609),  # 5 * 0.05 * 0.42 * 0.58 = 0.0609
        (10, 0.035, 0.05, 0.01689),  # 0.0168875 -> 5 decimals
        (1, 0.5, 0.05, 0.0125),
        (1000, 0.5, 0.05, 12.5),
        (100, 0.5, 0.1, 2.5),
        (100, 0.5, 0.025, 0.625),
    ],
)
def test_taker_fee(shares: float, price: float, rate: float, expected: float) -> None:
    assert taker_fee(shares, price, rate) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("shares", "price", "rate"),
    [(1, 0.0001, 0.05), (1, 0.001, 0.001), (0.001, 0.5, 0.05), (1, 0.9999, 0.05)],
)
def test_taker_fee_minimum(shares: float, price: float, rate: float) -> None:
    assert taker_fee(shares, price, rate) == 0.00001


@pytest.mark.parametrize(
    ("shares", "price", "rate"),
    [(100, 0.5, 0.0), (100, 0.5, -0.05), (0, 0.5, 0.05), (-5, 0.5, 0.05)],
)
def test_taker_fee_zero(shares: float, price: float, rate: float) -> None:
    assert taker_fee(shares, price, rate) == 0.0


@pytest.mark.parametrize("price", [0.01, 0.1, 0.27, 0.42, 0.5, 0.77, 0.965, 0.999])
def test_taker_fee_has_at_most_five_decimals(price: float) -> None:
    fee = taker_fee(37, price, 0.05)
    assert round(fee, 5) == fee
    assert fee == pytest.approx(37 * 0.05 * price * (1 - price), abs=5e-6)


@pytest.mark.parametrize(
    ("price", "rate", "expected"),
    [(0.5, 0.05, 0.0125), (0.1, 0.05, 0.0045), (0.9, 0.05, 0.0045), (0.5, 0.0, 0.0)],
)
def test_taker_fee_per_share(price: float, rate: float, expected: float) -> None:
    assert taker_fee_per_share(price, rate) == pytest.approx(expected)


# --- edge ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prob", "ask", "rate", "expected"),
    [
        (0.6, "0.5", 0.05, 0.6 - 0.5 - 0.0125),  # 0.0875
        (0.5, "0.5", 0.05, -0.0125),  # fair price still loses the fee
        (0.5, "0.5", 0.0, 0.0),
        (0.2, "0.1", 0.05, 0.2 - 0.1 - 0.0045),  # 0.0955
        (0.05, "0.035", 0.05, 0.05 - 0.035 - 0.05 * 0.035 * 0.965),
        (0.99, "0.965", 0.05, 0.99 - 0.965 - 0.05 * 0.965 * 0.035),
        (0.3, "0.44", 0.05, 0.3 - 0.44 - 0.05 * 0.44 * 0.56),
    ],
)
def test_buy_edge(prob: float, ask: str, rate: float, expected: float) -> None:
    assert buy_edge(prob, to_micros(ask), rate) == pytest.approx(expected, abs=1e-12)


def test_buy_edge_effective_cost() -> None:
    # polymarket.md §5.5: taker-buy effective cost per share = p + rate*p*(1-p)
    ask = 0.42
    assert 1.0 - buy_edge(1.0, to_micros("0.42"), 0.05) == pytest.approx(
        ask + 0.05 * ask * (1 - ask)
    )


def test_quote_none_when_no_ask() -> None:
    assert quote(Side.YES, 0.5, None, 0.05) is None


def test_quote_fields() -> None:
    q = quote(Side.NO, 0.7, (to_micros("0.6"), to_micros("25")), 0.05)
    assert q == Quote(Side.NO, 600_000, 25_000_000, 0.7, pytest.approx(0.7 - 0.6 - 0.012))


# --- EpisodeTracker ------------------------------------------------------------------------------

MIN_EDGE = 0.03
HYST = 0.01


def q(edge: float, price: int = 400_000, size: int = 10_000_000, prob: float = 0.5) -> Quote:
    return Quote(Side.YES, price, size, prob, edge)


@pytest.fixture
def tracker() -> EpisodeTracker:
    return EpisodeTracker(min_edge=MIN_EDGE, hysteresis=HYST)


def test_opens_at_min_edge(tracker: EpisodeTracker) -> None:
    first = q(MIN_EDGE)
    ev = tracker.observe("tok", first)
    assert ev == EpisodeEvent(Change.OPEN, "tok", first)
    assert tracker.is_open("tok")
    assert tracker.open_keys() == ["tok"]


def test_does_not_open_below_min_edge(tracker: EpisodeTracker) -> None:
    assert tracker.observe("tok", q(MIN_EDGE - 1e-9)) is None
    assert tracker.observe("tok", q(-0.5)) is None
    assert not tracker.is_open("tok")
    assert tracker.open_keys() == []


def test_no_ask_on_closed_key_is_silent(tracker: EpisodeTracker) -> None:
    assert tracker.observe("tok", None) is None
    assert not tracker.is_open("tok")


def test_no_duplicate_open(tracker: EpisodeTracker) -> None:
    assert tracker.observe("tok", q(0.05)).change is Change.OPEN  # type: ignore[union-attr]
    assert tracker.observe("tok", q(0.05)) is None
    assert tracker.observe("tok", q(0.05)) is None
    assert tracker.open_keys() == ["tok"]


@pytest.mark.parametrize(
    "changed",
    [
        {"price": 390_000},
        {"size": 20_000_000},
        {"prob": 0.51},
    ],
)
def test_update_when_price_size_or_prob_changes(tracker: EpisodeTracker, changed: dict) -> None:
    tracker.observe("tok", q(0.05))
    new = q(0.06, **changed)
    ev = tracker.observe("tok", new)
    assert ev == EpisodeEvent(Change.UPDATE, "tok", new)
    # the new quote is now the reference: repeating it is silent
    assert tracker.observe("tok", q(0.06, **changed)) is None


def test_no_update_when_only_edge_differs(tracker: EpisodeTracker) -> None:
    # edge is derived; with price, size and prob unchanged there is nothing new to say
    tracker.observe("tok", q(0.05))
    assert tracker.observe("tok", q(0.0500001)) is None


def test_hysteresis_keeps_open_just_below_min_edge(tracker: EpisodeTracker) -> None:
    tracker.observe("tok", q(0.05))
    ev = tracker.observe("tok", q(MIN_EDGE - HYST / 2, price=410_000))
    assert ev is not None and ev.change is Change.UPDATE
    assert tracker.is_open("tok")
    # exactly at the close threshold still stays open (closes strictly below)
    ev = tracker.observe("tok", q(MIN_EDGE - HYST, price=420_000))
    assert ev is not None and ev.change is Change.UPDATE
    assert tracker.is_open("tok")


def test_closes_below_min_edge_minus_hysteresis(tracker: EpisodeTracker) -> None:
    tracker.observe("tok", q(0.05))
    low = q(MIN_EDGE - HYST - 0.001, price=430_000)
    ev = tracker.observe("tok", low)
    assert ev == EpisodeEvent(Change.CLOSE, "tok", low, "edge below threshold")
    assert not tracker.is_open("tok")
    # still low: nothing more happens
    assert tracker.observe("tok", low) is None


def test_flicker_around_threshold_does_not_spam(tracker: EpisodeTracker) -> None:
    events = []
    for i, edge in enumerate([0.031, 0.029, 0.031, 0.0295, 0.032, 0.028, 0.030]):
        events.append(tracker.observe("tok", q(edge, price=400_000 + i * 1_000)))
    kinds = [e.change for e in events if e is not None]
    assert kinds.count(Change.OPEN) == 1
    assert Change.CLOSE not in kinds


def test_close_on_vanished_ask(tracker: EpisodeTracker) -> None:
    tracker.observe("tok", q(0.05))
    ev = tracker.observe("tok", None)
    assert ev == EpisodeEvent(Change.CLOSE, "tok", None, "no ask")
    assert not tracker.is_open("tok")


def test_explicit_close(tracker: EpisodeTracker) -> None:
    tracker.observe("tok", q(0.05))
    ev = tracker.close("tok", "book stale")
    assert ev == EpisodeEvent(Change.CLOSE, "tok", None, "book stale")
    assert tracker.close("tok", "book stale") is None
    assert tracker.close("never-seen", "x") is None


def test_reopen_creates_new_episode(tracker: EpisodeTracker) -> None:
    tracker.observe("tok", q(0.05))
    tracker.observe("tok", None)
    again = q(0.05)
    ev = tracker.observe("tok", again)
    assert ev == EpisodeEvent(Change.OPEN, "tok", again)
    assert tracker.is_open("tok")


def test_reopen_after_threshold_close_needs_full_min_edge(tracker: EpisodeTracker) -> None:
    tracker.observe("tok", q(0.05))
    tracker.observe("tok", q(0.0, price=450_000))  # closes
    # inside the hysteresis band is not enough to open again
    assert tracker.observe("tok", q(MIN_EDGE - HYST / 2, price=440_000)) is None
    ev = tracker.observe("tok", q(MIN_EDGE, price=430_000))
    assert ev is not None and ev.change is Change.OPEN


def test_keys_are_independent(tracker: EpisodeTracker) -> None:
    assert tracker.observe("yes", q(0.05)).change is Change.OPEN  # type: ignore[union-attr]
    assert tracker.observe("no", q(0.01)) is None
    assert tracker.observe("no", q(0.04)).change is Change.OPEN  # type: ignore[union-attr]
    assert sorted(tracker.open_keys()) == ["no", "yes"]
    assert tracker.observe("yes", None).change is Change.CLOSE  # type: ignore[union-attr]
    assert tracker.open_keys() == ["no"]


def test_zero_hysteresis(tracker: EpisodeTracker) -> None:
    t = EpisodeTracker(min_edge=0.02, hysteresis=0.0)
    t.observe("tok", q(0.02))
    assert t.observe("tok", q(0.02, price=390_000)).change is Change.UPDATE  # type: ignore[union-attr]
    assert t.observe("tok", q(0.0199, price=380_000)).change is Change.CLOSE  # type: ignore[union-attr]


def test_tracker_with_real_quotes() -> None:
    t = EpisodeTracker(min_edge=0.03, hysteresis=0.01)
    qa = quote(Side.YES, 0.50, (to_micros("0.44"), to_micros("80")), 0.05)
    assert qa is not None and qa.edge == pytest.approx(0.50 - 0.44 - 0.05 * 0.44 * 0.56)
    assert t.observe("tok", qa).change is Change.OPEN  # type: ignore[union-attr]
    qb = quote(Side.YES, 0.50, (to_micros("0.47"), to_micros("300")), 0.05)  # edge ~0.0175
    assert t.observe("tok", qb).change is Change.CLOSE  # type: ignore[union-attr]
