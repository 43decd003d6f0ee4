"""Polymarket adapter: wire structs, Gamma discovery, CLOB REST books and the market stream.

No weather, store or notification code lives here; callers get typed structs and model objects.
"""

from __future__ import annotations

from weatheredge.polymarket.clob import ClobError, RateLimited, fetch_book, fetch_books
from weatheredge.polymarket.gamma import (
    Discovery,
    GammaError,
    discover_temperature_events,
    fetch_event_by_slug,
    to_temperature_event,
)
from weatheredge.polymarket.stream import MarketStream, StreamGaveUp
from weatheredge.polymarket.wire import (
    DecodedFrame,
    FrameError,
    MarketEvent,
    RestBook,
    decode_frame,
    decode_market_frame,
)

__all__ = [
    "ClobError",
    "DecodedFrame",
    "Discovery",
    "FrameError",
    "GammaError",
    "MarketEvent",
    "MarketStream",
    "RateLimited",
    "RestBook",
    "StreamGaveUp",
    "decode_frame",
    "decode_market_frame",
    "discover_temperature_events",
    "fetch_book",
    "fetch_books",
    "fetch_event_by_slug",
    "to_temperature_event",
]
