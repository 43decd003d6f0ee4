"""Trades: our order taking venue liquidity (TAKER), someone taking our resting order (MAKER),
and the MATCHED → MINED → CONFIRMED (or → FAILED) lifecycle on a short timer."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import uuid
from decimal import Decimal
from typing import Any

from weatheredge.sandbox.exchange.state import ZERO, Order, decimal_text
from weatheredge.sandbox.exchange.user_ws import UserChannel

_OTHER_MAKER = "0x000000000000000000000000000000000000dEaD"


def _maker_json(
    order: Order, order_id: str, owner: str, address: str, side: str, size: Decimal, price: Decimal
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "owner": owner,
        "maker_address": address,
        "matched_amount": decimal_text(size),
        "price": decimal_text(price),
        "fee_rate_bps": "0",
        "asset_id": order.asset_id,
        "outcome": order.outcome,
        "outcome_index": 0 if order.outcome == "Yes" else 1,
        "side": side,
    }


def _trade_json(
    order: Order,
    trade_id: str,
    taker_order_id: str,
    side: str,
    size: Decimal,
    price: Decimal,
    trader_side: str,
    maker: dict[str, Any],
) -> dict[str, Any]:
    now = int(time.time())
    return {
        "id": trade_id,
        "taker_order_id": taker_order_id,
        "market": order.market,
        "asset_id": order.asset_id,
        "side": side,
        "size": decimal_text(size),
        "price": decimal_text(price),
        "fee_rate_bps": "0",
        "status": "MATCHED",
        "match_time": str(now),
        "last_update": str(now),
        "outcome": order.outcome,
        "owner": order.owner,
        "maker_address": order.maker_address,
        "transaction_hash": "",
        "bucket_index": 0,
        "trader_side": trader_side,
        "maker_orders": [maker],
    }


class TradesApi(UserChannel):
    """Trade records, their settlement timers and the test hook for MAKER fills."""

    def fill_resting(self, order_id: str, size: str | Decimal | None = None) -> str:
        """Someone takes (part of) one of our resting orders: a MAKER trade. Returns its id."""
        order = self.orders[order_id]
        if order.status != "LIVE":
            raise ValueError(f"order {order_id} is not resting")
        take = order.remaining if size is None else min(Decimal(size), order.remaining)
        taker_side = "SELL" if order.side == "BUY" else "BUY"
        trade_id = str(uuid.uuid4())
        order.size_matched += take
        order.associate_trades.append(trade_id)
        if order.remaining <= 0:
            order.status = "MATCHED"
        maker = _maker_json(
            order, order.id, order.owner, order.maker_address, order.side, take, order.price
        )
        taker_order_id = "0x" + secrets.token_hex(32)
        self._record_trade(
            _trade_json(
                order, trade_id, taker_order_id, taker_side, take, order.price, "MAKER", maker
            )
        )
        self._push_order(order, "UPDATE")
        return trade_id

    def _take(self, order: Order, price: Decimal, size: Decimal) -> str:
        """Our order takes ``size`` at ``price`` from the venue book: one TAKER trade."""
        book_side = "SELL" if order.side == "BUY" else "BUY"
        book = self.venue.book(order.asset_id)
        levels = book["asks"] if order.side == "BUY" else book["bids"]
        current = next(
            (Decimal(lv["size"]) for lv in levels if Decimal(lv["price"]) == price), ZERO
        )
        level_text = next(
            (lv["price"] for lv in levels if Decimal(lv["price"]) == price), decimal_text(price)
        )
        self.venue.set_level(order.asset_id, book_side, level_text, decimal_text(current - size))
        self.venue.last_trade(order.asset_id, level_text, decimal_text(size), order.side)
        order.size_matched += size
        trade_id = str(uuid.uuid4())
        order.associate_trades.append(trade_id)
        maker_order_id = "0x" + secrets.token_hex(32)
        maker = _maker_json(
            order, maker_order_id, "sandbox-liquidity", _OTHER_MAKER, book_side, size, price
        )
        self._record_trade(
            _trade_json(order, trade_id, order.id, order.side, size, price, "TAKER", maker)
        )
        return trade_id

    def _record_trade(self, trade: dict[str, Any]) -> None:
        self.trades[trade["id"]] = trade
        self._push_trade(trade)
        fail = self.faults.fail_trades > 0
        if fail:
            self.faults.fail_trades -= 1
        steps = ["FAILED"] if fail else ["MINED", "CONFIRMED"]
        self._schedule(trade["id"], steps)

    def _schedule(self, trade_id: str, steps: list[str]) -> None:
        if not steps:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # driven synchronously (unit use): trades stay MATCHED

        def advance() -> None:
            self._timers.discard(handle)
            trade = self.trades[trade_id]
            trade["status"] = steps[0]
            trade["last_update"] = str(int(time.time()))
            if steps[0] in ("MINED", "CONFIRMED"):
                trade["transaction_hash"] = "0x" + hashlib.sha256(trade_id.encode()).hexdigest()
            self._push_trade(trade)
            self._schedule(trade_id, steps[1:])

        handle = loop.call_later(self.settle_s, advance)
        self._timers.add(handle)
