"""The venue's state: the Gamma events catalogue and the YES/NO-mirrored order books.

Everything that mutates state is synchronous and pushes its market-channel events through
``_push`` (provided by ``MarketChannel``), so frame order is the order of calls.
"""

from __future__ import annotations

import collections
import copy
import hashlib
import itertools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from weatheredge.model.prices import MICRO, from_micros, to_micros
from weatheredge.sandbox.wsclient import WsClient

JSON_STRING_FIELDS = ("clobTokenIds", "outcomes", "outcomePrices")
Levels = list[tuple[str, str]]


@dataclass(eq=False)
class MarketClient(WsClient):
    """One market-channel socket and what it asked for (the state keeps the list; the
    socket module serves it)."""

    assets: set[str] = field(default_factory=set)
    ever: set[str] = field(default_factory=set)  # assets ever snapshotted on this socket
    subscribed: bool = False
    custom_features: bool = False
    frames: list[dict[str, Any]] = field(default_factory=list)  # JSON frames it sent us
    stalled: bool = False  # fault: no data any more, PONGs still answered (silent freeze)
    half_open: bool = False  # fault: nothing at all any more, not even PONG
    held: str | None = None  # fault: a price_change held back to be sent after the next one
    opened_at: float = field(default_factory=time.monotonic)

    @property
    def subscribed_ids(self) -> list[str]:
        """Every id this connection asked for (initial frame and ``subscribe`` operations)."""
        ids: list[str] = []
        for frame in self.frames:
            if frame.get("type") == "market" or frame.get("operation") == "subscribe":
                ids.extend(frame.get("assets_ids") or [])
        return ids

    @property
    def live(self) -> bool:
        """Subscribed and not frozen by a fault: data frames still reach it."""
        return self.subscribed and not (self.stalled or self.half_open)


@dataclass
class Faults:
    """Fault-injection switches, scriptable per test (see also the ``Venue`` fault methods:
    ``drop_connections``, ``stall_data``, ``half_open``, ``send_garbage``)."""

    ignore_pings: bool = False  # swallow PINGs: the client must notice the missing PONGs
    refuse_handshakes: int = 0  # the next N WS handshakes are refused with refuse_status
    refuse_status: int = 503  # 429 adds a Retry-After header (retry_after_s)
    rate_limit_books: int = 0  # the next N POST /books get HTTP 429
    retry_after_s: int = 1
    duplicate_price_changes: bool = False  # every price_change frame is sent twice
    reorder_price_changes: bool = False  # price_change frames are swapped pairwise


@dataclass
class _Book:
    token: str
    market: str  # condition id
    pair: str | None
    tick: str
    min_order_size: str
    neg_risk: bool
    bids: dict[int, tuple[str, str]] = field(default_factory=dict)  # micros -> (price, size)
    asks: dict[int, tuple[str, str]] = field(default_factory=dict)
    last_trade_price: str | None = None


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What the order venue needs to know about a token with an open book."""

    token: str
    market: str  # condition id
    tick: str  # the current tick: a tick_size_change applies at once
    min_order_size: str
    neg_risk: bool
    gamma_market: Mapping[str, Any]  # the Gamma market as served; empty if not in the catalogue


def _complement(price: str) -> str:
    """1 - price, written with the same number of decimals (exact, no floats)."""
    decimals = len(price.partition(".")[2])
    whole, frac = divmod(MICRO - to_micros(price), MICRO)
    return str(whole) if decimals == 0 else f"{whole}.{frac:06d}"[: len(str(whole)) + 1 + decimals]


def _num_text(value: object) -> str:
    if isinstance(value, float):
        return from_micros(to_micros(f"{value:.6f}"))
    return str(value)


def _levels(levels: Levels) -> dict[int, tuple[str, str]]:
    return {to_micros(p): (p, s) for p, s in levels if to_micros(s) > 0}


def _token_ids(market: dict[str, Any]) -> list[str]:
    if market.get("version") == "v2":
        return list(market.get("positionIds") or [])
    raw = market.get("clobTokenIds")
    return json.loads(raw) if raw else []


class VenueState:
    """Catalogue and books, driven by the scenario author and inspected by tests."""

    def __init__(
        self, *, subscribe_timeout_s: float = 10.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.subscribe_timeout_s = subscribe_timeout_s
        self.faults = Faults()
        self.subscriptions_received: list[dict[str, Any]] = []  # every JSON client frame
        self.rejected_frames: list[str] = []
        self.pings_received = 0
        self.connections = 0
        self._clock = clock
        self._events: dict[str, tuple[int, dict[str, Any]]] = {}  # slug -> (seq, event)
        self._seq = 0
        self._order_seq = itertools.count()
        self.requests: collections.Counter[str] = collections.Counter()  # HTTP path -> count
        self._books: dict[str, _Book] = {}
        self._clients: list[MarketClient] = []
        self.history: list[MarketClient] = []  # every market socket ever accepted, in order
        self._last_ms = 0

    # MarketChannel._push(assets, build, *, custom_only=False): the event ``build(assets)``
    # makes for each subscribed socket's assets, sent to the sockets that hold any of ``assets``.
    _push: Callable[..., None]

    # ------------------------------------------------------------------ scenario API: catalogue

    def add_event(self, event_json: dict[str, Any]) -> None:
        """Serve a Gamma event as given (replacing one with the same slug) and open its books."""
        event = copy.deepcopy(event_json)
        if not isinstance(event.get("slug"), str):
            raise ValueError("a served Gamma event needs a slug")
        for market in event.get("markets") or []:
            for name in JSON_STRING_FIELDS:
                if name in market and not isinstance(market[name], str | None):
                    raise ValueError(f"{name} must be a JSON-encoded string, as Gamma sends it")
            self._open_books(event, market)
        seq = self._events[event["slug"]][0] if event["slug"] in self._events else self._seq
        self._seq += 1
        self._events[event["slug"]] = (seq, event)

    def _open_books(self, event: dict[str, Any], market: dict[str, Any]) -> None:
        ids = _token_ids(market)
        if len(ids) != 2 or market.get("closed") or not market.get("enableOrderBook"):
            return
        for token, pair in ((ids[0], ids[1]), (ids[1], ids[0])):
            self._books.setdefault(
                token,
                _Book(
                    token=token,
                    market=market.get("conditionId") or "",
                    pair=pair,
                    tick=_num_text(market.get("orderPriceMinTickSize", 0.01)),
                    min_order_size=_num_text(market.get("orderMinSize", 5)),
                    neg_risk=bool(market.get("negRisk", event.get("negRisk", False))),
                ),
            )

    # ------------------------------------------------------------------ scenario API: books

    def set_book(self, token: str, bids: Levels, asks: Levels, *, mirror: bool = True) -> None:
        """Replace a token's book (and, mirrored, its pair's); pushes ``book`` events."""
        book = self._book(token)
        book.bids, book.asks = _levels(bids), _levels(asks)
        changed = [book]
        if mirror and book.pair in self._books:
            pair = self._books[book.pair]
            pair.bids = _levels([(_complement(p), s) for p, s in asks])
            pair.asks = _levels([(_complement(p), s) for p, s in bids])
            changed.append(pair)
        for b in changed:
            event = self._book_event(b)
            self._push({b.token}, lambda _assets, e=event: e)

    def set_level(self, token: str, side: str, price: str, size: str) -> None:
        """Set one level's total size ("0" removes it), mirrored; pushes one ``price_change``."""
        if side not in ("BUY", "SELL"):
            raise ValueError(f"side must be BUY or SELL, got {side!r}")
        book = self._book(token)
        entries = [self._apply(book, side, price, size)]
        if book.pair in self._books:
            flipped = "SELL" if side == "BUY" else "BUY"
            entries.append(self._apply(self._books[book.pair], flipped, _complement(price), size))
        timestamp = self._now_ms()

        def build(assets: set[str]) -> object | None:
            mine = [e for e in entries if e["asset_id"] in assets]
            if not mine:
                return None
            return {
                "event_type": "price_change",
                "market": book.market,
                "price_changes": mine,
                "timestamp": timestamp,
            }

        self._push({e["asset_id"] for e in entries}, build)

    def _apply(self, book: _Book, side: str, price: str, size: str) -> dict[str, str]:
        levels = book.bids if side == "BUY" else book.asks
        micros = to_micros(price)
        if to_micros(size) > 0:
            levels[micros] = (price, size)
        else:
            levels.pop(micros, None)
        entry = {"asset_id": book.token, "price": price, "size": size, "side": side}
        order_id = f"{book.token}:{price}:{size}:{next(self._order_seq)}"
        entry["hash"] = hashlib.sha1(order_id.encode()).hexdigest()
        # best_bid/best_ask are optional on the wire; omitted when that side is empty.
        if book.bids:
            entry["best_bid"] = book.bids[max(book.bids)][0]
        if book.asks:
            entry["best_ask"] = book.asks[min(book.asks)][0]
        return entry

    def tick_size_change(self, token: str, new_tick: str) -> None:
        """Change the tick of a market (both tokens); pushes ``tick_size_change`` per token."""
        book = self._book(token)
        for b in (book, self._books.get(book.pair or "")):
            if b is None:
                continue
            event = {
                "event_type": "tick_size_change",
                "market": b.market,
                "asset_id": b.token,
                "old_tick_size": b.tick,
                "new_tick_size": new_tick,
                "timestamp": self._now_ms(),
            }
            b.tick = new_tick
            self._push({b.token}, lambda _assets, e=event: e)

    def last_trade(self, token: str, price: str, size: str, side: str) -> None:
        """A match: pushes ``last_trade_price`` (side is the taker's)."""
        book = self._book(token)
        book.last_trade_price = price
        event = {
            "event_type": "last_trade_price",
            "market": book.market,
            "asset_id": token,
            "price": price,
            "size": size,
            "fee_rate_bps": "0",
            "side": side,
            "timestamp": self._now_ms(),
        }
        self._push({token}, lambda _assets: event)

    def resolve_market(self, condition_id: str, winning_outcome: str) -> None:
        """Close a bucket market: Gamma shows it resolved, its books vanish (REST 404) and
        custom-feature subscribers get ``market_resolved``."""
        event, market = self._find_market(condition_id)
        yes, no = _token_ids(market)
        winner = yes if winning_outcome == "Yes" else no
        market.update(
            closed=True,
            acceptingOrders=False,
            outcomePrices=json.dumps(["1", "0"] if winner == yes else ["0", "1"]),
            umaResolutionStatus="resolved",
        )
        event["closed"] = all(m.get("closed") for m in event.get("markets") or [])
        self._books.pop(yes, None)
        self._books.pop(no, None)
        payload = {
            "event_type": "market_resolved",
            "id": market.get("id"),
            "market": condition_id,
            "assets_ids": [yes, no],
            "winning_asset_id": winner,
            "winning_outcome": winning_outcome,
            "event_message": {"id": event.get("id"), "slug": event.get("slug")},
            "timestamp": self._now_ms(),
        }
        self._push({yes, no}, lambda _assets: payload, custom_only=True)

    # ------------------------------------------------------------------ introspection

    def book(self, token: str) -> dict[str, list[dict[str, str]]]:
        """Current book in wire order (bids ascending, asks descending)."""
        b = self._book(token)
        return {"bids": self._wire_levels(b.bids, False), "asks": self._wire_levels(b.asks, True)}

    def token_info(self, token: str) -> TokenInfo | None:
        """Metadata of a token with an open book (None: unknown or resolved), read now."""
        book = self._books.get(token)
        if book is None:
            return None
        try:
            _event, market = self._find_market(book.market)
        except ValueError:
            market = {}
        return TokenInfo(
            token=token,
            market=book.market,
            tick=book.tick,
            min_order_size=book.min_order_size,
            neg_risk=book.neg_risk,
            gamma_market=market,
        )

    def market_tokens(self, condition_id: str) -> list[str]:
        """The tokens of a market that have an open book."""
        return [t for t, b in self._books.items() if b.market == condition_id]

    # ------------------------------------------------------------------ internals

    def _book(self, token: str) -> _Book:
        try:
            return self._books[token]
        except KeyError:
            raise ValueError(f"no order book for token {token!r}") from None

    def _find_market(self, condition_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        for _seq, event in self._events.values():
            for market in event.get("markets") or []:
                if market.get("conditionId") == condition_id:
                    return event, market
        raise ValueError(f"no market with conditionId {condition_id!r}")

    def _now_ms(self) -> str:
        # Strictly increasing, like a sequencer: lets clients spot out-of-order deltas.
        self._last_ms = max(int(self._clock() * 1000), self._last_ms + 1)
        return str(self._last_ms)

    @staticmethod
    def _wire_levels(levels: dict[int, tuple[str, str]], descending: bool) -> list[dict[str, str]]:
        return [
            {"price": levels[p][0], "size": levels[p][1]}
            for p in sorted(levels, reverse=descending)
        ]

    def _rest_book(self, b: _Book) -> dict[str, Any]:
        body: dict[str, Any] = {
            "market": b.market,
            "asset_id": b.token,
            "timestamp": self._now_ms(),
            **self.book(b.token),
            "min_order_size": b.min_order_size,
            "tick_size": b.tick,
            "neg_risk": b.neg_risk,
        }
        body["hash"] = hashlib.sha1(json.dumps([body["bids"], body["asks"]]).encode()).hexdigest()
        if b.last_trade_price is not None:
            body["last_trade_price"] = b.last_trade_price
        return body

    def _book_event(self, b: _Book) -> dict[str, Any]:
        return {"event_type": "book", **self._rest_book(b)}
