"""Maker quotes: price, size, inventory skew and the cancel/replace rule (pure)."""

from __future__ import annotations

from decimal import Decimal

from weatheredge.model.quoting import (
    CANCEL,
    KEEP,
    PLACE,
    REPLACE,
    WAIT,
    Held,
    NoQuote,
    Quote,
    TokenBucket,
    desired_quote,
    hedges,
    others_best_bid,
    quote_price,
    should_replace,
    skewed_margin,
)
from weatheredge.trading.risk import Exposure, Limits

D = Decimal
T = D("0.01")
LIMITS = Limits(
    bankroll=D(1000), kelly_fraction=D("0.25"), max_order=D(50), max_bucket=D(100),
    max_event=D(200), max_city_date=D(300), max_total=D(500), daily_loss_limit=D(100),
    max_open_orders=10, min_edge=D("0.05"), min_depth=D(5),
)  # fmt: skip


def quote(fair: str, *, bids=None, ask: str | None = "0.60", own=None, exposure=None, **kw):
    args = dict(
        fair=D(fair), margin=D("0.02"), tick=T, bids=bids or {}, best_ask=ask and D(ask),
        own=own, exposure=exposure or Exposure(), limits=LIMITS, event_limit=D(200),
        hedging=False, min_size=D(5),
    )  # fmt: skip
    args.update(kw)
    return desired_quote(**args)


def test_price_is_fair_minus_margin_on_the_grid() -> None:
    assert quote_price(D("0.457"), D("0.02"), T, None, None) == D("0.43")


def test_price_never_crosses_the_ask() -> None:
    assert quote_price(D("0.60"), D("0.02"), T, None, D("0.50")) == D("0.49")


def test_price_improves_others_best_bid_by_one_tick_at_most() -> None:
    assert quote_price(D("0.60"), D("0.02"), T, D("0.40"), D("0.70")) == D("0.41")
    assert quote_price(D("0.60"), D("0.02"), T, D("0.58"), D("0.70")) == D("0.58")


def test_no_price_off_the_grid_range() -> None:
    assert quote_price(D("0.02"), D("0.02"), T, None, None) is None


def test_own_size_is_taken_out_of_the_book() -> None:
    own = Quote(D("0.45"), D(10), D("0.5"))
    # our 10 alone at 0.45: the others' best is 0.40
    assert others_best_bid({450_000: 10_000_000, 400_000: 5_000_000}, own) == D("0.40")
    # someone joined us at 0.45
    assert others_best_bid({450_000: 12_000_000}, own) == D("0.45")


def test_quote_is_sized_as_a_kelly_position_target_without_fee() -> None:
    q = quote("0.50")
    assert isinstance(q, Quote) and q.price == D("0.48")
    # f* = (0.5-0.48)/(1-0.48); stake = 0.25 * f* * 1000 = 9.615...; / 0.48 = 20.03 shares
    assert q.size == D("20.03") and q.fair == D("0.50")
    held = quote("0.50", exposure=Exposure(held=D(18)))
    assert isinstance(held, NoQuote) and held.reason == "position_target"


def test_own_quote_does_not_count_against_its_own_replacement() -> None:
    own = Quote(D("0.48"), D("20.03"), D("0.50"))
    exposure = Exposure(bucket=D("9.61"), event=D("9.61"), total=D("9.61"), open_orders=1,
                        held=D("20.03"))  # fmt: skip
    q = quote("0.50", own=own, exposure=exposure, bids={480_000: 20_030_000})
    assert q == Quote(D("0.48"), D("20.03"), D("0.50"))


def test_event_inventory_widens_the_margin_and_stops_at_the_limit() -> None:
    assert skewed_margin(D("0.02"), D(0), D(200), False) == D("0.02")
    assert skewed_margin(D("0.02"), D(100), D(200), False) == D("0.03")
    assert skewed_margin(D("0.02"), D(200), D(200), False) is None
    assert skewed_margin(D("0.02"), D(200), D(200), True) == D("0.02")
    half = quote("0.50", exposure=Exposure(event=D(100)))
    assert isinstance(half, Quote) and half.price == D("0.47")
    full = quote("0.50", exposure=Exposure(event=D(200)))
    assert full == NoQuote("event_limit")


def test_holding_yes_on_one_bucket_is_short_the_others() -> None:
    held = [Held("m1", "YES")]
    assert hedges("m2", "YES", held)  # YES elsewhere pays when m1 does not
    assert hedges("m1", "NO", held)
    assert not hedges("m1", "YES", held)  # more of the same
    assert not hedges("m2", "NO", held)


def act(current, desired, *, ask="0.60", now=10.0, last=0.0):
    return should_replace(
        current, desired, tick=T, best_ask=ask and D(ask), now=now, last_replace=last,
        min_interval=0.25,
    )  # fmt: skip


RESTING = Quote(D("0.48"), D(20), D("0.50"))


def test_place_when_nothing_rests() -> None:
    assert act(None, RESTING).kind == PLACE
    assert act(None, NoQuote("stale")).kind == KEEP


def test_pull_is_never_delayed() -> None:
    a = act(RESTING, NoQuote("report_due"), now=0.1, last=0.0)
    assert (a.kind, a.reason) == (CANCEL, "report_due")


def test_fair_move_of_a_tick_replaces() -> None:
    a = act(RESTING, Quote(D("0.49"), D(21), D("0.51")))
    assert (a.kind, a.reason) == (REPLACE, "fair_moved")
    # less than a tick, same quote: keep
    assert act(RESTING, Quote(D("0.48"), D(20), D("0.505"))).kind == KEEP


def test_fair_move_that_gives_the_same_quote_keeps_the_queue_place() -> None:
    assert act(RESTING, Quote(D("0.48"), D(20), D("0.53"))).kind == KEEP


def test_book_move_replaces_when_no_longer_best_or_crossing() -> None:
    assert act(RESTING, Quote(D("0.49"), D(20), D("0.50"))).reason == "not_best"
    assert act(RESTING, Quote(D("0.47"), D(20), D("0.50"))).reason == "overbid"
    a = act(RESTING, Quote(D("0.47"), D(20), D("0.50")), ask="0.48")
    assert (a.kind, a.reason) == (REPLACE, "crosses")


def test_limits_change_replaces() -> None:
    assert act(RESTING, Quote(D("0.48"), D(15), D("0.50"))).reason == "limits"
    assert act(RESTING, Quote(D("0.48"), D(24), D("0.50"))).reason == "limits"
    assert act(RESTING, Quote(D("0.48"), D(21), D("0.50"))).kind == KEEP  # small growth


def test_at_most_one_replace_per_interval() -> None:
    moved = Quote(D("0.49"), D(21), D("0.51"))
    assert act(RESTING, moved, now=0.2, last=0.0).kind == WAIT
    assert act(RESTING, moved, now=0.25, last=0.0).kind == REPLACE
    assert act(None, RESTING, now=0.1, last=0.0).kind == WAIT


def test_token_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    bucket = TokenBucket(rate=40, burst=60)
    assert sum(bucket.take(0.0) for _ in range(100)) == 60
    assert not bucket.take(0.0)
    assert sum(bucket.take(0.5) for _ in range(100)) == 20
    assert sum(bucket.take(100.0) for _ in range(100)) == 60
