"""Typed Gamma listing structs (``/events/keyset``), decoded once at the boundary with msgspec.

Gamma (``/events/keyset``) pages are ``{"events": [...], "next_cursor": "..."}`` with
``next_cursor`` absent on the last page. ``clobTokenIds``, ``outcomes`` and ``outcomePrices`` are
JSON-encoded *strings*; ``positionIds`` (Protocol V2 markets) is a real array. Stale records lack
ids, so nearly every Gamma field is optional and validated later, record by record.
"""

from __future__ import annotations

import json

import msgspec

from weatheredge.polymarket.wire import FeeSchedule, Tag, TooDeep, bounded

# --------------------------------------------------------------------------- Gamma


class GammaMarket(msgspec.Struct, frozen=True, rename="camel"):
    id: str | None = None
    question: str | None = None
    slug: str | None = None
    condition_id: str | None = None
    question_id: str | None = msgspec.field(default=None, name="questionID")
    group_item_title: str | None = None
    group_item_threshold: str | None = None
    outcomes: str | None = None  # JSON-encoded string: "[\"Yes\", \"No\"]"
    outcome_prices: str | None = None  # JSON-encoded string
    clob_token_ids: str | None = None  # JSON-encoded string of two decimal ids (v1)
    version: str | None = None  # "v1" | "v2"
    # A real array (v2) as documented; a JSON-encoded string like clobTokenIds is read too.
    position_ids: list[str] | str | None = None
    active: bool | None = None
    closed: bool | None = None
    archived: bool | None = None
    accepting_orders: bool | None = None
    enable_order_book: bool | None = None
    neg_risk: bool | None = None
    order_price_min_tick_size: float | str | None = None
    order_min_size: float | str | None = None
    fees_enabled: bool | None = None
    fee_type: str | None = None
    fee_schedule: FeeSchedule | None = None
    resolution_source: str | None = None
    description: str | None = None
    end_date: str | None = None


class GammaEvent(msgspec.Struct, frozen=True, rename="camel"):
    id: str | None = None
    slug: str | None = None
    ticker: str | None = None
    title: str | None = None
    description: str | None = None
    resolution_source: str | None = None
    start_date: str | None = None
    creation_date: str | None = None
    end_date: str | None = None  # NOT the observation date
    event_date: str | None = None  # the observation date, "2026-11-25"
    active: bool | None = None
    closed: bool | None = None
    archived: bool | None = None
    restricted: bool | None = None
    enable_order_book: bool | None = None
    neg_risk: bool | None = None
    enable_neg_risk: bool | None = None
    neg_risk_augmented: bool | None = None
    neg_risk_market_id: str | None = msgspec.field(default=None, name="negRiskMarketID")
    series_slug: str | None = None
    tags: list[Tag] | None = None
    markets: list[GammaMarket] | None = None


class EventsKeysetPage(msgspec.Struct, frozen=True):
    events: list[GammaEvent]
    next_cursor: str | None = None


class RawEventsKeysetPage(msgspec.Struct, frozen=True):
    """Page whose events are left undecoded so one bad record cannot sink the whole page."""

    events: list[msgspec.Raw]
    next_cursor: str | None = None


_RAW_PAGE = bounded(msgspec.json.Decoder(RawEventsKeysetPage).decode)
_EVENT = bounded(msgspec.json.Decoder(GammaEvent).decode)
_STR_LIST = bounded(msgspec.json.Decoder(list[str]).decode)


def decode_raw_events_page(data: bytes) -> RawEventsKeysetPage:
    try:
        return _RAW_PAGE(data)
    except TooDeep:
        raise
    except msgspec.DecodeError:
        # msgspec refuses a lone surrogate escape (\ud800, valid JSON grammar) or a raw control
        # character anywhere in the page: split the page with the lenient stdlib parser so the
        # record carrying it is rejected alone, not the whole listing with every event on it.
        page = _lenient_page(data)
        if page is None:
            raise
        return page


def _lenient_page(data: bytes) -> RawEventsKeysetPage | None:
    try:
        value = json.loads(data, strict=False)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict) or not isinstance(events := value.get("events"), list):
        return None
    cursor = value.get("next_cursor")
    if cursor is not None and not isinstance(cursor, str):
        return None
    # Re-encoded with escapes: the record keeps what made msgspec refuse it, and is refused alone.
    return RawEventsKeysetPage([msgspec.Raw(json.dumps(e).encode()) for e in events], cursor)


def decode_gamma_event(data: bytes | msgspec.Raw) -> GammaEvent:
    return _EVENT(data)


def decode_json_string_list(text: str) -> list[str]:
    """Decode Gamma's JSON-in-a-string arrays (``clobTokenIds``, ``outcomes``)."""
    return _STR_LIST(text)
