"""The tape venue answers exactly what the recording gateway taped: results, the venue's
refusals and lost answers as the same exceptions, in request order; a request the tape never
answers fails after its virtual deadline and is listed, as is an order only live placed."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from decimal import Decimal
from typing import Any

import pytest

from weatheredge.replay.venue_tape import ANSWER_NS, TapeVenue
from weatheredge.tape.records import encode
from weatheredge.trading.gateway import (
    GatewayBusy,
    GatewayError,
    GatewayTimeout,
    OrderRequest,
    PlaceResult,
    TradeView,
)
from weatheredge.trading.gateway_tape import TapedGateway

TRADE = TradeView("t1", "o1", "tok", "BUY", Decimal("0.16"), Decimal("20"), "MATCHED")


class Scripted:
    """A venue whose answers are scripted, one per call."""

    name = "scripted"

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)

    async def place(self, request: OrderRequest) -> PlaceResult:
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer  # type: ignore[no-any-return]

    async def trades(self, token_id: str | None = None) -> list[TradeView]:
        raise RuntimeError("https://clob.example/data/trades?key=SECRET-KEY failed")


def request(price: str = "0.16", size: str = "20") -> OrderRequest:
    return OrderRequest("ep:entry:BUY", "tok", "BUY", Decimal(price), Decimal(size))


async def _record_live(gateway: Scripted, calls: int) -> list[dict[str, Any]]:
    taped: list[dict[str, Any]] = []
    live = TapedGateway(gateway, lambda kind, fields: taped.append(_line(kind, fields)))
    for _ in range(calls):
        try:
            await live.place(request())
        except Exception:
            pass
    return taped


def _line(kind: str, fields: Any) -> dict[str, Any]:
    return json.loads(encode(1, 1, kind, fields))  # as the tape's reader gets it back


async def test_recorded_answers_come_back_as_they_were_given() -> None:
    accepted = PlaceResult(True, "o1", "matched", trades=(TRADE,))
    busy = GatewayBusy(503, "trading disabled", retry_after=0.5)
    taped = await _record_live(Scripted(accepted, busy, GatewayTimeout("no answer")), 3)
    venue = TapeVenue(lambda: 0)
    for rec in taped:
        venue.reached(rec)
    assert await venue.place(request()) == accepted
    with pytest.raises(GatewayBusy) as refused:
        await venue.place(request())
    assert (refused.value.status, refused.value.retry_after) == (503, 0.5)
    with pytest.raises(GatewayTimeout):
        await venue.place(request())
    venue.finish()
    assert venue.mismatches == []


async def test_a_failed_read_is_taped_without_its_text() -> None:
    taped: list[dict[str, Any]] = []
    live = TapedGateway(Scripted(), lambda kind, fields: taped.append(_line(kind, fields)))
    with pytest.raises(RuntimeError):
        await live.trades()
    assert taped == [
        {"wall_ns": 1, "mono_ns": 1, "kind": "order", "op": "trades", "token_id": None,
         "error": {"type": "RuntimeError", "message": ""}}
    ]  # fmt: skip


async def test_an_order_the_tape_never_answered_is_refused_and_listed() -> None:
    now = [0]
    venue = TapeVenue(lambda: now[0])
    taped = await _record_live(Scripted(PlaceResult(True, "o1", "live", resting=True)), 1)
    venue.reached({"kind": "frame"})  # the tape has started
    waiting = asyncio.create_task(venue.place(request(size="6")))
    await asyncio.sleep(0)
    venue.reached(taped[0])  # live's order (20 shares) is not this one
    assert not waiting.done() and venue.waiting == 1
    assert venue.expire(ANSWER_NS - 1) == 0
    now[0] = ANSWER_NS
    assert venue.expire(ANSWER_NS) == 1
    with pytest.raises(GatewayError, match="not on the tape"):
        await waiting
    venue.finish()
    assert venue.mismatches == [
        "replay order BUY 6 @ 0.16 FAK on tok…: no answer on the tape",
        "live order BUY 20 @ 0.16 FAK on tok…: never placed by the replay",
    ]


async def test_reads_before_the_tape_are_empty_and_skip_the_live_starts_answers() -> None:
    venue = TapeVenue(lambda: 0)
    assert await venue.trades() == []  # the replay's own recovery, before any record
    start = {"kind": "order", "op": "trades", "token_id": None, "result": [_trade_json()]}
    later = {**start, "result": [_trade_json("CONFIRMED")]}
    venue.reached(start)  # the live start's read: ours already had its answer
    venue.reached(later)
    assert [t.status for t in await venue.trades()] == ["CONFIRMED"]


def _trade_json(status: str = "MATCHED") -> dict[str, Any]:
    trade = dataclasses.replace(TRADE, status=status)
    return json.loads(encode(1, 1, "x", {"trade": trade}))["trade"]  # type: ignore[no-any-return]
