"""One Gamma event record -> a validated ``TemperatureEvent``, or ``Rejected`` with the reason.

Pure validation of what discovery (:mod:`weatheredge.polymarket.gamma`) listed: the title and
rules, the date (``eventDate``, else the slug, else the title), each bucket market's tokens,
prices, sizes and fee, and the ladder as a whole (polymarket.md §3, §6.3).
"""

from __future__ import annotations

import datetime as dt
import math
import re

import msgspec

from weatheredge.model.buckets import Bucket, parse_bucket_label, validate_ladder
from weatheredge.model.catalogue import self_reuse
from weatheredge.model.market import BucketMarket, TemperatureEvent
from weatheredge.model.prices import MAX_SIZE_MICROS, MICRO, to_micros
from weatheredge.model.rules import parse_rule, parse_title
from weatheredge.polymarket.gamma_wire import (
    GammaEvent,
    GammaMarket,
    decode_json_string_list,
)

_OUTCOMES = ["Yes", "No"]
WEATHER_FEE_TYPE = "weather_fees"
WEATHER_FEE_RATE = "0.05"  # fee = shares * 0.05 * p * (1 - p), docs.polymarket.com/trading/fees
_SLUG_DATE = re.compile(r"-on-([a-z]+)-(\d{1,2})-(\d{4})(?:-|$)")
_TITLE_DATE = re.compile(r"\bon\s+([A-Za-z]+)\s+(\d{1,2})\??\s*$")
_MONTH_NAMES = (
    "january february march april may june july august september october november december"
)
_MONTHS = {name: i for i, name in enumerate(_MONTH_NAMES.split(), start=1)}


class Rejected(ValueError):
    """One Gamma record that cannot become a TemperatureEvent; the message is the reason."""


def to_temperature_event(gamma: GammaEvent) -> TemperatureEvent:
    """Validate one Gamma event; raises Rejected with the reason it cannot be used."""
    title = gamma.title or ""
    head = parse_title(title)
    if head is None:
        raise Rejected(f"not a temperature title: {title!r}")
    if gamma.closed:
        raise Rejected("event closed")
    if not gamma.id or not gamma.slug:
        raise Rejected("event without id or slug")
    if not gamma.markets:
        raise Rejected("no markets")
    markets = [_to_bucket_market(m, gamma) for m in gamma.markets if _tradable(m)]
    if not markets:
        raise Rejected("no open order-book markets")
    markets.sort(key=lambda m: _lower_edge(m.bucket))
    if reason := validate_ladder([m.bucket for m in markets]):
        raise Rejected(f"ladder: {reason}")
    description, source = _rules_text(gamma)
    try:
        rule = parse_rule(title, description, source, label_unit=markets[0].bucket.unit)
    except ValueError as err:
        raise Rejected(f"rules: {err}") from err
    event = TemperatureEvent(
        event_id=gamma.id,
        slug=gamma.slug,
        title=title,
        city=head.city,
        date=_event_date(gamma),
        rule=rule,
        markets=tuple(markets),
    )
    if reason := self_reuse(event):
        raise Rejected(reason)
    return event


def _tradable(market: GammaMarket) -> bool:
    # Closed or book-less buckets are skipped; the ladder check then decides if the rest is usable.
    return not market.closed and market.enable_order_book is True


def _lower_edge(bucket: Bucket) -> float:
    return -math.inf if bucket.lo is None else bucket.lo


def _to_bucket_market(market: GammaMarket, event: GammaEvent) -> BucketMarket:
    label = market.group_item_title or ""
    name = label or market.id or "?"
    name = name if len(name) <= 40 else f"{name[:24]}…"  # reasons stay readable
    if not market.id or not market.condition_id:
        raise Rejected(f"market {name}: no id or conditionId")
    try:
        bucket = parse_bucket_label(label)
    except ValueError as err:
        raise Rejected(f"market {name}: {str(err)[:120]}") from err
    yes, no = _token_ids(market, name)
    return BucketMarket(
        market_id=market.id,
        condition_id=market.condition_id,
        label=label,
        bucket=bucket,
        yes_token=yes,
        no_token=no,
        tick=_micros_field(market.order_price_min_tick_size, name, "orderPriceMinTickSize", MICRO),
        min_size=_micros_field(market.order_min_size, name, "orderMinSize", MAX_SIZE_MICROS + 1),
        fee_rate=_fee_rate(market, name),
        neg_risk=bool(market.neg_risk if market.neg_risk is not None else event.neg_risk),
        accepting_orders=bool(market.accepting_orders),
        rebate_rate=_rebate_rate(market),
    )


def _token_ids(market: GammaMarket, name: str) -> tuple[str, str]:
    if market.outcomes is None:
        raise Rejected(f"market {name}: no outcomes")
    try:
        outcomes = decode_json_string_list(market.outcomes)
    except msgspec.DecodeError as err:
        raise Rejected(f"market {name}: outcomes not a JSON string list") from err
    if outcomes != _OUTCOMES:
        raise Rejected(f"market {name}: outcomes {outcomes!r} are not ['Yes', 'No']")
    if market.version == "v2":
        ids = market.position_ids or []
        if isinstance(ids, str):
            try:
                ids = decode_json_string_list(ids)
            except msgspec.DecodeError as err:
                raise Rejected(f"market {name}: positionIds not a string list") from err
    elif market.clob_token_ids:
        try:
            ids = decode_json_string_list(market.clob_token_ids)
        except msgspec.DecodeError as err:
            raise Rejected(f"market {name}: clobTokenIds not a JSON string list") from err
    else:
        ids = []
    if len(ids) != 2 or not all(ids) or ids[0] == ids[1]:
        raise Rejected(f"market {name}: without token ids")
    return ids[0], ids[1]


def _micros_field(value: float | str | None, name: str, field_name: str, below: int) -> int:
    """A positive amount under ``below`` (a tick under 1, a size a book can hold): a 30-digit
    tick or a 1e300 minimum would pass as a market nobody can ever trade or price."""
    if value is None:
        raise Rejected(f"market {name}: no {field_name}")
    try:
        # Floats such as 0.001 are rendered at the 6 decimals to_micros keeps, never compared.
        micros = to_micros(value if isinstance(value, str) else f"{value:.6f}")
    except ValueError as err:
        raise Rejected(f"market {name}: bad {field_name} {value!r}") from err
    if micros <= 0:
        raise Rejected(f"market {name}: {field_name} must be positive")
    if micros >= below:
        raise Rejected(f"market {name}: {field_name} {str(value)[:12]} is out of range")
    return micros


def _rebate_rate(market: GammaMarket) -> float:
    """The makers' share of the taker fees (§5.5); 0 without fees or a readable rate. Never
    rejects the market: it only feeds the backtest's rebate estimate."""
    rate = market.fee_schedule.rebate_rate if market.fees_enabled and market.fee_schedule else None
    try:
        value = float(rate) if rate is not None else 0.0
    except ValueError:
        return 0.0
    return value if 0.0 <= value <= 1.0 else 0.0


def _fee_rate(market: GammaMarket, name: str) -> float:
    if not market.fees_enabled:
        return 0.0
    rate = market.fee_schedule.rate if market.fee_schedule else None
    if rate is None and market.fee_type == WEATHER_FEE_TYPE:
        # Records without a feeSchedule exist (weather.md §1.1 shows one); the weather fee
        # type has one published rate (§1.7), so the bucket stays priced at it.
        rate = WEATHER_FEE_RATE
    if rate is None:
        raise Rejected(f"market {name}: fees enabled but no feeSchedule.rate")
    try:
        value = float(rate)
    except ValueError as err:
        raise Rejected(f"market {name}: bad fee rate {rate!r}") from err
    if not 0.0 <= value < 1.0:
        raise Rejected(f"market {name}: fee rate {value} out of range")
    return value


def _rules_text(event: GammaEvent) -> tuple[str, str]:
    # Events usually carry the rules; older records only have them on the markets.
    markets = event.markets or []
    description = event.description or next((m.description for m in markets if m.description), "")
    source = event.resolution_source or next(
        (m.resolution_source for m in markets if m.resolution_source), ""
    )
    return description or "", source or ""


def _event_date(event: GammaEvent) -> dt.date:
    if event.event_date:
        try:
            return dt.date.fromisoformat(event.event_date[:10])
        except ValueError as err:
            raise Rejected(f"bad eventDate {event.event_date!r}") from err
    if m := _SLUG_DATE.search(event.slug or ""):
        if (month := _MONTHS.get(m.group(1))) is not None:
            try:
                return dt.date(int(m.group(3)), month, int(m.group(2)))
            except ValueError:
                pass
    return _date_from_title(event)


def _date_from_title(event: GammaEvent) -> dt.date:
    """Month and day from the title; the year from the creation date (titles carry none)."""
    m = _TITLE_DATE.search(event.title or "")
    anchor = _iso_date(event.start_date or event.creation_date)
    month = _MONTHS.get(m.group(1).lower()) if m else None
    if m is None or month is None or anchor is None:
        raise Rejected("no observation date in eventDate, slug or title")
    try:
        date = dt.date(anchor.year, month, int(m.group(2)))
    except ValueError as err:
        raise Rejected(f"bad date in title {event.title!r}") from err
    # Events are listed a few days ahead, so a date far before creation is next year's.
    if date < anchor - dt.timedelta(days=31):
        date = date.replace(year=date.year + 1)
    return date


def _iso_date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None
