"""Typed Polymarket wire structs of the market channel and the CLOB REST books, decoded once at
the boundary with msgspec (Gamma's listing: ``weatheredge.polymarket.gamma_wire``).

Market WebSocket (``/ws/market``) framing, as documented in the AsyncAPI spec and seen in practice:

- a text frame is the plain word ``PONG``, one JSON object, or a JSON **array** of objects (the
  initial dump arrives as one array of ``book`` objects);
- error replies are plain text such as ``INVALID OPERATION``;
- the discriminator is ``event_type``; every price, size and timestamp is a **string**
  (timestamps are Unix milliseconds), so numbers stay ``str`` here and are converted to exact
  micro-units by callers (``Level.micros``) only where they are used.

CLOB REST ``/book`` and ``/books`` return book objects with bids ascending and asks descending
(best level last): never read the first level as the best.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import msgspec

from weatheredge.model.prices import to_micros

Side = Literal["BUY", "SELL"]

_SAMPLE_CHARS = 200
T = TypeVar("T")


# --------------------------------------------------------------------------- market channel


# gc=False on the leaf structs of the hot path (strings only, no cycles possible): the
# collector neither tracks them nor runs more often for them.
class Level(msgspec.Struct, frozen=True, gc=False):
    price: str
    size: str

    def micros(self) -> tuple[int, int]:
        """(price, size) in exact micro-units; raises ValueError on a malformed decimal."""
        return to_micros(self.price), to_micros(self.size)


def levels_to_micros(levels: list[Level]) -> list[tuple[int, int]]:
    return [level.micros() for level in levels]


class Tag(msgspec.Struct, frozen=True):
    id: str | None = None
    label: str | None = None
    slug: str | None = None


class EventMessage(msgspec.Struct, frozen=True):
    id: str | None = None
    ticker: str | None = None
    slug: str | None = None
    title: str | None = None
    description: str | None = None


class FeeSchedule(msgspec.Struct, frozen=True, rename="camel"):
    # Gamma sends rate/rebateRate as strings and exponent as a number; accept either JSON type.
    rate: str | float | None = None
    exponent: float | None = None
    taker_only: bool | None = None
    rebate_rate: str | float | None = None


class BookEvent(msgspec.Struct, frozen=True, tag="book", tag_field="event_type"):
    """Full snapshot of one asset; replaces the local book whenever it arrives."""

    market: str
    asset_id: str
    bids: list[Level]
    asks: list[Level]
    timestamp: str
    # Required by the AsyncAPI, but we never verify hashes (the venue changed its routine).
    hash: str = ""
    tick_size: str | None = None
    min_order_size: str | None = None
    neg_risk: bool | None = None
    last_trade_price: str | None = None


class PriceChange(msgspec.Struct, frozen=True, gc=False):
    asset_id: str
    price: str
    size: str  # new total at this level; "0" removes it
    side: Side  # BUY = bid side, SELL = ask side
    hash: str = ""
    best_bid: str | None = None
    best_ask: str | None = None


class PriceChangeEvent(msgspec.Struct, frozen=True, tag="price_change", tag_field="event_type"):
    market: str
    price_changes: list[PriceChange]
    timestamp: str


class TickSizeChangeEvent(
    msgspec.Struct, frozen=True, tag="tick_size_change", tag_field="event_type"
):
    market: str
    asset_id: str
    old_tick_size: str
    new_tick_size: str
    timestamp: str


class LastTradePriceEvent(
    msgspec.Struct, frozen=True, tag="last_trade_price", tag_field="event_type"
):
    market: str
    asset_id: str
    price: str
    size: str
    side: Side  # the taker's side
    timestamp: str
    fee_rate_bps: str | None = None
    transaction_hash: str | None = None


class BestBidAskEvent(msgspec.Struct, frozen=True, tag="best_bid_ask", tag_field="event_type"):
    market: str
    asset_id: str
    best_bid: str
    best_ask: str
    spread: str
    timestamp: str


class NewMarketEvent(msgspec.Struct, frozen=True, tag="new_market", tag_field="event_type"):
    id: str
    question: str
    market: str
    slug: str
    assets_ids: list[str]
    outcomes: list[str]
    timestamp: str
    description: str | None = None
    event_message: EventMessage | None = None
    tags: list[str | Tag] | None = None
    condition_id: str | None = None
    active: bool | None = None
    clob_token_ids: list[str] | None = None
    order_price_min_tick_size: str | None = None
    group_item_title: str | None = None
    fees_enabled: bool | None = None
    fee_schedule: FeeSchedule | None = None


class MarketResolvedEvent(
    msgspec.Struct, frozen=True, tag="market_resolved", tag_field="event_type"
):
    id: str
    market: str
    assets_ids: list[str]
    winning_asset_id: str
    winning_outcome: str
    timestamp: str
    event_message: EventMessage | None = None
    tags: list[str | Tag] | None = None


MarketEvent = (
    BookEvent
    | PriceChangeEvent
    | TickSizeChangeEvent
    | LastTradePriceEvent
    | BestBidAskEvent
    | NewMarketEvent
    | MarketResolvedEvent
)

EVENT_TYPES: frozenset[str] = frozenset(
    t.__struct_config__.tag
    for t in (
        BookEvent,
        PriceChangeEvent,
        TickSizeChangeEvent,
        LastTradePriceEvent,
        BestBidAskEvent,
        NewMarketEvent,
        MarketResolvedEvent,
    )
)


class FrameError(Exception):
    """A frame (or one object inside an array frame) that could not be turned into an event.

    kind is one of ``not_json``, ``binary``, ``unknown_event``, ``invalid``, ``too_deep`` (nesting
    beyond what the decoder's recursion limit allows); sample is a truncated
    copy of the offending text for the log. ``events`` holds whatever valid events the same frame
    carried, so a strict caller does not lose them.
    """

    def __init__(
        self, kind: str, sample: str, detail: str = "", events: tuple[MarketEvent, ...] = ()
    ) -> None:
        super().__init__(f"{kind}: {detail or sample}")
        self.kind = kind
        self.sample = sample
        self.detail = detail
        self.events = events


@dataclass(frozen=True, slots=True)
class DecodedFrame:
    events: list[MarketEvent] = field(default_factory=list)
    errors: list[FrameError] = field(default_factory=list)


class TooDeep(msgspec.DecodeError):
    """JSON nested deeper than the decoder's recursion limit (a DecodeError like any other)."""


def bounded(decode: Callable[[Any], T]) -> Callable[[Any], T]:
    """``decode`` with RecursionError turned into :class:`TooDeep`, so callers that handle
    ``msgspec.DecodeError`` also handle a hostile nesting depth."""

    def run(data: Any) -> T:
        try:
            return decode(data)
        except RecursionError as err:
            raise TooDeep(f"JSON nested too deep: {err}") from None

    return run


# One decoder for the common case: the whole frame is valid. The slow path below only runs for
# frames that fail it, to tell unknown events from invalid ones and keep the valid neighbours.
_FAST = msgspec.json.Decoder(list[MarketEvent] | MarketEvent)
_GENERIC = msgspec.json.Decoder()
# Hot path: the bound decode of the fast decoder. Returns one event or a list of events, raises
# msgspec.DecodeError (ValidationError is a subclass) on anything else; callers then fall back
# to ``decode_market_frame`` to classify the problem and keep the valid neighbours.
decode_fast = _FAST.decode


def _sample(data: str | bytes) -> str:
    if isinstance(data, bytes):
        return repr(data[:_SAMPLE_CHARS])
    return data[:_SAMPLE_CHARS]


def _is_pong(data: str | bytes) -> bool:
    return data == "PONG" or data == b"PONG"


def decode_market_frame(data: str | bytes) -> DecodedFrame:
    """Decode one market-channel frame without raising; problems are returned as errors."""
    if _is_pong(data):
        return DecodedFrame()
    try:
        try:
            value = _FAST.decode(data)
        except msgspec.ValidationError:
            return _decode_slow(data)
    except msgspec.DecodeError as err:
        kind = "binary" if isinstance(data, bytes) else "not_json"
        return DecodedFrame(errors=[FrameError(kind, _sample(data), str(err))])
    except RecursionError as err:  # e.g. a 200,000-deep array: refused, not a crash
        return DecodedFrame(errors=[FrameError("too_deep", _sample(data), str(err))])
    return DecodedFrame(events=value if isinstance(value, list) else [value])


def decode_frame(data: str | bytes) -> list[MarketEvent]:
    """Strict variant: the events of a fully valid frame, else FrameError (first problem).

    The error's ``events`` carries the valid events of a mixed array frame.
    """
    decoded = decode_market_frame(data)
    if decoded.errors:
        first = decoded.errors[0]
        raise FrameError(first.kind, first.sample, first.detail, tuple(decoded.events))
    return decoded.events


def _decode_slow(data: str | bytes) -> DecodedFrame:
    value = _GENERIC.decode(data)  # cannot fail: the fast decoder already parsed the JSON
    items = value if isinstance(value, list) else [value]
    result = DecodedFrame()
    for item in items:
        event_or_error = _convert_one(item)
        if isinstance(event_or_error, FrameError):
            result.errors.append(event_or_error)
        else:
            result.events.append(event_or_error)
    return result


def _convert_one(item: object) -> MarketEvent | FrameError:
    sample = msgspec.json.encode(item).decode()[:_SAMPLE_CHARS]
    if not isinstance(item, dict):
        return FrameError("invalid", sample, "frame item is not a JSON object")
    event_type = item.get("event_type")
    if event_type not in EVENT_TYPES:
        return FrameError("unknown_event", sample, f"event_type={event_type!r}")
    try:
        return msgspec.convert(item, MarketEvent)
    except msgspec.ValidationError as err:
        return FrameError("invalid", sample, str(err))


# --------------------------------------------------------------------------- client frames


class MarketSubscription(msgspec.Struct, frozen=True, kw_only=True):
    """First frame on a market socket. Sending a second one gets ``INVALID OPERATION``."""

    type: str = "market"
    assets_ids: list[str]
    initial_dump: bool = True
    custom_feature_enabled: bool = True


class SubscriptionUpdate(msgspec.Struct, frozen=True, omit_defaults=True):
    """Dynamic ``subscribe``/``unsubscribe`` on an open socket."""

    operation: Literal["subscribe", "unsubscribe"]
    assets_ids: list[str]
    custom_feature_enabled: bool | None = None


def encode_subscription(asset_ids: list[str]) -> str:
    return msgspec.json.encode(MarketSubscription(assets_ids=sorted(asset_ids))).decode()


def encode_update(operation: Literal["subscribe", "unsubscribe"], asset_ids: list[str]) -> str:
    flag = True if operation == "subscribe" else None
    frame = SubscriptionUpdate(operation, sorted(asset_ids), flag)
    return msgspec.json.encode(frame).decode()


# --------------------------------------------------------------------------- CLOB REST


class RestBook(msgspec.Struct, frozen=True):
    """One book from ``GET /book`` or ``POST /books`` (bids ascending, asks descending)."""

    market: str
    asset_id: str
    timestamp: str
    bids: list[Level]
    asks: list[Level]
    hash: str = ""
    min_order_size: str | None = None
    tick_size: str | None = None
    neg_risk: bool | None = None
    last_trade_price: str | None = None


class ClobErrorBody(msgspec.Struct, frozen=True):
    error: str = ""
    code: str | None = None
    retry_after_seconds: float | None = None


_BOOKS = bounded(msgspec.json.Decoder(list[RestBook]).decode)
_BOOK = bounded(msgspec.json.Decoder(RestBook).decode)
_CLOB_ERROR = bounded(msgspec.json.Decoder(ClobErrorBody).decode)


def decode_books(data: bytes) -> list[RestBook]:
    """Raises msgspec.DecodeError / ValidationError (TooDeep: nesting) on a malformed body."""
    return _BOOKS(data)


def decode_book(data: bytes) -> RestBook:
    return _BOOK(data)


def decode_clob_error(data: bytes) -> ClobErrorBody | None:
    try:
        return _CLOB_ERROR(data)
    except msgspec.DecodeError:
        return None
