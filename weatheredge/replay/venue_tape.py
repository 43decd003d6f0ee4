"""The tape venue (``weatheredge replay --venue tape``): the venue's recorded answers, not paper.

A tape recorded while trading for real (live, or against the sandbox exchange) holds every answer
the venue gave (``order`` records, tape format 5: placements, cancels, open orders, trades) and
every fill the user channel handed the trader (``user_trade``, ``user_reconnect``). Replayed with
this venue, the trader's placements and cancels wait until the replay reaches the recorded answer
to the same request (token, side, price, size, type; a cancel by order id) and get it, and the
user channel's fills reach the trader at their recorded receive times: the replay holds the
positions the daemon actually had, with the venue's own order and trade ids.

Matching is by request, in order, not by intent key (episode ids are minted per run). A request
the tape never answers (another config, or a replay that diverged) fails after ``ANSWER_NS`` of
virtual time as the venue refusing it ("not on the tape") and is listed in ``mismatches``, as is
an order the live run placed and the replay never did; ``replay --check`` prints them and exits
1. Reads asked before the tape starts (the trader's recovery at the replay's start) are answered
empty and the tape's answers to the live start's reads are skipped.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from weatheredge.trading.gateway import (
    GatewayBusy,
    GatewayError,
    GatewayTimeout,
    OpenOrderView,
    OrderRequest,
    PlaceResult,
    TradeView,
)

KINDS = frozenset({"order", "user_trade", "user_reconnect"})
ANSWER_NS = 30 * 1_000_000_000  # a request the tape never answers fails after this (virtual)
_NO_ANSWER = ("TimeoutError", "CancelledError", "ConnectionError", "OSError", "GatewayTimeout")
Key = tuple[str, ...]


def _num(value: Any) -> str:
    return format(Decimal(str(value)).normalize(), "f")


def place_key(token_id: Any, side: Any, price: Any, size: Any, order_type: Any, post: Any) -> Key:
    return ("place", str(token_id), str(side), _num(price), _num(size), str(order_type), str(post))


def record_key(rec: Mapping[str, Any]) -> Key:
    op = str(rec.get("op", ""))
    if op == "place":
        r = rec.get("request") or {}
        return place_key(r.get("token_id"), r.get("side"), r.get("price"), r.get("size"),
                         r.get("order_type", "FAK"), r.get("post_only", False))  # fmt: skip
    if op == "cancel":
        return (op, str(rec.get("order_id")))
    if op in ("open_orders", "trades"):
        return (op, str(rec.get("token_id") or ""))
    return (op,)


def trade_view(d: Mapping[str, Any]) -> TradeView:
    fee = d.get("fee")
    return TradeView(
        str(d["trade_id"]), str(d["order_id"]), str(d["token_id"]), str(d["side"]),
        Decimal(str(d["price"])), Decimal(str(d["size"])), str(d["status"]),
        str(d.get("role", "TAKER")), None if fee is None else Decimal(str(fee)),
        int(d.get("at_ms") or 0),
    )  # fmt: skip


def open_order(o: Mapping[str, Any]) -> OpenOrderView:
    return OpenOrderView(
        str(o["order_id"]), str(o["token_id"]), str(o["side"]), Decimal(str(o["price"])),
        Decimal(str(o["original_size"])), Decimal(str(o["size_matched"])),
        int(o.get("created_ms") or 0),
    )  # fmt: skip


def _raise_recorded(error: Mapping[str, Any]) -> None:
    kind, message = str(error.get("type", "")), str(error.get("message", ""))
    if kind == "GatewayBusy":
        status = int(error.get("status") or 503)
        raise GatewayBusy(
            status, message.removeprefix(f"HTTP {status}: "), error.get("retry_after")
        )
    if kind in _NO_ANSWER:
        raise GatewayTimeout(f"recorded: {message or kind}")
    raise GatewayError(message or kind)


class TapeVenue:
    """An :class:`~weatheredge.trading.gateway.OrderGateway` answered from the tape."""

    name = "tape"

    def __init__(self, now_ns: Callable[[], int]) -> None:
        self._now_ns = now_ns
        self._ready: dict[Key, deque[Mapping[str, Any]]] = defaultdict(deque)
        self._waiting: dict[Key, deque[tuple[asyncio.Future[Any], int]]] = defaultdict(deque)
        self._early: Counter[Key] = Counter()  # reads answered before the tape started
        self.started = False
        self.closed = False
        self.waiting = 0  # the trader's requests waiting for their recorded answer
        self.answered = 0
        self.user_trades = 0
        self.mismatches: list[str] = []
        self.trader: Any = None
        self.wake: Callable[[], None] = lambda: None

    # -- the replay's side -------------------------------------------------------------------

    def reached(self, rec: Mapping[str, Any]) -> bool:
        """The replay reached a venue record; True when it woke the trader."""
        self.started = True
        kind = rec.get("kind")
        if kind == "user_trade" and self.trader is not None:
            self.user_trades += 1
            self.trader.on_trade_event(trade_view(rec.get("data") or {}))
        elif kind == "user_reconnect" and self.trader is not None:
            self.trader.request_reconcile()
        elif kind == "order":
            return self._answer(rec)
        else:
            return False
        self.wake()
        return True

    def _answer(self, rec: Mapping[str, Any]) -> bool:
        key = record_key(rec)
        if self._early[key] > 0:  # the live start's read: ours was answered before the tape
            self._early[key] -= 1
            return False
        waiters = self._waiting.get(key)
        while waiters:
            fut, _ = waiters.popleft()
            if not fut.done():
                fut.set_result(rec)
                return True
        self._ready[key].append(rec)
        return False

    def expire(self, now_ns: int) -> int:
        """Fail the requests waiting longer than ``ANSWER_NS``: the tape has no answer."""
        n = 0
        for key, waiters in self._waiting.items():
            while waiters and (waiters[0][0].done() or waiters[0][1] <= now_ns):
                fut, _ = waiters.popleft()
                if not fut.done():
                    self.mismatches.append(f"replay {_describe(key)}: no answer on the tape")
                    fut.set_result(None)
                    n += 1
        return n

    def finish(self) -> None:
        """The tape ended: requests still waiting fail, and orders the live run placed that the
        replay never did are listed."""
        self.closed = True
        for key, waiters in self._waiting.items():
            while waiters:
                fut, _ = waiters.popleft()
                if not fut.done():
                    self.mismatches.append(f"replay {_describe(key)}: tape ended before an answer")
                    fut.set_result(None)
        for key, answers in self._ready.items():
            if key[0] == "place":
                for _ in answers:
                    self.mismatches.append(f"live {_describe(key)}: never placed by the replay")

    async def _recorded(self, key: Key) -> Mapping[str, Any] | None:
        if self.closed:
            if key[0] == "place":
                self.mismatches.append(f"replay {_describe(key)}: after the tape ended")
            return None
        if not self.started:
            self._early[key] += 1
            return None
        ready = self._ready.get(key)
        if ready:
            self.answered += 1
            return ready.popleft()
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[key].append((fut, self._now_ns() + ANSWER_NS))
        self.waiting += 1
        try:
            rec = await fut
        finally:
            self.waiting -= 1
        if rec is not None:
            self.answered += 1
        return rec

    # -- the gateway -------------------------------------------------------------------------

    async def place(self, request: OrderRequest) -> PlaceResult:
        key = place_key(request.token_id, request.side, request.price, request.size,
                        request.order_type, request.post_only)  # fmt: skip
        rec = await self._recorded(key)
        if rec is None:
            raise GatewayError("not on the tape: no recorded answer to this order")
        if "error" in rec:
            _raise_recorded(rec["error"])
        r = rec.get("result") or {}
        return PlaceResult(
            bool(r.get("accepted")), str(r.get("order_id", "")), str(r.get("status", "")),
            str(r.get("reason", "")), tuple(trade_view(t) for t in r.get("trades") or ()),
            bool(r.get("resting")),
        )  # fmt: skip

    async def cancel(self, order_id: str) -> bool:
        rec = await self._recorded(("cancel", order_id))
        if rec is None:
            raise GatewayError("not on the tape: no recorded answer to this cancel")
        if "error" in rec:
            _raise_recorded(rec["error"])
        return bool(rec.get("result"))

    async def cancel_all(self) -> list[str]:
        rec = await self._recorded(("cancel_all",))
        if rec is None or "error" in rec:
            return []
        return [str(o) for o in rec.get("result") or []]

    async def _read(self, op: str, token_id: str | None) -> list[Any]:
        """A venue read (open orders, trades): the recorded answer's items, none before the
        tape starts; a recorded failure raised as it was."""
        rec = await self._recorded((op, token_id or ""))
        if rec is None:
            return []
        if "error" in rec:
            _raise_recorded(rec["error"])
        return list(rec.get("result") or [])

    async def open_orders(self, token_id: str | None = None) -> list[OpenOrderView]:
        return [open_order(o) for o in await self._read("open_orders", token_id)]

    async def trades(self, token_id: str | None = None) -> list[TradeView]:
        return [trade_view(t) for t in await self._read("trades", token_id)]

    async def heartbeat(self) -> None:
        return None

    async def close(self) -> None:
        return None


def _describe(key: Key) -> str:
    if key[0] == "place":
        _, token, side, price, size, order_type, post = key
        extra = " post-only" if post == "True" else ""
        return f"order {side} {size} @ {price} {order_type}{extra} on {token[:12]}…"
    return " ".join(key)


def attach(venue: TapeVenue, trader: Any, pacer: Any) -> None:
    """The replay's trader and its pacer (replay/pacer.py): fills reach the trader and step it,
    and a trader waiting for a recorded answer counts as idle for the pacer."""
    venue.trader = trader
    venue.wake = lambda: pacer.step_soon(venue._now_ns())
    pacer.venue = venue
