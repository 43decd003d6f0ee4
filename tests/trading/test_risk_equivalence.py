"""Sizing gives exactly what it gave before it was made faster (issue 14, maker latency).

Thousands of randomized offers, exposures and limits (ties between limits, headroom used up or
overdrawn, positions above their target, every gate) are sized with and without the
explanation; every field of every result, as exact decimal text, is hashed and compared with
the digest recorded from the previous implementation, and the outcomes' tally with the one
recorded then (it names the branch that moved if the digest does not match)."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from decimal import Decimal as Dec

from weatheredge.trading.risk import Blocked, Exposure, Limits, Offer, Sized, size_entry

CASES = 6000
# Recorded from the implementation before the speed-up (commit 66bd319), same generator.
DIGEST = "edc24a1bffa5f98ea7af4feba3080628cfc7a7ddda6d5c9488e30fb171b937d1"
TALLY = {
    "daily_loss": 285, "max_bucket": 325, "max_city_date": 609, "max_event": 731,
    "max_open_orders": 63, "max_total": 726, "min_depth": 23, "min_edge": 1168, "min_size": 10,
    "position_target": 633, "sized_by_depth": 42, "sized_by_kelly": 135,
    "sized_by_max_bucket": 253, "sized_by_max_city_date": 214, "sized_by_max_event": 259,
    "sized_by_max_order": 253, "sized_by_max_total": 249, "tick": 22,
}  # fmt: skip


def _money(rnd: random.Random, lo: float, hi: float, places: int) -> Dec:
    return Dec(rnd.randrange(int(lo * 10**places), int(hi * 10**places) + 1)).scaleb(-places)


def _amount(rnd: random.Random, hi: float) -> Dec:
    """An exposure: cents, micro-units, or a long quotient (an average price times shares)."""
    kind = rnd.randrange(4)
    if kind == 0:
        return Dec(0)
    if kind == 1:
        return _money(rnd, 0, hi, 2)
    if kind == 2:
        return _money(rnd, 0, hi, 6)
    return _money(rnd, 0, hi, 2) / Dec(rnd.choice([3, 7, 11]))


def _case(rnd: random.Random) -> tuple[Offer, Exposure, Limits]:
    caps = [Dec(v) for v in (20, 50, 100, 200, 300)]
    limits = Limits(
        bankroll=_money(rnd, 10, 5000, 0),
        kelly_fraction=Dec(rnd.choice(["0.1", "0.25", "0.5", "1"])),
        max_order=rnd.choice(caps),
        max_bucket=rnd.choice(caps),
        max_event=rnd.choice(caps),
        max_city_date=rnd.choice(caps),
        max_total=rnd.choice(caps),
        daily_loss_limit=_money(rnd, 10, 200, 0),
        max_open_orders=rnd.randrange(1, 21),
        min_edge=Dec(rnd.choice(["0", "0.02", "0.05"])),
        min_depth=Dec(rnd.choice(["0", "5", "50"])),
    )
    event = _amount(rnd, 150)
    exposure = Exposure(
        bucket=_amount(rnd, 60),
        event=event,
        city_date=event if rnd.random() < 0.3 else _amount(rnd, 200),
        total=_amount(rnd, 300),
        open_orders=rnd.randrange(0, limits.max_open_orders + (rnd.random() < 0.1)),
        day_pnl=_money(rnd, -250, 50, 2) if rnd.random() < 0.1 else Dec(0),
        held=Dec(0) if rnd.random() < 0.5 else _money(rnd, 0, 600, 2),
    )
    tick = Dec(rnd.choice(["0.01", "0.001"]))
    if rnd.random() < 0.2:
        price = _money(rnd, 0, 1, 2)  # the grid's ends too
    elif rnd.random() < 0.5:
        price = _money(rnd, 0.02, 0.98, 3)
    else:  # a quote's bid: fair minus a widened margin, many digits
        price = _money(rnd, 0.02, 0.98, 6) * (1 + _money(rnd, 0, 1, 4) / Dec(3))
        price = min(price, Dec("0.999"))
    offer = Offer(
        prob=min(Dec("0.999999"), price + _money(rnd, -0.05, 0.4, 6)),
        price=price,
        depth=Dec(10**9) if rnd.random() < 0.3 else _money(rnd, 0, 2000, 2),
        tick=tick,
        fee_rate=Dec(rnd.choice(["0", "0.02", "0.05"])),
        min_size=Dec(rnd.choice(["1", "5", "15"])),
    )
    return offer, exposure, limits


def _text(result: Sized | Blocked) -> str:
    if isinstance(result, Blocked):
        return f"B|{result.limit}|{result.detail}"
    checks = ";".join(f"{k}={v}" for k, v in result.checks.items())
    return f"S|{result.price}|{result.size}|{result.cost}|{result.edge}|{result.binding}|{checks}"


def _outcome(result: Sized | Blocked) -> str:
    return result.limit if isinstance(result, Blocked) else f"sized_by_{result.binding}"


def _run() -> tuple[str, dict[str, int]]:
    rnd = random.Random(14)
    digest = hashlib.sha256()
    tally: Counter[str] = Counter()
    for _ in range(CASES):
        offer, exposure, limits = _case(rnd)
        explained = size_entry(offer, exposure, limits)
        quiet = size_entry(offer, exposure, limits, explain=False)
        digest.update(f"{_text(explained)}\n{_text(quiet)}\n".encode())
        tally[_outcome(explained)] += 1
    return digest.hexdigest(), dict(sorted(tally.items()))


def test_sizing_is_exactly_what_it_was() -> None:
    digest, tally = _run()
    assert tally == TALLY
    assert digest == DIGEST


def test_an_unexplained_sizing_is_the_explained_one_without_its_checks() -> None:
    rnd = random.Random(41)
    for _ in range(2000):
        offer, exposure, limits = _case(rnd)
        explained = size_entry(offer, exposure, limits)
        quiet = size_entry(offer, exposure, limits, explain=False)
        if isinstance(explained, Sized):
            assert isinstance(quiet, Sized) and quiet.checks == {}
            assert (quiet.price, quiet.size, quiet.cost, quiet.edge, quiet.binding) == (
                explained.price, explained.size, explained.cost, explained.edge,
                explained.binding,
            )  # fmt: skip
            assert str(quiet.cost) == str(explained.cost)
        else:
            assert quiet == explained
