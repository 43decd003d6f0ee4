"""Every sizing limit, by name, on exact decimals."""

from __future__ import annotations

from decimal import Decimal as Dec

import pytest

from tests.trading.conftest import M2, Harness
from weatheredge.trading.risk import (
    Blocked,
    Exposure,
    Limits,
    Offer,
    Sized,
    plan_exit,
    size_entry,
    taker_fee,
)

LIMITS = Limits(
    bankroll=Dec(1000),
    kelly_fraction=Dec("0.25"),
    max_order=Dec(50),
    max_bucket=Dec(100),
    max_event=Dec(200),
    max_city_date=Dec(300),
    max_total=Dec(500),
    daily_loss_limit=Dec(100),
    max_open_orders=3,
    min_edge=Dec("0.05"),
    min_depth=Dec(5),
)
OFFER = Offer(
    prob=Dec("0.40"), price=Dec("0.20"), depth=Dec(1000), tick=Dec("0.01"), fee_rate=Dec("0.05")
)


def test_fee_matches_the_venue_formula() -> None:
    assert taker_fee(Dec(100), Dec("0.5"), Dec("0.05")) == Dec("1.25")
    assert taker_fee(Dec(100), Dec("0.1"), Dec("0.05")) == Dec("0.45")
    assert taker_fee(Dec("0.01"), Dec("0.01"), Dec("0.05")) == Dec("0.00001")  # the minimum


def test_fractional_kelly_then_the_order_cap() -> None:
    # unit cost 0.208; f* = 0.192/0.792; 1/4 Kelly of 1000 = 60.6 pUSD > max_order 50
    sized = size_entry(OFFER, Exposure(), LIMITS)
    assert isinstance(sized, Sized)
    assert sized.binding == "max_order"
    assert sized.size == Dec("240.38")  # 50 / 0.208, rounded down to cents of a share
    assert sized.price == Dec("0.20")
    small = size_entry(OFFER, Exposure(), _with(max_order=Dec(1000)))
    assert isinstance(small, Sized) and small.binding == "kelly"
    assert small.size == Dec("291.37")  # 0.25 * (0.192/0.792) * 1000 / 0.208


def test_kelly_sets_a_position_target_and_an_entry_tops_up_to_it() -> None:
    limits = _with(max_order=Dec(1000))  # target 291.37 shares, as above
    top_up = size_entry(OFFER, Exposure(held=Dec(100)), limits)
    assert isinstance(top_up, Sized) and top_up.binding == "kelly"
    assert top_up.size == Dec("191.37")  # the difference, not a second full order
    at_target = size_entry(OFFER, Exposure(held=Dec("291.37")), limits)
    assert isinstance(at_target, Blocked) and at_target.limit == "position_target"
    beyond = size_entry(OFFER, Exposure(held=Dec(400)), limits)
    assert isinstance(beyond, Blocked) and beyond.limit == "position_target"
    # the order cap still cuts the top-up
    assert size_entry(OFFER, Exposure(held=Dec(10)), LIMITS).size == Dec("240.38")


@pytest.mark.parametrize(
    ("exposure", "limits", "offer", "limit"),
    [
        (Exposure(day_pnl=Dec(-100)), LIMITS, OFFER, "daily_loss"),
        (Exposure(open_orders=3), LIMITS, OFFER, "max_open_orders"),
        (Exposure(day_pnl=Dec("-99.99"), open_orders=2), LIMITS, OFFER, None),
    ],
)
def test_gates(exposure, limits, offer, limit) -> None:
    result = size_entry(offer, exposure, limits)
    if limit is None:
        assert isinstance(result, Sized)
    else:
        assert isinstance(result, Blocked) and result.limit == limit


@pytest.mark.parametrize(
    ("offer_changes", "exposure", "limit"),
    [
        ({"prob": Dec("0.25")}, Exposure(), "min_edge"),  # 0.25 - 0.208 = 0.042 < 0.05
        ({"depth": Dec(4)}, Exposure(), "min_depth"),
        ({"price": Dec("0.005")}, Exposure(), "tick"),  # rounds to 0: off the grid's range
        ({}, Exposure(bucket=Dec("99")), "max_bucket"),  # 1 pUSD left = 4.8 shares < 5
        ({}, Exposure(event=Dec("199.5")), "max_event"),
        ({}, Exposure(city_date=Dec("299.5")), "max_city_date"),
        ({}, Exposure(total=Dec("499.5")), "max_total"),
        ({"depth": Dec("5"), "min_size": Dec("5.5")}, Exposure(), "min_size"),
        ({"prob": Dec("0.27"), "depth": Dec(1000)}, Exposure(), None),
    ],
)
def test_every_limit_is_named(offer_changes, exposure, limit) -> None:
    offer = Offer(**{**_offer_dict(), **offer_changes})
    result = size_entry(offer, exposure, LIMITS)
    if limit is None:
        assert isinstance(result, Sized)
    else:
        assert isinstance(result, Blocked), result
        assert result.limit == limit


def test_tick_grid_rounding_and_size_decimals() -> None:
    offer = Offer(**{**_offer_dict(), "price": Dec("0.2049"), "depth": Dec("7.129")})
    sized = size_entry(offer, Exposure(), LIMITS)
    assert isinstance(sized, Sized)
    assert sized.price == Dec("0.20")  # never pay more than offered: snapped down
    assert sized.size == Dec("7.12") and sized.binding == "depth"


def test_exit_rules() -> None:
    common = {
        "bid_size": Dec(100),
        "shares": Dec(30),
        "fee_rate": Dec("0.05"),
        "tick": Dec("0.01"),
        "exit_threshold": Dec("0.03"),
        "take_profit": False,
        "take_profit_margin": Dec("0.01"),
    }
    assert plan_exit(prob=Dec("0.40"), bid=Dec("0.42"), **common) is None
    plan = plan_exit(prob=Dec("0.40"), bid=Dec("0.45"), **common)
    assert plan is not None and plan.kind == "exit" and plan.size == 30
    assert plan_exit(prob=Dec("0.40"), bid=None, **common) is None
    tp = plan_exit(prob=Dec("0.40"), bid=Dec("0.41"), **{**common, "take_profit": True})
    assert tp is not None and tp.kind == "take_profit"
    thin = plan_exit(prob=Dec("0.1"), bid=Dec("0.45"), **{**common, "bid_size": Dec(3)})
    assert isinstance(thin, Blocked) and thin.limit == "min_size"


async def test_rejections_are_recorded_with_the_limit_name(harness: Harness) -> None:
    h = harness
    h.settings = h.settings.__class__(
        **{f: getattr(h.settings, f) for f in h.settings.__struct_fields__} | {"min_depth": 50.0}
    )
    await h.start()
    h.fair_books()
    h.price(0.40)
    h.book(M2.yes_token, [("0.18", "50")], [("0.20", "30")])
    await h.step()
    h.book(M2.yes_token, [("0.18", "50")], [("0.19", "30")])  # an update: same limit, one row
    await h.step()
    rows = h.rows("SELECT limit_name, side, detail FROM risk_rejections")
    assert rows == [{"limit_name": "min_depth", "side": "BUY", "detail": "30 shares at 0.2 < 50.0"}]
    assert h.rows("SELECT * FROM trade_intents") == []
    # the depth arrives while the episode is still open: the blocked entry goes through
    h.book(M2.yes_token, [("0.18", "50")], [("0.19", "60")])
    await h.step()
    assert [r["status"] for r in h.rows("SELECT status FROM trade_intents")] == ["filled"]


def _offer_dict() -> dict:
    return {
        "prob": OFFER.prob,
        "price": OFFER.price,
        "depth": OFFER.depth,
        "tick": OFFER.tick,
        "fee_rate": OFFER.fee_rate,
        "min_size": OFFER.min_size,
    }


def _with(**changes) -> Limits:
    return Limits(**{**{f: getattr(LIMITS, f) for f in LIMITS.__slots__}, **changes})
