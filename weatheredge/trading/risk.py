"""Sizing and limits: pure functions on exact decimals, no I/O.

Entries are sized by fractional Kelly on the bankroll, then capped by every limit; the tightest
limit wins and is named. Kelly sets a *position target*: an entry buys the difference between it
and what is already held or being bought in that token, so a new episode of the same edge (or a
restarted daemon facing it) tops the position up instead of adding a second full order.
Exits decide whether a held position should be sold at the bid.

Buying one share at price ``a`` costs ``c = a + rate*a*(1-a)`` (the taker fee) and pays 1 with
probability ``p``. The Kelly stake for such a bet is ``f* = (p - c) / (1 - c)`` of the bankroll.
Every money amount below is that all-in cost (price plus fee), in pUSD.

The values built on every decision (exposure, offer, sizing) are frozen ``msgspec`` structs:
maker mode builds several per token for every token of an event it re-prices, and a struct is
built about ten times faster than a frozen dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

import msgspec

ZERO = Decimal(0)
ONE = Decimal(1)
CENT_SHARES = Decimal("0.01")  # sizes are rounded down to 2 decimals on every tick grid
FEE_QUANTUM = Decimal("0.00001")
CAPS = ("max_order", "max_bucket", "max_event", "max_city_date", "max_total")  # pUSD limits


def D(value: object) -> Decimal:
    """Exact Decimal from str/int/Decimal; floats go through their shortest repr."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def fee_per_share(price: Decimal, rate: Decimal) -> Decimal:
    return rate * price * (ONE - price)


def taker_fee(shares: Decimal, price: Decimal, rate: Decimal) -> Decimal:
    """Venue taker fee: ``shares*rate*p*(1-p)`` rounded to 5 decimals, at least 0.00001."""
    if shares <= 0 or rate <= 0:
        return ZERO
    fee = (shares * fee_per_share(price, rate)).quantize(FEE_QUANTUM, ROUND_HALF_UP)
    return max(FEE_QUANTUM, fee)


def round_to_tick(price: Decimal, tick: Decimal, *, down: bool) -> Decimal:
    """Snap a price to the tick grid: down for buys (never pay more), up for sells."""
    steps = (price / tick).to_integral_value(ROUND_DOWN if down else ROUND_UP)
    return steps * tick


def floor_shares(shares: Decimal) -> Decimal:
    return max(ZERO, shares.quantize(CENT_SHARES, ROUND_DOWN))


@dataclass(frozen=True, slots=True)
class Limits:
    bankroll: Decimal
    kelly_fraction: Decimal
    max_order: Decimal
    max_bucket: Decimal
    max_event: Decimal
    max_city_date: Decimal
    max_total: Decimal
    daily_loss_limit: Decimal
    max_open_orders: int
    min_edge: Decimal
    min_depth: Decimal


class Exposure(msgspec.Struct, frozen=True):
    """What is already committed (positions at cost plus working orders), all-in pUSD."""

    bucket: Decimal = ZERO  # both outcomes of this bucket market
    event: Decimal = ZERO
    city_date: Decimal = ZERO  # every event of this city and date (highest and lowest)
    total: Decimal = ZERO
    open_orders: int = 0
    day_pnl: Decimal = ZERO  # realised today (venue day) plus unrealised at the bid
    held: Decimal = ZERO  # shares of the token to buy already held or in working buy orders


class Offer(msgspec.Struct, frozen=True):
    """The best ask of the token we would buy."""

    prob: Decimal  # our probability that this token pays 1
    price: Decimal  # best ask
    depth: Decimal  # shares offered at that price
    tick: Decimal
    fee_rate: Decimal
    min_size: Decimal = Decimal(5)


class Sized(msgspec.Struct, frozen=True):
    price: Decimal
    size: Decimal
    cost: Decimal  # size * (price + fee per share)
    edge: Decimal  # per share after the fee
    binding: str  # the limit that set the size
    checks: dict[str, str] = msgspec.field(default_factory=dict)  # limit -> value / headroom


class Blocked(msgspec.Struct, frozen=True):
    limit: str
    detail: str


def size_entry(
    offer: Offer, exposure: Exposure, limits: Limits, *, explain: bool = True
) -> Sized | Blocked:
    """Size a buy at the best ask, or name the limit that forbids it. ``explain=False`` skips
    writing every check's headroom (maker quotes re-size on every tick and keep no record)."""
    if exposure.day_pnl <= -limits.daily_loss_limit:
        return Blocked("daily_loss", f"day PnL {exposure.day_pnl} <= -{limits.daily_loss_limit}")
    if exposure.open_orders >= limits.max_open_orders:
        return Blocked(
            "max_open_orders", f"{exposure.open_orders} open >= {limits.max_open_orders}"
        )
    tick = offer.tick
    price = round_to_tick(offer.price, tick, down=True)
    if not tick <= price <= ONE - tick:
        return Blocked("tick", f"price {offer.price} off the {tick} grid range")
    unit_cost = price + fee_per_share(price, offer.fee_rate)
    edge = offer.prob - unit_cost
    if edge < limits.min_edge:
        return Blocked("min_edge", f"edge {edge:.4f} < {limits.min_edge}")
    if offer.depth < limits.min_depth:
        return Blocked("min_depth", f"{offer.depth} shares at {price} < {limits.min_depth}")

    kelly = edge / (ONE - unit_cost)
    stake = limits.kelly_fraction * kelly * limits.bankroll
    target = stake / unit_cost  # shares Kelly wants held in this token
    caps = (
        limits.max_order,
        limits.max_bucket - exposure.bucket,
        limits.max_event - exposure.event,
        limits.max_city_date - exposure.city_date,
        limits.max_total - exposure.total,
    )
    # The fewest shares wins; on a tie the first named (Kelly, the caps in order, then depth).
    binding, least = "kelly", max(ZERO, target - exposure.held)
    for name, usd in zip(CAPS, caps, strict=True):
        shares = (usd if usd > ZERO else ZERO) / unit_cost
        if shares < least:
            binding, least = name, shares
    if offer.depth < least:
        binding, least = "depth", offer.depth
    size = floor_shares(least)
    if size < offer.min_size:
        if binding == "kelly" and exposure.held > 0:
            return Blocked(
                "position_target",
                f"holding {exposure.held} of a {target:.2f}-share target: "
                f"{size} more < minimum {offer.min_size}",
            )
        limit = "min_size" if binding in ("kelly", "depth") else binding
        return Blocked(limit, f"{size} shares (set by {binding}) < minimum {offer.min_size}")
    checks: dict[str, str] = {}
    if explain:
        checks["daily_loss"] = f"{exposure.day_pnl} > -{limits.daily_loss_limit}"
        checks["max_open_orders"] = f"{exposure.open_orders}/{limits.max_open_orders}"
        checks["tick"] = f"{price} on {tick}"
        checks["min_edge"] = f"{edge:.4f} >= {limits.min_edge}"
        checks["min_depth"] = f"{offer.depth} >= {limits.min_depth}"
        for name, usd in zip(("kelly", *CAPS), (stake, *caps), strict=True):
            checks[name] = f"headroom {max(ZERO, usd):.2f}"
        checks["target"] = f"{target:.2f} shares, holding {exposure.held}"
        checks["min_size"] = f"{size} >= {offer.min_size}"
    return Sized(price, size, size * unit_cost, edge, binding, checks)


class ExitPlan(msgspec.Struct, frozen=True):
    kind: str  # "exit" (probability fell below the bid) or "take_profit" (converged)
    price: Decimal
    size: Decimal
    reason: str


def plan_exit(
    *,
    prob: Decimal,
    bid: Decimal | None,
    bid_size: Decimal,
    shares: Decimal,
    fee_rate: Decimal,
    tick: Decimal,
    exit_threshold: Decimal,
    take_profit: bool,
    take_profit_margin: Decimal,
    min_size: Decimal = Decimal(5),
) -> ExitPlan | Blocked | None:
    """Sell (part of) a held position at the bid when the bid, after the fee, is worth more than
    our probability by ``exit_threshold`` (exit), or within ``take_profit_margin`` of it
    (take profit: the market converged to our price). None: keep holding."""
    if bid is None or shares <= 0:
        return None
    net = bid - fee_per_share(bid, fee_rate)
    if net - prob > exit_threshold:
        kind, why = "exit", f"p={prob:.3f} below bid {bid} (net {net:.4f}) by > {exit_threshold}"
    elif take_profit and net >= prob - take_profit_margin:
        kind, why = "take_profit", f"bid {bid} (net {net:.4f}) converged to p={prob:.3f}"
    else:
        return None
    price = round_to_tick(bid, tick, down=False)
    size = floor_shares(min(shares, bid_size))
    if size < min_size:
        return Blocked("min_size", f"{size} shares sellable at {bid} < minimum {min_size}")
    return ExitPlan(kind, price, size, why)
